package io.portcullis.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.grpc.CallOptions;
import io.grpc.ManagedChannel;
import io.portcullis.Portcullis;
import io.portcullis.proxy.AccessLog;
import io.portcullis.proxy.Transport;
import io.portcullis.testing.GrpcBackend;
import io.portcullis.testing.GrpcClients;
import io.portcullis.testing.GrpcEcho;
import io.portcullis.testing.Gateways;
import io.portcullis.testing.Ports;
import io.portcullis.testing.Proc;
import io.portcullis.testing.TestPki;
import java.io.FileOutputStream;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Issue 14, point 2 ({@code tls}) and point 3 (h2 over TLS by ALPN): DestinationRule {@code trafficPolicy.tls}
 * against real TLS backends. Python's {@code ssl} module serves HTTP/1.0 over TLS ({@code tlsbackend.py}: it answers
 * with the SNI it saw, whether the session was resumed and the client certificate's CN), one backend plain TLS and
 * one requiring a client certificate from its own CA; a grpc-java server with TLS (ALPN {@code h2}) is the HTTP/2
 * upstream of a {@code GRPC} port. Each case is a ServiceEntry host with its own DestinationRule, routed by path
 * prefix from one plain-HTTP Gateway port; curl is the client.
 */
class UpstreamTlsIT {
  static final ObjectMapper JSON = new ObjectMapper();
  @TempDir static Path tmp;
  static Proc simple;
  static Proc mutual;
  static Proc keepAlive;
  static GrpcBackend grpc;
  static GrpcBackend grpcMutual;
  static Portcullis gateway;
  static Path accessLog;
  static int http;
  static String lateSecret;

