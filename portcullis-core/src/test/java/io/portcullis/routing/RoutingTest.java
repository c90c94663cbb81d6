package io.portcullis.routing;

import static org.assertj.core.api.Assertions.assertThat;

import io.portcullis.config.GatewayConfig;
import io.portcullis.config.Manifests;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
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
        - name: nested-uri
          match: [{uri: {regex: "/((a+)+)+$"}}]
          directResponse: {status: 206}
        - name: nested-header
          match: [{headers: {x-probe: {regex: "(a+)+$"}}}]
          directResponse: {status: 207}
        - name: regex-ci
          match: [{uri: {regex: "/Docs/[a-z]+"}, ignoreUriCase: true}]
          directResponse: {status: 208}
        - name: query
          match: [{queryParams: {v: {exact: "2"}, debug: {}, id: {regex: "[0-9]+"}, lang: {prefix: en}}}]
          directResponse: {status: 209}
        - name: query-any
          match: [{uri: {prefix: /any}, queryParams: {k: {regex: "*"}}}]
          directResponse: {status: 210}
        - name: fallback
          directResponse: {status: 299}
      """;

  record Req(String path, String query, String authority, String method, Map<String, String> headers, int port)
      implements RouteMatch.RequestView {
    /** A request for {@code pathAndQuery} ({@code /p?a=1}), split as the proxy splits it. */
    static Req of(String pathAndQuery, String authority, String method, Map<String, String> headers, int port) {
      int q = pathAndQuery.indexOf('?');
      return q < 0 ? new Req(pathAndQuery, "", authority, method, headers, port)
          : new Req(pathAndQuery.substring(0, q), pathAndQuery.substring(q + 1), authority, method, headers, port);
    }

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
      // RE2: the nested quantifiers that backtrack exponentially in java.util.regex match in linear time.
      "GET|/aaaa|www.example.com|80||nested-uri",
      "GET|/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa|www.example.com|80||nested-uri",
      "GET|/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!|www.example.com|80||fallback",
      "GET|/aaaa/|www.example.com|80||fallback",
      "GET|/zzz|exact.org|80|x-probe=aaaa|nested-header",
      "GET|/zzz|exact.org|80|x-probe=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!|fallback",
      // ignoreUriCase applies to a uri regex too: (?i).
      "GET|/docs/intro|www.example.com|80||regex-ci",
      "GET|/DOCS/Intro|www.example.com|80||regex-ci",
      "GET|/docs/1|www.example.com|80||fallback",
      // queryParams: the first value as sent, names case-sensitive, {} and regex "*" mean present.
      "GET|/q?v=2&debug&id=42&lang=en-GB|www.example.com|80||query",
      "GET|/q?lang=en&id=7&debug=&v=2|www.example.com|80||query",
      "GET|/q?v=2&v=3&debug=1&id=1&lang=en|www.example.com|80||query",
      "GET|/q?v=3&v=2&debug=1&id=1&lang=en|www.example.com|80||fallback",
      "GET|/q?v=2&id=42&lang=en|www.example.com|80||fallback",
      "GET|/q?v=2&debug&id=4x&lang=en|www.example.com|80||fallback",
      "GET|/q?v=2&debug&id=1&lang=fr|www.example.com|80||fallback",
      "GET|/q?V=2&debug&id=1&lang=en|www.example.com|80||fallback",
      "GET|/q?v=%32&debug&id=1&lang=en|www.example.com|80||fallback",
      "GET|/q|www.example.com|80||fallback",
      "GET|/any?k|www.example.com|80||query-any",
      "GET|/any?a=1&k=x|www.example.com|80||query-any",
      "GET|/any?kk=1|www.example.com|80||fallback",
  })
  void firstMatchingRuleWins(String method, String path, String host, int port, String headers, String expected) {
    GatewayConfig c = Manifests.translate(CONFIG);
    Map<String, String> h = new HashMap<>();
    if (headers != null) {
      String[] kv = headers.split("=", 2);
      h.put(kv[0], kv[1]);
    }
    VirtualHost vh = c.listeners().get(port).routes().find(host).orElseThrow();
    assertThat(vh.route(Req.of(path, host, method, h, port)).orElseThrow().name()).isEqualTo(expected);
  }

  @Test
  void everyMatchFieldOfTheConfigIsActedOn() {
    assertThat(Manifests.translate(CONFIG).problems()).isEmpty();
  }

  /** The inputs of issue 12 that took java.util.regex 30 s and 12 s; the timeout only proves "does not hang". */
  @Test
  @Timeout(60)
  void nestedQuantifiersOnLongNearMissesDoNotMatch() {
    VirtualHost vh = Manifests.translate(CONFIG).listeners().get(80).routes().find("exact.org").orElseThrow();
    String path = "/" + "a".repeat(30) + "!";
    assertThat(vh.route(Req.of(path, "exact.org", "GET", Map.of(), 80)).orElseThrow().name()).isEqualTo("fallback");
    Map<String, String> header = Map.of("x-probe", "a".repeat(60 * 1024) + "!");
    assertThat(vh.route(Req.of("/zzz", "exact.org", "GET", header, 80)).orElseThrow().name()).isEqualTo("fallback");
    Map<String, String> matching = Map.of("x-probe", "a".repeat(60 * 1024));
    assertThat(vh.route(Req.of("/zzz", "exact.org", "GET", matching, 80)).orElseThrow().name())
        .isEqualTo("nested-header");
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
    Req r = Req.of(path, "h", "GET", Map.of(), 80);
    assertThat(HttpRoute.rewritePath(path, rewrite, java.util.List.of(m), r)).isEqualTo(expected);
  }
}
