package io.portcullis.config.istio;

import io.portcullis.config.Resource;
import io.portcullis.routing.HttpRoute;
import io.portcullis.routing.TlsRoute;
import java.util.List;

/**
 * Valid routes of one object as bound to one gateway key: an Istio VirtualService, or the rules an Ingress host
 * becomes. {@link ListenerTranslator} serves them on every server of that key whose hosts cover theirs.
 *
 * @param resource the user's object (a server host's namespace part is compared with its namespace)
 * @param hosts the hosts, lower case ({@code example.com}, {@code *.example.com}, {@code *})
 * @param routes the HTTP routes, in match order
 * @param tlsRoutes the SNI routes for PASSTHROUGH servers, in order
 */
public record BoundRoutes(Resource resource, List<String> hosts, List<HttpRoute> routes, List<TlsRule> tlsRoutes) {

  /** Copies the lists. */
  public BoundRoutes {
    hosts = List.copyOf(hosts);
    routes = List.copyOf(routes);
    tlsRoutes = List.copyOf(tlsRoutes);
  }

  /**
   * One VirtualService {@code tls[]} entry: SNI hosts (and optional port, 0 for any) of its matches, and where they
   * go.
   */
  public record TlsRule(List<String> sniHosts, int port, TlsRoute route) {}
}
