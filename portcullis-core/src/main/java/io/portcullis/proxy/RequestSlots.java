package io.portcullis.proxy;

import io.portcullis.proxy.lb.CircuitBreakers;
import io.portcullis.routing.TrafficPolicy;

/**
 * One request's places in its cluster's circuit breakers (DestinationRule {@code connectionPool.http}, as Envoy
 * counts them): the request itself while it is in flight ({@code http2MaxRequests}, Envoy's {@code max_requests}),
 * and one retry slot from its first retry until it ends ({@code maxRetries}, Envoy's {@code max_retries}). On the
 * exchange's event loop; the counts behind it are the whole gateway's.
 */
final class RequestSlots {
  private final ProxyStats stats;
  private CircuitBreakers breakers;
  private boolean holdsRetry;

  RequestSlots(ProxyStats stats) {
    this.stats = stats;
  }

  /**
   * Counts the request in flight to the cluster; returns false, counting {@code upstream_rq_pending_overflow}, when
   * {@code pool.http2MaxRequests()} are already (the request answers 503 {@code UO}).
   */
  boolean enter(CircuitBreakers clusterBreakers, TrafficPolicy.ConnectionPool pool) {
    if (!clusterBreakers.tryRequest(pool.http2MaxRequests())) {
      stats.inc(ProxyStats.UPSTREAM_RQ_PENDING_OVERFLOW);
      return false;
    }
    breakers = clusterBreakers;
    return true;
  }

  /**
   * Returns whether the request may be retried as far as the cluster goes: it holds a retry slot already, or takes
   * one now; false, counting {@code upstream_rq_retry_overflow}, when {@code pool.maxRetries()} retries are in
   * flight.
   */
  boolean retry(TrafficPolicy.ConnectionPool pool) {
    if (holdsRetry) {
      return true;
    }
    if (breakers == null || !breakers.tryRetry(pool.maxRetries())) {
      stats.inc(ProxyStats.UPSTREAM_RQ_RETRY_OVERFLOW);
      return false;
    }
    holdsRetry = true;
    return true;
  }

  /** The request ended: its slots are given back (once). */
  void release() {
    if (breakers == null) {
      return;
    }
    breakers.requestEnded();
    if (holdsRetry) {
      breakers.retryEnded();
      holdsRetry = false;
    }
    breakers = null;
  }
}