  @BeforeAll
  static void start() throws Exception {
    TestPki.Ca upstreamCa = TestPki.ca("Upstream CA");
    TestPki.Ca otherCa = TestPki.ca("Other CA");
    TestPki.Ca clientCa = TestPki.ca("Client CA");
    TestPki.Leaf backend = upstreamCa.server("backend.internal", "EC");
    TestPki.Leaf client = clientCa.client("gateway-client", "spiffe://test/gateway");
    TestPki.Leaf stranger = clientCa.client("stranger");
    write("backend.crt", backend.certPem());
    write("backend.key", backend.keyPem());
    write("upstream-ca.crt", upstreamCa.pem());
    write("other-ca.crt", otherCa.pem());
    write("client-ca.crt", clientCa.pem());
    write("client.crt", client.certPem());
    write("client.key", client.keyPem());
    write("revoked.crl", upstreamCa.crl(backend));
    write("empty.crl", upstreamCa.crl());
    int simplePort = Ports.free();
    int mutualPort = Ports.free();
    int keepAlivePort = Ports.free();
    simple = backend(simplePort, null, false);
    mutual = backend(mutualPort, tmp.resolve("client-ca.crt"), false);
    keepAlive = backend(keepAlivePort, null, true);
    grpc = GrpcBackend.startTls(tmp.resolve("backend.crt"), tmp.resolve("backend.key"));
    grpcMutual = GrpcBackend.startMutualTls(tmp.resolve("backend.crt"), tmp.resolve("backend.key"),
        tmp.resolve("client-ca.crt"));
    String ca = tmp.resolve("upstream-ca.crt").toString();
    String sni = "sni: backend.internal, ";
    Map<String, String> cases = new java.util.LinkedHashMap<>();
    // case -> the tls of its DestinationRule (the cluster host is <case>.internal, the default SNI)
    cases.put("backend", "{mode: SIMPLE, caCertificates: " + ca + "}");
    cases.put("sni", "{mode: SIMPLE, sni: backend.internal, caCertificates: " + ca + "}");
    cases.put("wrongca", "{mode: SIMPLE, " + sni + "caCertificates: " + tmp.resolve("other-ca.crt") + "}");
    cases.put("wronghost", "{mode: SIMPLE, caCertificates: " + ca + "}");
    cases.put("san", "{mode: SIMPLE, sni: elsewhere.example, subjectAltNames: [backend.internal], caCertificates: "
        + ca + "}");
    cases.put("wrongsan", "{mode: SIMPLE, " + sni + "subjectAltNames: [spiffe://other/ns/x], caCertificates: " + ca
        + "}");
    cases.put("insecure", "{mode: SIMPLE, insecureSkipVerify: true, caCertificates: " + tmp.resolve("other-ca.crt")
        + "}");
    cases.put("revoked", "{mode: SIMPLE, " + sni + "caCertificates: " + ca + ", caCrl: " + tmp.resolve("revoked.crl")
        + "}");
    cases.put("crl", "{mode: SIMPLE, " + sni + "caCertificates: " + ca + ", caCrl: " + tmp.resolve("empty.crl") + "}");
    cases.put("plain", "{mode: DISABLE}");
    // two settings to one keep-alive endpoint: pooled apart
    cases.put("keep-a", "{mode: SIMPLE, " + sni + "caCertificates: " + ca + "}");
    cases.put("keep-b", "{mode: SIMPLE, sni: other.example, subjectAltNames: [backend.internal], caCertificates: "
        + ca + "}");
    Map<String, String> mutualCases = new java.util.LinkedHashMap<>();
    mutualCases.put("mtls-secret", "{mode: MUTUAL, " + sni + "credentialName: client-cred}");
    mutualCases.put("mtls-files", "{mode: MUTUAL, " + sni + "clientCertificate: " + tmp.resolve("client.crt")
        + ", privateKey: " + tmp.resolve("client.key") + ", caCertificates: " + ca + "}");
    mutualCases.put("mtls-none", "{mode: SIMPLE, " + sni + "caCertificates: " + ca + "}");
    mutualCases.put("mtls-missing", "{mode: MUTUAL, " + sni + "credentialName: no-such-secret}");
    mutualCases.put("mtls-badkey", "{mode: MUTUAL, " + sni + "credentialName: bad-cred}");
    mutualCases.put("mtls-late", "{mode: MUTUAL, " + sni + "credentialName: late-cred}"); // its Secret comes later
    StringBuilder routes = new StringBuilder("""
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata: {name: upstream-tls}
        spec:
          hosts: ["*"]
          gateways: [gw]
          http:
          - match: [{authority: {exact: grpc-bad.example}}]
            route: [{destination: {host: grpcbad.internal, port: {number: 80}}}]
          - match: [{authority: {exact: grpc-mtls.example}}]
            route: [{destination: {host: grpcmtls.internal, port: {number: 80}}}]
          - match: [{authority: {exact: grpc-nocert.example}}]
            route: [{destination: {host: grpcnocert.internal, port: {number: 80}}}]
          - match: [{uri: {prefix: /portcullis.test.Echo/}}]
            route: [{destination: {host: grpc.internal, port: {number: 80}}}]
        """);
    StringBuilder rest = new StringBuilder();
    Map<String, String> all = new java.util.LinkedHashMap<>(cases);
    all.putAll(mutualCases);
    all.put("grpc", "{mode: SIMPLE, " + sni + "caCertificates: " + ca + "}");
    all.put("grpcbad", "{mode: SIMPLE, " + sni + "caCertificates: " + tmp.resolve("other-ca.crt") + "}");
    all.put("grpcmtls", "{mode: MUTUAL, " + sni + "credentialName: client-cred}");
    all.put("grpcnocert", "{mode: SIMPLE, " + sni + "caCertificates: " + ca + "}");
    for (Map.Entry<String, String> e : all.entrySet()) {
      String name = e.getKey();
      boolean isGrpc = name.startsWith("grpc");
      if (!isGrpc) {
        routes.append("""
              - match: [{uri: {prefix: /%1$s/}}]
                route: [{destination: {host: %1$s.internal, port: {number: 80}}}]
            """.formatted(name));
      }
      int port = name.equals("grpcmtls") || name.equals("grpcnocert") ? grpcMutual.port()
          : isGrpc ? grpc.port() : name.equals("plain") ? Ports.free() : name.startsWith("keep-") ? keepAlivePort
          : mutualCases.containsKey(name) ? mutualPort : simplePort;
      rest.append("---\n").append(Gateways.staticService(name, name + ".internal", port, isGrpc ? "GRPC" : "HTTP"))
          .append("""
          ---
          apiVersion: networking.istio.io/v1
          kind: DestinationRule
          metadata: {name: %1$s}
          spec:
            host: %1$s.internal
            trafficPolicy:
              tls: %2$s
          """.formatted(name, e.getValue()));
    }
    rest.append(secret("client-cred", client.certPem(), client.keyPem(), upstreamCa.pem()));
    rest.append(secret("bad-cred", client.certPem(), stranger.keyPem(), upstreamCa.pem()));
    lateSecret = secret("late-cred", client.certPem(), client.keyPem(), upstreamCa.pem());
    Files.writeString(tmp.resolve("config.yaml"), Gateways.plainGateway(http = Ports.free()) + "---\n" + routes
        + rest);
    accessLog = tmp.resolve("access.log");
    gateway = Portcullis.start(new Portcullis.Options(List.of(tmp), "istio-system", 0, "127.0.0.1",
        new InetSocketAddress("127.0.0.1", 0), new AccessLog(new FileOutputStream(accessLog.toFile())), 1,
        Transport.AUTO, tmp.resolve("state"), Duration.ofSeconds(1)));
    await().atMost(Duration.ofSeconds(10)).until(() -> Ports.listening(http));
  }

