package io.portcullis.proxy.lb;

import java.util.concurrent.atomic.AtomicInteger;

/**
 * One cluster's circuit breakers as Envoy keeps them (Istio's DestinationRule {@code connectionPool}): requests
 * in flight to the cluster ({@code http2MaxRequests}, Envoy's {@code max_requests}), retries in flight
 * ({@code maxRetries}, Envoy's {@code max_retries}), upstream connections open or opening ({@code tcp.maxConnections},
 * Envoy's {@code max_connections}) and requests waiting for a connection ({@code http1MaxPendingRequests}, Envoy's
 * {@code max_pending_requests}), counted for the whole gateway. A new configuration of the same
 * cluster keeps the counts, so requests that started under the old one still count until they end. Thread-safe and
 * lock-free.
 */
public final class CircuitBreakers {
  private final AtomicInteger requests = new AtomicInteger();
  private final AtomicInteger retries = new AtomicInteger();
  private final AtomicInteger connections = new AtomicInteger();
  private final AtomicInteger pending = new AtomicInteger();

  /**
   * An upstream connection of the cluster is being opened. Counted whatever the limit: as in Envoy, a pool with no
   * connection at all opens one even at the limit, so that its waiting requests are not stranded.
   */
  public void connectionOpened() {
    connections.incrementAndGet();
  }

  /** A connection counted by {@link #connectionOpened} closed (or never connected). */
  public void connectionClosed() {
    connections.decrementAndGet();
  }

  /** Returns the cluster's upstream connections open or opening now. */
  public int connections() {
    return connections.get();
  }

  /** Counts a request waiting for a connection if fewer than {@code max} are; returns false (overflow) otherwise. */
  public boolean tryPending(int max) {
    return tryIncrement(pending, max);
  }

  /** A request counted by {@link #tryPending} got its connection or stopped waiting. */
  public void pendingEnded() {
    pending.decrementAndGet();
  }

  /** Returns the requests waiting for a connection now. */
  public int pending() {
    return pending.get();
  }

  /** Counts a request in flight if fewer than {@code max} are; returns false (overflow) otherwise. */
  public boolean tryRequest(int max) {
    return tryIncrement(requests, max);
  }

  /** A request counted by {@link #tryRequest} ended. */
  public void requestEnded() {
    requests.decrementAndGet();
  }

  /** Counts a retry in flight if fewer than {@code max} are; returns false (overflow) otherwise. */
  public boolean tryRetry(int max) {
    return tryIncrement(retries, max);
  }

  /** A retry counted by {@link #tryRetry} ended. */
  public void retryEnded() {
    retries.decrementAndGet();
  }

  /** Returns the requests in flight now. */
  public int activeRequests() {
    return requests.get();
  }

  /** Returns the retries in flight now. */
  public int activeRetries() {
    return retries.get();
  }

  private static boolean tryIncrement(AtomicInteger n, int max) {
    for (;;) {
      int v = n.get();
      if (v >= max) {
        return false;
      }
      if (n.compareAndSet(v, v + 1)) {
        return true;
      }
    }
  }
}
