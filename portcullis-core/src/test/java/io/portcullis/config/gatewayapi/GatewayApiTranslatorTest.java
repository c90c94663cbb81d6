package io.portcullis.config.gatewayapi;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.portcullis.config.ConfigTranslator;
import io.portcullis.config.GatewayConfig;
import io.portcullis.config.Manifests;
import io.portcullis.config.ObjectStatus;
import io.portcullis.routing.HttpRoute;
import io.portcullis.routing.RouteAction;
import io.portcullis.routing.RouteMatch;
import io.portcullis.routing.VirtualHost;
import io.portcullis.testing.GatewayApiManifests;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** Gateway API manifests in, the Istio model's listeners and routes and the Gateway API status out. */
class GatewayApiTranslatorTest {
  static final String CLASS = """
      apiVersion: gateway.networking.k8s.io/v1
      kind: GatewayClass
      metadata: {name: portcullis}
      spec: {controllerName: portcullis.io/gateway-controller}
      ---
      apiVersion: gateway.networking.k8s.io/v1
      kind: GatewayClass
      metadata: {name: other}
      spec: {controllerName: example.com/other}
      """;
  static final String SERVICES = """
      apiVersion: v1
      kind: Service
      metadata: {name: shop, namespace: default}
      spec: {ports: [{name: http, port: 8080, targetPort: 9000}]}
      ---
      apiVersion: v1
      kind: Service
      metadata: {name: cart, namespace: default}
      spec: {ports: [{name: http, port: 81}]}
      ---
      apiVersion: v1
      kind: Service
      metadata: {name: billing, namespace: money}
      spec: {ports: [{name: http, port: 80}]}
      """;
  static final String GATEWAY = """
      apiVersion: gateway.networking.k8s.io/v1
      kind: Gateway
      metadata: {name: web, namespace: default}
      spec:
        gatewayClassName: portcullis
        listeners:
        - {name: http, port: 80, protocol: HTTP}
        - {name: shop, port: 8000, protocol: HTTP, hostname: "*.example.com"}
      """;

  record Req(String path, String authority, String method, Map<String, String> headers, String query, int port)
      implements RouteMatch.RequestView {
    Req(String path, String host) {
      this(path, host, "GET", Map.of(), "", 80);
    }

    @Override
    public String header(String lowerCaseName) {
      return headers.get(lowerCaseName);
    }
  }

  static GatewayConfig translate(String... docs) {
    List<String> all = new ArrayList<>(List.of(CLASS, SERVICES));
    all.addAll(List.of(docs));
    return new ConfigTranslator("istio-system", 0).translate(Manifests.snapshot(all.toArray(String[]::new)));
  }

  static Optional<HttpRoute> route(GatewayConfig c, int port, Req req) {
    var l = c.listeners().get(port);
    if (l == null) {
      return Optional.empty();
    }
    Optional<VirtualHost> vh = l.routes().find(req.authority());
    return vh.flatMap(v -> v.route(req));
  }

  static String name(GatewayConfig c, int port, String host, String path) {
    return route(c, port, new Req(path, host)).map(HttpRoute::name).orElse("none");
  }

  static JsonNode status(GatewayConfig c, String kind, String key) {
    return c.statuses().stream().filter(s -> s.resource().kind().equals(kind) && s.resource().key().equals(key))
        .map(ObjectStatus::status).findFirst().orElseThrow(() -> new AssertionError("no status for " + kind + " "
            + key + " in " + c.statuses()));
  }

  static String condition(JsonNode conditions, String type) {
    for (JsonNode c : conditions) {
      if (c.path("type").asText().equals(type)) {
        return c.path("status").asText() + " " + c.path("reason").asText();
      }
    }
    return "unset";
  }

  /** Returns condition {@code type} of the first parent of route {@code kind key}, as {@link #condition}. */
  static String parentCondition(GatewayConfig c, String kind, String key, String type) {
    return condition(status(c, kind, key).path("parents").get(0).path("conditions"), type);
  }

  static List<String> problems(GatewayConfig c) {
    return c.problems().stream().map(Object::toString).toList();
  }

  static String route(String name, String spec) {
    return """
        apiVersion: gateway.networking.k8s.io/v1
        kind: HTTPRoute
        metadata: {name: %s, namespace: default}
        spec:
        %s
        """.formatted(name, spec.indent(2));
  }

  /** Returns Gateway {@code default/<name>} of class {@code portcullis} with {@code listeners} (YAML list items). */
  static String gateway(String name, String listeners) {
    return """
        apiVersion: gateway.networking.k8s.io/v1
        kind: Gateway
        metadata: {name: %s, namespace: default}
        spec:
          gatewayClassName: portcullis
          listeners:
        %s
        """.formatted(name, listeners.indent(2));
  }

  static String grpcRoute(String name, String spec) {
    return route(name, spec).replace("kind: HTTPRoute", "kind: GRPCRoute");
  }

  @Test
  void gatewayClassGatewayAndRouteGetTheirStatus() {
    GatewayConfig c = translate(GATEWAY, route("r", """
        parentRefs: [{name: web}]
        rules: [{backendRefs: [{name: shop, port: 8080}]}]
        """));
    assertThat(condition(status(c, "GatewayClass", "default/portcullis").path("conditions"), "Accepted"))
        .isEqualTo("True Accepted");
    assertThat(c.statuses()).noneMatch(s -> s.resource().name().equals("other"));
    JsonNode gw = status(c, "Gateway", "default/web");
    assertThat(condition(gw.path("conditions"), "Accepted")).isEqualTo("True Accepted");
    assertThat(condition(gw.path("conditions"), "Programmed")).isEqualTo("True Programmed");
    assertThat(gw.path("listeners")).hasSize(2);
    assertThat(gw.path("listeners").get(0).path("attachedRoutes").asInt()).isEqualTo(1);
    assertThat(gw.path("listeners").get(1).path("attachedRoutes").asInt()).isEqualTo(1);
    assertThat(gw.path("listeners").get(0).path("supportedKinds").toString()).contains("HTTPRoute", "GRPCRoute");
    JsonNode parent = status(c, "HTTPRoute", "default/r").path("parents").get(0);
    assertThat(parent.path("controllerName").asText()).isEqualTo("portcullis.io/gateway-controller");
    assertThat(parent.path("parentRef").path("name").asText()).isEqualTo("web");
    assertThat(condition(parent.path("conditions"), "Accepted")).isEqualTo("True Accepted");
    assertThat(condition(parent.path("conditions"), "ResolvedRefs")).isEqualTo("True ResolvedRefs");
    assertThat(name(c, 80, "anything.test", "/x")).isEqualTo("default/r.0.0");
    assertThat(name(c, 8000, "a.example.com", "/x")).isEqualTo("default/r.0.0");
    assertThat(c.listeners().get(8000).routes().find("other.test")).isEmpty();
  }