  @AfterAll
  static void stop() throws IOException {
    if (gateway != null) {
      gateway.close();
    }
    if (accessLog != null && Files.exists(accessLog)) {
      System.out.println("access log:\n" + Files.readString(accessLog)); // kept in the Failsafe report
    }
    for (Proc p : new Proc[] {simple, mutual, keepAlive}) {
      if (p != null) {
        System.out.println("tlsbackend.py:\n" + p.output()); // kept in the Failsafe report
        p.close();
      }
    }
    for (GrpcBackend g : new GrpcBackend[] {grpc, grpcMutual}) {
      if (g != null) {
        g.close();
      }
    }
  }

  /** A DestinationRule tls setting that verifies (or skips verifying) the upstream: 200, with what it saw. */
  @ParameterizedTest(name = "{0}")
  @CsvSource({
      // case,   the SNI the backend saw, the client certificate it saw
      "backend,  backend.internal,   ",       // SIMPLE, the right CA; SNI defaults to the cluster's host
      "sni,      backend.internal,   ",       // sni given
      "san,      elsewhere.example,  ",       // subjectAltNames replaces the host check: any SNI may be sent
      "insecure, insecure.internal,  ",       // insecureSkipVerify: a CA that never signed it, a name it lacks
      "crl,      backend.internal,   ",       // a CRL that does not list it
      "mtls-secret, backend.internal, gateway-client", // MUTUAL, client certificate from credentialName's Secret
      "mtls-files,  backend.internal, gateway-client", // MUTUAL, clientCertificate / privateKey files
  })
  void aVerifiedUpstreamIsServed(String name, String sni, String clientCn) throws Exception {
    String path = "/" + name + "/" + UUID.randomUUID();
    Proc.Result r = curl(path);
    assertThat(status(r)).as(r.stdout()).isEqualTo("200");
    JsonNode seen = JSON.readTree(body(r));
    assertThat(seen.get("sni").asText()).isEqualTo(sni);
    assertThat(seen.get("alpn").asText()).isEqualTo("http/1.1");
    assertThat(seen.get("version").asText()).isEqualTo("TLSv1.3");
    assertThat(seen.get("client").isNull() ? null : seen.get("client").asText()).isEqualTo(clientCn);
    assertThat(line(path).get("response_flags").asText()).isEqualTo("-");
  }

