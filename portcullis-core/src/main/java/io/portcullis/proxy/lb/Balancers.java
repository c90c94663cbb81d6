package io.portcullis.proxy.lb;

import io.portcullis.routing.Cluster;
import io.portcullis.routing.TrafficPolicy;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * One event loop's endpoint selection: a {@link LoadBalancer} per cluster (its per-worker state: the round-robin
 * turn, the smooth-weight counters) over the cluster's shared {@link ClusterHosts}. A new configuration of a
 * cluster keeps the balancer when the policy is unchanged. Not thread-safe: used only on its loop.
 */
public final class Balancers {
  /** Envoy's {@code host_selection_retry_max_attempts} as Istio sets it for the {@code previous_hosts} predicate. */
  static final int RESELECT_ATTEMPTS = 5;

  private final ClusterRegistry registry;
  private final Map<String, State> states = new HashMap<>();

  /** Balances over the hosts in {@code registry}. */
  public Balancers(ClusterRegistry registry) {
    this.registry = registry;
  }

  private static final class State {
    ClusterHosts hosts;
    TrafficPolicy.LoadBalancer policy;
    LoadBalancer balancer;
  }

  /** Returns the shared hosts of {@code cluster}. */
  public ClusterHosts hosts(Cluster cluster) {
    return registry.hosts(cluster);
  }

  /**
   * Picks the host of a request to {@code cluster}, or returns null when none can take it (every host ejected: 503
   * {@code UH}, "no healthy upstream").
   *
   * @param hash the request's {@link HashKey} hash when {@code hashed}
   * @param avoid the host the previous attempt of this request went to (Envoy's {@code previous_hosts} retry
   *     predicate: another host is chosen if there is one; after {@value #RESELECT_ATTEMPTS} picks that found it
   *     again, the one after it), or null
   */
  public Host pick(Cluster cluster, long hash, boolean hashed, Host avoid) {
    return pick(registry.hosts(cluster), hash, hashed, avoid);
  }

  /** As {@link #pick(Cluster, long, boolean, Host)} over {@code hosts} ({@link #hosts}) of the cluster. */
  public Host pick(ClusterHosts hosts, long hash, boolean hashed, Host avoid) {
    Cluster cluster = hosts.cluster();
    State s = states.get(cluster.name());
    if (s == null) {
      s = new State();
      states.put(cluster.name(), s);
    }
    if (s.hosts != hosts) {
      TrafficPolicy.LoadBalancer policy = cluster.policy().loadBalancer();
      if (s.balancer == null || !policy.equals(s.policy)) {
        s.balancer = LoadBalancer.of(policy.simple() == TrafficPolicy.LoadBalancer.Simple.PASSTHROUGH
            ? TrafficPolicy.LoadBalancer.DEFAULT : policy);
        s.policy = policy;
      }
      s.hosts = hosts;
    }
    long now = System.nanoTime();
    HealthyHosts healthy = hosts.healthy(now);
    if (healthy.size() == 0) {
      return null;
    }
    Host h = s.balancer.pick(healthy, hash, hashed, now);
    for (int i = 0; avoid != null && h == avoid && healthy.size() > 1 && i < RESELECT_ATTEMPTS; i++) {
      h = s.balancer.pick(healthy, hash, false, now); // a hash balancer picks at random, others move on
    }
    if (avoid != null && h == avoid && healthy.size() > 1) {
      List<Host> hs = healthy.hosts();
      h = hs.get((hs.indexOf(avoid) + 1) % hs.size()); // unlucky picks: the host after it
    }
    return h;
  }

  /** Forgets the balancers of clusters the registry no longer has. */
  public void prune() {
    states.keySet().removeIf(name -> registry.find(name) == null);
  }
}
