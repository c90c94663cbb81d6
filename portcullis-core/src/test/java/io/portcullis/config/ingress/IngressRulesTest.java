package io.portcullis.config.ingress;

import static io.portcullis.config.ingress.IngressFixtures.CART;
import static io.portcullis.config.ingress.IngressFixtures.SHOP;
import static io.portcullis.config.ingress.IngressFixtures.problems;
import static io.portcullis.config.ingress.IngressFixtures.route;
import static io.portcullis.config.ingress.IngressFixtures.translate;
import static org.assertj.core.api.Assertions.assertThat;

import io.portcullis.config.GatewayConfig;
import io.portcullis.routing.RouteAction;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class IngressRulesTest {
  static final String PATHS = """
      apiVersion: networking.k8s.io/v1
      kind: Ingress
      metadata:
        name: web
        namespace: default
        annotations: {kubernetes.io/ingress.class: istio}
      spec:
        rules:
        - host: shop.example.com
          http:
            paths:
            - {path: /foo, pathType: Prefix, backend: {service: {name: shop, port: {number: 8080}}}}
            - {path: /exact, pathType: Exact, backend: {service: {name: shop, port: {number: 8080}}}}
            - {path: /legacy/*, pathType: ImplementationSpecific, backend: {service: {name: shop, port: {number: 8080}}}}
            - {path: /dot.*, pathType: ImplementationSpecific, backend: {service: {name: shop, port: {number: 8080}}}}
            - {path: /plain, pathType: ImplementationSpecific, backend: {service: {name: shop, port: {number: 8080}}}}
            - {path: /foo/bar/, pathType: Prefix, backend: {service: {name: cart, port: {name: web}}}}
        - http:
            paths:
            - {path: /*, pathType: ImplementationSpecific, backend: {service: {name: cart, port: {name: admin}}}}
        - host: "*.wild.example.com"
          http:
            paths:
            - {path: /, pathType: Prefix, backend: {service: {name: cart, port: {number: 81}}}}
      """;

  @ParameterizedTest(name = "{0}{1} -> {2}")
  @CsvSource({
      "shop.example.com, /foo, default/web.rules[0].paths[0]",
      "shop.example.com, /foo/, default/web.rules[0].paths[0]",
      "shop.example.com, /foo/x, default/web.rules[0].paths[0]",
      "shop.example.com, /foobar, none",
      "shop.example.com, /foo/bar, default/web.rules[0].paths[5]", // longer first (Istio sortHTTPRoutes)
      "shop.example.com, /foo/bar/baz, default/web.rules[0].paths[5]",
      "shop.example.com, /foo/barn, default/web.rules[0].paths[0]",
      "shop.example.com, /exact, default/web.rules[0].paths[1]",
      "shop.example.com, /exact/x, none",
      "shop.example.com, /legacy, default/web.rules[0].paths[2]",
      "shop.example.com, /legacy/x, default/web.rules[0].paths[2]",
      "shop.example.com, /legacyx, none",
      "shop.example.com, /dot/x, default/web.rules[0].paths[3]",
      "shop.example.com, /dotty, none", // Istio: /dot.* is prefix /dot, element-wise
      "shop.example.com, /plain, default/web.rules[0].paths[4]",
      "shop.example.com, /plain/x, none",
      "other.example.com, /anything, default/web.rules[1].paths[0]",
      "a.wild.example.com, /x, default/web.rules[2].paths[0]",
      "a.b.wild.example.com, /x, default/web.rules[2].paths[0]", // any depth, as Envoy
      "wild.example.com, /x, default/web.rules[1].paths[0]",
  })
  void pathTypesAndHostsRouteAsIstio(String host, String path, String expected) {
    GatewayConfig c = translate(SHOP, CART, PATHS);
    assertThat(route(c, 80, host, path)).isEqualTo(expected);
  }

  @Test
  void backendsResolveByPortNumberAndByName() {
    GatewayConfig c = translate(SHOP, CART, PATHS);
    var vh = c.listeners().get(80).routes().find("shop.example.com").orElseThrow();
    var byName = vh.routes().stream().filter(r -> r.name().endsWith("paths[5]")).findFirst().orElseThrow();
    var cluster = ((RouteAction.Forward) byName.action()).destinations().get(0).cluster();
    assertThat(cluster.name()).isEqualTo("outbound|81||cart.default.svc.cluster.local");
    var byNumber = vh.routes().stream().filter(r -> r.name().endsWith("paths[0]")).findFirst().orElseThrow();
    assertThat(((RouteAction.Forward) byNumber.action()).destinations().get(0).cluster().name())
        .isEqualTo("outbound|8080||shop.default.svc.cluster.local");
    assertThat(problems(c)).noneMatch(p -> p.startsWith("ERROR") || p.startsWith("WARNING Ingress"));
  }

  @Test
  void aMissingPortNameIsAnErrorOnThatPathAndTheRestIsServed() {
    GatewayConfig c = translate(SHOP, """
        apiVersion: networking.k8s.io/v1
        kind: Ingress
        metadata: {name: web, namespace: default, annotations: {kubernetes.io/ingress.class: istio}}
        spec:
          rules:
          - http:
              paths:
              - {path: /a, pathType: Prefix, backend: {service: {name: shop, port: {name: http}}}}
              - {path: /b, pathType: Prefix, backend: {service: {name: shop, port: {name: web}}}}
              - {path: b, pathType: Exact, backend: {service: {name: shop, port: {name: http}}}}
              - {path: /c, pathType: Regex, backend: {service: {name: shop, port: {name: http}}}}
              - {path: /d, pathType: Prefix, backend: {resource: {kind: Bucket, name: x}}}
        """);
    assertThat(problems(c)).contains(
        "ERROR Ingress default/web: spec.rules[0].http.paths[1].backend.service.port.name: no port named \"web\" on "
            + "Service default/shop (expected one of: http)",
        "ERROR Ingress default/web: spec.rules[0].http.paths[2].path: \"b\" (expected: an absolute path starting "
            + "with / for pathType Exact)",
        "ERROR Ingress default/web: spec.rules[0].http.paths[3].pathType: Regex (expected: Exact, Prefix or "
            + "ImplementationSpecific)",
        "ERROR Ingress default/web: spec.rules[0].http.paths[4].backend.resource: not supported (expected: a service "
            + "backend; Istio drops resource backends too)");
    assertThat(route(c, 80, "x", "/a/1")).isEqualTo("default/web.rules[0].paths[0]");
    assertThat(route(c, 80, "x", "/b")).isEqualTo("none");
  }

  @Test
  void defaultBackendIsTheLastRouteOfStarAndTheOldestWins() {
    String second = """
        apiVersion: networking.k8s.io/v1
        kind: Ingress
        metadata: {name: b, namespace: default, creationTimestamp: "2024-02-01T00:00:00Z",
          annotations: {kubernetes.io/ingress.class: istio}}
        spec:
          defaultBackend: {service: {name: cart, port: {number: 82}}}
        """;
    String first = """
        apiVersion: networking.k8s.io/v1
        kind: Ingress
        metadata: {name: z, namespace: default, creationTimestamp: "2024-01-01T00:00:00Z",
          annotations: {kubernetes.io/ingress.class: istio}}
        spec:
          defaultBackend: {service: {name: shop, port: {number: 8080}}}
          rules:
          - http:
              paths:
              - {path: /api, pathType: Prefix, backend: {service: {name: cart, port: {number: 81}}}}
        """;
    GatewayConfig c = translate(SHOP, CART, second, first);
    assertThat(route(c, 80, "any.example", "/api/x")).isEqualTo("default/z.rules[0].paths[0]");
    assertThat(route(c, 80, "any.example", "/other")).isEqualTo("default/z.defaultBackend");
    assertThat(problems(c)).contains(
        "INFO Ingress default/z: spec.defaultBackend: served for requests no rule matches (host *, after every "
            + "rule); Istio ignores it",
        "WARNING Ingress default/b: spec.defaultBackend: Ingress default/z already has a defaultBackend, which is "
            + "served (expected: one defaultBackend among the served Ingresses; the oldest wins)");
  }

  @Test
  void rulesOfOneHostFollowIngressAgeThenPathLength() {
    String older = """
        apiVersion: networking.k8s.io/v1
        kind: Ingress
        metadata: {name: old, namespace: default, creationTimestamp: "2023-01-01T00:00:00Z",
          annotations: {kubernetes.io/ingress.class: istio}}
        spec:
          rules:
          - host: h.example
            http:
              paths:
              - {path: /p, pathType: Prefix, backend: {service: {name: shop, port: {number: 8080}}}}
        """;
    String newer = older.replace("name: old", "name: new").replace("2023", "2024")
        .replace("pathType: Prefix", "pathType: Exact");
    GatewayConfig c = translate(SHOP, newer, older);
    // equal length: exact before prefix, whatever the age; the prefix still serves the rest
    assertThat(route(c, 80, "h.example", "/p")).isEqualTo("default/new.rules[0].paths[0]");
    assertThat(route(c, 80, "h.example", "/p/x")).isEqualTo("default/old.rules[0].paths[0]");
    String newerPrefix = older.replace("name: old", "name: new").replace("2023", "2024");
    GatewayConfig d = translate(SHOP, newerPrefix, older);
    assertThat(route(d, 80, "h.example", "/p")).isEqualTo("default/old.rules[0].paths[0]");
  }
}
