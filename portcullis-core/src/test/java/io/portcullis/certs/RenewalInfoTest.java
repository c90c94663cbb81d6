package io.portcullis.certs;

import static org.assertj.core.api.Assertions.assertThat;

import com.sun.net.httpserver.HttpServer;
import io.portcullis.acme.AcmeClient;
import io.portcullis.acme.Http01Challenges;
import io.portcullis.config.Manifests;
import io.portcullis.storage.StoredSecret;
import io.portcullis.tls.Pem;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.security.KeyPair;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.bouncycastle.asn1.ASN1OctetString;
import org.bouncycastle.asn1.x509.AuthorityKeyIdentifier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * ACME Renewal Information (RFC 9773). Debian's Pebble (2.4) offers no {@code renewalInfo}, and no other CA can run
 * here, so a small HTTP server plays the two GET resources involved: the directory and the renewal information.
 */
class RenewalInfoTest {
  HttpServer server;
  final List<String> paths = new ArrayList<>();
  volatile boolean offerRenewalInfo = true;
  final Instant windowStart = Instant.now().plus(Duration.ofDays(10)).truncatedTo(ChronoUnit.SECONDS);
  final Instant windowEnd = windowStart.plus(Duration.ofDays(2));

  @BeforeEach
  void start() throws Exception {
    server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    String base = "http://127.0.0.1:" + server.getAddress().getPort();
    server.createContext("/", ex -> {
      paths.add(ex.getRequestURI().getPath());
      String body;
      if (ex.getRequestURI().getPath().equals("/dir")) {
        body = "{\"newNonce\": \"" + base + "/nonce\", \"newAccount\": \"" + base + "/account\", \"newOrder\": \""
            + base + "/order\"" + (offerRenewalInfo ? ", \"renewalInfo\": \"" + base + "/renewal-info\"" : "") + "}";
      } else {
        body = "{\"suggestedWindow\": {\"start\": \"" + windowStart + "\", \"end\": \"" + windowEnd + "\"}}";
        ex.getResponseHeaders().set("Retry-After", "3600");
      }
      byte[] b = body.getBytes(StandardCharsets.UTF_8);
      ex.getResponseHeaders().set("Content-Type", "application/json");
      ex.sendResponseHeaders(200, b.length);
      ex.getResponseBody().write(b);
      ex.close();
    });
    server.start();
  }

  @AfterEach
  void stop() {
    server.stop(0);
  }

  static IssuerConfig.Acme issuer(String server) {
    return new IssuerConfig.Acme(new IssuerConfig.IssuerRef("ClusterIssuer", "", "ari"), server, "", "ns/account",
        false, new byte[0], Optional.empty(), "", List.of(new IssuerConfig.Solver(Optional.empty(), false, List.of(), List.of(),
            Map.of())));
  }

  static X509Certificate certificate() throws Exception {
    CertificateConfig c = CertManagerTranslatorTest.translate(CertManagerTranslatorTest.BOOTSTRAP).certificates()
        .get("istio-system/web");
    KeyPair ca = Keys.generate(c.privateKey());
    KeyPair leaf = Keys.generate(c.privateKey());
    X509Certificate caCert = X509Signer.sign(CertManagerTranslatorTest.translate(CertManagerTranslatorTest.BOOTSTRAP)
        .certificates().get("istio-system/root-ca"), ca.getPublic(), Optional.empty(), ca.getPrivate(), Instant.now());
    return X509Signer.sign(c, leaf.getPublic(), Optional.of(caCert), ca.getPrivate(), Instant.now());
  }

  @Test
  void fetchesTheSuggestedWindowByTheCertificatesRenewalIdentifier() throws Exception {
    AcmeClient client = new AcmeClient(new Http01Challenges(), CertificateManagerTest.NO_DNS, Duration.ofSeconds(10));
    X509Certificate cert = certificate();
    String dir = "http://127.0.0.1:" + server.getAddress().getPort() + "/dir";
    Optional<AcmeClient.RenewalWindow> w = client.renewalWindow(issuer(dir), Keys.generate(
        new CertificateConfig.KeySpec("ECDSA", 256, "Never")), cert);
    assertThat(w).isPresent();
    assertThat(w.get().start()).isEqualTo(windowStart);
    assertThat(w.get().end()).isEqualTo(windowEnd);
    assertThat(w.get().nextCheck()).isAfter(Instant.now().plus(Duration.ofMinutes(59)));

    // RFC 9773 §4.1: the path ends in base64url(AKI keyIdentifier) "." base64url(serial number DER content).
    String id = paths.get(paths.size() - 1).substring("/renewal-info/".length());
    byte[] aki = AuthorityKeyIdentifier.getInstance(ASN1OctetString.getInstance(
        cert.getExtensionValue("2.5.29.35")).getOctets()).getKeyIdentifierOctets();
    assertThat(id.substring(0, id.indexOf('.'))).isEqualTo(Base64.getUrlEncoder().withoutPadding()
        .encodeToString(aki));
    assertThat(Base64.getUrlDecoder().decode(id.substring(id.indexOf('.') + 1)))
        .isEqualTo(cert.getSerialNumber().toByteArray());

    offerRenewalInfo = false;
    assertThat(client.renewalWindow(issuer(dir), Keys.generate(new CertificateConfig.KeySpec("ECDSA", 256,
        "Never")), cert)).isEmpty();
  }

