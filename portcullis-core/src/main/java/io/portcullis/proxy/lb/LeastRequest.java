package io.portcullis.proxy.lb;

import java.util.List;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Istio {@code LEAST_REQUEST}: Envoy's power of two choices, the host with fewer requests in flight (shared by every
 * event loop) of two picked at random, ties to the first. While a host warms up the weights differ, and Envoy's
 * weighted least request applies instead: weighted turns (smooth weighted round robin) by
 * {@code weight / (requests in flight + 1)} (active request bias 1.0).
 */
final class LeastRequest implements LoadBalancer {
  private final long warmupNanos;
  private HealthyHosts seen;
  private long warmAtNanos;
  private double[] current;

  LeastRequest(long warmupNanos) {
    this.warmupNanos = warmupNanos;
  }

  @Override
  public Host pick(HealthyHosts hosts, long hash, boolean hashed, long nowNanos) {
    List<Host> hs = hosts.hosts();
    int n = hs.size();
    if (n == 1) {
      return hs.get(0);
    }
    if (warmupNanos > 0) {
      if (seen != hosts) {
        seen = hosts;
        warmAtNanos = Warmup.warmAt(hs, warmupNanos);
        current = new double[n];
      }
      if (nowNanos - warmAtNanos < 0) {
        return Warmup.smooth(hs, current, h -> h.weight(nowNanos, warmupNanos) / (h.active() + 1));
      }
    }
    ThreadLocalRandom r = ThreadLocalRandom.current();
    int a = r.nextInt(n);
    int b = r.nextInt(n - 1);
    if (b >= a) {
      b++; // two distinct hosts
    }
    Host x = hs.get(a);
    Host y = hs.get(b);
    return y.active() < x.active() ? y : x;
  }
}