  static String transitionTime(JsonNode conditions, String type) {
    for (JsonNode c : conditions) {
      if (c.path("type").asText().equals(type)) {
        return c.path("lastTransitionTime").asText();
      }
    }
    return "unset";
  }

  @Test
  void aConditionKeepsItsLastTransitionTimeUntilItsStatusChanges() {
    ConfigTranslator translator = new ConfigTranslator("istio-system", 0,
        io.portcullis.routing.SafeRegex.DEFAULT_MAX_PROGRAM_SIZE, io.portcullis.config.ingress.IngressClassSelection
        .DEFAULT, List.of("10.0.0.5", "gw.example.com"));
    java.util.function.Function<String, io.portcullis.config.Snapshot> snapshot = backend -> Manifests.snapshot(
        CLASS, SERVICES, GATEWAY, route("r", """
            parentRefs: [{name: web, sectionName: http}]
            rules: [{backendRefs: [{name: %s, port: 8080}]}]
            """.formatted(backend)));
    java.time.Instant t0 = java.time.Instant.parse("2026-05-01T10:00:00Z");
    GatewayConfig first = translator.translate(snapshot.apply("shop"), List.of(), java.time.Clock.fixed(t0,
        java.time.ZoneOffset.UTC));
    GatewayConfig second = translator.translate(snapshot.apply("shop"), first.statuses(), java.time.Clock.fixed(
        t0.plusSeconds(60), java.time.ZoneOffset.UTC));
    GatewayConfig third = translator.translate(snapshot.apply("nosuch"), second.statuses(), java.time.Clock.fixed(
        t0.plusSeconds(120), java.time.ZoneOffset.UTC));
    JsonNode gw = status(second, "Gateway", "default/web");
    assertThat(transitionTime(gw.path("conditions"), "Programmed")).isEqualTo("2026-05-01T10:00:00Z");
    assertThat(transitionTime(gw.path("listeners").get(0).path("conditions"), "Accepted"))
        .isEqualTo("2026-05-01T10:00:00Z");
    assertThat(transitionTime(status(second, "GatewayClass", "default/portcullis").path("conditions"), "Accepted"))
        .isEqualTo("2026-05-01T10:00:00Z");
    JsonNode parent = status(third, "HTTPRoute", "default/r").path("parents").get(0).path("conditions");
    assertThat(transitionTime(parent, "Accepted")).isEqualTo("2026-05-01T10:00:00Z");
    assertThat(condition(parent, "ResolvedRefs")).isEqualTo("False BackendNotFound");
    assertThat(transitionTime(parent, "ResolvedRefs")).isEqualTo("2026-05-01T10:02:00Z");
    // GatewayStatus.addresses: where its ports are bound
    assertThat(gw.path("addresses").toString()).isEqualTo("[{\"type\":\"IPAddress\",\"value\":\"10.0.0.5\"},"
        + "{\"type\":\"Hostname\",\"value\":\"gw.example.com\"}]");
  }

  @Test
  void gatewayAddressesAreTheBindAddressOrTheInterfacesOfAWildcard() {
    assertThat(GatewayAddresses.of("127.0.0.1")).containsExactly("127.0.0.1");
    assertThat(GatewayAddresses.of("::1")).containsExactly("::1");
    // status.addresses' IPAddress values are canonical literals, never --bind's brackets or long forms
    assertThat(GatewayAddresses.of("[::1]")).containsExactly("::1");
    assertThat(GatewayAddresses.of("0:0:0:0:0:0:0:1")).containsExactly("::1");
    assertThat(GatewayAddresses.isIpLiteral("203.0.113.9")).isTrue();
    assertThat(GatewayAddresses.isIpLiteral("2001:db8::7")).isTrue();
    assertThat(GatewayAddresses.isIpLiteral("cafe")).isFalse();
    assertThat(GatewayAddresses.isIpLiteral("lb.example.com")).isFalse();
    assertThat(GatewayAddresses.isIpLiteral("host:8080")).isFalse();
    assertThat(GatewayAddresses.isIpLiteral("[::1]")).isFalse();
    assertThat(GatewayAddresses.of("0.0.0.0")).isNotEmpty().allMatch(a -> a.matches("[0-9.]+"))
        .doesNotContain("0.0.0.0").last().isEqualTo("127.0.0.1"); // loopback last
  }

  @Test
  void aGatewayOfAnotherClassIsNotServed() {
    GatewayConfig c = translate("""
        apiVersion: gateway.networking.k8s.io/v1
        kind: Gateway
        metadata: {name: theirs, namespace: default}
        spec:
          gatewayClassName: other
          listeners: [{name: http, port: 80, protocol: HTTP}]
        """, route("r", "parentRefs: [{name: theirs}]\nrules: [{backendRefs: [{name: shop, port: 8080}]}]"));
    assertThat(c.listeners()).isEmpty();
    assertThat(c.statuses()).extracting(s -> s.resource().kind()).containsExactly("GatewayClass");
  }

