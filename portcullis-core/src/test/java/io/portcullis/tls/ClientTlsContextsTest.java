package io.portcullis.tls;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.handler.ssl.SslContext;
import io.portcullis.config.GatewayConfig;
import io.portcullis.config.Manifests;
import io.portcullis.config.Problem;
import io.portcullis.routing.Cluster;
import io.portcullis.routing.HttpRoute;
import io.portcullis.routing.RouteAction;
import io.portcullis.testing.TestPki;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * {@link ClientTlsContexts}: contexts built per DestinationRule {@code tls} setting and protocol when a configuration
 * is applied, kept while their material is unchanged, and material that does not load reported by field, never with
 * key bytes.
 */
class ClientTlsContextsTest {
  static TestPki.Ca ca;
  static TestPki.Ca other;
  static TestPki.Leaf client;
  static TestPki.Leaf stranger;
  final Map<Path, byte[]> files = new HashMap<>();

  @BeforeAll
  static void pki() throws Exception {
    ca = TestPki.ca("Upstream CA");
    other = TestPki.ca("Other CA");
    client = ca.client("gateway");
    stranger = ca.client("stranger");
  }

  private final TlsContexts.FileSource source = p -> {
    byte[] b = files.get(p);
    if (b == null) {
      throw new IllegalArgumentException("file " + p + ": not found");
    }
    return b;
  };

