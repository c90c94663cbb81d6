package io.portcullis.config.core;

import io.portcullis.config.GatewayConfig;
import io.portcullis.config.Manifests;
import io.portcullis.config.Problem;
import io.portcullis.routing.Cluster;
import io.portcullis.routing.RouteAction;
import java.util.ArrayList;
import java.util.List;

/** Test helper: a Gateway and a VirtualService routing to one destination, and the cluster that results. */
final class Discovery {
  static final String GATEWAY = """
      apiVersion: networking.istio.io/v1
      kind: Gateway
      metadata: {name: gw, namespace: istio-system}
      spec:
        servers:
        - port: {number: 80, name: http, protocol: HTTP}
          hosts: ["*"]
      """;

  private Discovery() {}

  /** A VirtualService in {@code namespace} whose one route goes to {@code destination} (YAML flow mapping). */
  static String route(String namespace, String destination) {
    return """
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata: {name: vs, namespace: %s}
        spec:
          hosts: ["*"]
          gateways: [istio-system/gw]
          http:
          - route:
            - destination: %s
        """.formatted(namespace, destination);
  }

  /** Translates the Gateway, a route from {@code default} to {@code destination} and {@code docs}. */
  static GatewayConfig translate(String destination, String... docs) {
    List<String> all = new ArrayList<>(List.of(GATEWAY, route("default", destination)));
    all.addAll(List.of(docs));
    return Manifests.translate(all.toArray(String[]::new));
  }

  /** The cluster of the one route. */
  static Cluster cluster(GatewayConfig c) {
    RouteAction.Forward f = (RouteAction.Forward) c.listeners().get(80).routes().find("any.example").orElseThrow()
        .routes().get(0).action();
    return f.destinations().get(0).cluster();
  }

  /** The cluster's endpoints as {@code host:port}. */
  static List<String> endpoints(GatewayConfig c) {
    return cluster(c).endpoints().stream().map(Object::toString).toList();
  }

  /** The problems as text, WARNING and ERROR only. */
  static List<String> problems(GatewayConfig c) {
    return c.problems().stream().filter(p -> p.severity() != Problem.Severity.INFO)
        .map(p -> p.severity() + " " + p).toList();
  }
}
