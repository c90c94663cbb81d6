package io.portcullis.proxy.lb;

import io.portcullis.routing.Endpoint;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * One endpoint of a cluster as the balancers and the outlier detector see it (Envoy's {@code Host}): its requests in
 * flight and its outlier state. Shared by every event loop; the counters are atomics, the ejection state is written
 * under its {@link ClusterHosts}' lock and read without one.
 */
public final class Host {
  private final Endpoint endpoint;
  /** When the endpoint joined the cluster ({@link System#nanoTime()}), for the warm-up (slow start). */
  final long addedNanos;
  /** Requests in flight to it (Envoy's {@code rq_active}), for least request. */
  private final AtomicInteger active = new AtomicInteger();
  final AtomicInteger consecutive5xx = new AtomicInteger();
  final AtomicInteger consecutiveGateway = new AtomicInteger();
  /** Whether it is ejected now (Envoy's {@code FAILED_OUTLIER_CHECK}). */
  volatile boolean ejected;
  /** Guarded by the cluster's lock: when it was last ejected and returned, and the ejection multiplier. */
  long ejectedAtNanos;
  long returnedAtNanos = Long.MIN_VALUE;
  int backoff;
  int ejections;

  Host(Endpoint endpoint, long addedNanos) {
    this.endpoint = endpoint;
    this.addedNanos = addedNanos;
  }

  /** Returns the endpoint. */
  public Endpoint endpoint() {
    return endpoint;
  }

  /** Returns whether the outlier detector has ejected it (it gets no new requests until it is returned). */
  public boolean ejected() {
    return ejected;
  }

  /** Returns how many times it was ejected since it joined the cluster. */
  public int ejections() {
    return ejections;
  }

  /** Returns its requests in flight. */
  public int active() {
    return active.get();
  }

  /** A request to it started; pair with {@link #requestEnded()}. */
  public void requestStarted() {
    active.incrementAndGet();
  }

  /** A request to it ended. */
  public void requestEnded() {
    active.decrementAndGet();
  }

  /** Returns its weight now, 1 when warm: Envoy's slow start, linear over {@code warmupNanos} from 10 %. */
  double weight(long nowNanos, long warmupNanos) {
    if (warmupNanos <= 0) {
      return 1;
    }
    long age = nowNanos - addedNanos;
    if (age >= warmupNanos) {
      return 1;
    }
    return Math.max(0.1, (double) age / warmupNanos); // Envoy's min_weight_percent default, aggression 1.0
  }

  @Override
  public String toString() {
    return endpoint.toString();
  }
}