  @ParameterizedTest
  @CsvSource({
      // path, method, header, expected route
      "/exact, GET, '', default/r.0.0",
      "/exact/more, GET, '', default/r.2.1",
      "/prefix/long/x, GET, '', default/r.1.0",
      "/prefix/x, GET, '', default/r.2.0",
      "/prefixed, GET, '', default/r.4.0",
      "/prefix/x, POST, '', default/r.3.0",
      "/prefix/x, GET, v2, default/r.5.0",
      "/v7/items, GET, '', default/r.6.0",
  })
  void matchesFollowTheSpecsPrecedence(String path, String method, String header, String expected) {
    GatewayConfig c = translate(GATEWAY, route("r", """
        parentRefs: [{name: web, sectionName: http}]
        rules:
        - matches: [{path: {type: Exact, value: /exact}}]
          backendRefs: [{name: shop, port: 8080}]
        - matches: [{path: {type: PathPrefix, value: /prefix/long}}]
          backendRefs: [{name: shop, port: 8080}]
        - matches: [{path: {type: PathPrefix, value: /prefix/}}, {path: {type: PathPrefix, value: /exact}}]
          backendRefs: [{name: shop, port: 8080}]
        - matches: [{path: {type: PathPrefix, value: /prefix}, method: POST}]
          backendRefs: [{name: shop, port: 8080}]
        - matches: [{path: {value: /}}]
          backendRefs: [{name: cart, port: 81}]
        - matches: [{path: {type: PathPrefix, value: /prefix}, headers: [{name: Version, value: v2}]}]
          backendRefs: [{name: shop, port: 8080}]
        - matches: [{path: {type: RegularExpression, value: "/v[0-9]+/.*"}}]
          backendRefs: [{name: shop, port: 8080}]
        """));
    Map<String, String> headers = header.isEmpty() ? Map.of() : Map.of("version", header);
    assertThat(route(c, 80, new Req(path, "h.test", method, headers, "", 80)).map(HttpRoute::name).orElse("none"))
        .isEqualTo(expected);
  }

  @Test
  void olderRoutesWinTiesAndHostnamesIntersectWithListeners() {
    GatewayConfig c = translate(GATEWAY, """
        apiVersion: gateway.networking.k8s.io/v1
        kind: HTTPRoute
        metadata: {name: b-new, namespace: default, creationTimestamp: "2026-02-01T00:00:00Z"}
        spec:
          parentRefs: [{name: web}]
          hostnames: [shop.example.com, other.test]
          rules: [{backendRefs: [{name: shop, port: 8080}]}]
        ---
        apiVersion: gateway.networking.k8s.io/v1
        kind: HTTPRoute
        metadata: {name: a-old, namespace: default, creationTimestamp: "2026-01-01T00:00:00Z"}
        spec:
          parentRefs: [{name: web}]
          hostnames: ["*.example.com"]
          rules: [{backendRefs: [{name: cart, port: 81}]}]
        ---
        apiVersion: gateway.networking.k8s.io/v1
        kind: HTTPRoute
        metadata: {name: c-newest, namespace: default, creationTimestamp: "2026-03-01T00:00:00Z"}
        spec:
          parentRefs: [{name: web}]
          hostnames: [shop.example.com]
          rules: [{backendRefs: [{name: cart, port: 81}]}]
        """);
    assertThat(name(c, 80, "shop.example.com", "/")).isEqualTo("default/b-new.0.0");
    assertThat(name(c, 80, "x.example.com", "/")).isEqualTo("default/a-old.0.0");
    assertThat(name(c, 8000, "other.test", "/")).isEqualTo("none"); // listener *.example.com does not cover it
    assertThat(name(c, 8000, "shop.example.com", "/")).isEqualTo("default/b-new.0.0");
  }

  @Test
  void aRouteWithNoHostnameInCommonIsNotAccepted() {
    GatewayConfig c = translate(GATEWAY, route("r", """
        parentRefs: [{name: web, sectionName: shop}]
        hostnames: [shop.test]
        rules: [{backendRefs: [{name: shop, port: 8080}]}]
        """));
    JsonNode parent = status(c, "HTTPRoute", "default/r").path("parents").get(0);
    assertThat(condition(parent.path("conditions"), "Accepted")).isEqualTo("False NoMatchingListenerHostname");
    // attachment is allowedRoutes + parentRefs only: the route counts though it is not accepted
    assertThat(status(c, "Gateway", "default/web").path("listeners").get(1).path("attachedRoutes").asInt())
        .isEqualTo(1);
  }

  @Test
  void attachedRoutesCountsWhatParentRefsSelectAndAllowedRoutesAllowWhateverTheConditions() {
    GatewayConfig c = translate(gateway("web", """
        - {name: a, port: 80, protocol: HTTP, hostname: a.test}
        - {name: a2, port: 80, protocol: HTTP, hostname: a.test}
        - {name: grpc, port: 81, protocol: HTTP, allowedRoutes: {kinds: [{kind: GRPCRoute}]}}
        - {name: other-ns, port: 82, protocol: HTTP, allowedRoutes: {namespaces: {from: Same}}}
        """), route("twice", """
        parentRefs: [{name: web, sectionName: a}, {name: web}]
        hostnames: [b.test]
        rules: [{backendRefs: [{name: nosuch, port: 80}]}]
        """), route("bad-rules", """
        parentRefs: [{name: web, sectionName: a}]
        rules: [{filters: [{type: ExtensionRef, extensionRef: {group: x, kind: y, name: z}}]}]
        """), """
        apiVersion: gateway.networking.k8s.io/v1
        kind: HTTPRoute
        metadata: {name: foreign, namespace: money}
        spec:
          parentRefs: [{name: web, namespace: default}]
        """);
    JsonNode ls = status(c, "Gateway", "default/web").path("listeners");
    // a: conflicted and not accepted, still counted; "twice" once, "bad-rules" though it is not accepted
    assertThat(condition(ls.get(0).path("conditions"), "Accepted")).isEqualTo("False HostnameConflict");
    assertThat(ls.get(0).path("attachedRoutes").asInt()).isEqualTo(2);
    assertThat(ls.get(1).path("attachedRoutes").asInt()).isEqualTo(1);
    assertThat(ls.get(2).path("attachedRoutes").asInt()).isZero(); // allowedRoutes.kinds: GRPCRoute only
    assertThat(ls.get(3).path("attachedRoutes").asInt()).isEqualTo(1); // "foreign" is from another namespace
  }