  /**
   * A setting that fails: 503 with Envoy's UF, the TLS reason in {@code upstream_transport_failure_reason} (never
   * in the client's body beyond its kind), the others served meanwhile.
   */
  @ParameterizedTest(name = "{0}")
  @CsvSource(delimiter = '|', value = {
      "wrongca      | CERTIFICATE_VERIFY_FAILED: upstream certificate CN=backend.internal: PKIX path building failed",
      "wronghost    | No subject alternative DNS name matching wronghost.internal found",
      "wrongsan     | subject alternative names [backend.internal] (expected: one of subjectAltNames [spiffe://other",
      "revoked      | is revoked (caCrl)",
      "mtls-none    | certificate_required", // BoringSSL: ..._ALERT_CERTIFICATE_REQUIRED; the JDK: certificate_required
      "mtls-missing | Secret istio-system/no-such-secret not found",
      "mtls-badkey  | private key does not match the certificate's public key",
  })
  void aFailingUpstreamIs503UfWithTheReason(String name, String reason) throws Exception {
    String path = "/" + name + "/" + UUID.randomUUID();
    Proc.Result r = curl(path);
    assertThat(status(r)).as(r.stdout()).isEqualTo("503");
    assertThat(body(r)).startsWith("upstream connect error or disconnect/reset before headers. reset reason: "
        + "connection failure, transport failure reason: ").doesNotContain("istio-system", "backend.internal");
    JsonNode line = line(path);
    assertThat(line.get("response_code").asInt()).isEqualTo(503);
    assertThat(line.get("response_flags").asText()).isEqualTo("UF");
    assertThat(line.get("upstream_transport_failure_reason").asText()).containsIgnoringCase(reason)
        .doesNotContain("BEGIN", "PRIVATE");
    assertThat(status(curl("/backend/bystander"))).isEqualTo("200"); // everything else keeps serving
  }

  /** {@code /config_dump} shows whether each cluster's TLS context loaded, and why not, without key material. */
  @Test
  void theConfigDumpShowsWhetherEachClustersTlsContextLoaded() throws Exception {
    JsonNode clusters = new com.fasterxml.jackson.databind.ObjectMapper().readTree(Gateways.admin(gateway, "GET",
        "/config_dump")).path("clusters");
    JsonNode ok = null;
    JsonNode missing = null;
    for (JsonNode c : clusters) {
      if (c.path("host").asText().equals("backend.internal")) {
        ok = c.path("traffic_policy").path("tls");
      } else if (c.path("host").asText().equals("mtls-missing.internal")) {
        missing = c.path("traffic_policy").path("tls");
      }
    }
    assertThat(ok).as(clusters.toString()).isNotNull();
    assertThat(ok.path("serving").asBoolean()).isTrue();
    assertThat(ok.has("error")).isFalse();
    assertThat(missing).as(clusters.toString()).isNotNull();
    assertThat(missing.path("serving").asBoolean(true)).isFalse();
    assertThat(missing.path("error").asText()).contains("Secret istio-system/no-such-secret not found");
    assertThat(clusters.toString()).doesNotContain("BEGIN", "PRIVATE KEY");
  }

  @Test
  void aPlainClusterHasNoTransportFailureReason() throws Exception {
    String path = "/plain/" + UUID.randomUUID(); // DISABLE, to a port nobody listens on: UF without a TLS reason
    assertThat(status(curl(path))).isEqualTo("503");
    JsonNode line = line(path);
    assertThat(line.get("response_flags").asText()).isEqualTo("UF");
    assertThat(line.has("upstream_transport_failure_reason")).isFalse();
  }

  @Test
  void verificationFailuresAreCountedByKind() throws Exception {
    long san = stat("upstream_ssl.fail_verify_san");
    long verify = stat("upstream_ssl.fail_verify_error");
    long connectFail = stat("upstream_cx_connect_fail");
    curl("/wrongsan/count");
    curl("/wrongca/count");
    assertThat(stat("upstream_ssl.fail_verify_san")).isGreaterThan(san);
    assertThat(stat("upstream_ssl.fail_verify_error")).isGreaterThan(verify);
    assertThat(stat("upstream_cx_connect_fail")).isGreaterThanOrEqualTo(connectFail + 2);
  }

