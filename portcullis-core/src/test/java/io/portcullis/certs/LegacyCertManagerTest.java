package io.portcullis.certs;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.portcullis.config.ConfigTranslator;
import io.portcullis.config.FieldCheck;
import io.portcullis.config.ManifestException;
import io.portcullis.config.ManifestReader;
import io.portcullis.config.Manifests;
import io.portcullis.config.Problem;
import io.portcullis.config.Problem.Severity;
import io.portcullis.config.Resource;
import io.portcullis.config.Snapshot;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** Seed 004's legacy cert-manager objects as pasted, with their typos, and fixed; and the conversion's other rules. */
class LegacyCertManagerTest {
  static final Path SEED = Path.of("src/test/resources/seed004");

  static Snapshot read(String dir) throws Exception {
    List<Resource> out = new ArrayList<>();
    for (String f : List.of("certificate-issuer", "certificate-istio")) {
      Path yml = SEED.resolve(dir).resolve(f + ".yml");
      out.addAll(new ManifestReader().read(yml.toFile().exists() ? yml : SEED.resolve(dir).resolve(f + ".yaml")));
    }
    return new Snapshot(out, List.of(), 1);
  }

  static CertManagerConfig translate(Snapshot s) {
    return new CertManagerTranslator("istio-system", "istio-system").translate(s,
        new ConfigTranslator("istio-system", 0).translate(s));
  }

  static List<String> problems(CertManagerConfig c, Severity severity) {
    return c.problems().stream().filter(p -> p.severity() == severity).map(Problem::toString).toList();
  }

  @ParameterizedTest
  @CsvSource(delimiter = '|', value = {
      // what the user pasted does not parse: the file is named with the document, line and column
      "certificate-issuer.yml|document 2: line 31, column 5: expected <block end>",
      "certificate-istio.yml|document 1: line 9, column 2: found character '\\t(TAB)'"})
  void theRawSeedFilesAreRefusedWithTheirLineAndColumn(String file, String message) {
    Path f = SEED.resolve("raw").resolve(file);
    assertThatThrownBy(() -> new ManifestReader().read(f)).isInstanceOf(ManifestException.class)
        .hasMessageContaining(f.toString()).hasMessageContaining(message)
        .hasMessageContaining("(expected: a YAML or JSON Kubernetes object)");
  }

  @Test
  void theMisspeltMetadataOfTheSeedCertificateIsNamedAndTheObjectHasNoName() {
    Path f = SEED.resolve("typos/certificate-istio.yml");
    assertThatThrownBy(() -> new ManifestReader().read(f)).isInstanceOf(ManifestException.class)
        .hasMessageContaining("document 1: Certificate: metadata: missing, so the object has no name (expected: "
            + "metadata.name, a DNS-1123 name; meteadata is not a field of a Kubernetes object: did you mean "
            + "metadata?)");
  }

  @ParameterizedTest
  @CsvSource(delimiter = '|', value = {
      "ERROR|ClusterIssuer kube-system/letsencrypt-prod|spec.acme.srver|unknown field of certmanager.k8s.io/v1alpha1 "
          + "ClusterIssuer, left out (expected one of: server, email, skipTLSVerify, privateKeySecretRef, http01, "
          + "dns01, solvers; did you mean server?)",
      "ERROR|ClusterIssuer kube-system/letsencrypt-prod|spec.acme.server|missing (expected: the ACME directory URL",
      "ERROR|ClusterIssuer kube-system/letsencrypt -staging|metadata.name|\"letsencrypt -staging\" (expected: a "
          + "DNS-1123 subdomain",
      "WARNING|ClusterIssuer kube-system/letsencrypt-prod|apiVersion|certmanager.k8s.io/v1alpha1 is cert-manager "
          + "0.10's API, removed in 0.11: read as cert-manager.io/v1 ClusterIssuer with spec.acme.solvers: "
          + "[{http01: {ingress: {}}}] in place of spec.acme.http01 (expected: cert-manager.io/v1)"})
  void eachTypoOfTheSeedIssuersIsReportedWithItsPath(Severity severity, String subject, String field,
      String message) throws Exception {
    Snapshot s = new Snapshot(new ManifestReader().read(SEED.resolve("typos/certificate-issuer.yml")), List.of(), 1);
    CertManagerConfig c = translate(s);
    assertThat(c.problems()).anySatisfy(p -> {
      assertThat(p.severity()).isEqualTo(severity);
      assertThat(p.subject()).isEqualTo(subject);
      assertThat(p.field()).isEqualTo(field);
      assertThat(p.message()).startsWith(message);
    });
    assertThat(c.issuers()).isEmpty();
    assertThat(new ConfigTranslator("istio-system", 0).translate(s).problems()).isEmpty();
  }

