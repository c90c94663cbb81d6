package io.portcullis.proxy.lb;

import java.util.List;

/**
 * Istio {@code ROUND_ROBIN}: each host in turn (per event loop, as Envoy's per worker). While a host warms up
 * ({@code warmupDurationSecs}) the turns are weighted by the warm-up (smooth weighted round robin: over any window
 * each host gets its weight's share, spread out rather than in bursts).
 */
final class RoundRobin implements LoadBalancer {
  private final long warmupNanos;
  /** The next turn; the first is the second host, the order the gateway's round robin always had. */
  private int next = 1;
  private HealthyHosts seen;
  /** When every host of {@link #seen} is warm. */
  private long warmAtNanos;
  private double[] current;

  RoundRobin(long warmupNanos) {
    this.warmupNanos = warmupNanos;
  }

  @Override
  public Host pick(HealthyHosts hosts, long hash, boolean hashed, long nowNanos) {
    List<Host> hs = hosts.hosts();
    int n = hs.size();
    if (warmupNanos > 0 && n > 1) {
      if (seen != hosts) {
        seen = hosts;
        warmAtNanos = Warmup.warmAt(hs, warmupNanos);
        current = new double[n];
      }
      if (nowNanos - warmAtNanos < 0) {
        return Warmup.smooth(hs, current, h -> h.weight(nowNanos, warmupNanos));
      }
    }
    int i = next < n ? next : next % n;
    next = i + 1 >= n ? 0 : i + 1;
    return hs.get(i);
  }
}
