package io.portcullis.proxy.lb;

import io.portcullis.routing.Cluster;
import io.portcullis.routing.Endpoint;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.ObjLongConsumer;

/**
 * One cluster's hosts, shared by every event loop: a {@link Host} per endpoint (requests in flight, outlier state),
 * the cluster's {@link OutlierDetector} when its DestinationRule sets {@code outlierDetection}, and the snapshot of
 * the hosts that may take requests now. A new configuration of the same cluster keeps the hosts of the endpoints it
 * keeps, with their load, ejections and warm-up ({@link #successor}). Thread-safe.
 */
public final class ClusterHosts {
  /** The configuration these hosts are for; replaced by an equal one from a newer configuration (see adopt). */
  private volatile Cluster cluster;
  private final List<Host> hosts;
  private final Map<Endpoint, Host> byEndpoint;
  private final OutlierDetector detector;
  private final CircuitBreakers breakers;
  private volatile HealthyHosts healthy;

  private ClusterHosts(Cluster cluster, List<Host> hosts, OutlierDetector previous, CircuitBreakers breakers,
      ObjLongConsumer<String> stats, long nowNanos) {
    this.cluster = cluster;
    this.breakers = breakers;
    this.hosts = List.copyOf(hosts);
    this.byEndpoint = new HashMap<>();
    for (Host h : this.hosts) {
      byEndpoint.put(h.endpoint(), h);
    }
    Optional<io.portcullis.routing.TrafficPolicy.OutlierDetection> od = cluster.policy().outlierDetection();
    if (previous != null) {
      previous.returnAll(od.isPresent() ? this.hosts : List.of());
    }
    this.detector = od.isEmpty() || this.hosts.isEmpty() ? null
        : new OutlierDetector(od.get(), this.hosts, cluster.name(), stats, nowNanos, this::refresh);
    refresh();
  }

  /** Returns the hosts of {@code cluster}, none ejected, all of them warm. */
  public static ClusterHosts of(Cluster cluster, ObjLongConsumer<String> stats) {
    long now = System.nanoTime();
    long warm = now - cluster.policy().loadBalancer().warmup().toNanos() - 1;
    List<Host> hs = new ArrayList<>();
    for (Endpoint e : cluster.endpoints()) {
      hs.add(new Host(e, warm));
    }
    return new ClusterHosts(cluster, hs, null, new CircuitBreakers(), stats, now);
  }

  /**
   * Returns the hosts of {@code next}, a new configuration of this cluster: endpoints kept keep their host (load,
   * ejection, warm-up); new endpoints start their warm-up now.
   */
  public ClusterHosts successor(Cluster next, ObjLongConsumer<String> stats) {
    long now = System.nanoTime();
    List<Host> hs = new ArrayList<>();
    for (Endpoint e : next.endpoints()) {
      Host h = byEndpoint.get(e);
      hs.add(h != null ? h : new Host(e, now));
    }
    return new ClusterHosts(next, hs, detector, breakers, stats, now);
  }

  /** Returns the cluster's circuit breakers (kept by its successors). */
  public CircuitBreakers breakers() {
    return breakers;
  }

  /** Returns the cluster these are the hosts of. */
  public Cluster cluster() {
    return cluster;
  }

  /**
   * Returns whether {@code c} is the configuration of these hosts: the same object, or an equal one from a newer
   * configuration (which is adopted, so the next check is an identity check).
   */
  boolean sameAs(Cluster c) {
    Cluster mine = cluster;
    if (mine == c) {
      return true;
    }
    if (mine.equals(c)) {
      cluster = c;
      return true;
    }
    return false;
  }

  /** Returns every host, ejected ones included, in endpoint order. */
  public List<Host> hosts() {
    return hosts;
  }

  /** Returns the host of {@code endpoint}, or null when it is not one of the cluster's. */
  public Host host(Endpoint endpoint) {
    return byEndpoint.get(endpoint);
  }

  /** Returns the hosts that may take a request now; reviews the ejections first when an interval has passed. */
  public HealthyHosts healthy(long nowNanos) {
    if (detector != null) {
      detector.reviewIfDue(nowNanos);
    }
    return healthy;
  }

  /**
   * Reports the outcome of a request to {@code host} to the outlier detector (if any): an HTTP status, or the
   * status Envoy maps a failure of its own to (connect failure or reset 503, timeout 504, protocol error 502).
   */
  public void report(Host host, int status) {
    if (detector != null) {
      detector.report(host, status);
    }
  }

  /** Reviews ejections now, due or not (for tests and the admin dump). */
  public void review(long nowNanos) {
    if (detector != null) {
      detector.review(nowNanos);
    }
  }

  /** The cluster left the configuration: its ejections end (late reports are dropped). */
  void retire() {
    if (detector != null) {
      detector.returnAll(List.of());
    }
  }

  private void refresh() {
    healthy = detector != null ? detector.healthy() : hosts.isEmpty() ? HealthyHosts.NONE
        : new HealthyHosts(hosts, false);
  }
}
