package io.portcullis.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.portcullis.Portcullis;
import io.portcullis.proxy.AccessLog;
import io.portcullis.proxy.Transport;
import io.portcullis.testing.DevCertificates;
import io.portcullis.testing.GatewayApiManifests;
import io.portcullis.testing.GrpcBackend;
import io.portcullis.testing.GrpcClients;
import io.portcullis.testing.GrpcEcho;
import io.portcullis.testing.Ports;
import io.portcullis.testing.Proc;
import io.portcullis.testing.RecordingBackend;
import io.portcullis.tls.Pem;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import org.bouncycastle.asn1.x500.X500Name;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Issue 15, point 2, end to end: a Gateway API GatewayClass, Gateway (HTTP on 80, HTTPS on 443 from a
 * {@code certificateRefs} Secret, + {@code --port-offset}) and HTTPRoutes through the gateway in this JVM, with real
 * backends on free ports behind Services and EndpointSlices, and real curl: every Core match (path Exact /
 * PathPrefix, headers) and the Extended ones (RegularExpression path, query parameters, method), the filters
 * (request and response header modifiers, redirect, URL rewrite), weighted backends, hostname intersection, and
 * the 500 the spec asks for on invalid backend references.
 */
class GatewayApiIT {
  @TempDir static Path tmp;
  private static Portcullis gateway;
  private static int offset;
  private static Path ca;
  private static RecordingBackend a;
  private static RecordingBackend b;
  private static GrpcBackend grpc;

  @BeforeAll
  static void start() throws Exception {
    a = new RecordingBackend();
    b = new RecordingBackend();
    grpc = GrpcBackend.start();
    offset = Ports.freeOffset(80, 443, 8000);
    Path config = Files.createDirectories(tmp.resolve("config"));
    Files.writeString(config.resolve("services.yaml"), service("shop", a.port()) + "---\n" + service("cart",
        b.port()) + "---\n" + service("echo", grpc.port()));
    Files.writeString(config.resolve("tls.yaml"), secret("shop.example.com"));
    Files.writeString(config.resolve("gateway.yaml"), """
        apiVersion: gateway.networking.k8s.io/v1
        kind: GatewayClass
        metadata: {name: portcullis}
        spec: {controllerName: portcullis.io/gateway-controller}
        ---
        apiVersion: gateway.networking.k8s.io/v1
        kind: Gateway
        metadata: {name: web, namespace: default}
        spec:
          gatewayClassName: portcullis
          listeners:
          - {name: http, port: 80, protocol: HTTP}
          - name: https
            port: 443
            protocol: HTTPS
            hostname: shop.example.com
            tls: {certificateRefs: [{kind: Secret, name: shop-tls}]}
        ---
        apiVersion: gateway.networking.k8s.io/v1
        kind: HTTPRoute
        metadata: {name: shop, namespace: default}
        spec:
          parentRefs: [{name: web}]
          hostnames: [shop.example.com]
          rules:
          - matches: [{path: {type: Exact, value: /exact}}]
            backendRefs: [{name: cart, port: 80}]
          - matches: [{path: {type: PathPrefix, value: /foo}}]
            backendRefs: [{name: cart, port: 80}]
          - matches: [{path: {type: RegularExpression, value: "/v[0-9]+/items"}}]
            backendRefs: [{name: cart, port: 80}]
          - matches: [{headers: [{name: X-Version, value: beta}]}]
            backendRefs: [{name: cart, port: 80}]
          - matches: [{queryParams: [{name: lang, value: fr}]}]
            backendRefs: [{name: cart, port: 80}]
          - matches: [{method: DELETE}]
            backendRefs: [{name: cart, port: 80}]
          - matches: [{path: {value: /headers}}]
            filters:
            - type: RequestHeaderModifier
              requestHeaderModifier: {set: [{name: X-Set, value: set-by-route}], add: [{name: X-Added, value: one}], remove: [X-Drop]}
            - type: ResponseHeaderModifier
              responseHeaderModifier: {set: [{name: X-Served-By, value: portcullis}]}
            backendRefs: [{name: shop, port: 80}]
          - matches: [{path: {value: /old}}]
            filters:
            - type: RequestRedirect
              requestRedirect: {scheme: https, hostname: new.example.com, statusCode: 301, path: {type: ReplacePrefixMatch, replacePrefixMatch: /new}}
          - matches: [{path: {value: /full}}]
            filters:
            - type: URLRewrite
              urlRewrite: {hostname: internal.example.com, path: {type: ReplaceFullPath, replaceFullPath: /replaced}}
            backendRefs: [{name: shop, port: 80}]
          - matches: [{path: {value: /prefix}}]
            filters:
            - type: URLRewrite
              urlRewrite: {path: {type: ReplacePrefixMatch, replacePrefixMatch: /v2}}
            backendRefs: [{name: shop, port: 80}]
          - matches: [{path: {value: /split}}]
            backendRefs: [{name: shop, port: 80, weight: 1}, {name: cart, port: 80, weight: 1}]
          - matches: [{path: {value: /half-missing}}]
            backendRefs: [{name: shop, port: 80, weight: 1}, {name: nosuch, port: 80, weight: 1}]
          - matches: [{path: {value: /missing}}]
            backendRefs: [{name: nosuch, port: 80}]
          - matches: [{path: {value: /foreign}}]
            backendRefs: [{name: cart, namespace: other, port: 80}]
          - backendRefs: [{name: shop, port: 80}]
        ---
        apiVersion: gateway.networking.k8s.io/v1
        kind: HTTPRoute
        metadata: {name: any, namespace: default}
        spec:
          parentRefs: [{name: web, sectionName: http}]
          rules: [{backendRefs: [{name: cart, port: 80}]}]
        """);
    // conformance GatewayHTTPListenerIsolation's Gateway (with its second part's route hostnames), on port 8000
    StringBuilder isolation = new StringBuilder(GatewayApiManifests.isolation(8000, "shop", 80, true));
    isolation.append("""
        ---
        apiVersion: gateway.networking.k8s.io/v1
        kind: GRPCRoute
        metadata: {name: echo, namespace: default}
        spec:
          parentRefs: [{name: isolation, sectionName: empty-hostname}]
          hostnames: [grpc.test]
          rules:
          - matches: [{method: {service: portcullis.test.Echo, method: Unary}}]
            backendRefs: [{name: echo, port: 80, weight: 1}, {name: nosuch, port: 80, weight: 1}]
          - matches: [{method: {service: portcullis.test.Echo, method: Sleep}}]
        """);
    Files.writeString(config.resolve("isolation.yaml"), isolation.toString());
    gateway = Portcullis.start(new Portcullis.Options(List.of(config), "istio-system", offset, "127.0.0.1",
        new InetSocketAddress("127.0.0.1", 0), AccessLog.disabled(), 1, Transport.AUTO, tmp.resolve("state"),
        Duration.ofSeconds(1)));
    await().atMost(Duration.ofSeconds(10)).until(() -> gateway.ready() && Ports.listening(80 + offset)
        && Ports.listening(443 + offset) && Ports.listening(8000 + offset));
  }

