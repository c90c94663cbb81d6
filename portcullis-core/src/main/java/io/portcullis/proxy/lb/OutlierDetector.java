package io.portcullis.proxy.lb;

import io.portcullis.routing.TrafficPolicy;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.ObjLongConsumer;

/**
 * Envoy's outlier detection for one cluster, as Istio's {@code OutlierDetection} configures it: a host whose answers
 * are {@code consecutive5xxErrors} 5xx (or {@code consecutiveGatewayErrors} 502/503/504) in a row is ejected at
 * once, unless that would eject more than {@code maxEjectionPercent} of the hosts (Envoy's
 * {@code ejections_overflow}); every {@code interval} the ejected hosts whose time is up (base ejection time ×
 * the ejection multiplier, which grows by one per ejection and shrinks by one per interval healthy, capped at
 * 300 s or the base time as Envoy's {@code max_ejection_time}) are returned. While fewer than
 * {@code minHealthPercent} of the hosts are healthy, every host is used (Envoy's panic threshold; 0 turns panic
 * off, so all ejected means no healthy upstream).
 *
 * <p>Thread-safe. {@link #report} (every response) is lock-free: atomic counters, a lock only when a threshold is
 * reached. The review is done by whichever request first finds it due ({@link #reviewIfDue}), so a cluster without
 * traffic is reviewed at its next request; the counters show the state as of the last review.
 *
 * <p>Counters, per cluster as Envoy names them ({@code cluster.<name>.outlier_detection.}):
 * {@code ejections_active} (a gauge), {@code ejections_enforced_total},
 * {@code ejections_enforced_consecutive_5xx}, {@code ejections_enforced_consecutive_gateway_failure},
 * {@code ejections_overflow}.
 */
final class OutlierDetector {
  private static final long MAX_EJECTION_NANOS = 300_000_000_000L;

  private final TrafficPolicy.OutlierDetection config;
  private final List<Host> hosts;
  private final String prefix;
  private final ObjLongConsumer<String> stats;
  private final long intervalNanos;
  private final long baseNanos;
  private final long maxEjectionNanos;
  private final AtomicLong nextReview;
  private final Runnable changed;
  /** Guarded by this: hosts ejected now. */
  private int ejectedNow;
  /** A newer configuration of the cluster took over its hosts: late reports of requests to them are dropped. */
  private volatile boolean retired;

  /**
   * @param changed called (under the detector's lock) when a host was ejected or returned: the healthy set changed
   */
  OutlierDetector(TrafficPolicy.OutlierDetection config, List<Host> hosts, String clusterName,
      ObjLongConsumer<String> stats, long nowNanos, Runnable changed) {
    this.config = config;
    this.hosts = List.copyOf(hosts);
    this.prefix = "cluster." + clusterName + ".outlier_detection.";
    this.stats = stats;
    this.intervalNanos = Math.max(1, config.interval().toNanos());
    this.baseNanos = config.baseEjectionTime().toNanos();
    this.maxEjectionNanos = Math.max(MAX_EJECTION_NANOS, baseNanos);
    this.nextReview = new AtomicLong(nowNanos + intervalNanos);
    this.changed = changed;
    for (Host h : this.hosts) {
      if (h.ejected) {
        ejectedNow++; // carried over from the previous configuration (already in ejections_active)
      }
    }
  }

  /** Returns the configuration. */
  TrafficPolicy.OutlierDetection config() {
    return config;
  }

  /**
   * Reports the outcome of a request to {@code host}: its HTTP status, or for a failure of the gateway's own
   * (connect failure, reset: 503; timeout: 504; protocol error: 502) the status Envoy maps it to when local-origin
   * errors are not split ({@code split_external_local_origin_errors: false}, Istio's setting).
   */
  void report(Host host, int status) {
    if (retired) {
      return;
    }
    if (status >= 500 && status <= 599) {
      if (status >= 502 && status <= 504) {
        if (config.consecutiveGatewayErrors() > 0
            && host.consecutiveGateway.incrementAndGet() == config.consecutiveGatewayErrors()) {
          consecutive(host, true);
        }
      } else if (host.consecutiveGateway.get() != 0) {
        host.consecutiveGateway.set(0);
      }
      if (config.consecutive5xxErrors() > 0
          && host.consecutive5xx.incrementAndGet() == config.consecutive5xxErrors()) {
        consecutive(host, false);
      }
    } else {
      if (host.consecutive5xx.get() != 0) { // no write (no cache-line traffic) on the common path
        host.consecutive5xx.set(0);
      }
      if (host.consecutiveGateway.get() != 0) {
        host.consecutiveGateway.set(0);
      }
    }
  }