  @Test
  void theFixedSeedConvertsToTheHandWrittenV1FormsWithOneWarningEach() throws Exception {
    List<Problem> problems = new ArrayList<>();
    LegacyCertManager.Conversion c = LegacyCertManager.convert(read("fixed").resources(), problems);
    List<Resource> v1 = read("v1").resources();
    assertThat(c.resources()).hasSize(3);
    for (Resource want : v1) {
      Resource got = c.resources().stream()
          .filter(r -> r.kind().equals(want.kind()) && r.name().equals(want.name())).findFirst().orElseThrow();
      assertThat(got.apiVersion()).isEqualTo("cert-manager.io/v1");
      assertThat(got.body()).as(want.id()).isEqualTo(want.body());
      assertThat(got.source().toString()).contains("fixed"); // problems name the user's file
    }
    assertThat(problems).hasSize(3).allSatisfy(p -> {
      assertThat(p.severity()).isEqualTo(Severity.WARNING);
      assertThat(p.field()).isEqualTo("apiVersion");
    });
    assertThat(problems.stream().map(Problem::toString)).anySatisfy(p -> assertThat(p).contains(
        "Certificate istio-system/istio-ingress-certs", "read as cert-manager.io/v1 Certificate without spec.acme, "
        + "whose config[0] is now ClusterIssuer letsencrypt-staging's spec.acme.solvers[0]")).anySatisfy(p ->
        assertThat(p).contains("ClusterIssuer kube-system/letsencrypt-staging", "with spec.acme.solvers: "
        + "[{selector: {dnsNames: [www.mydomain.com, mobile.mydomain.com]}, http01: {ingress: {class: none}}}] in "
        + "place of spec.acme.http01 and Certificate istio-system/istio-ingress-certs's spec.acme.config[0]"));

    CertManagerConfig legacy = translate(read("fixed"));
    assertThat(problems(legacy, Severity.ERROR)).isEmpty();
    assertThat(problems(legacy, Severity.WARNING)).hasSize(3);
    CertManagerConfig handWritten = translate(read("v1"));
    assertThat(problems(handWritten, Severity.WARNING)).isEmpty();
    assertThat(legacy.issuers().keySet()).containsExactlyElementsOf(handWritten.issuers().keySet());
    IssuerConfig.Acme staging = (IssuerConfig.Acme) legacy.issuers().get("ClusterIssuer/letsencrypt-staging");
    assertThat(staging.solvers()).isEqualTo(((IssuerConfig.Acme) handWritten.issuers()
        .get("ClusterIssuer/letsencrypt-staging")).solvers());
    assertThat(staging.solverFor("www.mydomain.com", java.util.Map.of())).isPresent();
    assertThat(staging.solverFor("other.mydomain.com", java.util.Map.of())).isEmpty();
    CertificateConfig cert = legacy.certificates().get("istio-system/istio-ingress-certs");
    assertThat(cert.dnsNames()).containsExactly("www.mydomain.com", "mobile.mydomain.com");
    assertThat(cert.issuer().key()).isEqualTo("ClusterIssuer/letsencrypt-staging");
    assertThat(cert.secretName()).isEqualTo("istio-ingress-certs");
    // the gateway leaves the group to the certificate manager: no "not used by the gateway"
    assertThat(new ConfigTranslator("istio-system", 0).translate(read("fixed")).problems()).isEmpty();
  }

