package io.portcullis.proxy.lb;

import java.util.concurrent.ThreadLocalRandom;

/** Istio {@code RANDOM}: a host uniformly at random (Envoy's random balancer has no slow start either). */
final class RandomBalancer implements LoadBalancer {
  @Override
  public Host pick(HealthyHosts hosts, long hash, boolean hashed, long nowNanos) {
    int n = hosts.size();
    return hosts.hosts().get(n == 1 ? 0 : ThreadLocalRandom.current().nextInt(n));
  }
}
