package io.portcullis.proxy.lb;

import java.util.List;
import java.util.function.Function;

/**
 * The hosts of a cluster that requests may go to now (Envoy's healthy host set, or every host in panic mode), an
 * immutable snapshot replaced whenever a host is ejected or returned. The lookup table a hash balancer derives from
 * it (ring or Maglev) is built once per snapshot on first use and shared by every event loop, as Envoy's
 * thread-aware balancers share theirs.
 */
public final class HealthyHosts {
  /** No host can take a request: 503 {@code UH}. */
  static final HealthyHosts NONE = new HealthyHosts(List.of(), false);

  private final List<Host> hosts;
  private final boolean panic;
  /** Built by the balancer on first use; a race builds it twice, the same either time. */
  private volatile Object table;

  HealthyHosts(List<Host> hosts, boolean panic) {
    this.hosts = List.copyOf(hosts);
    this.panic = panic;
  }

  /** Returns the hosts, in the cluster's endpoint order. */
  public List<Host> hosts() {
    return hosts;
  }

  /** Returns how many there are. */
  public int size() {
    return hosts.size();
  }

  /** Returns whether every host is used because too few are healthy ({@code minHealthPercent}, Envoy's panic). */
  public boolean panic() {
    return panic;
  }

  /** Returns the balancer's table for this snapshot, building it with {@code build} the first time. */
  @SuppressWarnings("unchecked")
  <T> T table(Class<T> type, Function<List<Host>, T> build) {
    Object t = table;
    if (!type.isInstance(t)) {
      t = build.apply(hosts);
      table = t;
    }
    return (T) t;
  }
}
