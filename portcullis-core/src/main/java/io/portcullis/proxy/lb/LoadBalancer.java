package io.portcullis.proxy.lb;

import io.portcullis.routing.TrafficPolicy;

/**
 * Picks the host of a request among the {@link HealthyHosts} of a cluster: one implementation per Istio
 * {@code loadBalancer} policy. An instance belongs to one event loop (per-worker state, as Envoy's) and is not
 * thread-safe; what it shares (requests in flight, hash tables) is thread-safe.
 */
public interface LoadBalancer {
  /**
   * Returns one of {@code hosts} (never empty).
   *
   * @param hash the request's hash key ({@link HashKey}) when {@code hashed}; balancers that do not hash ignore it
   * @param nowNanos {@link System#nanoTime()} now, for the warm-up
   */
  Host pick(HealthyHosts hosts, long hash, boolean hashed, long nowNanos);

  /**
   * Returns a new balancer for {@code policy}.
   *
   * @throws IllegalArgumentException for {@code PASSTHROUGH}, which has no endpoints to balance over
   */
  static LoadBalancer of(TrafficPolicy.LoadBalancer policy) {
    long warmup = policy.warmup().toNanos();
    if (policy.consistentHash().isPresent()) {
      TrafficPolicy.LoadBalancer.ConsistentHash ch = policy.consistentHash().get();
      return ch.algorithm() == TrafficPolicy.LoadBalancer.ConsistentHash.Algorithm.MAGLEV
          ? new Maglev((int) ch.tableSize()) : new RingHash(ch.tableSize());
    }
    return switch (policy.simple()) {
      case ROUND_ROBIN -> new RoundRobin(warmup);
      case LEAST_REQUEST -> new LeastRequest(warmup);
      case RANDOM -> new RandomBalancer();
      case PASSTHROUGH -> throw new IllegalArgumentException("loadBalancer.simple: PASSTHROUGH (expected: "
          + "ROUND_ROBIN, LEAST_REQUEST or RANDOM; a gateway has no original destination to pass through to)");
    };
  }
}
