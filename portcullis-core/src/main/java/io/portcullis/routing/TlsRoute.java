package io.portcullis.routing;

import java.util.List;

/**
 * An Istio VirtualService {@code tls[]} route for a {@code PASSTHROUGH} server: the TLS stream whose SNI matches one
 * of its {@code match[].sniHosts} goes, untouched, to one of its destinations.
 *
 * @param name {@code namespace/name.index} of the VirtualService route, for {@code /config_dump}
 * @param destinations weighted upstreams ({@code route[]}); weights are relative
 */
public record TlsRoute(String name, List<RouteAction.WeightedCluster> destinations) {
  /** Copies the list and checks it is not empty. */
  public TlsRoute {
    destinations = List.copyOf(destinations);
    if (destinations.isEmpty()) {
      throw new IllegalArgumentException("destinations: empty (expected: at least one)");
    }
  }

  /** Picks a destination by weight. Called on an event loop. */
  public RouteAction.WeightedCluster pick() {
    return RouteAction.WeightedCluster.pick(destinations);
  }
}