  @Test
  void dns01ProvidersByNameBecomeSelectedSolversAndTheirProblemsNameTheUsersFields() {
    CertManagerConfig c = CertManagerTranslatorTest.translate("""
        apiVersion: certmanager.k8s.io/v1alpha1
        kind: Issuer
        metadata: {name: le, namespace: shop}
        spec:
          acme:
            server: https://acme.example.test/dir
            email: ops@example.test
            privateKeySecretRef: {name: le-account}
            http01: {serviceType: NodePort}
            solvers: [{selector: {dnsNames: [own.example.test]}, http01: {ingress: {class: istio}}}]
            dns01:
              providers:
              - name: cf
                cloudflare: {email: ops@example.test, apiKeySecretRef: {name: cf, key: api-key}}
              - name: gdns
                clouddns: {serviceAccountSecretRef: {name: gdns, key: sa.json}}
        ---
        apiVersion: certmanager.k8s.io/v1alpha1
        kind: Certificate
        metadata: {name: shop, namespace: shop}
        spec:
          secretName: shop-tls
          dnsNames: [shop.example.test, "*.shop.example.test", api.example.test, legacy.example.test, own.example.test]
          issuerRef: {name: le}
          keyAlgorithm: dsa
          keySize: 4096
          organization: [Example]
          acme:
            config:
            - dns01: {provider: cf}
              domains: ["*.shop.example.test"]
            - dns01: {provider: gdns}
              domains: [api.example.test]
            - http01: {ingress: shop-ingress}
              domains: [shop.example.test]
            - dns01: {provider: route53}
              domains: [legacy.example.test]
        """);
    List<String> errors = problems(c, Severity.ERROR);
    assertThat(errors).contains(
        // the v1 translators' findings, named by the user's fields (v1's spec.acme.solvers[2].dns01.cloudDNS.project)
        "Issuer shop/le (" + source(c) + "): spec.acme.dns01.providers[1].clouddns.project: missing (expected: the "
            + "Google Cloud project id)",
        "Certificate shop/shop (" + source(c) + "): spec.keyAlgorithm: dsa (expected: ECDSA, RSA or Ed25519)",
        // the conversion's own
        "Certificate shop/shop (" + source(c) + "): spec.acme.config[3].dns01.provider: route53 (expected: the "
            + "name of one of Issuer le's spec.acme.dns01.providers: cf, gdns); the entry is left out");
    assertThat(problems(c, Severity.WARNING)).anySatisfy(w -> assertThat(w).contains("Issuer shop/le",
        "with spec.acme.solvers: [{selector: {dnsNames: [own.example.test]}, http01: {ingress: {class: istio}}}, "
        + "{selector: {dnsNames: ['*.shop.example.test']}, dns01: {cloudflare: {email: "
        + "ops@example.test, apiKeySecretRef: {name: cf, key: api-key}}}}, {selector: {dnsNames: "
        + "[api.example.test]}, dns01: {cloudDNS: {serviceAccountSecretRef: {name: gdns, key: sa.json}}}}, "
        + "{selector: {dnsNames: [shop.example.test]}, http01: {ingress: {name: shop-ingress, serviceType: "
        + "NodePort}}}]")).anySatisfy(w -> assertThat(w).contains("Certificate shop/shop",
        "spec.privateKey: {algorithm: dsa, size: 4096} in place of spec.keyAlgorithm and spec.keySize",
        // the issuer's own solver comes first: config[0] is its second
        "config[0] is now Issuer le's spec.acme.solvers[1], config[1] is now Issuer le's spec.acme.solvers[2], "
        + "config[2] is now Issuer le's spec.acme.solvers[3]",
        "with spec.subject.organizations in place of spec.organization"))
        // v1's warning about the converted field names the user's field
        .anySatisfy(w -> assertThat(w).contains("Certificate shop/shop", "spec.organization: not supported by "
        + "Portcullis; ignored"));
  }

  static String source(CertManagerConfig c) {
    return c.problems().stream().filter(p -> !p.source().isEmpty()).findFirst().orElseThrow().source();
  }