  @Test
  void invalidReferencesGetTheirReasonsAndAnswer500() {
    GatewayConfig c = translate(GATEWAY, route("missing", """
        parentRefs: [{name: web, sectionName: http}]
        hostnames: [missing.test]
        rules: [{backendRefs: [{name: nosuch, port: 80}]}]
        """), route("foreign", """
        parentRefs: [{name: web, sectionName: http}]
        hostnames: [foreign.test]
        rules: [{backendRefs: [{name: billing, namespace: money, port: 80}]}]
        """), route("kind", """
        parentRefs: [{name: web, sectionName: http}]
        hostnames: [kind.test]
        rules: [{backendRefs: [{group: example.com, kind: Bucket, name: b}]}]
        """), route("noparent", """
        parentRefs: [{name: nosuch}]
        rules: [{backendRefs: [{name: shop, port: 8080}]}]
        """), route("section", """
        parentRefs: [{name: web, sectionName: nosuch}]
        rules: [{backendRefs: [{name: shop, port: 8080}]}]
        """));
    assertThat(parentCondition(c, "HTTPRoute", "default/missing", "ResolvedRefs")).isEqualTo("False BackendNotFound");
    assertThat(parentCondition(c, "HTTPRoute", "default/foreign", "ResolvedRefs")).isEqualTo("False RefNotPermitted");
    assertThat(parentCondition(c, "HTTPRoute", "default/kind", "ResolvedRefs")).isEqualTo("False InvalidKind");
    assertThat(parentCondition(c, "HTTPRoute", "default/noparent", "Accepted")).isEqualTo("False NoMatchingParent");
    assertThat(parentCondition(c, "HTTPRoute", "default/section", "Accepted")).isEqualTo("False NoMatchingParent");
    for (String host : List.of("missing.test", "foreign.test", "kind.test")) {
      RouteAction a = route(c, 80, new Req("/", host)).orElseThrow().action();
      assertThat(a).isInstanceOf(RouteAction.DirectResponse.class);
      assertThat(((RouteAction.DirectResponse) a).status()).isEqualTo(500);
    }
    assertThat(problems(c)).anyMatch(p -> p.startsWith("HTTPRoute default/foreign") && p.contains(
        "spec.rules[0].backendRefs[0].namespace: money: Service money/billing is in another namespace and no "
        + "ReferenceGrant in money allows it"));
  }

  @Test
  void anInvalidBackendAmongValidOnesKeepsItsShareWhichAnswers500OrUnavailable() {
    GatewayConfig c = translate(GATEWAY, route("r", """
        parentRefs: [{name: web, sectionName: http}]
        rules:
        - backendRefs: [{name: shop, port: 8080, weight: 3}, {name: nosuch, port: 80, weight: 1},
            {name: billing, namespace: money, port: 80}, {group: example.com, kind: Bucket, name: b, weight: 0}]
        """), grpcRoute("g", """
        parentRefs: [{name: web, sectionName: shop}]
        hostnames: [grpc.example.com]
        rules: [{backendRefs: [{name: shop, port: 8080}, {group: example.com, kind: Bucket, name: b}]}]
        """));
    RouteAction.Forward f = (RouteAction.Forward) route(c, 80, new Req("/", "h")).orElseThrow().action();
    assertThat(f.destinations()).extracting(d -> d.cluster().name() + " " + d.cluster().known() + " " + d.weight())
        .containsExactly("outbound|8080||shop.default.svc.cluster.local true 3",
            "outbound|80||nosuch.default.svc.cluster.local false 1",
            "outbound|80||billing.money.svc.cluster.local false 1"); // RefNotPermitted; weight 0 sends none
    assertThat(f.clusterNotFoundStatus()).isEqualTo(500);
    RouteAction.Forward g = (RouteAction.Forward) route(c, 8000, new Req("/", "grpc.example.com")).orElseThrow()
        .action();
    assertThat(g.destinations()).extracting(d -> d.cluster().known()).containsExactly(true, false);
    assertThat(g.clusterNotFoundStatus()).isEqualTo(503); // a gRPC client gets grpc-status 14, UNAVAILABLE
    assertThat(parentCondition(c, "HTTPRoute", "default/r", "ResolvedRefs")).isEqualTo("False BackendNotFound");
    assertThat(problems(c)).anyMatch(p -> p.startsWith("GRPCRoute default/g") && p.endsWith("requests for it "
        + "answer UNAVAILABLE"));
  }

  @Test
  void aReferenceGrantAllowsTheCrossNamespaceBackend() {
    GatewayConfig c = translate(GATEWAY, route("foreign", """
        parentRefs: [{name: web, sectionName: http}]
        rules: [{backendRefs: [{name: billing, namespace: money, port: 80}]}]
        """), """
        apiVersion: gateway.networking.k8s.io/v1beta1
        kind: ReferenceGrant
        metadata: {name: allow, namespace: money}
        spec:
          from: [{group: gateway.networking.k8s.io, kind: HTTPRoute, namespace: default}]
          to: [{group: "", kind: Service}]
        """);
    assertThat(parentCondition(c, "HTTPRoute", "default/foreign", "ResolvedRefs")).isEqualTo("True ResolvedRefs");
    RouteAction.Forward f = (RouteAction.Forward) route(c, 80, new Req("/", "h")).orElseThrow().action();
    assertThat(f.destinations().get(0).cluster().name()).isEqualTo("outbound|80||billing.money.svc.cluster.local");
  }

  @Test
  void allowedRoutesNamespacesAreEnforced() {
    GatewayConfig c = translate("""
        apiVersion: gateway.networking.k8s.io/v1
        kind: Gateway
        metadata: {name: shared, namespace: infra}
        spec:
          gatewayClassName: portcullis
          listeners:
          - {name: same, port: 80, protocol: HTTP, hostname: same.test}
          - name: selected
            port: 80
            protocol: HTTP
            hostname: selected.test
            allowedRoutes: {namespaces: {from: Selector, selector: {matchLabels: {shared-gateway: "true"}}}}
          - {name: all, port: 80, protocol: HTTP, hostname: all.test, allowedRoutes: {namespaces: {from: All}}}
        ---
        apiVersion: v1
        kind: Namespace
        metadata: {name: default, labels: {shared-gateway: "true"}}
        """, route("r", """
        parentRefs: [{name: shared, namespace: infra}]
        rules: [{backendRefs: [{name: shop, port: 8080}]}]
        """));
    assertThat(name(c, 80, "same.test", "/")).isEqualTo("none");
    assertThat(name(c, 80, "selected.test", "/")).isEqualTo("default/r.0.0");
    assertThat(name(c, 80, "all.test", "/")).isEqualTo("default/r.0.0");
    JsonNode listeners = status(c, "Gateway", "infra/shared").path("listeners");
    assertThat(listeners.get(0).path("attachedRoutes").asInt()).isZero();
    assertThat(listeners.get(1).path("attachedRoutes").asInt()).isEqualTo(1);
  }