  @Test
  void theManagerAsksForTheWindowRenewsInsideItAndSendsTheOrder() throws Exception {
    String dir = "http://127.0.0.1:" + server.getAddress().getPort() + "/dir";
    CertManagerConfig config = CertManagerTranslatorTest.translate("""
        apiVersion: cert-manager.io/v1
        kind: ClusterIssuer
        metadata: {name: ari}
        spec:
          acme:
            server: %s
            privateKeySecretRef: {name: ari-account}
            solvers: [{http01: {}}]
        ---
        apiVersion: cert-manager.io/v1
        kind: Certificate
        metadata: {name: web, namespace: istio-system}
        spec:
          secretName: web-credential
          dnsNames: [www.example.test, mobile.example.test]
          issuerRef: {name: ari, kind: ClusterIssuer}
        """.formatted(dir));
    CertificateConfig c = config.certificates().get("istio-system/web");
    // A certificate of this issuer, as an earlier order would have stored it.
    KeyPair ca = Keys.generate(c.privateKey());
    KeyPair leaf = Keys.generate(c.privateKey());
    X509Certificate caCert = X509Signer.sign(CertManagerTranslatorTest.translate(CertManagerTranslatorTest.BOOTSTRAP)
        .certificates().get("istio-system/root-ca"), ca.getPublic(), Optional.empty(), ca.getPrivate(), Instant.now());
    X509Certificate cert = X509Signer.sign(c, leaf.getPublic(), Optional.of(caCert), ca.getPrivate(), Instant.now());
    java.nio.file.Path state = java.nio.file.Files.createTempDirectory("ari");
    new io.portcullis.storage.DirectoryStorage(state).put(new StoredSecret("istio-system", "web-credential",
        "kubernetes.io/tls", Map.of(Renewal.ISSUER_NAME, "ari", Renewal.ISSUER_KIND, "ClusterIssuer"), Map.of(
        "tls.crt", Pem.encode(cert).getBytes(StandardCharsets.US_ASCII), "tls.key",
        Pem.encode(leaf.getPrivate()).getBytes(StandardCharsets.US_ASCII))));
    CertificateManagerTest.MutableClock clock = new CertificateManagerTest.MutableClock(Instant.now());
    try (CertificateManager m = new CertificateManager(new io.portcullis.storage.DirectoryStorage(state), clock,
        Duration.ofHours(1), new AcmeClient(new Http01Challenges(), CertificateManagerTest.NO_DNS, Duration.ofSeconds(5)), () -> { })) {
      m.update(config, Map.of());
      org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> m.statuses().size() == 1
          && m.statuses().get(0).renewalTime().map(t -> !t.isAfter(windowEnd)).orElse(false));
      CertificateStatus s = m.statuses().get(0);
      assertThat(s.ready().status()).isEqualTo("True");
      assertThat(s.renewalTime().orElseThrow()).isBetween(windowStart, windowEnd); // not the spec's 2/3 (day 60)

      // Inside the window: the renewal is due and an order starts (this test CA goes no further than the
      // directory, so it fails; the failure names the reason).
      clock.now = windowEnd;
      m.update(config, Map.of());
      org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> m.statuses().get(0)
          .failedIssuanceAttempts() == 1);
      assertThat(m.statuses().get(0).issuing().orElseThrow().message()).contains("retried");
      assertThat(m.statuses().get(0).ready().status()).isEqualTo("True"); // the old certificate still serves
      assertThat(paths).contains("/nonce");
    }
  }

  @Test
  void aSuggestedTimeEarlierThanTheSpecsRenewalTimeWins() throws Exception {
    CertificateConfig c = CertManagerTranslatorTest.translate(CertManagerTranslatorTest.BOOTSTRAP).certificates()
        .get("istio-system/web");
    CertificateManagerTest.MutableClock clock = new CertificateManagerTest.MutableClock(Instant.now());
    try (CertificateManager m = new CertificateManager(new io.portcullis.storage.DirectoryStorage(
        java.nio.file.Files.createTempDirectory("ari")), clock, Duration.ofSeconds(1), new AcmeClient(
        new Http01Challenges(), CertificateManagerTest.NO_DNS, Duration.ofSeconds(5)), () -> { })) {
      m.update(CertManagerTranslatorTest.translate(CertManagerTranslatorTest.BOOTSTRAP), Map.of());
      m.sync().get();
      StoredSecret web = m.storedSecrets().get("istio-system/web-credential");
      Instant spec = Renewal.check(c, Optional.of(web), clock.instant()).current().orElseThrow().renewalTime();
      Instant early = clock.instant().plus(Duration.ofDays(30));
      Optional<Renewal.Parsed> parsed = Optional.of(Renewal.parse(web));
      Renewal.Check withSuggestion = Renewal.check(c, parsed, clock.instant(), Optional.of(early));
      assertThat(withSuggestion.current().orElseThrow().renewalTime()).isEqualTo(early.truncatedTo(
          ChronoUnit.SECONDS)).isBefore(spec);
      assertThat(Renewal.check(c, parsed, early.plusSeconds(1), Optional.of(early)).reason())
          .contains("Renewing");
      Instant late = spec.plus(Duration.ofDays(1));
      assertThat(Renewal.check(c, parsed, clock.instant(), Optional.of(late)).current().orElseThrow()
          .renewalTime()).isEqualTo(spec);
    }
  }
}
