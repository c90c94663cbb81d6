package io.portcullis.it;

import static io.portcullis.testing.Gateways.admin;
import static io.portcullis.testing.Gateways.ready;
import static io.portcullis.testing.Gateways.servedSerial;
import static io.portcullis.testing.Gateways.start;
import static io.portcullis.testing.Gateways.status;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.portcullis.Portcullis;
import io.portcullis.certs.CertificateStatus;
import io.portcullis.storage.DirectoryStorage;
import io.portcullis.testing.Gateways;
import io.portcullis.testing.Pebble;
import io.portcullis.testing.Ports;
import io.portcullis.testing.Proc;
import io.portcullis.testing.RequestLoop;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * ACME against a real Pebble: HTTP-01 answered by the gateway's own plain-HTTP listener, certificates served without
 * a restart, kept across restarts, failures backing off while other hosts serve.
 */
class AcmeIT {
  @TempDir Path tmp;
  Pebble pebble;
  int http;
  int https;

  @BeforeEach
  void startPebble() throws Exception {
    http = Ports.free();
    https = Ports.free();
    pebble = new Pebble(tmp.resolve("pebble"), http).start();
  }

  @AfterEach
  void stopPebble() {
    if (pebble != null) {
      System.out.println("pebble log:\n" + pebble.log()); // kept in the Failsafe report
      pebble.close();
    }
  }

  String manifests(String extraCertificates, String securedAnnotation) throws Exception {
    return """
        apiVersion: cert-manager.io/v1
        kind: ClusterIssuer
        metadata: {name: pebble}
        spec:
          acme:
            server: %1$s
            email: ops@example.test
            caBundle: %2$s
            privateKeySecretRef: {name: pebble-account}
            solvers:
            - http01: {ingress: {class: istio}}
        ---
        apiVersion: cert-manager.io/v1
        kind: Certificate
        metadata: {name: www, namespace: istio-system}
        spec:
          secretName: www-credential
          dnsNames: [www.example.test, mobile.example.test]
          issuerRef: {name: pebble, kind: ClusterIssuer}
        %5$s
        ---
        apiVersion: networking.istio.io/v1
        kind: Gateway
        metadata:
          name: web
          %6$s
        spec:
          servers:
          - port: {number: %3$d, name: http, protocol: HTTP}
            hosts: ["*"]
          - port: {number: %4$d, name: https-www, protocol: HTTPS}
            tls: {mode: SIMPLE, credentialName: www-credential}
            hosts: [www.example.test, mobile.example.test]
          - port: {number: %4$d, name: https-shop, protocol: HTTPS}
            tls: {mode: SIMPLE, credentialName: shop-credential}
            hosts: [shop.example.test]
        ---
        """.formatted(pebble.directory(), pebble.caBundle(), http, https, extraCertificates, securedAnnotation)
        + Gateways.directResponse("web", "hello from an ACME certificate\n");
  }

  Proc.Result curl(String host, Path root) throws Exception {
    return Gateways.curl(https, host, root);
  }

  @Test
  void twoNamesAreIssuedOverHttp01AnsweredByTheGatewayServedAndKeptAcrossARestart() throws Exception {
    Path config = Files.createDirectories(tmp.resolve("config"));
    Path state = tmp.resolve("state");
    Files.writeString(config.resolve("all.yaml"), manifests("", "annotations: {cert-manager.io/cluster-issuer: "
        + "pebble}"));
    String serial;
    try (Portcullis p = start(config, state)) {
      await().atMost(Duration.ofSeconds(60)).until(() -> ready(p, "www") && ready(p, "shop-credential"));
      Path root = pebble.root();
      for (String host : List.of("www.example.test", "mobile.example.test", "shop.example.test")) {
        Proc.Result r = curl(host, root);
        assertThat(r.exitCode()).as(host + ": " + r.stderr()).isZero();
        assertThat(r.stdout()).isEqualTo("hello from an ACME certificate\n");
      }
      assertThat(new DirectoryStorage(state).load().secrets()).containsKeys("istio-system/pebble-account",
          "istio-system/www-credential", "istio-system/shop-credential");
      String first = status(p, "www").orElseThrow().serial().orElseThrow();
      assertThat(status(p, "www").orElseThrow().subjectAltNames()).containsExactlyInAnyOrder("www.example.test",
          "mobile.example.test");

      // A forced renewal: a new order, its certificate served, no request failing meanwhile.
      long ordersBefore = pebble.orders();
      RequestLoop loop = new RequestLoop(() -> curl("www.example.test", root).exitCode() == 0);
      await().atMost(Duration.ofSeconds(10)).until(() -> loop.ok() >= 3);
      // What `portcullis certs renew www` sends (LauncherIT runs the command itself); it answers once the order is
      // placed, and the certificate is stored when the order completes.
      assertThat(admin(p, "POST", "/certs/renew?namespace=istio-system&name=www"))
          .contains("renewal requested");
      await().atMost(Duration.ofSeconds(30)).until(() -> status(p, "www").orElseThrow().revision() == 2);
      int okAtRenewal = loop.ok();
      await().atMost(Duration.ofSeconds(10)).until(() -> loop.ok() >= okAtRenewal + 3);
      loop.close();
      assertThat(loop.failed()).as("failed requests during the renewal, of %d", loop.ok()).isZero();
      serial = status(p, "www").orElseThrow().serial().orElseThrow();
      assertThat(serial).isNotEqualTo(first);
      assertThat(pebble.orders()).isGreaterThan(ordersBefore);
      assertThat(servedSerial(https, "www.example.test")).isEqualTo(serial);
    }
    long orders = pebble.orders(); // two orders
    assertThat(orders).isGreaterThanOrEqualTo(2);

    try (Portcullis p = start(config, state)) {
      await().atMost(Duration.ofSeconds(10)).until(() -> ready(p, "www") && ready(p, "shop-credential"));
      assertThat(status(p, "www").orElseThrow().serial()).contains(serial);
      assertThat(curl("www.example.test", pebble.root()).exitCode()).isZero();
      Thread.sleep(500);
      assertThat(pebble.orders()).as("orders after the restart").isEqualTo(orders);
    }
  }

