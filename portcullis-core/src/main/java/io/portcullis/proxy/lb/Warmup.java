package io.portcullis.proxy.lb;

import java.util.List;
import java.util.function.ToDoubleFunction;

/** Envoy's slow start ({@code warmupDurationSecs}) shared by the balancers that weight by it. */
final class Warmup {
  private Warmup() {}

  /** Returns when every one of {@code hosts} is warm ({@link System#nanoTime()}). */
  static long warmAt(List<Host> hosts, long warmupNanos) {
    long last = Long.MIN_VALUE;
    for (Host h : hosts) {
      last = Math.max(last, h.addedNanos);
    }
    return last == Long.MIN_VALUE ? last : last + warmupNanos;
  }

  /**
   * nginx's smooth weighted round robin over {@code hosts} with {@code current} (one slot per host, kept by the
   * caller between picks): add each weight to its slot, take the largest, subtract the total from it. Over any
   * window each host gets its weight's share, spread out rather than in bursts.
   */
  static Host smooth(List<Host> hosts, double[] current, ToDoubleFunction<Host> weight) {
    double total = 0;
    int best = 0;
    for (int i = 0; i < hosts.size(); i++) {
      double w = weight.applyAsDouble(hosts.get(i));
      total += w;
      current[i] += w;
      if (current[i] > current[best]) {
        best = i;
      }
    }
    current[best] -= total;
    return hosts.get(best);
  }
}
