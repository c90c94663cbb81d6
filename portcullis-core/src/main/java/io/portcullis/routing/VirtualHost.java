package io.portcullis.routing;

import static java.util.Objects.requireNonNull;

import java.util.List;
import java.util.Optional;

/**
 * The routes for a set of host names on one listener, first match wins, as Envoy's virtual host. Immutable.
 *
 * <p>With many routes, lookups go through a {@link RouteIndex} (by exact path and by path prefix) so that only the
 * routes that can match are checked, in their order; the result is the same as checking every route in turn.
 */
public final class VirtualHost {
  /** Below this many routes a plain scan is faster than the index. */
  static final int INDEX_THRESHOLD = 16;

  private final String name;
  private final List<HttpRoute> routes;
  private final RouteIndex index;

  /**
   * Creates a virtual host.
   *
   * @param name {@code host:port} as Istio names gateway virtual hosts
   * @param routes in order: VirtualServices by creation order, their {@code http} routes in order
   */
  public VirtualHost(String name, List<HttpRoute> routes) {
    this.name = requireNonNull(name, "name");
    this.routes = List.copyOf(routes);
    this.index = this.routes.size() < INDEX_THRESHOLD ? null : new RouteIndex(this.routes);
  }

  /** Returns the name, {@code host:port}. */
  public String name() {
    return name;
  }

  /** Returns the routes in order. */
  public List<HttpRoute> routes() {
    return routes;
  }

  /** Returns the first route any of whose match blocks matches. Called on an event loop; does not block. */
  public Optional<HttpRoute> route(RouteMatch.RequestView request) {
    if (index != null) {
      return index.route(request);
    }
    return scan(routes, request);
  }

  /** Checks every route in turn: the reference semantics the index must reproduce. */
  static Optional<HttpRoute> scan(List<HttpRoute> routes, RouteMatch.RequestView request) {
    for (int i = 0; i < routes.size(); i++) { // indexed: no iterator per request
      HttpRoute r = routes.get(i);
      if (RouteMatch.any(r.matches(), request)) {
        return Optional.of(r);
      }
    }
    return Optional.empty();
  }

  @Override
  public String toString() {
    return "VirtualHost{" + name + ", " + routes.size() + " routes}";
  }
}