  @Test
  void anOldStyleSolverTheIssuerLacksAndOtherApiVersionsAreErrors() {
    CertManagerConfig c = CertManagerTranslatorTest.translate("""
        apiVersion: certmanager.k8s.io/v1alpha1
        kind: ClusterIssuer
        metadata: {name: dns-only}
        spec:
          acme:
            server: https://acme.example.test/dir
            privateKeySecretRef: {name: acct}
            dns01: {providers: [{name: cf, cloudflare: {email: a@example.test, apiKeySecretRef: {name: cf, key: k}}}]}
        ---
        apiVersion: certmanager.k8s.io/v1alpha1
        kind: Certificate
        metadata: {name: web, namespace: istio-system}
        spec:
          secretName: web
          dnsNames: [www.example.test]
          issuerRef: {name: dns-only, kind: ClusterIssuer, group: certmanager.k8s.io}
          acme: {config: [{http01: {ingressClass: istio}, domains: [www.example.test]}]}
        ---
        apiVersion: certmanager.k8s.io/v1beta1
        kind: Certificate
        metadata: {name: future, namespace: istio-system}
        spec: {secretName: future}
        ---
        apiVersion: certmanager.k8s.io/v1alpha1
        kind: Order
        metadata: {name: o, namespace: istio-system}
        """);
    assertThat(problems(c, Severity.ERROR)).anySatisfy(e -> assertThat(e).contains("Certificate istio-system/web",
        "spec.acme.config[0].http01: ClusterIssuer dns-only has no spec.acme.http01 (expected: http01: {} on the "
        + "issuer")).anySatisfy(e -> assertThat(e).contains("Certificate istio-system/future", "apiVersion: "
        + "certmanager.k8s.io/v1beta1 (expected: certmanager.k8s.io/v1alpha1, or cert-manager.io/v1)"))
        // with its only entry left out, the issuer has no solver: v1's own check says so
        .anySatisfy(e -> assertThat(e).contains("ClusterIssuer default/dns-only", "spec.acme.solvers: missing"));
    assertThat(problems(c, Severity.WARNING)).anySatisfy(w -> assertThat(w).contains("with spec.issuerRef.group: "
        + "cert-manager.io in place of certmanager.k8s.io")).anySatisfy(w -> assertThat(w).contains(
        "ClusterIssuer default/dns-only", "spec.acme.dns01.providers: no Certificate's spec.acme.config names them"));
    assertThat(CertManagerTranslatorTest.translate(CertManagerTranslatorTest.ACME.replace("cert-manager.io/v1",
        "certmanager.k8s.io/v1alpha1").replace("          profile: shortlived\n", ""), """
        apiVersion: certmanager.k8s.io/v1alpha1
        kind: ClusterIssuer
        metadata: {name: letsencrypt-staging}
        spec: {selfSigned: {}}
        """).problems()).anySatisfy(p -> assertThat(p.toString()).contains("ClusterIssuer default/letsencrypt-staging",
        "metadata.name: a second ", "(expected: one per name); this one is ignored"));
    // kinds the certificate manager does not read stay the gateway's INFO
    assertThat(Manifests.translate("""
        apiVersion: certmanager.k8s.io/v1alpha1
        kind: Order
        metadata: {name: o, namespace: istio-system}
        """).problems()).singleElement().satisfies(p -> assertThat(p.message()).contains("not used by the "
        + "gateway"));
  }

  @Test
  void solversOfCertManager08AreKeptWithV1ProviderKeysAndACertificateOfAV1IssuerIgnoresItsAcme() {
    CertManagerConfig c = CertManagerTranslatorTest.translate(CertManagerTranslatorTest.ACME, """
        apiVersion: certmanager.k8s.io/v1alpha1
        kind: ClusterIssuer
        metadata: {name: new-format}
        spec:
          acme:
            server: https://acme.example.test/dir
            privateKeySecretRef: {name: acct}
            solvers:
            - selector: {dnsZones: [example.test]}
              dns01: {acmedns: {host: https://auth.example.test, accountSecretRef: {name: acmedns, key: a.json}}}
        ---
        apiVersion: certmanager.k8s.io/v1alpha1
        kind: Certificate
        metadata: {name: web, namespace: istio-system}
        spec:
          secretName: web
          dnsNames: [www.example.test]
          issuerRef: {name: letsencrypt-staging, kind: ClusterIssuer}
          acme: {config: [{http01: {ingressClass: istio}, domains: [www.example.test]}]}
        """);
    assertThat(problems(c, Severity.ERROR)).isEmpty();
    IssuerConfig.Acme a = (IssuerConfig.Acme) c.issuers().get("ClusterIssuer/new-format");
    assertThat(a.solvers()).singleElement().satisfies(s -> {
      assertThat(s.dnsZones()).containsExactly("example.test");
      assertThat(s.dns01().orElseThrow().provider()).isInstanceOf(IssuerConfig.AcmeDns.class);
    });
    assertThat(problems(c, Severity.WARNING)).anySatisfy(w -> assertThat(w).contains("Certificate istio-system/web",
        "spec.acme: ClusterIssuer letsencrypt-staging is not a certmanager.k8s.io/v1alpha1 object of these "
        + "manifests"));
    assertThat(c.certificates()).containsKey("istio-system/web");
  }