  /** The backend closes after each response: every request is a new handshake, and the second one resumes. */
  @Test
  void aNewConnectionResumesTheSession() throws Exception {
    long reused = stat("upstream_ssl.session_reused");
    assertThat(status(curl("/sni/first"))).isEqualTo("200");
    Proc.Result second = curl("/sni/second");
    assertThat(status(second)).isEqualTo("200");
    assertThat(JSON.readTree(body(second)).get("reused").asBoolean()).as("the backend resumed the session").isTrue();
    if (io.netty.handler.ssl.OpenSsl.isAvailable()) { // only BoringSSL's engine tells a resumed session
      assertThat(stat("upstream_ssl.session_reused")).isGreaterThan(reused);
    }
  }

  /** A GRPC port over TLS: ALPN h2 to a grpc-java server, which sees the gateway's HTTP/2 stream. */
  @Test
  void aGrpcPortIsReachedOverHttp2WithTls() throws Exception {
    long handshakes = stat("upstream_ssl.handshake");
    ManagedChannel ch = GrpcClients.plaintext(http, "grpc.example");
    try {
      String id = UUID.randomUUID().toString();
      assertThat(GrpcClients.unary(GrpcClients.capturing(ch, GrpcClients.metadata("x-test-id", id)).channel(),
          GrpcEcho.UNARY, CallOptions.DEFAULT, new byte[] {7})).isEqualTo(new byte[] {7});
      assertThat(grpc.call(id).authority()).isEqualTo("grpc.example");
    } finally {
      GrpcClients.close(ch);
    }
    assertThat(stat("upstream_ssl.handshake")).isGreaterThan(handshakes);
  }

  /** MUTUAL over HTTP/2: the client certificate from the Secret, to a grpc-java server that requires one. */
  @Test
  void aGrpcPortWithMutualTlsIsServed() throws Exception {
    ManagedChannel ch = GrpcClients.plaintext(http, "grpc-mtls.example");
    try {
      assertThat(GrpcClients.unary(ch, GrpcEcho.UNARY, CallOptions.DEFAULT, new byte[] {9})).isEqualTo(new byte[] {9});
    } finally {
      GrpcClients.close(ch);
    }
    assertThat(grpcMutual.calls()).anySatisfy(c -> assertThat(c.authority()).isEqualTo("grpc-mtls.example"));
  }

  /**
   * An HTTP/2 (gRPC) upstream whose certificate fails the check, or that refuses the gateway for sending no client
   * certificate: UF with the reason, and gRPC's UNAVAILABLE.
   */
  @ParameterizedTest(name = "{0}")
  @CsvSource(delimiter = '|', value = {
      "grpc-bad.example    | CERTIFICATE_VERIFY_FAILED: upstream certificate CN=backend.internal: PKIX path building",
      "grpc-nocert.example | certificate_required",
  })
  void aFailingGrpcPortIsUfWithTheReason(String authority, String reason) throws Exception {
    ManagedChannel ch = GrpcClients.plaintext(http, authority);
    try {
      Throwable t = org.assertj.core.api.Assertions.catchThrowable(() -> GrpcClients.unary(ch, GrpcEcho.UNARY,
          CallOptions.DEFAULT, new byte[] {7}));
      assertThat(t).isInstanceOfSatisfying(io.grpc.StatusRuntimeException.class, e -> assertThat(e.getStatus()
          .getCode()).isEqualTo(io.grpc.Status.Code.UNAVAILABLE));
    } finally {
      GrpcClients.close(ch);
    }
    JsonNode line = await().atMost(Duration.ofSeconds(5)).until(() -> Files.readAllLines(accessLog).stream()
        .map(UpstreamTlsIT::json).filter(n -> n.path("authority").asText().equals(authority)).findFirst()
        .orElse(null), n -> n != null);
    assertThat(line.get("response_flags").asText()).isEqualTo("UF");
    assertThat(line.get("upstream_transport_failure_reason").asText()).containsIgnoringCase(reason);
  }

