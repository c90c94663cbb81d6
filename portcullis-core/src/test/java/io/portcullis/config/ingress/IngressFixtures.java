package io.portcullis.config.ingress;

import io.portcullis.config.ConfigTranslator;
import io.portcullis.config.GatewayConfig;
import io.portcullis.config.Manifests;
import io.portcullis.routing.HttpRoute;
import io.portcullis.routing.RouteMatch;
import io.portcullis.routing.VirtualHost;
import java.util.List;
import java.util.Optional;

/** Test helpers: Services to route to, translation, and routing a request through the result. */
final class IngressFixtures {
  static final String SHOP = """
      apiVersion: v1
      kind: Service
      metadata: {name: shop, namespace: default}
      spec:
        ports: [{name: http, port: 8080, targetPort: 9000}]
      """;
  static final String CART = """
      apiVersion: v1
      kind: Service
      metadata: {name: cart, namespace: default}
      spec:
        ports: [{name: web, port: 81, targetPort: 9001}, {name: admin, port: 82}]
      """;

  private IngressFixtures() {}

  record Req(String path, String authority) implements RouteMatch.RequestView {
    @Override
    public String query() {
      return "";
    }

    @Override
    public int port() {
      return 80;
    }

    @Override
    public String method() {
      return "GET";
    }

    @Override
    public String header(String lowerCaseName) {
      return null;
    }
  }

  static GatewayConfig translate(String... docs) {
    return new ConfigTranslator("istio-system", 0).translate(Manifests.snapshot(docs));
  }

  /** Returns the name of the route a request for {@code host}{@code path} on {@code port} takes, or "none". */
  static String route(GatewayConfig c, int port, String host, String path) {
    var l = c.listeners().get(port);
    if (l == null) {
      return "no listener";
    }
    Optional<VirtualHost> vh = l.routes().find(host);
    return vh.flatMap(v -> v.route(new Req(path, host))).map(HttpRoute::name).orElse("none");
  }

  static List<String> problems(GatewayConfig c) {
    return c.problems().stream().map(p -> p.severity() + " " + p.subject() + ": " + (p.field().isEmpty() ? ""
        : p.field() + ": ") + p.message()).toList();
  }
}