  @Test
  void everyConflictingListenerIsConflictedAndNotServedWhileTheOthersAre() {
    GatewayConfig c = translate(gateway("web", """
        - {name: a, port: 80, protocol: HTTP, hostname: a.test}
        - {name: b, port: 80, protocol: HTTP, hostname: a.test}
        - {name: ok, port: 80, protocol: HTTP, hostname: ok.test}
        - {name: c, port: 81, protocol: HTTP, hostname: c.test}
        - {name: c-tls, port: 81, protocol: HTTPS, hostname: c2.test, tls: {certificateRefs: [{name: cert}]}}
        - {name: d, port: 90, protocol: UDP}
        - {name: e, port: 70000, protocol: HTTP}
        - {name: f, port: 91, protocol: HTTP, allowedRoutes: {kinds: [{kind: TLSRoute}, {kind: HTTPRoute}]}}
        - {name: g, port: 92, protocol: HTTP, hostname: 10.0.0.1}
        """), route("r", "parentRefs: [{name: web}]\nrules: [{backendRefs: [{name: shop, port: 8080}]}]"));
    JsonNode ls = status(c, "Gateway", "default/web").path("listeners");
    // the spec (v1.4, "Handling indistinct Listeners"): no winner, ALL indistinct listeners are not accepted
    for (int i : new int[] {0, 1}) {
      assertThat(condition(ls.get(i).path("conditions"), "Conflicted")).isEqualTo("True HostnameConflict");
      assertThat(condition(ls.get(i).path("conditions"), "Accepted")).isEqualTo("False HostnameConflict");
      assertThat(condition(ls.get(i).path("conditions"), "Programmed")).isEqualTo("False Invalid");
    }
    assertThat(condition(ls.get(2).path("conditions"), "Conflicted")).isEqualTo("False NoConflicts");
    assertThat(condition(ls.get(2).path("conditions"), "Programmed")).isEqualTo("True Programmed");
    for (int i : new int[] {3, 4}) {
      assertThat(condition(ls.get(i).path("conditions"), "Conflicted")).isEqualTo("True ProtocolConflict");
      assertThat(condition(ls.get(i).path("conditions"), "Accepted")).isEqualTo("False ProtocolConflict");
    }
    assertThat(condition(ls.get(5).path("conditions"), "Accepted")).isEqualTo("False UnsupportedProtocol");
    assertThat(condition(ls.get(5).path("conditions"), "Conflicted")).isEqualTo("False NoConflicts");
    assertThat(condition(ls.get(6).path("conditions"), "Accepted")).isEqualTo("False PortUnavailable");
    assertThat(condition(ls.get(7).path("conditions"), "ResolvedRefs")).isEqualTo("False InvalidRouteKinds");
    assertThat(ls.get(7).path("supportedKinds").toString()).contains("HTTPRoute").doesNotContain("TLSRoute");
    // Listener reason UnsupportedValue (Gateway API v1.5+; v1.4 has no Accepted reason for a bad hostname)
    assertThat(condition(ls.get(8).path("conditions"), "Accepted")).isEqualTo("False UnsupportedValue");
    assertThat(condition(ls.get(8).path("conditions"), "Programmed")).isEqualTo("False Invalid");
    assertThat(problems(c)).anyMatch(p -> p.contains("spec.listeners[6].port: 70000 (expected: a port in "
        + "1..65535)"));
    assertThat(problems(c)).anyMatch(p -> p.contains("spec.listeners[0].hostname: a.test on port 80 is also "
        + "listener b's; none of them is served"));
    assertThat(problems(c)).anyMatch(p -> p.contains("spec.listeners[1].hostname: a.test on port 80 is also "
        + "listener a's"));
    JsonNode gw = status(c, "Gateway", "default/web");
    assertThat(condition(gw.path("conditions"), "Accepted")).isEqualTo("True ListenersNotValid");
    assertThat(gw.path("conditions").get(0).path("message").asText()).contains("a (Conflicted HostnameConflict)",
        "c-tls (Conflicted ProtocolConflict)", "g (UnsupportedValue)", "accepted: ok, f");
    assertThat(c.listeners().get(80).servers()).extracting(s -> s.portName()).containsExactly("ok");
    assertThat(c.listeners()).doesNotContainKey(81);
    assertThat(name(c, 80, "a.test", "/")).isEqualTo("none");
    assertThat(name(c, 80, "ok.test", "/")).isEqualTo("default/r.0.0");
  }

  @Test
  void listenersOfTwoGatewaysOnOnePortConflictOnProtocolAndShareAHostname() {
    GatewayConfig c = translate("""
        apiVersion: gateway.networking.k8s.io/v1
        kind: Gateway
        metadata: {name: one, namespace: default}
        spec:
          gatewayClassName: portcullis
          listeners:
          - {name: shop, port: 80, protocol: HTTP, hostname: shop.test}
          - {name: plain, port: 81, protocol: HTTP}
          - {name: own, port: 80, protocol: HTTP, hostname: one.test}
        ---
        apiVersion: gateway.networking.k8s.io/v1
        kind: Gateway
        metadata: {name: two, namespace: default}
        spec:
          gatewayClassName: portcullis
          listeners:
          - {name: shop, port: 80, protocol: HTTP, hostname: shop.test}
          - {name: tls, port: 81, protocol: HTTPS, tls: {certificateRefs: [{name: cert}]}}
          - {name: own, port: 80, protocol: HTTP, hostname: two.test}
        """);
    JsonNode one = status(c, "Gateway", "default/one").path("listeners");
    JsonNode two = status(c, "Gateway", "default/two").path("listeners");
    // plain HTTP beside HTTPS on one port: neither can be served
    assertThat(condition(one.get(1).path("conditions"), "Conflicted")).isEqualTo("True ProtocolConflict");
    assertThat(condition(two.get(1).path("conditions"), "Conflicted")).isEqualTo("True ProtocolConflict");
    assertThat(one.get(1).path("conditions").toString()).contains("listener tls of Gateway default/two (HTTPS)");
    assertThat(c.listeners()).doesNotContainKey(81);
    // one hostname in two Gateways: served together, and said so
    assertThat(condition(one.get(0).path("conditions"), "Conflicted")).isEqualTo("False NoConflicts");
    assertThat(one.get(0).path("conditions").toString()).contains("hostname shop.test on port 80 is also listener "
        + "shop of Gateway default/two's: their routes are served together");
    assertThat(condition(two.get(0).path("conditions"), "Programmed")).isEqualTo("True Programmed");
    assertThat(c.problems()).anyMatch(p -> p.severity() == io.portcullis.config.Problem.Severity.WARNING
        && p.subject().equals("Gateway default/two") && p.field().equals("spec.listeners[0].hostname")
        && p.message().startsWith("hostname shop.test on port 80 is also listener shop of Gateway default/one's"));
    assertThat(c.listeners().get(80).servers()).extracting(s -> s.portName()).containsExactly("shop", "own", "shop",
        "own");
  }

