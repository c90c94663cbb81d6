package io.portcullis.routing;

import java.util.List;
import java.util.Optional;

/**
 * The routes for a set of host names on one listener, first match wins, as Envoy's virtual host.
 *
 * @param name {@code host:port} as Istio names gateway virtual hosts
 * @param routes in order: VirtualServices by creation order, their {@code http} routes in order
 */
public record VirtualHost(String name, List<HttpRoute> routes) {
  /** Copies the list. */
  public VirtualHost {
    routes = List.copyOf(routes);
  }

  /** Returns the first route any of whose match blocks matches. Called on an event loop. */
  public Optional<HttpRoute> route(RouteMatch.RequestView request) {
    for (HttpRoute r : routes) {
      if (RouteMatch.any(r.matches(), request)) {
        return Optional.of(r);
      }
    }
    return Optional.empty();
  }
}
