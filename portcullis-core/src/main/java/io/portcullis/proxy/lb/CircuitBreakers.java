package io.portcullis.proxy.lb;

import java.util.concurrent.atomic.AtomicInteger;

/**
 * One cluster's circuit breakers as Envoy keeps them (Istio's DestinationRule {@code connectionPool.http}): requests
 * in flight to the cluster ({@code http2MaxRequests}, Envoy's {@code max_requests}) and retries in flight
 * ({@code maxRetries}, Envoy's {@code max_retries}), counted for the whole gateway. A new configuration of the same
 * cluster keeps the counts, so requests that started under the old one still count until they end. Thread-safe and
 * lock-free.
 */
public final class CircuitBreakers {
  private final AtomicInteger requests = new AtomicInteger();
  private final AtomicInteger retries = new AtomicInteger();

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