  @Test
  void aListenerOnAPortAnIstioGatewayServesTheOtherWayIsAProtocolConflict() {
    GatewayConfig c = translate("""
        apiVersion: networking.istio.io/v1
        kind: Gateway
        metadata: {name: istio, namespace: default}
        spec:
          servers: [{port: {number: 80, name: http, protocol: HTTP}, hosts: ["*"]}]
        ---
        apiVersion: gateway.networking.k8s.io/v1
        kind: Gateway
        metadata: {name: web, namespace: default}
        spec:
          gatewayClassName: portcullis
          listeners:
          - {name: tls, port: 80, protocol: HTTPS, hostname: a.test, tls: {certificateRefs: [{name: cert}]}}
        """);
    JsonNode ls = status(c, "Gateway", "default/web").path("listeners");
    assertThat(condition(ls.get(0).path("conditions"), "Conflicted")).isEqualTo("True ProtocolConflict");
    assertThat(ls.get(0).path("conditions").toString()).contains("plain HTTP server Gateway default/istio "
        + "spec.servers[0], which keeps serving");
    assertThat(c.listeners().get(80).tls()).isFalse();
  }

  @ParameterizedTest(name = "route hostnames {0}")
  @CsvSource({"false", "true"})
  void aRequestSeesOnlyTheRoutesOfTheMostSpecificListenerOfItsHost(boolean routeHostnames) {
    GatewayConfig c = translate(GatewayApiManifests.isolation(80, "shop", 8080, routeHostnames));
    Map<String, String> owner = Map.of("bar.com", "empty-hostname", "bar.example.com", "wildcard-example-com",
        "bar.foo.example.com", "wildcard-foo-example-com", "abc.foo.example.com", "abc-foo-example-com");
    for (var e : owner.entrySet()) {
      for (String path : GatewayApiManifests.ISOLATION_LISTENERS) {
        assertThat(name(c, 80, e.getKey(), "/" + path)).as(e.getKey() + " /" + path)
            .isEqualTo(path.equals(e.getValue()) ? "default/attaches-to-" + path + ".0.0" : "none");
      }
    }
    for (String l : GatewayApiManifests.ISOLATION_LISTENERS) {
      assertThat(condition(status(c, "HTTPRoute", "default/attaches-to-" + l).path("parents").get(0)
          .path("conditions"), "Accepted")).isEqualTo("True Accepted");
    }
  }

  @Test
  void aListenerWithAHostnameAndNoRoutesDoesNotFallThroughToAWildcardSibling() {
    GatewayConfig c = translate(gateway("iso", """
        - {name: any, port: 80, protocol: HTTP}
        - {name: shop, port: 80, protocol: HTTP, hostname: "*.shop.test"}
        """), route("any", "parentRefs: [{name: iso, sectionName: any}]\nrules: [{backendRefs: [{name: shop, port: "
        + "8080}]}]"));
    assertThat(name(c, 80, "other.test", "/")).isEqualTo("default/any.0.0");
    assertThat(name(c, 80, "a.shop.test", "/")).isEqualTo("none");
  }

  @Test
  void anHttpRouteAndAGrpcRouteSharingAHostOnAListenerServeOnlyTheOldest() {
    GatewayConfig c = translate(GATEWAY, """
        apiVersion: gateway.networking.k8s.io/v1
        kind: HTTPRoute
        metadata: {name: web, namespace: default, creationTimestamp: "2026-02-01T00:00:00Z"}
        spec:
          parentRefs: [{name: web, sectionName: http}]
          hostnames: [shop.test, other.test]
          rules: [{backendRefs: [{name: shop, port: 8080}]}]
        ---
        apiVersion: gateway.networking.k8s.io/v1
        kind: GRPCRoute
        metadata: {name: grpc, namespace: default, creationTimestamp: "2026-01-01T00:00:00Z"}
        spec:
          parentRefs: [{name: web, sectionName: http}]
          hostnames: ["*.test"]
          rules: [{backendRefs: [{name: cart, port: 81}]}]
        ---
        apiVersion: gateway.networking.k8s.io/v1
        kind: GRPCRoute
        metadata: {name: elsewhere, namespace: default, creationTimestamp: "2026-03-01T00:00:00Z"}
        spec:
          parentRefs: [{name: web, sectionName: http}]
          hostnames: [grpc.example.org]
          rules: [{backendRefs: [{name: cart, port: 81}]}]
        ---
        apiVersion: gateway.networking.k8s.io/v1
        kind: HTTPRoute
        metadata: {name: a-tie, namespace: default, creationTimestamp: "2026-03-01T00:00:00Z"}
        spec:
          parentRefs: [{name: web, sectionName: http}]
          hostnames: [grpc.example.org]
          rules: [{backendRefs: [{name: shop, port: 8080}]}]
        """);
    // the older GRPCRoute wins; on a timestamp tie, namespace/name: default/a-tie before default/elsewhere
    assertThat(name(c, 80, "shop.test", "/")).isEqualTo("default/grpc.0.0");
    assertThat(name(c, 80, "grpc.example.org", "/")).isEqualTo("default/a-tie.0.0");
    assertThat(parentCondition(c, "HTTPRoute", "default/web", "Accepted")).isEqualTo("False NotAllowedByListeners");
    assertThat(parentCondition(c, "GRPCRoute", "default/elsewhere", "Accepted"))
        .isEqualTo("False NotAllowedByListeners");
    assertThat(parentCondition(c, "GRPCRoute", "default/grpc", "Accepted")).isEqualTo("True Accepted");
    assertThat(problems(c)).anyMatch(p -> p.startsWith("HTTPRoute default/web") && p.contains("spec.hostnames: "
        + "listener http already serves GRPCRoute default/grpc (older) for *.test"));
  }

