package io.portcullis.proxy.lb;

import io.portcullis.routing.Cluster;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.ObjLongConsumer;

/**
 * The {@link ClusterHosts} of every cluster the gateway has sent requests to, by cluster name, shared by every event
 * loop: outlier state is per cluster for the whole gateway, as Envoy's. A configuration that changes a cluster gets
 * the {@link ClusterHosts#successor} of its hosts; one that keeps it keeps them. Thread-safe; the common lookup is a
 * map read and an identity check.
 */
public final class ClusterRegistry {
  private final Map<String, ClusterHosts> clusters = new ConcurrentHashMap<>();
  private final ObjLongConsumer<String> stats;

  /** @param stats adds a delta to a named counter (the data plane's {@code /stats}) */
  public ClusterRegistry(ObjLongConsumer<String> stats) {
    this.stats = stats;
  }

  /** Returns the hosts of {@code cluster}, made (or succeeded) for its configuration on first use. */
  public ClusterHosts hosts(Cluster cluster) {
    ClusterHosts h = clusters.get(cluster.name());
    if (h != null && h.sameAs(cluster)) {
      return h;
    }
    return clusters.compute(cluster.name(), (name, old) -> old == null ? ClusterHosts.of(cluster, stats)
        : old.sameAs(cluster) ? old : old.successor(cluster, stats));
  }

  /** Returns the hosts of the cluster named {@code name}, or null when no request has gone to it. */
  public ClusterHosts find(String name) {
    return clusters.get(name);
  }

  /** Forgets the clusters not named in {@code names} (a configuration no longer has them). */
  public void retain(Set<String> names) {
    clusters.entrySet().removeIf(e -> {
      if (names.contains(e.getKey())) {
        return false;
      }
      e.getValue().retire(); // its ejections end: ejections_active comes down
      return true;
    });
  }
}