  @AfterAll
  static void stop() throws Exception {
    if (gateway != null) {
      gateway.close();
    }
    for (RecordingBackend r : new RecordingBackend[] {a, b}) {
      if (r != null) {
        r.close();
      }
    }
    if (grpc != null) {
      grpc.close();
    }
  }


  private static String service(String name, int backendPort) {
    return """
        apiVersion: v1
        kind: Service
        metadata: {name: %s, namespace: default}
        spec: {ports: [{name: http, port: 80, targetPort: 9000}]}
        ---
        apiVersion: discovery.k8s.io/v1
        kind: EndpointSlice
        metadata: {name: %s, namespace: default, labels: {kubernetes.io/service-name: %s}}
        addressType: IPv4
        ports: [{name: http, port: %d}]
        endpoints: [{addresses: [127.0.0.1]}]
        """.formatted(name, name, name, backendPort);
  }

  private static String secret(String host) throws Exception {
    KeyPair caKeys = DevCertificates.newKeyPair();
    X509Certificate caCert = DevCertificates.sign(new X500Name("CN=GatewayApiIT CA"), caKeys, null, caKeys, true,
        Duration.ofDays(1), List.of());
    KeyPair leafKeys = DevCertificates.newKeyPair();
    X509Certificate leaf = DevCertificates.sign(new X500Name("CN=" + host), leafKeys, caCert, caKeys, false,
        Duration.ofDays(1), List.of(host));
    ca = tmp.resolve("ca.pem");
    Files.writeString(ca, Pem.encode(caCert));
    Base64.Encoder b64 = Base64.getEncoder();
    return """
        apiVersion: v1
        kind: Secret
        metadata: {name: shop-tls, namespace: default}
        type: kubernetes.io/tls
        data: {tls.crt: %s, tls.key: %s}
        """.formatted(b64.encodeToString(Pem.encode(leaf, caCert).getBytes(StandardCharsets.US_ASCII)),
        b64.encodeToString(Pem.encode(leafKeys.getPrivate()).getBytes(StandardCharsets.US_ASCII)));
  }

  private static Proc.Result curl(String... args) throws Exception {
    List<String> cmd = new ArrayList<>(List.of("curl", "-s", "-o", "/dev/null", "-w", "%{http_code}"));
    cmd.addAll(List.of(args));
    return Proc.run(20, cmd.toArray(String[]::new));
  }