  @Test
  void aMissingCertificateSecretIsReportedAndTheListenerStillServesItsHost() {
    GatewayConfig c = translate(gateway("web", """
        - {name: https, port: 443, protocol: HTTPS, hostname: shop.test, tls: {certificateRefs: [{name: shop-tls}]}}
        - name: foreign
          port: 443
          protocol: HTTPS
          hostname: foreign.test
          tls: {certificateRefs: [{name: their-tls, namespace: money}]}
        """));
    JsonNode ls = status(c, "Gateway", "default/web").path("listeners");
    assertThat(condition(ls.get(0).path("conditions"), "ResolvedRefs")).isEqualTo("False InvalidCertificateRef");
    assertThat(condition(ls.get(1).path("conditions"), "ResolvedRefs")).isEqualTo("False RefNotPermitted");
    var servers = c.listeners().get(443).servers();
    assertThat(servers).hasSize(1);
    assertThat(servers.get(0).tls().orElseThrow().credentialNames()).containsExactly("default/shop-tls");
  }

  @Test
  void filtersBecomeHeaderOpsRedirectsRewritesAndMirrors() {
    GatewayConfig c = translate(GATEWAY, route("r", """
        parentRefs: [{name: web, sectionName: http}]
        rules:
        - matches: [{path: {value: /redirect}}]
          filters:
          - {type: RequestRedirect, requestRedirect: {scheme: https, hostname: secure.test, statusCode: 301}}
        - matches: [{path: {value: /rewrite}}]
          filters:
          - {type: URLRewrite, urlRewrite: {hostname: internal.test, path: {type: ReplacePrefixMatch, replacePrefixMatch: /v2}}}
          - type: RequestHeaderModifier
            requestHeaderModifier: {set: [{name: X-Set, value: s}], add: [{name: X-Add, value: a}], remove: [X-Gone]}
          - {type: ResponseHeaderModifier, responseHeaderModifier: {set: [{name: X-Resp, value: r}]}}
          - {type: RequestMirror, requestMirror: {backendRef: {name: cart, port: 81}, percent: 25}}
          backendRefs: [{name: shop, port: 8080, weight: 3}, {name: cart, port: 81, weight: 1}]
          timeouts: {request: 10s, backendRequest: 2s}
        """));
    RouteAction.Redirect rd = (RouteAction.Redirect) route(c, 80, new Req("/redirect", "h")).orElseThrow().action();
    assertThat(rd.scheme()).contains("https");
    assertThat(rd.authority()).contains("secure.test");
    assertThat(rd.code()).isEqualTo(301);
    HttpRoute r = route(c, 80, new Req("/rewrite/x", "h")).orElseThrow();
    RouteAction.Forward f = (RouteAction.Forward) r.action();
    assertThat(f.rewriteUri()).contains("/v2");
    assertThat(f.rewriteFullPath()).isFalse();
    assertThat(f.rewriteAuthority()).contains("internal.test");
    assertThat(f.destinations()).extracting(RouteAction.WeightedCluster::weight).containsExactly(3, 1);
    assertThat(f.mirrors()).singleElement().satisfies(m -> {
      assertThat(m.cluster().name()).isEqualTo("outbound|81||cart.default.svc.cluster.local");
      assertThat(m.percent()).isEqualTo(25.0);
    });
    assertThat(f.timeout()).hasSeconds(10);
    assertThat(f.retries().perTryTimeout()).hasSeconds(2);
    assertThat(r.requestHeaders().set()).containsEntry("X-Set", "s");
    assertThat(r.requestHeaders().add()).containsEntry("X-Add", "a");
    assertThat(r.requestHeaders().remove()).containsExactly("X-Gone");
    assertThat(r.responseHeaders().set()).containsEntry("X-Resp", "r");
  }

  @Test
  void anUnsupportedFilterMakesTheRouteNotAccepted() {
    GatewayConfig c = translate(GATEWAY, route("r", """
        parentRefs: [{name: web, sectionName: http}]
        rules:
        - filters: [{type: ExtensionRef, extensionRef: {group: example.com, kind: Thing, name: t}}]
          backendRefs: [{name: shop, port: 8080}]
        """));
    assertThat(parentCondition(c, "HTTPRoute", "default/r", "Accepted")).isEqualTo("False UnsupportedValue");
    assertThat(name(c, 80, "h", "/")).isEqualTo("none");
  }

  @Test
  void invalidRulesAreDroppedAndTheValidOnesServedWithPartiallyInvalid() {
    GatewayConfig c = translate(GATEWAY, route("r", """
        parentRefs: [{name: web, sectionName: http}]
        rules:
        - matches: [{path: {value: /good}}]
          backendRefs: [{name: shop, port: 8080}]
        - matches: [{path: {value: /both}}]
          filters:
          - {type: RequestRedirect, requestRedirect: {hostname: x.test}}
          - {type: URLRewrite, urlRewrite: {hostname: y.test}}
        - matches: [{path: {value: /ext}}]
          filters: [{type: ExtensionRef, extensionRef: {group: example.com, kind: Thing, name: t}}]
        """), route("bad", """
        parentRefs: [{name: web, sectionName: http}]
        hostnames: [bad.test]
        rules:
        - filters:
          - {type: RequestRedirect, requestRedirect: {hostname: x.test}}
          - {type: URLRewrite, urlRewrite: {hostname: y.test}}
        """));
    JsonNode conditions = status(c, "HTTPRoute", "default/r").path("parents").get(0).path("conditions");
    assertThat(condition(conditions, "Accepted")).isEqualTo("True Accepted");
    assertThat(condition(conditions, "PartiallyInvalid")).isEqualTo("True IncompatibleFilters");
    String message = conditions.findValuesAsText("message").stream().filter(m -> m.startsWith("Dropped Rule"))
        .findFirst().orElseThrow();
    assertThat(message).startsWith("Dropped Rules 1 (spec.rules[1].filters: RequestRedirect and URLRewrite together")
        .contains("; 2 (spec.rules[2].filters[0].type: ExtensionRef (expected:");
    assertThat(name(c, 80, "h", "/good")).isEqualTo("default/r.0.0");
    assertThat(name(c, 80, "h", "/both")).isEqualTo("none");
    assertThat(name(c, 80, "h", "/ext")).isEqualTo("none");
    // every rule dropped: not accepted, with the rule's reason, and no PartiallyInvalid
    JsonNode bad = status(c, "HTTPRoute", "default/bad").path("parents").get(0).path("conditions");
    assertThat(condition(bad, "Accepted")).isEqualTo("False IncompatibleFilters");
    assertThat(condition(bad, "PartiallyInvalid")).isEqualTo("unset");
    assertThat(condition(conditions, "ResolvedRefs")).isEqualTo("True ResolvedRefs");
  }