  /** A threshold was reached: the counter starts again (as Envoy's) and the host is ejected if allowed. */
  private synchronized void consecutive(Host host, boolean gateway) {
    (gateway ? host.consecutiveGateway : host.consecutive5xx).set(0);
    if (retired || host.ejected || !hosts.contains(host)) {
      return;
    }
    double percent = 100.0 * (ejectedNow + 1) / hosts.size();
    if (percent > config.maxEjectionPercent()) {
      stats.accept(prefix + "ejections_overflow", 1);
      return;
    }
    long now = System.nanoTime();
    host.ejected = true;
    host.ejectedAtNanos = now;
    host.ejections++;
    if ((long) host.backoff * baseNanos < maxEjectionNanos + baseNanos) {
      host.backoff++;
    }
    ejectedNow++;
    stats.accept(prefix + "ejections_active", 1);
    stats.accept(prefix + "ejections_enforced_total", 1);
    stats.accept(prefix + (gateway ? "ejections_enforced_consecutive_gateway_failure"
        : "ejections_enforced_consecutive_5xx"), 1);
    changed.run();
  }

  /** Reviews the ejections if an interval has passed since the last review; cheap when not due. */
  void reviewIfDue(long nowNanos) {
    long due = nextReview.get();
    if (nowNanos - due >= 0 && nextReview.compareAndSet(due, nowNanos + intervalNanos)) {
      review(nowNanos);
    }
  }

  /** Returns the hosts whose ejection time is up; lowers the multiplier of hosts healthy for an interval. */
  synchronized void review(long nowNanos) {
    if (retired) {
      return;
    }
    boolean any = false;
    for (Host h : hosts) {
      if (!h.ejected) {
        if (h.backoff > 0 && h.returnedAtNanos != Long.MIN_VALUE && nowNanos - h.returnedAtNanos >= intervalNanos) {
          h.backoff--;
        }
        continue;
      }
      long ejection = Math.min(baseNanos * h.backoff, maxEjectionNanos);
      if (nowNanos - h.ejectedAtNanos >= ejection) {
        h.ejected = false;
        h.returnedAtNanos = nowNanos;
        h.consecutive5xx.set(0);
        h.consecutiveGateway.set(0);
        ejectedNow--;
        stats.accept(prefix + "ejections_active", -1);
        any = true;
      }
    }
    if (any) {
      changed.run();
    }
  }

  /**
   * Retires this detector for a newer configuration of the cluster: the hosts it ejected that are not in
   * {@code keep} are returned (the new configuration's detector carries on with the others).
   */
  synchronized void returnAll(List<Host> keep) {
    retired = true;
    for (Host h : hosts) {
      if (h.ejected && !keep.contains(h)) {
        h.ejected = false;
        ejectedNow--;
        stats.accept(prefix + "ejections_active", -1);
      }
    }
  }

  /** Returns the hosts requests may go to: the healthy ones, or all of them below {@code minHealthPercent}. */
  HealthyHosts healthy() {
    List<Host> ok = new ArrayList<>(hosts.size());
    for (Host h : hosts) {
      if (!h.ejected) {
        ok.add(h);
      }
    }
    if (ok.size() == hosts.size()) {
      return new HealthyHosts(hosts, false);
    }
    if (config.minHealthPercent() > 0 && 100.0 * ok.size() / hosts.size() < config.minHealthPercent()) {
      return new HealthyHosts(hosts, true);
    }
    return ok.isEmpty() ? HealthyHosts.NONE : new HealthyHosts(ok, false);
  }
}
