package io.portcullis.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.groups.Tuple.tuple;

import io.portcullis.routing.RouteAction;
import io.portcullis.routing.VirtualHost;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class ConfigTranslatorTest {
  static final String GATEWAY = """
      apiVersion: networking.istio.io/v1alpha3
      kind: Gateway
      metadata: {name: mygateway}
      spec:
        selector: {istio: ingressgateway}
        servers:
        - port: {number: 443, name: https, protocol: HTTPS}
          tls: {mode: SIMPLE, credentialName: httpbin-credential}
          hosts: ["httpbin.example.com"]
        - port: {number: 443, name: https-hello, protocol: HTTPS}
          tls: {mode: SIMPLE, credentialName: helloworld-credential, minProtocolVersion: TLSV1_3}
          hosts: ["helloworld-v1.example.com"]
        - port: {number: 80, name: http, protocol: HTTP}
          tls: {httpsRedirect: true}
          hosts: ["*"]
      """;
  static final String VIRTUAL_SERVICE = """
      apiVersion: networking.istio.io/v1beta1
      kind: VirtualService
      metadata: {name: httpbin}
      spec:
        hosts: ["httpbin.example.com"]
        gateways: [mygateway]
        http:
        - match:
          - uri: {prefix: /status}
          - uri: {prefix: /delay}
          route:
          - destination: {host: httpbin, port: {number: 8000}}
          timeout: 1.5s
          retries: {attempts: 3, perTryTimeout: 500ms, retryOn: "5xx,connect-failure"}
      """;
  static final String SERVICE_ENTRY = """
      apiVersion: networking.istio.io/v1
      kind: ServiceEntry
      metadata: {name: httpbin}
      spec:
        hosts: [httpbin.default.svc.cluster.local]
        ports: [{number: 8000, name: http, protocol: HTTP, targetPort: 18000}]
        resolution: STATIC
        endpoints: [{address: 127.0.0.1}, {address: 127.0.0.2, ports: {http: 28000}}]
      """;

  @Test
  void translatesTheSeedWalkthrough() {
    GatewayConfig c = Manifests.translate(GATEWAY, VIRTUAL_SERVICE, SERVICE_ENTRY);
    assertThat(c.problems()).isEmpty();
    assertThat(c.listeners()).containsOnlyKeys(80, 443);
    ListenerConfig https = c.listeners().get(443);
    assertThat(https.tls()).isTrue();
    assertThat(https.servers()).extracting(ServerConfig::routeName)
        .containsExactly("https.443.https.mygateway.default", "https.443.https-hello.mygateway.default");
    assertThat(https.serversByHost().find("httpbin.example.com").orElseThrow().tls().orElseThrow()
        .credentialName()).contains("istio-system/httpbin-credential");
    assertThat(https.serversByHost().find("helloworld-v1.example.com").orElseThrow().tls().orElseThrow()
        .minProtocolVersion()).isEqualTo("TLSv1.3");
    assertThat(https.serversByHost().find("other.example.com")).isEmpty();
    VirtualHost vh = https.routes().find("httpbin.example.com").orElseThrow();
    RouteAction.Forward f = (RouteAction.Forward) vh.routes().get(0).action();
    assertThat(f.destinations().get(0).cluster().name())
        .isEqualTo("outbound|8000||httpbin.default.svc.cluster.local");
    assertThat(f.destinations().get(0).cluster().endpoints()).extracting(Object::toString)
        .containsExactly("127.0.0.1:18000", "127.0.0.2:28000");
    assertThat(f.timeout().toMillis()).isEqualTo(1500);
    assertThat(f.retries().attempts()).isEqualTo(3);
    assertThat(f.retries().perTryTimeout().toMillis()).isEqualTo(500);
    assertThat(c.listeners().get(80).tls()).isFalse();
    assertThat(c.listeners().get(80).serversByHost().find("anything").orElseThrow().httpsRedirect()).isTrue();
    // The VirtualService binds to every server of its Gateway; on port 80 httpsRedirect answers before routing.
    assertThat(c.listeners().get(80).routes().find("httpbin.example.com")).isPresent();
  }

  @Test
  void portOffsetMovesOnlyTheBoundPort() {
    GatewayConfig c = new ConfigTranslator("istio-system", 10000).translate(Manifests.snapshot(GATEWAY));
    assertThat(c.listeners().get(443).bindPort()).isEqualTo(10443);
    assertThat(c.listeners().get(443).port()).isEqualTo(443);
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource(delimiter = '|', value = {
      "port out of range|number: 443|number: 70000|ERROR|Gateway default/mygateway|spec.servers[0].port.number|70000 (expected: 1..65535)",
      "unknown protocol|protocol: HTTPS}|protocol: MONGO}|ERROR|Gateway default/mygateway|spec.servers[0].port.protocol|MONGO (expected: HTTP, HTTPS, HTTP2, or TLS",
      "istio mutual not yet|mode: SIMPLE, credentialName: httpbin-credential|mode: ISTIO_MUTUAL, credentialName: httpbin-credential|ERROR|Gateway default/mygateway|spec.servers[0].tls.mode|ISTIO_MUTUAL needs the mesh",
      "no credential|mode: SIMPLE, credentialName: httpbin-credential|mode: SIMPLE|ERROR|Gateway default/mygateway|spec.servers[0].tls|no credential (expected: exactly one of credentialName",
      "istio secret name|credentialName: httpbin-credential|credentialName: istio-httpbin|ERROR|Gateway default/mygateway|spec.servers[0].tls.credentialName|istio-httpbin: Istio's SDS never serves",
      "prometheus secret name|credentialName: httpbin-credential|credentialName: prometheus-certs|ERROR|Gateway default/mygateway|spec.servers[0].tls.credentialName|prometheus-certs: Istio's SDS never serves",
      "bad tls version|minProtocolVersion: TLSV1_3|minProtocolVersion: TLSV9|ERROR|Gateway default/mygateway|spec.servers[1].tls.minProtocolVersion|TLSV9 (expected: TLS_AUTO",
      "bad host|hosts: [\"httpbin.example.com\"]|hosts: [\"bad host!\"]|ERROR|Gateway default/mygateway|spec.servers[0].hosts[0]|\"bad host!\"",
      "unsupported field|selector: {istio: ingressgateway}|selector: {istio: ingressgateway}\\n  bogus: 1|WARNING|Gateway default/mygateway|spec.bogus|not supported",
      "bad spki|credentialName: httpbin-credential}|credentialName: httpbin-credential, verifyCertificateSpki: [abc]}|ERROR|Gateway default/mygateway|spec.servers[0].tls.verifyCertificateSpki[0]|\"abc\" (expected: base64 of a SHA-256 digest",
      "bad hash|credentialName: httpbin-credential}|credentialName: httpbin-credential, verifyCertificateHash: [zz]}|ERROR|Gateway default/mygateway|spec.servers[0].tls.verifyCertificateHash[0]|\"zz\" (expected: the hex SHA-256 digest",
      "two credential forms|credentialName: httpbin-credential}|credentialName: httpbin-credential, serverCertificate: /a.pem, privateKey: /a.key}|ERROR|Gateway default/mygateway|spec.servers[0].tls|more than one credential form",
      "three credentialNames|credentialName: httpbin-credential}|credentialNames: [a, b, c]}|ERROR|Gateway default/mygateway|spec.servers[0].tls.credentialNames|3 entries (expected: at most 2",
      "relative file|credentialName: httpbin-credential}|serverCertificate: a.pem, privateKey: /a.key}|ERROR|Gateway default/mygateway|spec.servers[0].tls.serverCertificate|a.pem (expected: an absolute file path)",
      "tls port terminated|protocol: HTTPS}|protocol: TLS}|ERROR|Gateway default/mygateway|spec.servers[0].tls.mode|SIMPLE on a TLS port",
      "unsupported tls field|credentialName: httpbin-credential}|credentialName: httpbin-credential, bogus: [a]}|WARNING|Gateway default/mygateway|spec.servers[0].tls.bogus|not supported",
  })
  void reportsGatewayProblemsWithResourceFieldAndExpectation(String name, String from, String to, String severity,
      String subject, String field, String message) {
    GatewayConfig c = Manifests.translate(GATEWAY.replace(from, to.replace("\\n", "\n")));
    assertThat(c.problems()).anySatisfy(p -> {
      assertThat(p.severity().name()).isEqualTo(severity);
      assertThat(p.subject()).isEqualTo(subject);
      assertThat(p.field()).isEqualTo(field);
      assertThat(p.message()).contains(message);
      assertThat(p.toString()).contains(subject).contains(field);
    });
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource(delimiter = '|', value = {
      "bad timeout|timeout: 1.5s|timeout: soon|spec.http[0].timeout|soon (expected: a duration",
      "bad regex|uri: {prefix: /delay}|uri: {regex: \"/de(lay\"}|spec.http[0].match[1].uri.regex|\"/de(lay\": missing closing ): /de(lay (expected: RE2 syntax, program size <= 100)",
      "backreference|uri: {prefix: /delay}|uri: {regex: \"(a)\\\\1\"}|spec.http[0].match[1].uri.regex|\"(a)\\1\": invalid escape sequence: \\1 (expected: RE2 syntax, program size <= 100)",
      "lookahead|uri: {prefix: /delay}|uri: {regex: \"/(?=x)\"}|spec.http[0].match[1].uri.regex|invalid or unsupported Perl syntax: (?=",
      "program size|uri: {prefix: /delay}|uri: {regex: \"a{99}\"}|spec.http[0].match[1].uri.regex|\"a{99}\": program size 101, over 100 (expected: RE2 syntax, program size <= 100)",
      "header regex|uri: {prefix: /delay}|headers: {x-a: {regex: \"(?!a)\"}}|spec.http[0].match[1].headers.x-a.regex|invalid or unsupported Perl syntax: (?!",
      "authority regex|uri: {prefix: /delay}|authority: {regex: \"x{2000}\"}|spec.http[0].match[1].authority.regex|invalid repeat count: {2000}",
      "method regex|uri: {prefix: /delay}|method: {regex: \"G++\"}|spec.http[0].match[1].method.regex|invalid nested repetition operator: ++",
      "query regex|uri: {prefix: /delay}|queryParams: {id: {regex: \"[0-9\"}}|spec.http[0].match[1].queryParams.id.regex|missing closing ]",
      "two actions|timeout: 1.5s|timeout: 1.5s\\n    redirect: {uri: /x}|spec.http[0]|more than one action",
      "unknown port|number: 8000}}|number: 9000}}|spec.http[0].route[0].destination.port.number|9000 (expected: one of [8000]",
      "bad weight|port: {number: 8000}}|port: {number: 8000}}\\n      weight: 300|spec.http[0].route[0].weight|300 (expected: 0..100)",
      "type mismatch|attempts: 3|attempts: many|spec.http[0].retries.attempts|expected: a valid VirtualService",
  })
  void reportsVirtualServiceProblems(String name, String from, String to, String field, String message) {
    GatewayConfig c = Manifests.translate(GATEWAY, VIRTUAL_SERVICE.replace(from, to.replace("\\n", "\n")),
        SERVICE_ENTRY);
    assertThat(c.problems()).anySatisfy(p -> {
      assertThat(p.subject()).isEqualTo("VirtualService default/httpbin");
      assertThat(p.field()).isEqualTo(field);
      assertThat(p.message()).contains(message);
    });
    // A VirtualService that fails validation is left out whole; the Gateway still serves.
    if (c.problems().stream().anyMatch(p -> p.severity() == Problem.Severity.ERROR)) {
      assertThat(c.listeners().get(443).routes().find("httpbin.example.com")).isEmpty();
    }
    assertThat(c.listeners()).containsKey(443);
  }

  @Test
  void aRejectedRegexLeavesOutItsVirtualServiceAndNothingElse() {
    String other = VIRTUAL_SERVICE.replace("name: httpbin}", "name: other}").replace("\"httpbin.example.com\"",
        "\"helloworld-v1.example.com\"");
    GatewayConfig c = Manifests.translate(GATEWAY, VIRTUAL_SERVICE.replace("uri: {prefix: /delay}",
        "uri: {regex: \"/(a)\\\\1\"}"), other, SERVICE_ENTRY);
    assertThat(c.problems()).extracting(Problem::toString).containsExactly("VirtualService default/httpbin (" + c
        .problems().get(0).source() + "): spec.http[0].match[1].uri.regex: \"/(a)\\1\": invalid escape sequence: \\1 "
        + "(expected: RE2 syntax, program size <= 100)");
    assertThat(c.listeners().get(443).routes().find("httpbin.example.com")).isEmpty();
    assertThat(c.listeners().get(443).routes().find("helloworld-v1.example.com")).isPresent();
  }

  @ParameterizedTest(name = "limit {0}: {1}")
  @CsvSource(delimiter = '|', nullValues = "default", value = {
      "default|a{99}|\"a{99}\": program size 101, over 100 (expected: RE2 syntax, program size <= 100)",
      "100|a{98}|",
      "200|a{99}|",
      "200|a{199}|\"a{199}\": program size 201, over 200 (expected: RE2 syntax, program size <= 200)",
      "100|'/api/v[0-9]+/(users|groups)/[a-z0-9-]{1,63}(/.*)?'|'\"/api/v[0-9]+/(users|groups)/[a-z0-9-]{1,63}(/.*)?\": "
          + "program size 157, over 100 (expected: RE2 syntax, program size <= 100)'",
      "32768|'/api/v[0-9]+/(users|groups)/[a-z0-9-]{1,63}(/.*)?'|", // as Istio's proxies accept it
      "100000|(a{1000}){99}|",
      "100000|(a{1000}){101}|\"(a{1000}){101}\": program size 101204, over 100000 (expected: RE2 syntax, program size "
          + "<= 100000)",
  })
  void theRegexProgramSizeLimitIsConfigurableAndNamedInTheMessage(Integer limit, String regex, String problem) {
    ConfigTranslator t = limit == null ? new ConfigTranslator("istio-system", 0)
        : new ConfigTranslator("istio-system", 0, limit);
    GatewayConfig c = t.translate(Manifests.snapshot(GATEWAY, VIRTUAL_SERVICE.replace("uri: {prefix: /delay}",
        "uri: {regex: \"" + regex.replace("\\", "\\\\") + "\"}"), SERVICE_ENTRY));
    if (problem == null) {
      assertThat(c.problems()).isEmpty();
      VirtualHost vh = c.listeners().get(443).routes().find("httpbin.example.com").orElseThrow();
      assertThat(vh.routes().get(0).matches().get(1).uri().orElseThrow().describe()).isEqualTo("regex:" + regex);
    } else {
      assertThat(c.problems()).extracting(Problem::field, Problem::message)
          .containsExactly(tuple("spec.http[0].match[1].uri.regex", problem));
      assertThat(c.listeners().get(443).routes().find("httpbin.example.com")).isEmpty();
    }
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource({"0", "-1", "100001"})
  void aRegexProgramSizeLimitOutOfRangeIsRefused(int limit) {
    assertThatThrownBy(() -> new ConfigTranslator("istio-system", 0, limit))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("maxRegexProgramSize: " + limit + " (expected: 1..100000)");
  }

  @Test
  void unknownKindsAreOneInfoLineEachAndUnboundVirtualServicesAreSaid() {
    GatewayConfig c = Manifests.translate(GATEWAY, """
        apiVersion: apps/v1
        kind: Deployment
        metadata: {name: httpbin}
        ---
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata: {name: mesh-only}
        spec: {hosts: [httpbin]}
        """);
    assertThat(c.problems()).extracting(Problem::toString).anyMatch(s -> s.startsWith("Deployment default/httpbin")
        && s.contains("not used by the gateway")).anyMatch(s -> s.contains("VirtualService default/mesh-only")
        && s.contains("spec.gateways"));
    assertThat(c.problems()).allMatch(p -> p.severity() == Problem.Severity.INFO);
  }

  @Test
  void missingServiceEntryIsAWarningAndAnswers503() {
    GatewayConfig c = Manifests.translate(GATEWAY, VIRTUAL_SERVICE);
    assertThat(c.problems()).anySatisfy(p -> assertThat(p.toString())
        .contains("spec.http[0].route[0].destination.host").contains("no ServiceEntry"));
    RouteAction.Forward f = (RouteAction.Forward) c.listeners().get(443).routes().find("httpbin.example.com")
        .orElseThrow().routes().get(0).action();
    assertThat(f.destinations().get(0).cluster().endpoints()).isEmpty();
  }

  @Test
  void secretsDecodeDataAndStringData() {
    GatewayConfig c = Manifests.translate("""
        apiVersion: v1
        kind: Secret
        metadata: {name: s, namespace: istio-system}
        data: {cert: aGVsbG8=}
        stringData: {key: world}
        """);
    GatewayConfig.SecretData s = c.secrets().get("istio-system/s");
    assertThat(new String(s.data().get("cert"))).isEqualTo("hello");
    assertThat(new String(s.data().get("key"))).isEqualTo("world");
    assertThat(s.toString()).doesNotContain("hello").doesNotContain("world");
  }

  @Test
  void serverHostNamespaceLimitsWhichVirtualServicesBind() {
    String gw = GATEWAY.replace("hosts: [\"httpbin.example.com\"]", "hosts: [\"other/httpbin.example.com\"]");
    GatewayConfig c = Manifests.translate(gw, VIRTUAL_SERVICE, SERVICE_ENTRY);
    assertThat(c.listeners().get(443).routes().find("httpbin.example.com")).isEmpty();
    GatewayConfig same = Manifests.translate(GATEWAY.replace("hosts: [\"httpbin.example.com\"]",
        "hosts: [\"./httpbin.example.com\"]"), VIRTUAL_SERVICE, SERVICE_ENTRY);
    assertThat(same.listeners().get(443).routes().find("httpbin.example.com")).isPresent();
    assertThat(same.problems()).isEmpty();
    assertThat(same.listeners().get(443).serversByHost().find("httpbin.example.com").orElseThrow().hosts())
        .containsExactly(new ServerConfig.ServerHost("default", "httpbin.example.com"));
  }
}
