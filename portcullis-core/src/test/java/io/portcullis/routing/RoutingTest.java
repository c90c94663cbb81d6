package io.portcullis.routing;

import static org.assertj.core.api.Assertions.assertThat;

import io.portcullis.config.GatewayConfig;
import io.portcullis.config.Manifests;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** Istio's matching semantics: match blocks ORed, conditions ANDed, first rule wins. */
class RoutingTest {
  static final String CONFIG = """
      apiVersion: networking.istio.io/v1
      kind: Gateway
      metadata: {name: gw}
      spec:
        servers:
        - port: {number: 80, name: http, protocol: HTTP}
          hosts: ["*"]
        - port: {number: 8080, name: http-alt, protocol: HTTP}
          hosts: ["*"]
      ---
      apiVersion: networking.istio.io/v1
      kind: VirtualService
      metadata: {name: vs}
      spec:
        hosts: ["*.example.com", "exact.org"]
        gateways: [gw]
        http:
        - name: exact-ci
          match: [{uri: {exact: /Hello}, ignoreUriCase: true}]
          directResponse: {status: 200}
        - name: and-conditions
          match: [{uri: {prefix: /api}, method: {exact: POST}, headers: {x-env: {exact: canary}}}]
          directResponse: {status: 201}
        - name: regex
          match: [{uri: {regex: "/items/[0-9]+"}}]
          directResponse: {status: 202}
        - name: or-blocks
          match: [{uri: {prefix: /abc}}, {authority: {prefix: admin.}}]
          directResponse: {status: 203}
        - name: port-only
          match: [{port: 8080}]
          directResponse: {status: 204}
        - name: header-regex
          match: [{headers: {user-agent: {regex: ".*curl.*"}}}]
          directResponse: {status: 205}
        - name: fallback
          directResponse: {status: 299}
      """;

  record Req(String path, String authority, String method, Map<String, String> headers, int port)
      implements RouteMatch.RequestView {
    @Override
    public String header(String lowerCaseName) {
      return headers.get(lowerCaseName);
    }
  }

  @ParameterizedTest(name = "{0} {1} {2} port {3} headers [{4}] -> {5}")
  @CsvSource(delimiter = '|', value = {
      "GET|/hello|www.example.com|80||exact-ci",
      "GET|/HELLO|www.example.com|80||exact-ci",
      "GET|/hello/x|www.example.com|80||fallback",
      "POST|/api/v1|www.example.com|80|x-env=canary|and-conditions",
      "GET|/api/v1|www.example.com|80|x-env=canary|fallback",
      "POST|/api/v1|www.example.com|80|x-env=prod|fallback",
      "GET|/items/42|www.example.com|80||regex",
      "GET|/items/x42|www.example.com|80||fallback",
      "GET|/abc|www.example.com|80||or-blocks",
      "GET|/zzz|admin.example.com|80||or-blocks",
      "GET|/zzz|www.example.com|8080||port-only",
      "GET|/zzz|exact.org|80|user-agent=curl/8.0|header-regex",
      "GET|/zzz|exact.org|80|user-agent=wget|fallback",
  })
  void firstMatchingRuleWins(String method, String path, String host, int port, String headers, String expected) {
    GatewayConfig c = Manifests.translate(CONFIG);
    Map<String, String> h = new HashMap<>();
    if (headers != null) {
      String[] kv = headers.split("=", 2);
      h.put(kv[0], kv[1]);
    }
    VirtualHost vh = c.listeners().get(port).routes().find(host).orElseThrow();
    assertThat(vh.route(new Req(path, host, method, h, port)).orElseThrow().name()).isEqualTo(expected);
  }

  @ParameterizedTest
  @CsvSource({"other.org", "example.com"})
  void hostsOutsideTheVirtualServiceHaveNoRoute(String host) {
    GatewayConfig c = Manifests.translate(CONFIG);
    assertThat(c.listeners().get(80).routes().find(host)).isEmpty();
  }

  @ParameterizedTest(name = "{0} rewritten with {1} -> {2}")
  @CsvSource({"/status/418, /s, /s/418", "/status, /x, /x"})
  void prefixRewriteKeepsTheRest(String path, String rewrite, String expected) {
    RouteMatch m = new RouteMatch(java.util.Optional.of(new StringMatcher.Prefix("/status", false)),
        java.util.Optional.empty(), java.util.Optional.empty(), Map.of(), 0);
    Req r = new Req(path, "h", "GET", Map.of(), 80);
    assertThat(HttpRoute.rewritePath(path, rewrite, java.util.List.of(m), r)).isEqualTo(expected);
  }
}