  /** A Secret that was missing arrives: the next configuration builds its context, and the cluster is served. */
  @Test
  void aMissingSecretThatArrivesIsServedWithoutARestart() throws Exception {
    assertThat(status(curl("/mtls-late/before"))).isEqualTo("503");
    Files.writeString(tmp.resolve("late-secret.yaml"), lateSecret);
    await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> assertThat(status(curl("/mtls-late/after")))
        .isEqualTo("200"));
    assertThat(JSON.readTree(body(curl("/mtls-late/client"))).get("client").asText()).isEqualTo("gateway-client");
  }

  /**
   * TLS connections are pooled like plain ones, per setting: two settings to the same keep-alive endpoint each get
   * their own connection (each with its own SNI), and each reuses its own.
   */
  @Test
  void tlsConnectionsArePooledPerSetting() throws Exception {
    JsonNode a1 = JSON.readTree(body(curl("/keep-a/1")));
    JsonNode a2 = JSON.readTree(body(curl("/keep-a/2")));
    JsonNode b1 = JSON.readTree(body(curl("/keep-b/1")));
    JsonNode a3 = JSON.readTree(body(curl("/keep-a/3")));
    JsonNode b2 = JSON.readTree(body(curl("/keep-b/2")));
    assertThat(List.of(a1, a2, a3)).allSatisfy(n -> assertThat(n.get("sni").asText()).isEqualTo("backend.internal"));
    assertThat(List.of(b1, b2)).allSatisfy(n -> assertThat(n.get("sni").asText()).isEqualTo("other.example"));
    assertThat(a2.get("requests").asInt()).as("keep-a's connection reused").isEqualTo(a1.get("requests").asInt() + 1);
    assertThat(a3.get("requests").asInt()).as("keep-a's connection, not keep-b's").isEqualTo(a2.get("requests")
        .asInt() + 1);
    assertThat(b2.get("requests").asInt()).as("keep-b's connection reused").isEqualTo(b1.get("requests").asInt() + 1);
  }

  private static Proc backend(int port, Path clientCa, boolean keepAlive) throws Exception {
    Path script = Path.of(ClassLoader.getSystemResource("tlsbackend.py").toURI());
    List<String> cmd = new java.util.ArrayList<>(List.of("/usr/bin/python3", script.toString(), String.valueOf(port),
        tmp.resolve("backend.crt").toString(), tmp.resolve("backend.key").toString()));
    if (clientCa != null) {
      cmd.add(clientCa.toString());
    }
    Proc p = Proc.start(cmd, tmp, keepAlive ? Map.of("TLSBACKEND_KEEPALIVE", "1") : Map.of());
    await().atMost(Duration.ofSeconds(20)).until(() -> !p.alive() || p.output().contains("listening " + port));
    if (!p.alive()) {
      throw new IllegalStateException("tlsbackend.py did not start: " + p.output());
    }
    return p;
  }

  private static String secret(String name, String cert, String key, String ca) {
    Base64.Encoder b64 = Base64.getEncoder();
    return """
        ---
        apiVersion: v1
        kind: Secret
        metadata: {name: %s, namespace: istio-system}
        data:
          tls.crt: %s
          tls.key: %s
          ca.crt: %s
        """.formatted(name, b64.encodeToString(cert.getBytes()), b64.encodeToString(key.getBytes()),
        b64.encodeToString(ca.getBytes()));
  }

  private static void write(String name, String content) throws IOException {
    Files.writeString(tmp.resolve(name), content);
  }

  /** curl GET through the gateway; stdout is the body, then a line with the status. */
  private static Proc.Result curl(String path) throws Exception {
    return Proc.run(40, "curl", "-s", "-w", "\n%{http_code}", "--max-time", "30", "http://127.0.0.1:" + http + path);
  }

  private static String status(Proc.Result r) {
    String out = r.stdout();
    return out.substring(out.lastIndexOf('\n') + 1);
  }

  private static String body(Proc.Result r) {
    String out = r.stdout();
    return out.substring(0, out.lastIndexOf('\n'));
  }

  private static long stat(String name) {
    return gateway.stats().get(name);
  }

  private static JsonNode line(String path) {
    return await().atMost(Duration.ofSeconds(5)).until(() -> Files.readAllLines(accessLog).stream()
        .map(UpstreamTlsIT::json).filter(n -> n.path("path").asText().equals(path)).findFirst().orElse(null),
        n -> n != null);
  }

  private static JsonNode json(String s) {
    try {
      return JSON.readTree(s);
    } catch (IOException e) {
      throw new IllegalStateException(s, e);
    }
  }
}