  /** Returns the backend that got the request (a, b) and the status, or the status alone. */
  private static String reached(Proc.Result r) {
    Map<String, RecordingBackend> backends = Map.of("a", a, "b", b);
    String hit = "none";
    for (var e : backends.entrySet()) {
      if (!e.getValue().received().isEmpty()) {
        hit = hit.equals("none") ? e.getKey() : hit + "+" + e.getKey();
      }
      e.getValue().clear();
    }
    return hit.equals("none") ? r.stdout() + (r.exitCode() == 0 ? "" : " curl exit " + r.exitCode()) : hit + " "
        + r.stdout();
  }

  private static String http(String method, String host, String path, String... headers) throws Exception {
    List<String> args = new ArrayList<>(List.of("-X", method, "-H", "Host: " + host));
    for (String h : headers) {
      args.addAll(List.of("-H", h));
    }
    args.add("http://127.0.0.1:" + (80 + offset) + path);
    return reached(curl(args.toArray(String[]::new)));
  }

  @ParameterizedTest(name = "{0} {1}{2} {3} -> {4}")
  @CsvSource({
      "GET, shop.example.com, /exact, '', b 200",
      "GET, shop.example.com, /exact/x, '', a 200", // Exact: nothing below it
      "GET, shop.example.com, /foo, '', b 200",
      "GET, shop.example.com, /foo/bar, '', b 200",
      "GET, shop.example.com, /foobar, '', a 200", // PathPrefix is element-wise: the catch-all rule
      "GET, shop.example.com, /v12/items, '', b 200",
      "GET, shop.example.com, /v12/items/x, '', a 200", // RegularExpression matches the whole path
      "GET, shop.example.com, /x, X-Version: beta, b 200",
      "GET, shop.example.com, /x, X-Version: alpha, a 200",
      "GET, shop.example.com, /x?lang=fr, '', b 200",
      "GET, shop.example.com, /x?lang=de, '', a 200",
      "DELETE, shop.example.com, /x, '', b 200",
      "GET, shop.example.com, /missing, '', 500", // BackendNotFound
      "GET, shop.example.com, /foreign, '', 500", // RefNotPermitted: no ReferenceGrant
      "GET, other.example.com, /exact, '', b 200", // another host: the hostname-less route on listener http
  })
  void routesAsTheSpecMatchesThem(String method, String host, String path, String header, String expected)
      throws Exception {
    String[] headers = header.isEmpty() ? new String[0] : new String[] {header};
    assertThat(http(method, host, path, headers)).isEqualTo(expected);
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource({"bar.com, empty-hostname", "bar.example.com, wildcard-example-com",
      "bar.foo.example.com, wildcard-foo-example-com", "abc.foo.example.com, abc-foo-example-com"})
  void aRequestSeesOnlyTheRoutesOfItsMostSpecificListener(String host, String listener) throws Exception {
    for (String path : GatewayApiManifests.ISOLATION_LISTENERS) {
      List<String> args = List.of("-H", "Host: " + host, "http://127.0.0.1:" + (8000 + offset) + "/" + path);
      assertThat(reached(curl(args.toArray(String[]::new)))).as(host + " /" + path)
          .isEqualTo(path.equals(listener) ? "a 200" : "404");
    }
  }

  @Test
  void headerModifiersChangeTheRequestAndTheResponse() throws Exception {
    Proc.Result r = Proc.run(20, "curl", "-s", "-D", "-", "-o", "/dev/null", "-H", "Host: shop.example.com", "-H",
        "X-Drop: gone", "-H", "X-Added: zero", "http://127.0.0.1:" + (80 + offset) + "/headers");
    assertThat(r.stdout()).containsIgnoringCase("x-served-by: portcullis");
    RecordingBackend.Received got = a.received().get(0);
    a.clear();
    assertThat(got.headers().get("x-set")).containsExactly("set-by-route");
    assertThat(got.headers().get("x-added")).containsExactly("zero", "one");
    assertThat(got.headers()).doesNotContainKey("x-drop");
  }

  @Test
  void aRedirectFilterAnswersWithItsLocationAndCode() throws Exception {
    Proc.Result r = Proc.run(20, "curl", "-s", "-o", "/dev/null", "-w", "%{http_code} %{redirect_url}", "-H",
        "Host: shop.example.com", "http://127.0.0.1:" + (80 + offset) + "/old/page");
    assertThat(r.stdout()).isEqualTo("301 https://new.example.com/new/page");
    assertThat(a.received()).isEmpty();
    assertThat(b.received()).isEmpty();
  }

  @ParameterizedTest(name = "{0} -> {1}")
  @CsvSource({"/full/x, GET /replaced HTTP/1.1, internal.example.com", "/prefix/x, GET /v2/x HTTP/1.1, "
      + "shop.example.com", "/prefix, GET /v2 HTTP/1.1, shop.example.com"})
  void urlRewritesChangeThePathAndHost(String path, String requestLine, String host) throws Exception {
    assertThat(curl("-H", "Host: shop.example.com", "http://127.0.0.1:" + (80 + offset) + path).stdout())
        .isEqualTo("200");
    RecordingBackend.Received got = a.received().get(0);
    a.clear();
    assertThat(got.requestLine()).isEqualTo(requestLine);
    assertThat(got.headers().get("host")).containsExactly(host);
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource({
      "/split, b 200", // 1:1 between a and b
      "/half-missing, 500", // 1:1 between a and a missing Service: its share answers 500, not a's
  })
  void weightedBackendsShareTheRequests(String path, String other) throws Exception {
    int toA = 0;
    int toOther = 0;
    for (int i = 0; i < 40; i++) {
      String hit = http("GET", "shop.example.com", path);
      toA += hit.equals("a 200") ? 1 : 0;
      toOther += hit.equals(other) ? 1 : 0;
    }
    assertThat(toA + toOther).isEqualTo(40);
    assertThat(toA).isBetween(5, 35); // 1:1; the chance of 35:5 or worse is about 1 in 10^5
  }

  @Test
  void aGrpcRouteAnswersUnavailableForItsInvalidBackendsShareAndARuleWithoutBackends() throws Exception {
    io.grpc.ManagedChannel ch = GrpcClients.plaintext(8000 + offset, "grpc.test");
    try {
      int ok = 0;
      int unavailable = 0;
      for (int i = 0; i < 40; i++) {
        try {
          GrpcClients.unary(ch, GrpcEcho.UNARY, io.grpc.CallOptions.DEFAULT, new byte[] {1});
          ok++;
        } catch (io.grpc.StatusRuntimeException e) {
          assertThat(e.getStatus().getCode()).isEqualTo(io.grpc.Status.Code.UNAVAILABLE);
          unavailable++;
        }
      }
      assertThat(unavailable).isBetween(5, 35);
      assertThat(ok + unavailable).isEqualTo(40);
      assertThat(org.assertj.core.api.Assertions.catchThrowableOfType(io.grpc.StatusRuntimeException.class,
          () -> GrpcClients.unary(ch, GrpcEcho.SLEEP, io.grpc.CallOptions.DEFAULT, new byte[] {1})).getStatus()
          .getCode()).isEqualTo(io.grpc.Status.Code.UNAVAILABLE);
    } finally {
      GrpcClients.close(ch);
    }
  }

  @Test
  void theAdminServerShowsTheStatusTheSpecDefines() throws Exception {
    com.fasterxml.jackson.databind.ObjectMapper json = new com.fasterxml.jackson.databind.ObjectMapper();
    var route = json.readTree(io.portcullis.testing.Gateways.admin(gateway, "GET",
        "/apis/gateway.networking.k8s.io/v1/namespaces/default/httproutes/shop"));
    var parent = route.path("status").path("parents").get(0);
    assertThat(parent.path("parentRef").path("name").asText()).isEqualTo("web");
    assertThat(parent.path("conditions").toString())
        .contains("{\"type\":\"Accepted\",\"status\":\"True\",\"reason\":\"Accepted\"")
        .contains("{\"type\":\"ResolvedRefs\",\"status\":\"False\",\"reason\":\"BackendNotFound\"");
    var gw = json.readTree(io.portcullis.testing.Gateways.admin(gateway, "GET",
        "/apis/gateway.networking.k8s.io/v1/namespaces/default/gateways/web"));
    assertThat(gw.path("status").path("listeners").get(0).path("attachedRoutes").asInt()).isEqualTo(2);
    assertThat(gw.path("status").path("listeners").get(1).path("attachedRoutes").asInt()).isEqualTo(1);
    assertThat(gw.path("status").path("conditions").toString()).contains("\"type\":\"Programmed\",\"status\":"
        + "\"True\"");
    // GatewayStatus.addresses: where its ports are bound (--bind)
    assertThat(gw.path("status").path("addresses").toString()).isEqualTo("[{\"type\":\"IPAddress\",\"value\":"
        + "\"127.0.0.1\"}]");
  }

  @Test
  void httpsServesTheCertificateRefsSecretForTheListenerHostname() throws Exception {
    int port = 443 + offset;
    Proc.Result r = Proc.run(20, "curl", "-sv", "-o", "/dev/null", "-w", "%{http_code}", "--resolve",
        "shop.example.com:" + port + ":127.0.0.1", "--cacert", ca.toString(), "https://shop.example.com:" + port
        + "/exact");
    assertThat(r.exitCode()).as(r.stderr()).isZero();
    assertThat(r.stderr()).contains("subject: CN=shop.example.com").contains("issuer: CN=GatewayApiIT CA");
    assertThat(reached(r)).isEqualTo("b 200");
  }
}
