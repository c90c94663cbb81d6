package io.portcullis.certs;

import static org.assertj.core.api.Assertions.assertThat;

import io.portcullis.config.ConfigTranslator;
import io.portcullis.config.Manifests;
import io.portcullis.config.Problem;
import io.portcullis.config.Snapshot;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class CertManagerTranslatorTest {
  static final String BOOTSTRAP = """
      apiVersion: cert-manager.io/v1
      kind: ClusterIssuer
      metadata: {name: selfsigned}
      spec: {selfSigned: {}}
      ---
      apiVersion: cert-manager.io/v1
      kind: Certificate
      metadata: {name: root-ca, namespace: istio-system}
      spec:
        isCA: true
        commonName: Portcullis test root
        secretName: root-ca
        duration: 87600h
        privateKey: {algorithm: ECDSA, size: 256}
        issuerRef: {name: selfsigned, kind: ClusterIssuer, group: cert-manager.io}
      ---
      apiVersion: cert-manager.io/v1
      kind: ClusterIssuer
      metadata: {name: ca}
      spec: {ca: {secretName: root-ca}}
      ---
      apiVersion: cert-manager.io/v1
      kind: Certificate
      metadata: {name: web, namespace: istio-system}
      spec:
        secretName: web-credential
        dnsNames: [www.example.test, Mobile.Example.Test]
        renewBefore: 360h
        issuerRef: {name: ca, kind: ClusterIssuer}
      """;
  static final String ACME = """
      apiVersion: cert-manager.io/v1
      kind: ClusterIssuer
      metadata: {name: letsencrypt-staging}
      spec:
        acme:
          server: https://acme-staging-v02.api.letsencrypt.org/directory
          email: ops@example.test
          privateKeySecretRef: {name: letsencrypt-staging}
          profile: shortlived
          solvers:
          - http01: {ingress: {class: istio}}
      """;

  static CertManagerConfig translate(String... docs) {
    Snapshot s = Manifests.snapshot(docs);
    return new CertManagerTranslator("istio-system", "istio-system").translate(s,
        new ConfigTranslator("istio-system", 0).translate(s));
  }

  static String errors(CertManagerConfig c) {
    return String.join("\n", c.problems().stream().filter(p -> p.severity() == Problem.Severity.ERROR)
        .map(Problem::toString).toList());
  }

  @Test
  void readsTheBootstrapPatternWithCertManagerDefaults() {
    CertManagerConfig c = translate(BOOTSTRAP);
    assertThat(errors(c)).isEmpty();
    assertThat(c.issuers()).containsOnlyKeys("ClusterIssuer/selfsigned", "ClusterIssuer/ca");
    assertThat(c.issuers().get("ClusterIssuer/ca")).isEqualTo(new IssuerConfig.Ca(
        new IssuerConfig.IssuerRef("ClusterIssuer", "", "ca"), "istio-system/root-ca"));
    CertificateConfig root = c.certificates().get("istio-system/root-ca");
    assertThat(root.isCa()).isTrue();
    assertThat(root.duration()).isEqualTo(Duration.ofDays(3650));
    assertThat(root.commonName()).contains("Portcullis test root");
    CertificateConfig web = c.certificates().get("istio-system/web");
    assertThat(web.dnsNames()).containsExactly("www.example.test", "mobile.example.test");
    assertThat(web.duration()).isEqualTo(Duration.ofDays(90));
    assertThat(web.renewBefore()).contains(Duration.ofDays(15));
    assertThat(web.privateKey()).isEqualTo(new CertificateConfig.KeySpec("ECDSA", 256, "Always"));
    assertThat(web.usages()).containsExactly("digital signature", "key encipherment");
    assertThat(web.secretKey()).isEqualTo("istio-system/web-credential");
  }

  @Test
  void readsAnAcmeIssuer() {
    CertManagerConfig c = translate(ACME);
    assertThat(errors(c)).isEmpty();
    IssuerConfig.Acme a = (IssuerConfig.Acme) c.issuers().get("ClusterIssuer/letsencrypt-staging");
    assertThat(a.server()).isEqualTo("https://acme-staging-v02.api.letsencrypt.org/directory");
    assertThat(a.accountKeySecret()).isEqualTo("istio-system/letsencrypt-staging");
    assertThat(a.profile()).isEqualTo("shortlived");
    assertThat(a.solvers()).containsExactly(new IssuerConfig.Solver(Optional.empty(), false, List.of(), List.of(), Map.of()));
  }

  @Test
  void badCertificatesNameTheFieldAndWhatWasExpected() {
    CertManagerConfig c = translate(ACME, """
        apiVersion: cert-manager.io/v1
        kind: Certificate
        metadata: {name: wild, namespace: istio-system}
        spec:
          secretName: wild
          dnsNames: ["*.example.test"]
          issuerRef: {name: letsencrypt-staging, kind: ClusterIssuer}
        ---
        apiVersion: cert-manager.io/v1
        kind: Certificate
        metadata: {name: broken, namespace: istio-system}
        spec:
          dnsNames: [ok.example.test, "bad name"]
          duration: 90 days
          renewBefore: 1m
          privateKey: {algorithm: DSA}
          usages: [teleport]
          issuerRef: {name: x, kind: Thing}
        """);
    assertThat(c.certificates()).isEmpty();
    assertThat(errors(c))
        .contains("Certificate istio-system/wild", "spec.dnsNames[0]: *.example.test: a wildcard name needs a DNS-01 "
            + "solver, and ClusterIssuer letsencrypt-staging has only HTTP-01")
        .contains("spec.secretName: missing")
        .contains("spec.dnsNames[1]: bad name (expected: a DNS name")
        .contains("spec.duration: 90 days (expected: a Go duration")
        .contains("spec.renewBefore: 0h1m0s (expected: at least 5m")
        .contains("spec.privateKey.algorithm: DSA (expected: ECDSA, RSA or Ed25519)")
        .contains("spec.usages[0]: teleport")
        .contains("spec.issuerRef.kind: Thing (expected: Issuer or ClusterIssuer)");
  }

  @Test
  void securedHostsGetACertificatePerCredentialWithoutASecret() {
    String gateway = """
        apiVersion: networking.istio.io/v1
        kind: Gateway
        metadata:
          name: web
          namespace: default
          annotations: {cert-manager.io/cluster-issuer: letsencrypt-staging}
        spec:
          servers:
          - port: {number: 443, name: https, protocol: HTTPS}
            tls: {mode: SIMPLE, credentialName: shop-credential}
            hosts: ["shop.example.test", "default/www.shop.example.test"]
          - port: {number: 8443, name: https-alt, protocol: HTTPS}
            tls: {mode: SIMPLE, credentialName: shop-credential}
            hosts: ["api.shop.example.test"]
          - port: {number: 443, name: https-own, protocol: HTTPS}
            tls: {mode: SIMPLE, credentialName: own-credential}
            hosts: ["own.example.test"]
          - port: {number: 443, name: https-wild, protocol: HTTPS}
            tls: {mode: SIMPLE, credentialName: wild-credential}
            hosts: ["*.wild.example.test"]
          - port: {number: 80, name: http, protocol: HTTP}
            hosts: ["*"]
        """;
    CertManagerConfig c = translate(ACME, gateway, """
        apiVersion: v1
        kind: Secret
        metadata: {name: own-credential, namespace: istio-system}
        stringData: {tls.crt: "", tls.key: ""}
        """);
    assertThat(c.certificates()).containsOnlyKeys("istio-system/shop-credential");
    CertificateConfig shop = c.certificates().get("istio-system/shop-credential");
    assertThat(shop.secretName()).isEqualTo("shop-credential");
    assertThat(shop.dnsNames()).containsExactly("shop.example.test", "www.shop.example.test",
        "api.shop.example.test");
    assertThat(shop.issuer()).isEqualTo(new IssuerConfig.IssuerRef("ClusterIssuer", "", "letsencrypt-staging"));
    assertThat(shop.origin()).contains("Gateway default/web");
    assertThat(errors(c)).contains("Gateway default/web", "spec.servers[3].hosts[0]: *.wild.example.test: a "
        + "wildcard name needs a DNS-01 solver");
  }

  @Test
  void aCertificateManifestForTheSecretWinsOverTheSecuredHost() {
    CertManagerConfig c = translate(BOOTSTRAP, """
        apiVersion: networking.istio.io/v1
        kind: Gateway
        metadata:
          name: web
          annotations: {cert-manager.io/cluster-issuer: ca}
        spec:
          servers:
          - port: {number: 443, name: https, protocol: HTTPS}
            tls: {mode: SIMPLE, credentialName: web-credential}
            hosts: ["other.example.test"]
        """);
    assertThat(errors(c)).isEmpty();
    assertThat(c.certificates()).containsOnlyKeys("istio-system/root-ca", "istio-system/web");
    assertThat(c.certificates().get("istio-system/web").dnsNames()).doesNotContain("other.example.test");
  }

  @Test
  void aWildcardSecuredHostIsFineWithACaIssuer() {
    CertManagerConfig c = translate(BOOTSTRAP, """
        apiVersion: networking.istio.io/v1
        kind: Gateway
        metadata:
          name: web
          annotations: {cert-manager.io/cluster-issuer: ca}
        spec:
          servers:
          - port: {number: 443, name: https, protocol: HTTPS}
            tls: {mode: SIMPLE, credentialName: wild}
            hosts: ["*.example.test", "*"]
        """);
    assertThat(c.certificates().get("istio-system/wild").dnsNames()).containsExactly("*.example.test");
    assertThat(errors(c)).contains("spec.servers[0].hosts[1]: *: no certificate can be issued for it");
  }

  @Test
  void solversAreChosenAsCertManagerChoosesThem() {
    IssuerConfig.Solver any = new IssuerConfig.Solver(Optional.empty(), false, List.of(), List.of(), Map.of());
    IssuerConfig.Solver zone = new IssuerConfig.Solver(Optional.empty(), true, List.of(), List.of("example.test"),
        Map.of());
    IssuerConfig.Solver subZone = new IssuerConfig.Solver(Optional.empty(), true, List.of(),
        List.of("shop.example.test"), Map.of());
    IssuerConfig.Solver name = new IssuerConfig.Solver(Optional.empty(), true,
        List.of("www.shop.example.test"), List.of(), Map.of());
    IssuerConfig.Acme acme = new IssuerConfig.Acme(new IssuerConfig.IssuerRef("ClusterIssuer", "", "a"), "https://x",
        "", "ns/k", false, new byte[0], Optional.empty(), "", List.of(any, zone, subZone, name));
    assertThat(acme.solverFor("www.shop.example.test", Map.of())).contains(name);
    assertThat(acme.solverFor("api.shop.example.test", Map.of())).contains(subZone);
    assertThat(acme.solverFor("shop.example.test", Map.of())).contains(subZone);
    assertThat(acme.solverFor("*.example.test", Map.of())).contains(zone);
    assertThat(acme.solverFor("other.test", Map.of())).contains(any);
    IssuerConfig.Acme zonesOnly = new IssuerConfig.Acme(acme.ref(), "https://x", "", "ns/k", false, new byte[0],
        Optional.empty(), "", List.of(zone));
    assertThat(zonesOnly.solverFor("other.test", Map.of())).isEmpty();

    CertManagerConfig c = translate("""
        apiVersion: cert-manager.io/v1
        kind: ClusterIssuer
        metadata: {name: zoned}
        spec:
          acme:
            server: https://acme.example.test/directory
            privateKeySecretRef: {name: zoned}
            solvers:
            - http01: {}
              selector: {dnsZones: [example.test]}
        ---
        apiVersion: cert-manager.io/v1
        kind: Certificate
        metadata: {name: c, namespace: istio-system}
        spec:
          secretName: c
          dnsNames: [a.example.test, b.other.test]
          issuerRef: {name: zoned, kind: ClusterIssuer}
        """);
    assertThat(errors(c)).contains("spec.dnsNames[1]: b.other.test: no solver of ClusterIssuer zoned selects it")
        .doesNotContain("spec.dnsNames[0]");
  }
}