  @Test
  void aFailingChallengeBacksOffWithThePebbleProblemAndOtherHostsKeepServing() throws Exception {
    pebble.addA("fail.example.test", "127.0.0.2"); // Pebble validates at an address where nothing listens
    Path config = Files.createDirectories(tmp.resolve("config"));
    Files.writeString(config.resolve("all.yaml"), manifests("""
        ---
        apiVersion: cert-manager.io/v1
        kind: Certificate
        metadata: {name: fail, namespace: istio-system}
        spec:
          secretName: fail-credential
          dnsNames: [fail.example.test]
          issuerRef: {name: pebble, kind: ClusterIssuer}
        """, ""));
    try (Portcullis p = start(config, tmp.resolve("state"))) {
      await().atMost(Duration.ofSeconds(60)).until(() -> ready(p, "www")
          && status(p, "fail").map(s -> s.failedIssuanceAttempts() >= 2).orElse(false));
      CertificateStatus fail = status(p, "fail").orElseThrow();
      assertThat(fail.ready().status()).isEqualTo("False");
      assertThat(fail.ready().message()).contains("challenge fail.example.test").contains("urn:ietf:params:acme:error");
      assertThat(fail.nextAttempt()).isPresent();
      assertThat(fail.lastFailureTime()).isPresent();
      Proc.Result r = curl("www.example.test", pebble.root());
      assertThat(r.exitCode()).as(r.stderr()).isZero();
    }
  }

  @Test
  void withoutAnHttpServerTheBuiltInChallengeListenerOnPort80PlusTheOffsetAnswers() throws Exception {
    int offset = http - 80; // the built-in listener binds 80 + offset: the port Pebble validates on
    int tlsPort = Ports.free();
    while (tlsPort <= offset + 1) {
      tlsPort = Ports.free();
    }
    https = tlsPort;
    Path config = Files.createDirectories(tmp.resolve("config"));
    Files.writeString(config.resolve("all.yaml"), """
        apiVersion: cert-manager.io/v1
        kind: ClusterIssuer
        metadata: {name: pebble}
        spec:
          acme:
            server: %s
            caBundle: %s
            privateKeySecretRef: {name: pebble-account}
            solvers: [{http01: {}}]
        ---
        apiVersion: networking.istio.io/v1
        kind: Gateway
        metadata:
          name: web
          annotations: {cert-manager.io/cluster-issuer: pebble}
        spec:
          servers:
          - port: {number: %d, name: https, protocol: HTTPS}
            tls: {mode: SIMPLE, credentialName: only-tls}
            hosts: [only-tls.example.test]
        ---
        """.formatted(pebble.directory(), pebble.caBundle(), tlsPort - offset)
        + Gateways.directResponse("web", "no HTTP server, still issued\n"));
    try (Portcullis p = start(config, tmp.resolve("state"), offset)) {
      await().atMost(Duration.ofSeconds(60)).until(() -> ready(p, "only-tls"));
      assertThat(p.boundAddresses()).containsKey(80);
      Proc.Result r = curl("only-tls.example.test", pebble.root());
      assertThat(r.exitCode()).as(r.stderr()).isZero();
      assertThat(r.stdout()).isEqualTo("no HTTP server, still issued\n");
    }
  }

  static final String MAC_KEY = "zWNDZM6eQGHWpSRTPal5eIUYFTu7EajVIoguysqZ9wG44nMEtx3MUAsUDkMTQ12W";

  /** A Pebble of its own, with the given settings; the one of {@link #startPebble()} is stopped. */
  Pebble restartPebble(String extraConfig) throws Exception {
    pebble.close();
    pebble = new Pebble(tmp.resolve("pebble-2"), http, extraConfig).start();
    return pebble;
  }