  @Test
  void aContextIsKeptWhileItsMaterialIsUnchangedAndRebuiltWhenItChanges() {
    files.put(Path.of("/etc/up/ca.pem"), ca.pem().getBytes(StandardCharsets.UTF_8));
    GatewayConfig c = config("HTTP", "{mode: SIMPLE, caCertificates: /etc/up/ca.pem}", "");
    AtomicInteger built = new AtomicInteger();
    ClientTlsContexts contexts = new ClientTlsContexts(ctx -> {
      built.incrementAndGet();
      return ctx;
    });
    SslContext first = context(contexts.build(c.listeners(), c.secrets(), source, new ArrayList<>()), c);
    SslContext again = context(contexts.build(c.listeners(), c.secrets(), source, new ArrayList<>()), c);
    assertThat(again).isSameAs(first);
    files.put(Path.of("/etc/up/ca.pem"), other.pem().getBytes(StandardCharsets.UTF_8)); // rotated in place
    SslContext rotated = context(contexts.build(c.listeners(), c.secrets(), source, new ArrayList<>()), c);
    assertThat(rotated).isNotSameAs(first);
    assertThat(built).hasValue(2);
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource({"HTTP, http/1.1", "HTTP2, h2", "GRPC, h2"})
  void alpnFollowsTheClustersProtocol(String protocol, String alpn) {
    GatewayConfig c = config(protocol, "{mode: SIMPLE}", ""); // the JDK's trust store
    SslContext ctx = context(new ClientTlsContexts(x -> x).build(c.listeners(), c.secrets(), source,
        new ArrayList<>()), c);
    assertThat(ctx.isClient()).isTrue();
    assertThat(ctx.applicationProtocolNegotiator().protocols()).containsExactly(alpn);
  }

  @Test
  void mutualTakesTheClientCertificateAndCaFromTheSecret() {
    GatewayConfig c = config("HTTP", "{mode: MUTUAL, credentialName: up}", secret("up", client.certPem(),
        client.keyPem(), ca.pem()));
    List<Problem> problems = new ArrayList<>();
    assertThat(context(new ClientTlsContexts(x -> x).build(c.listeners(), c.secrets(), source, problems), c))
        .isNotNull();
    assertThat(problems).isEmpty();
  }

  /** Material that does not load: the host's DestinationRule, the field and what was expected; no key bytes. */
  @ParameterizedTest(name = "{0}")
  @CsvSource(delimiter = '|', value = {
      "missing Secret | {mode: MUTUAL, credentialName: nope} | | trafficPolicy.tls.credentialName "
          + "| Secret istio-system/nope not found (expected: a Secret in namespace istio-system with tls.crt",
      "no key in the Secret | {mode: MUTUAL, credentialName: up} | nokey | trafficPolicy.tls.credentialName "
          + "| tls.key: missing (expected: for mode MUTUAL",
      "key of another certificate | {mode: MUTUAL, credentialName: up} | mismatch "
          + "| trafficPolicy.tls.credentialName | tls.key: private key does not match the certificate's public key",
      "missing CA file | {mode: SIMPLE, caCertificates: /etc/up/none.pem} | | trafficPolicy.tls.caCertificates "
          + "| file /etc/up/none.pem: not found (expected: a readable PEM file)",
      "CA file not PEM | {mode: SIMPLE, caCertificates: /etc/up/garbage.pem} | | trafficPolicy.tls.caCertificates "
          + "| file /etc/up/garbage.pem: not a valid certificate",
      "key file not PEM | {mode: MUTUAL, clientCertificate: /etc/up/client.crt, privateKey: /etc/up/garbage.pem} | "
          + "| trafficPolicy.tls.privateKey | file /etc/up/garbage.pem:",
      "CRL of another CA | {mode: SIMPLE, caCertificates: /etc/up/ca.pem, caCrl: /etc/up/other.crl} | "
          + "| trafficPolicy.tls.caCrl | is not signed by any certificate of the upstream CA",
  })
  void unusableMaterialIsReportedAndItsClustersFail(String name, String tls, String secretKind, String field,
      String message) throws Exception {
    files.put(Path.of("/etc/up/ca.pem"), ca.pem().getBytes(StandardCharsets.UTF_8));
    files.put(Path.of("/etc/up/client.crt"), client.certPem().getBytes(StandardCharsets.UTF_8));
    files.put(Path.of("/etc/up/garbage.pem"), "not PEM at all\n".getBytes(StandardCharsets.UTF_8));
    files.put(Path.of("/etc/up/other.crl"), other.crl().getBytes(StandardCharsets.UTF_8));
    String secret = secretKind == null ? "" : secretKind.equals("nokey") ? secret("up", client.certPem(), null, null)
        : secret("up", client.certPem(), stranger.keyPem(), ca.pem());
    GatewayConfig c = config("HTTP", tls, secret);
    List<Problem> problems = new ArrayList<>();
    ClientTlsContexts.Table t = new ClientTlsContexts(x -> x).build(c.listeners(), c.secrets(), source, problems);
    assertThat(problems).singleElement().satisfies(p -> {
      assertThat(p.severity()).isEqualTo(Problem.Severity.ERROR);
      assertThat(p.subject()).isEqualTo("DestinationRule for up.internal");
      assertThat(p.field()).isEqualTo(field);
      assertThat(p.message()).contains(message).contains("requests to up.internal answer 503 UF until it is fixed")
          .doesNotContain("-----BEGIN", keyBody(client), keyBody(stranger));
    });
    ClientTlsContexts.ClientTls ct = t.lookup(cluster(c).policy().tls(), Cluster.Protocol.HTTP1);
    assertThat(ct.context()).isEmpty();
    assertThat(ct.error()).contains(message);
    assertThat(ClientTlsContexts.failureReason(new ClientTlsContexts.Unavailable(ct.error()))).contains(ct.error());
  }

  @Test
  void aSettingNotBuiltHasNoContextAndSaysSo() {
    GatewayConfig c = config("HTTP", "{mode: SIMPLE}", "");
    ClientTlsContexts.ClientTls ct = ClientTlsContexts.Table.EMPTY.lookup(cluster(c).policy().tls(),
        Cluster.Protocol.HTTP1);
    assertThat(ct.context()).isEmpty();
    assertThat(ct.error()).contains("no TLS context was built");
  }

  @Test
  void theFilesOfEveryTlsSettingAreWatched() {
    GatewayConfig c = config("HTTP", "{mode: MUTUAL, clientCertificate: /etc/up/c.crt, privateKey: /etc/up/c.key, "
        + "caCertificates: /etc/up/ca.pem, caCrl: /etc/up/ca.crl}", "");
    assertThat(ClientTlsContexts.files(c.listeners())).containsExactlyInAnyOrder(Path.of("/etc/up/c.crt"),
        Path.of("/etc/up/c.key"), Path.of("/etc/up/ca.pem"), Path.of("/etc/up/ca.crl"));
  }

  private static String keyBody(TestPki.Leaf leaf) {
    String pem = leaf.keyPem();
    return pem.substring(pem.indexOf('\n') + 1, pem.indexOf('\n') + 40); // a line of the key's base64
  }

  private static GatewayConfig config(String protocol, String tls, String extra) {
    return Manifests.translate("""
        apiVersion: networking.istio.io/v1
        kind: Gateway
        metadata: {name: gw, namespace: istio-system}
        spec:
          servers:
          - port: {number: 8080, name: http, protocol: HTTP}
            hosts: ["*"]
        ---
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata: {name: up, namespace: istio-system}
        spec:
          hosts: ["*"]
          gateways: [gw]
          http:
          - route: [{destination: {host: up.internal, port: {number: 80}}}]
        ---
        apiVersion: networking.istio.io/v1
        kind: ServiceEntry
        metadata: {name: up, namespace: istio-system}
        spec:
          hosts: [up.internal]
          ports: [{number: 80, name: p, protocol: %s, targetPort: 8443}]
          resolution: STATIC
          endpoints: [{address: 127.0.0.1}]
        ---
        apiVersion: networking.istio.io/v1
        kind: DestinationRule
        metadata: {name: up, namespace: istio-system}
        spec:
          host: up.internal
          trafficPolicy:
            tls: %s
        """.formatted(protocol, tls) + extra);
  }

  private static String secret(String name, String cert, String key, String ca) {
    Base64.Encoder b = Base64.getEncoder();
    StringBuilder s = new StringBuilder("---\napiVersion: v1\nkind: Secret\nmetadata: {name: " + name
        + ", namespace: istio-system}\ndata:\n");
    s.append("  tls.crt: ").append(b.encodeToString(cert.getBytes(StandardCharsets.UTF_8))).append('\n');
    if (key != null) {
      s.append("  tls.key: ").append(b.encodeToString(key.getBytes(StandardCharsets.UTF_8))).append('\n');
    }
    if (ca != null) {
      s.append("  ca.crt: ").append(b.encodeToString(ca.getBytes(StandardCharsets.UTF_8))).append('\n');
    }
    return s.toString();
  }

  private static Cluster cluster(GatewayConfig c) {
    HttpRoute r = c.listeners().values().iterator().next().routes().entries().values().iterator().next().routes()
        .get(0);
    return ((RouteAction.Forward) r.action()).destinations().get(0).cluster();
  }

  private static SslContext context(ClientTlsContexts.Table t, GatewayConfig c) {
    Cluster cl = cluster(c);
    ClientTlsContexts.ClientTls ct = t.lookup(cl.policy().tls(), cl.protocol());
    assertThat(ct.error()).isEmpty();
    return ct.context().orElseThrow();
  }
}