  @ParameterizedTest
  @CsvSource(delimiter = '|', value = {
      // cert-manager's conversion maps v1alpha1's enums; a keySize alone is for v1alpha1's default algorithm, RSA
      "keyAlgorithm: rsa|{algorithm: RSA}|RSA|2048",
      "'keyAlgorithm: ecdsa, keySize: 384'|{algorithm: ECDSA, size: 384}|ECDSA|384",
      "'keySize: 4096, keyEncoding: pkcs8'|{algorithm: RSA, size: 4096, encoding: PKCS8}|RSA|4096",
      "keyEncoding: pkcs1|{encoding: PKCS1}|ECDSA|256"})
  void keyFieldsBecomePrivateKeyWithTheirMeaningKept(String fields, String privateKey, String algorithm, int size) {
    CertManagerConfig c = CertManagerTranslatorTest.translate(CertManagerTranslatorTest.ACME, """
        apiVersion: certmanager.k8s.io/v1alpha1
        kind: Certificate
        metadata: {name: web, namespace: istio-system}
        spec: {secretName: web, dnsNames: [www.example.test], issuerRef: {name: letsencrypt-staging, kind:         ClusterIssuer}, %s}
        """.formatted(fields));
    assertThat(problems(c, Severity.ERROR)).isEmpty();
    assertThat(problems(c, Severity.WARNING)).singleElement().satisfies(w -> assertThat(w).contains(
        "with spec.privateKey: " + privateKey + " in place of"));
    CertificateConfig.KeySpec key = c.certificates().get("istio-system/web").privateKey();
    assertThat(key.algorithm()).isEqualTo(algorithm);
    assertThat(key.size()).isEqualTo(size);
  }

  @Test
  void unknownFieldsInsideCopiedObjectsAreReportedOnceAndLeftOut() {
    CertManagerConfig c = CertManagerTranslatorTest.translate("""
        apiVersion: certmanager.k8s.io/v1alpha1
        kind: ClusterIssuer
        metadata: {name: le, lables: {a: b}}
        spec:
          acme:
            server: https://acme.example.test/dir
            privateKeySecretRef: {name: acct, kye: tls.key}
            solvers:
            - dns01: {name: cf, cloudflare: {email: a@example.test, apiKeySecretRef: {name: cf, key: k}}}
            - http01: {ingress: {clas: istio}}
        """);
    assertThat(c.problems()).filteredOn(p -> p.severity() != Severity.WARNING || !p.field().equals("apiVersion"))
        .extracting(p -> p.severity() + " " + p.field() + ": " + p.message().replaceAll(" \\(expected.*", ""))
        .containsExactlyInAnyOrder(
            "ERROR metadata.lables: unknown field of certmanager.k8s.io/v1alpha1 ClusterIssuer, left out",
            "ERROR spec.acme.privateKeySecretRef.kye: unknown field of certmanager.k8s.io/v1alpha1 ClusterIssuer, "
                + "left out",
            "ERROR spec.acme.solvers[0].dns01.name: unknown field of certmanager.k8s.io/v1alpha1 ClusterIssuer, "
                + "left out",
            "ERROR spec.acme.solvers[1].http01.ingress.clas: unknown field of certmanager.k8s.io/v1alpha1 "
                + "ClusterIssuer, left out");
    assertThat(c.problems()).anySatisfy(p -> assertThat(p.message()).contains("(expected one of: cnameStrategy, "
        + "akamai, clouddns, cloudflare, route53, azuredns, digitalocean, acmedns, rfc2136, webhook)"))
        .anySatisfy(p -> assertThat(p.message()).contains("did you mean class?"));
    assertThat(c.issuers()).containsKey("ClusterIssuer/le");
  }

  @ParameterizedTest
  @CsvSource({"srver,server", "Email,email", "privateKeySecretREF,privateKeySecretRef", "solver,solvers",
      "serverURL,"})
  void theClosestFieldIsSuggested(String typo, String suggestion) {
    assertThat(FieldCheck.closest(typo, LegacyCertManagerSchema.siblings(LegacyCertManagerSchema.ISSUER,
        "spec.acme." + typo))).isEqualTo(java.util.Optional.ofNullable(suggestion));
  }
}