  @Test
  void externalAccountBindingWithTheRightKeyIsIssuedAndWithAWrongOneTheCaRefusalIsInTheStatus() throws Exception {
    restartPebble("\"externalAccountBindingRequired\": true, \"externalAccountMACKeys\": {\"kid-1\": \""
        + MAC_KEY + "\"}");
    Path config = Files.createDirectories(tmp.resolve("config"));
    Files.writeString(config.resolve("all.yaml"), manifests("""
        ---
        apiVersion: v1
        kind: Secret
        metadata: {name: eab, namespace: istio-system}
        stringData: {secret: %1$s, wrong: AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA}
        ---
        apiVersion: cert-manager.io/v1
        kind: ClusterIssuer
        metadata: {name: pebble-eab}
        spec:
          acme:
            server: %2$s
            caBundle: %3$s
            privateKeySecretRef: {name: pebble-eab-account}
            externalAccountBinding: {keyID: kid-1, keySecretRef: {name: eab, key: secret}, keyAlgorithm: HS256}
            solvers: [{http01: {}}]
        ---
        apiVersion: cert-manager.io/v1
        kind: ClusterIssuer
        metadata: {name: pebble-wrong-eab}
        spec:
          acme:
            server: %2$s
            caBundle: %3$s
            privateKeySecretRef: {name: pebble-wrong-eab-account}
            externalAccountBinding: {keyID: kid-1, keySecretRef: {name: eab, key: wrong}}
            solvers: [{http01: {}}]
        ---
        apiVersion: cert-manager.io/v1
        kind: Certificate
        metadata: {name: bound, namespace: istio-system}
        spec:
          secretName: shop-credential
          dnsNames: [shop.example.test]
          issuerRef: {name: pebble-eab, kind: ClusterIssuer}
        ---
        apiVersion: cert-manager.io/v1
        kind: Certificate
        metadata: {name: unbound, namespace: istio-system}
        spec:
          secretName: unbound-credential
          dnsNames: [unbound.example.test]
          issuerRef: {name: pebble-wrong-eab, kind: ClusterIssuer}
        """.formatted(MAC_KEY, pebble.directory(), pebble.caBundle()), ""));
    try (Portcullis p = start(config, tmp.resolve("state"))) {
      await().atMost(Duration.ofSeconds(60)).until(() -> ready(p, "bound")
          && status(p, "unbound").map(s -> s.failedIssuanceAttempts() >= 1).orElse(false));
      Proc.Result r = curl("shop.example.test", pebble.root());
      assertThat(r.exitCode()).as(r.stderr()).isZero();
      CertificateStatus unbound = status(p, "unbound").orElseThrow();
      assertThat(unbound.ready().status()).isEqualTo("False");
      assertThat(unbound.ready().message()).startsWith("account: ").contains("urn:ietf:params:acme:error");
      // The issuer without a binding is refused too: Pebble requires one.
      assertThat(status(p, "www").orElseThrow().ready().status()).isEqualTo("False");
    }
  }

  @Test
  void aShortLivedCertificateIsRenewedAtTwoThirdsOfItsLifetimeWithoutAFailedRequest() throws Exception {
    restartPebble("\"certificateValidityPeriod\": 15");
    Path config = Files.createDirectories(tmp.resolve("config"));
    Files.writeString(config.resolve("all.yaml"), manifests("", ""));
    try (Portcullis p = start(config, tmp.resolve("state"))) {
      await().atMost(Duration.ofSeconds(30)).until(() -> ready(p, "www"));
      CertificateStatus first = status(p, "www").orElseThrow();
      // 2/3 of Pebble's 15 s (its notAfter is inclusive: 14 s between notBefore and notAfter).
      assertThat(Duration.between(first.notBefore().orElseThrow(), first.renewalTime().orElseThrow()).toSeconds())
          .isBetween(9L, 10L);
      Path root = pebble.root();
      RequestLoop loop = new RequestLoop(() -> curl("www.example.test", root).exitCode() == 0);
      await().atMost(Duration.ofSeconds(30)).until(() -> status(p, "www").orElseThrow().revision() >= 2);
      int okAtRenewal = loop.ok();
      await().atMost(Duration.ofSeconds(10)).until(() -> loop.ok() >= okAtRenewal + 3);
      loop.close();
      assertThat(loop.failed()).as("failed requests across the renewal, of %d", loop.ok()).isZero();
      CertificateStatus renewed = status(p, "www").orElseThrow();
      assertThat(renewed.serial()).isNotEqualTo(first.serial());
      assertThat(renewed.issuing()).isEmpty();
    }
  }

  @Test
  void pebbleDownAtStartUpIsRetriedUntilItIsBack() throws Exception {
    pebble.stopPebble();
    Path config = Files.createDirectories(tmp.resolve("config"));
    Files.writeString(config.resolve("all.yaml"), manifests("", ""));
    try (Portcullis p = start(config, tmp.resolve("state"))) {
      await().atMost(Duration.ofSeconds(20)).until(() -> status(p, "www").map(s -> s.failedIssuanceAttempts() >= 1)
          .orElse(false));
      assertThat(status(p, "www").orElseThrow().ready().status()).isEqualTo("False");
      pebble.start();
      await().atMost(Duration.ofSeconds(60)).until(() -> ready(p, "www"));
      assertThat(curl("www.example.test", pebble.root()).exitCode()).isZero();
    }
  }
}
