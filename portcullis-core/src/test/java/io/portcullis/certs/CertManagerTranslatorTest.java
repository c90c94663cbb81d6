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

  @Test
  void matchLabelsRefineTheChoiceAndMoreMatchingLabelsWin() {
    IssuerConfig.Solver any = new IssuerConfig.Solver(Optional.empty(), false, List.of(), List.of(), Map.of());
    IssuerConfig.Solver team = new IssuerConfig.Solver(Optional.empty(), true, List.of(), List.of(),
        Map.of("team", "a"));
    IssuerConfig.Solver teamProd = new IssuerConfig.Solver(Optional.empty(), true, List.of(), List.of(),
        Map.of("team", "a", "env", "prod"));
    IssuerConfig.Solver zone = new IssuerConfig.Solver(Optional.empty(), true, List.of(), List.of("example.test"),
        Map.of());
    IssuerConfig.Acme acme = new IssuerConfig.Acme(new IssuerConfig.IssuerRef("ClusterIssuer", "", "a"), "https://x",
        "", "ns/k", false, new byte[0], Optional.empty(), "", List.of(any, team, teamProd, zone));
    assertThat(acme.solverFor("x.other.test", Map.of())).contains(any);
    assertThat(acme.solverFor("x.other.test", Map.of("team", "a"))).contains(team);
    assertThat(acme.solverFor("x.other.test", Map.of("team", "a", "env", "prod"))).contains(teamProd);
    assertThat(acme.solverFor("x.other.test", Map.of("team", "b", "env", "prod"))).contains(any);
    // A dnsZones match outranks labels.
    assertThat(acme.solverFor("x.example.test", Map.of("team", "a", "env", "prod"))).contains(zone);
  }

  static final String DNS01_ISSUER = """
      apiVersion: cert-manager.io/v1
      kind: ClusterIssuer
      metadata: {name: dns}
      spec:
        acme:
          server: https://acme.example.test/directory
          privateKeySecretRef: {name: dns}
          solvers:
          - dns01:
              cnameStrategy: Follow
      %s
          - http01: {}
            selector: {dnsNames: [www.example.test]}
      ---
      apiVersion: cert-manager.io/v1
      kind: Certificate
      metadata: {name: c, namespace: istio-system, labels: {team: a}}
      spec:
        secretName: c
        dnsNames: [example.test, "*.example.test", www.example.test]
        issuerRef: {name: dns, kind: ClusterIssuer}
      """;

  /** {@link #DNS01_ISSUER} with {@code providers} (YAML lines) under its {@code dns01}. */
  static String dns01(String providers) {
    return DNS01_ISSUER.formatted(providers.strip().lines().map(l -> "        " + l.strip())
        .collect(java.util.stream.Collectors.joining("\n")));
  }

  @Test
  void dns01SolversAreReadForEveryProviderWithSecretsInTheClusterResourceNamespace() {
    String providers = """
              rfc2136: {nameserver: "192.0.2.53:5353", tsigKeyName: k, tsigAlgorithm: hmac-sha256,
                        tsigSecretSecretRef: {name: tsig, key: secret}}
        """;
    CertManagerConfig c = new CertManagerTranslator("istio-system", "cert-manager").translate(
        Manifests.snapshot(dns01(providers)), new ConfigTranslator("istio-system", 0).translate(
        Manifests.snapshot()));
    assertThat(errors(c)).isEmpty();
    IssuerConfig.Acme acme = (IssuerConfig.Acme) c.issuers().get("ClusterIssuer/dns");
    IssuerConfig.Dns01 d = acme.solverFor("*.example.test", Map.of()).orElseThrow().dns01().orElseThrow();
    assertThat(d.followCnames()).isTrue();
    assertThat(d.provider()).isEqualTo(new IssuerConfig.Rfc2136("192.0.2.53:5353", "k", "HMACSHA256",
        Optional.of(new IssuerConfig.SecretRef("cert-manager/tsig", "secret"))));
    assertThat(acme.solverFor("www.example.test", Map.of()).orElseThrow().http01()).isTrue();
    assertThat(c.certificates().get("istio-system/c").labels()).containsEntry("team", "a");

    for (String p : List.of(
        "cloudflare: {apiTokenSecretRef: {name: cf, key: token}}",
        "cloudflare: {email: a@example.test, apiKeySecretRef: {name: cf, key: key}}",
        "route53: {region: eu-west-1, hostedZoneID: Z1, accessKeyID: AKID, secretAccessKeySecretRef: {name: aws, "
            + "key: secret}}",
        "route53: {region: eu-west-1}",
        "cloudDNS: {project: p, serviceAccountSecretRef: {name: gcp, key: key.json}}",
        "acmeDNS: {host: https://auth.acme-dns.io, accountSecretRef: {name: acme-dns, key: acmedns.json}}",
        "powerdns: {apiUrl: 'http://127.0.0.1:8081/', apiKeySecretRef: {name: pdns, key: key}}")) {
      CertManagerConfig one = translate(dns01(p));
      assertThat(errors(one)).as(p).isEmpty();
      assertThat(one.certificates()).as(p).containsKey("istio-system/c");
    }
    CertManagerConfig pdns = translate(dns01("powerdns: {apiUrl: 'http://127.0.0.1:8081/', apiKeySecretRef: "
        + "{name: pdns, key: key}}"));
    assertThat(((IssuerConfig.Acme) pdns.issuers().get("ClusterIssuer/dns")).solvers().get(0).dns01().orElseThrow()
        .provider()).isEqualTo(new IssuerConfig.PowerDns("http://127.0.0.1:8081", "localhost",
        new IssuerConfig.SecretRef("istio-system/pdns", "key")));
  }

  @org.junit.jupiter.params.ParameterizedTest
  @org.junit.jupiter.params.provider.CsvSource(delimiter = '|', value = {
      "rfc2136: {tsigKeyName: k}                                        | dns01.rfc2136.nameserver: missing",
      "rfc2136: {nameserver: 'host:99999'}                              | dns01.rfc2136.nameserver: host:99999 "
          + "(expected: host, host:port",
      "rfc2136: {nameserver: ns, tsigAlgorithm: HMACSHA3}                | dns01.rfc2136.tsigAlgorithm: HMACSHA3",
      "rfc2136: {nameserver: ns, tsigKeyName: k}                        | dns01.rfc2136: tsigKeyName and "
          + "tsigSecretSecretRef go together",
      "cloudflare: {email: a@b.c}                                        | dns01.cloudflare: apiTokenSecretRef and "
          + "apiKeySecretRef (expected: exactly one",
      "cloudflare: {apiKeySecretRef: {name: cf, key: k}}                | dns01.cloudflare.email: missing",
      "route53: {accessKeyID: AKID}                                      | dns01.route53: an access key id needs "
          + "secretAccessKeySecretRef",
      "cloudDNS: {}                                                      | dns01.cloudDNS.project: missing",
      "acmeDNS: {host: auth.example}                                     | dns01.acmeDNS.host: auth.example "
          + "(expected: the acme-dns server URL",
      "acmeDNS: {host: 'https://a.example'}                             | dns01.acmeDNS.accountSecretRef: missing",
      "powerdns: {apiUrl: 'http://p', apiKeySecretRef: {name: p}}       | dns01.powerdns.apiKeySecretRef.key: missing",
      "azureDNS: {subscriptionID: s}                                     | dns01.azureDNS: not supported by Portcullis",
      "{}                                                                | dns01: no provider (expected: exactly one of",
      "rfc2136: {nameserver: ns}; powerdns: {apiUrl: http://p, apiKeySecretRef: {name: p, key: k}} | dns01: "
          + "more than one provider",
  })
  void aBadDns01SolverIsAnErrorNamingTheField(String provider, String expected) {
    String yaml = provider.startsWith("{") ? "" : provider.replace("; ", "\n"); // ';' separates two providers
    CertManagerConfig c = translate(dns01(yaml));
    assertThat(errors(c)).contains("spec.acme.solvers[0]." + expected);
  }
}