  @Test
  void aGrpcRouteDropsItsInvalidRulesToo() {
    GatewayConfig c = translate(GATEWAY, grpcRoute("g", """
        parentRefs: [{name: web, sectionName: http}]
        rules:
        - matches: [{method: {service: echo.Echo}}]
          backendRefs: [{name: shop, port: 8080}]
        - matches: [{method: {type: Suffix, service: echo.Other}}]
          backendRefs: [{name: shop, port: 8080}]
        """));
    JsonNode conditions = status(c, "GRPCRoute", "default/g").path("parents").get(0).path("conditions");
    assertThat(condition(conditions, "Accepted")).isEqualTo("True Accepted");
    assertThat(condition(conditions, "PartiallyInvalid")).isEqualTo("True UnsupportedValue");
    assertThat(name(c, 80, "h", "/echo.Echo/Say")).isEqualTo("default/g.0.0");
  }

  @Test
  void grpcRoutesMatchServiceAndMethodAndSpeakHttp2() {
    GatewayConfig c = translate(GATEWAY, grpcRoute("g", """
        parentRefs: [{name: web, sectionName: http}]
        rules:
        - matches: [{method: {service: echo.Echo, method: Say}}]
          backendRefs: [{name: shop, port: 8080}]
        - matches: [{method: {service: echo.Echo}}]
          backendRefs: [{name: cart, port: 81}]
        """));
    assertThat(name(c, 80, "h", "/echo.Echo/Say")).isEqualTo("default/g.0.0");
    assertThat(name(c, 80, "h", "/echo.Echo/Other")).isEqualTo("default/g.1.0");
    assertThat(name(c, 80, "h", "/other.Svc/Say")).isEqualTo("none");
    RouteAction.Forward f = (RouteAction.Forward) route(c, 80, new Req("/echo.Echo/Say", "h")).orElseThrow()
        .action();
    assertThat(f.destinations().get(0).cluster().protocol()).isEqualTo(io.portcullis.routing.Cluster.Protocol.HTTP2);
  }

  @Test
  void aGrpcRuleWithoutAValidBackendAnswersUnavailable() {
    GatewayConfig c = translate(GATEWAY, grpcRoute("g", """
        parentRefs: [{name: web, sectionName: http}]
        rules:
        - matches: [{method: {service: echo.None}}]
        - matches: [{method: {service: echo.Missing}}]
          backendRefs: [{name: nosuch, port: 80}]
        """));
    for (String path : List.of("/echo.None/Say", "/echo.Missing/Say")) {
      RouteAction a = route(c, 80, new Req(path, "h")).orElseThrow().action();
      // 503: the data plane's gRPC reply for it is grpc-status 14 (UNAVAILABLE); a 500 would be 2 (UNKNOWN)
      assertThat(a).isInstanceOfSatisfying(RouteAction.DirectResponse.class, d -> assertThat(d.status())
          .isEqualTo(503));
    }
  }

  @ParameterizedTest
  @CsvSource({
      "/echo.Echo/Say, default/g.0.0",
      "/other.Svc/Say, default/g.0.0",
      "/other.Svc/Hear, default/g.0.0",
      "/echo.Echo/Hear, default/g.0.0",
      "/echo.Echo, none", // ungrouped, "/echo\\.Echo|other\\.Svc/Say|Hear" would match this
      "/echo.Echo/Other, none",
      "/third.Svc/Say, none",
  })
  void grpcRegexMatchesKeepEachAlternationInItsOwnPathSegment(String path, String expected) {
    GatewayConfig c = translate(GATEWAY, grpcRoute("g", """
        parentRefs: [{name: web, sectionName: http}]
        rules:
        - matches: [{method: {type: RegularExpression, service: 'echo\\.Echo|other\\.Svc', method: 'Say|Hear'}}]
          backendRefs: [{name: shop, port: 8080}]
        """));
    assertThat(name(c, 80, "h", path)).isEqualTo(expected);
  }

  @Test
  void tlsRoutesRouteAPassthroughListenerBySni() {
    GatewayConfig c = translate("""
        apiVersion: gateway.networking.k8s.io/v1
        kind: Gateway
        metadata: {name: tls, namespace: default}
        spec:
          gatewayClassName: portcullis
          listeners:
          - {name: pass, port: 8443, protocol: TLS, tls: {mode: Passthrough}}
        ---
        apiVersion: gateway.networking.k8s.io/v1alpha2
        kind: TLSRoute
        metadata: {name: t, namespace: default}
        spec:
          parentRefs: [{name: tls}]
          hostnames: [db.example.com]
          rules: [{backendRefs: [{name: shop, port: 8080}]}]
        """);
    var l = c.listeners().get(8443);
    assertThat(l.passthrough().find("db.example.com")).hasValueSatisfying(t -> assertThat(t.name())
        .isEqualTo("default/t"));
    assertThat(l.passthrough().find("other.example.com")).isEmpty();
    assertThat(parentCondition(c, "TLSRoute", "default/t", "Accepted")).isEqualTo("True Accepted");
  }
}
