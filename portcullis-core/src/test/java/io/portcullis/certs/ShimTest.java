package io.portcullis.certs;

import static org.assertj.core.api.Assertions.assertThat;

import io.portcullis.config.ConfigTranslator;
import io.portcullis.config.Manifests;
import io.portcullis.config.Problem;
import io.portcullis.config.Snapshot;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** cert-manager's ingress-shim and gateway-shim ({@link IngressShim}, {@link GatewayShim}, {@link ShimAnnotations}). */
class ShimTest {
  private static final String ISSUERS = """
      apiVersion: cert-manager.io/v1
      kind: ClusterIssuer
      metadata: {name: ca}
      spec: {ca: {secretName: root-ca}}
      ---
      apiVersion: cert-manager.io/v1
      kind: Issuer
      metadata: {name: team-ca, namespace: shop}
      spec: {ca: {secretName: team-root}}
      ---
      apiVersion: cert-manager.io/v1
      kind: ClusterIssuer
      metadata: {name: acme-http}
      spec:
        acme:
          server: https://acme.invalid/directory
          privateKeySecretRef: {name: acme-http}
          solvers: [{http01: {ingress: {}}}]
      """;
  private static final String GATEWAY_CLASS = """
      apiVersion: gateway.networking.k8s.io/v1
      kind: GatewayClass
      metadata: {name: portcullis}
      spec: {controllerName: portcullis.io/gateway-controller}
      ---
      apiVersion: gateway.networking.k8s.io/v1
      kind: GatewayClass
      metadata: {name: other}
      spec: {controllerName: example.com/other}
      """;

  private static CertManagerConfig translate(DefaultIssuer defaults, String... docs) {
    Snapshot s = Manifests.snapshot(docs);
    return new CertManagerTranslator("istio-system", "istio-system", defaults).translate(s,
        new ConfigTranslator("istio-system", 0).translate(s));
  }

  private static CertManagerConfig translate(String... docs) {
    return translate(DefaultIssuer.NONE, docs);
  }

  private static List<String> problems(CertManagerConfig c, Problem.Severity severity) {
    return c.problems().stream().filter(p -> p.severity() == severity).map(Problem::toString).toList();
  }

  private static String ingress(String namespace, String annotations, String tls) {
    return """
        apiVersion: networking.k8s.io/v1
        kind: Ingress
        metadata:
          name: web
          namespace: %s
          annotations:
            kubernetes.io/ingress.class: istio
        %s
        spec:
          tls:
        %s
          rules:
          - host: www.example.test
            http:
              paths:
              - path: /
                pathType: Prefix
                backend: {service: {name: web, port: {number: 80}}}
        """.formatted(namespace, annotations.indent(4).stripTrailing(), tls.indent(2).stripTrailing());
  }

  @Test
  void anAnnotatedIngressGetsACertificatePerTlsEntryInTheGatewayNamespace() {
    CertManagerConfig c = translate(ISSUERS, ingress("shop", "cert-manager.io/cluster-issuer: ca", """
        - hosts: [www.example.test, Shop.Example.Test]
          secretName: web-tls
        - hosts: [api.example.test]
          secretName: api-tls
        """));
    assertThat(problems(c, Problem.Severity.ERROR)).isEmpty();
    CertificateConfig web = c.certificates().get("istio-system/web-tls");
    assertThat(web).isNotNull();
    assertThat(web.secretName()).isEqualTo("web-tls");
    assertThat(web.dnsNames()).containsExactly("www.example.test", "shop.example.test");
    assertThat(web.issuer()).isEqualTo(new IssuerConfig.IssuerRef("ClusterIssuer", "", "ca"));
    assertThat(web.duration()).isEqualTo(Duration.ofDays(90));
    assertThat(web.origin()).isEqualTo("Ingress shop/web (cert-manager.io/cluster-issuer)");
    assertThat(c.certificates().get("istio-system/api-tls").dnsNames()).containsExactly("api.example.test");
  }

  @Test
  void theIngressAnnotationsSetTheCertificatesFieldsAndANamespacedIssuerIsTheIngresss() {
    CertManagerConfig c = translate(ISSUERS, ingress("shop", """
        cert-manager.io/issuer: team-ca
        cert-manager.io/common-name: www.example.test
        cert-manager.io/duration: 2160h
        cert-manager.io/renew-before: 360h
        cert-manager.io/private-key-algorithm: RSA
        cert-manager.io/private-key-size: "3072"
        cert-manager.io/private-key-rotation-policy: Never
        cert-manager.io/usages: server auth,Digital Signature
        """, "- {hosts: [www.example.test], secretName: web-tls}"));
    assertThat(problems(c, Problem.Severity.ERROR)).isEmpty();
    CertificateConfig web = c.certificates().get("istio-system/web-tls");
    assertThat(web.issuer()).isEqualTo(new IssuerConfig.IssuerRef("Issuer", "shop", "team-ca"));
    assertThat(web.commonName()).contains("www.example.test");
    assertThat(web.duration()).isEqualTo(Duration.ofHours(2160));
    assertThat(web.renewBefore()).contains(Duration.ofHours(360));
    assertThat(web.privateKey()).isEqualTo(new CertificateConfig.KeySpec("RSA", 3072, "Never"));
    assertThat(web.usages()).containsExactly("server auth", "digital signature");
  }

  @Test
  void issuerKindTurnsTheIssuerAnnotationIntoAClusterIssuer() {
    CertManagerConfig c = translate(ISSUERS, ingress("shop", """
        cert-manager.io/issuer: ca
        cert-manager.io/issuer-kind: ClusterIssuer
        cert-manager.io/issuer-group: cert-manager.io
        """, "- {hosts: [www.example.test], secretName: web-tls}"));
    assertThat(problems(c, Problem.Severity.ERROR)).isEmpty();
    assertThat(c.certificates().get("istio-system/web-tls").issuer())
        .isEqualTo(new IssuerConfig.IssuerRef("ClusterIssuer", "", "ca"));
  }

  @Test
  void tlsAcmeUsesTheDefaultIssuerAndWithoutOneSaysWhichFlagIsMissing() {
    String ing = ingress("shop", "kubernetes.io/tls-acme: \"true\"", "- {hosts: [www.example.test], secretName: "
        + "web-tls}");
    CertManagerConfig withDefault = translate(new DefaultIssuer("ca", "ClusterIssuer", "cert-manager.io"), ISSUERS,
        ing);
    assertThat(problems(withDefault, Problem.Severity.ERROR)).isEmpty();
    assertThat(withDefault.certificates().get("istio-system/web-tls").issuer())
        .isEqualTo(new IssuerConfig.IssuerRef("ClusterIssuer", "", "ca"));
    assertThat(withDefault.certificates().get("istio-system/web-tls").origin())
        .isEqualTo("Ingress shop/web (kubernetes.io/tls-acme)");

    CertManagerConfig without = translate(ISSUERS, ing);
    assertThat(without.certificates()).doesNotContainKey("istio-system/web-tls");
    assertThat(problems(without, Problem.Severity.ERROR)).singleElement().asString()
        .contains("Ingress shop/web", "metadata.annotations.kubernetes.io/tls-acme", "--default-issuer-name");

    CertManagerConfig falseValue = translate(new DefaultIssuer("ca", "ClusterIssuer", "cert-manager.io"), ISSUERS,
        ing.replace("\"true\"", "\"false\""));
    assertThat(falseValue.certificates()).doesNotContainKey("istio-system/web-tls");
  }

  @Test
  void badAnnotationsAreErrorsNamingTheAnnotationAndMakeNoCertificate() {
    String tls = "- {hosts: [www.example.test], secretName: web-tls}";
    assertThat(problems(translate(ISSUERS, ingress("shop", """
        cert-manager.io/issuer: team-ca
        cert-manager.io/cluster-issuer: ca
        """, tls)), Problem.Severity.ERROR)).singleElement().asString()
        .contains("metadata.annotations.cert-manager.io/cluster-issuer", "set together with cert-manager.io/issuer");
    CertManagerConfig duration = translate(ISSUERS, ingress("shop", """
        cert-manager.io/cluster-issuer: ca
        cert-manager.io/duration: 90d
        """, tls));
    assertThat(duration.certificates()).isEmpty();
    assertThat(problems(duration, Problem.Severity.ERROR)).singleElement().asString()
        .contains("Ingress shop/web", "metadata.annotations.cert-manager.io/duration", "90d", "Go duration");
    assertThat(problems(translate(ISSUERS, ingress("shop", """
        cert-manager.io/cluster-issuer: ca
        cert-manager.io/renew-before: 2200h
        """, tls)), Problem.Severity.ERROR)).singleElement().asString()
        .contains("metadata.annotations.cert-manager.io/renew-before", "less than the duration");
    assertThat(problems(translate(ISSUERS, ingress("shop", """
        cert-manager.io/issuer: vault
        cert-manager.io/issuer-group: cert-manager.k8s.cloudflare.com
        """, tls)), Problem.Severity.ERROR)).singleElement().asString()
        .contains("metadata.annotations.cert-manager.io/issuer-group", "external issuers");
    assertThat(problems(translate(ISSUERS, ingress("shop", """
        cert-manager.io/cluster-issuer: ca
        cert-manager.io/private-key-size: big
        """, tls)), Problem.Severity.ERROR)).singleElement().asString()
        .contains("metadata.annotations.cert-manager.io/private-key-size", "big");
    assertThat(problems(translate(ISSUERS, ingress("shop", """
        cert-manager.io/cluster-issuer: ca
        cert-manager.io/revision-history-limit: "2"
        """, tls)), Problem.Severity.WARNING)).anySatisfy(p -> assertThat(p)
        .contains("metadata.annotations.cert-manager.io/revision-history-limit", "not supported"));
  }

  @Test
  void aSecretNameInTwoTlsEntriesMakesNoCertificateForThatIngressAsCertManager() {
    CertManagerConfig c = translate(ISSUERS, ingress("shop", "cert-manager.io/cluster-issuer: ca", """
        - {hosts: [www.example.test], secretName: web-tls}
        - {hosts: [api.example.test], secretName: web-tls}
        """));
    assertThat(c.certificates()).isEmpty();
    assertThat(problems(c, Problem.Severity.ERROR)).singleElement().asString()
        .contains("Ingress shop/web", "spec.tls[1].secretName", "spec.tls[0].secretName");
  }

  @Test
  void anEntryWithoutHostsIsSkippedAndAManifestSecretOrCertificateIsLeftAlone() {
    CertManagerConfig c = translate(ISSUERS, """
        apiVersion: v1
        kind: Secret
        metadata: {name: mine, namespace: istio-system}
        type: kubernetes.io/tls
        data: {tls.crt: "", tls.key: ""}
        ---
        apiVersion: cert-manager.io/v1
        kind: Certificate
        metadata: {name: explicit, namespace: istio-system}
        spec:
          secretName: api-tls
          dnsNames: [api.example.test]
          issuerRef: {name: ca, kind: ClusterIssuer}
        """, ingress("shop", "cert-manager.io/cluster-issuer: ca", """
        - {secretName: nohosts}
        - {hosts: [www.example.test], secretName: mine}
        - {hosts: [api.example.test], secretName: api-tls}
        """));
    assertThat(c.certificates()).containsOnlyKeys("istio-system/explicit");
    List<String> warnings = problems(c, Problem.Severity.WARNING);
    assertThat(warnings).anySatisfy(w -> assertThat(w).contains("spec.tls[0].hosts", "missing"));
    assertThat(warnings).anySatisfy(w -> assertThat(w).contains("spec.tls[1].secretName",
        "Secret istio-system/mine is among the manifests"));
    assertThat(warnings).anySatisfy(w -> assertThat(w).contains("spec.tls[2].secretName",
        "issued by Certificate istio-system/explicit"));
  }

  @Test
  void anIngressOfAnotherClassGetsNoCertificate() {
    CertManagerConfig c = translate(ISSUERS, ingress("shop", "cert-manager.io/cluster-issuer: ca", "- {hosts: "
        + "[www.example.test], secretName: web-tls}").replace("kubernetes.io/ingress.class: istio",
        "kubernetes.io/ingress.class: nginx"));
    assertThat(c.certificates()).isEmpty();
  }

  @Test
  void aWildcardIngressHostOverHttp01IsAnErrorNamingTheHost() {
    CertManagerConfig c = translate(ISSUERS, ingress("shop", "cert-manager.io/cluster-issuer: acme-http", """
        - {hosts: [www.example.test, "*.example.test"], secretName: web-tls}
        """));
    assertThat(c.certificates()).isEmpty();
    assertThat(problems(c, Problem.Severity.ERROR)).singleElement().asString()
        .contains("spec.tls[0].hosts[1]", "*.example.test", "DNS-01");
  }

  private static String apiGateway(String className, String annotations, String listeners) {
    return """
        apiVersion: gateway.networking.k8s.io/v1
        kind: Gateway
        metadata:
          name: edge
          namespace: shop
          annotations:
        %s
        spec:
          gatewayClassName: %s
          listeners:
        %s
        """.formatted(annotations.indent(4).stripTrailing(), className, listeners.indent(2).stripTrailing());
  }

  @Test
  void aGatewayApiGatewayGetsACertificatePerSecretWithItsListenersHostnames() {
    CertManagerConfig c = translate(ISSUERS, GATEWAY_CLASS, apiGateway("portcullis", """
        cert-manager.io/cluster-issuer: ca
        cert-manager.io/duration: 720h
        """, """
        - {name: http, port: 80, protocol: HTTP}
        - name: www
          port: 443
          protocol: HTTPS
          hostname: www.example.test
          tls: {mode: Terminate, certificateRefs: [{name: shop-tls}]}
        - name: shop
          port: 443
          protocol: HTTPS
          hostname: Shop.Example.Test
          tls: {certificateRefs: [{kind: Secret, group: "", name: shop-tls}]}
        - name: api
          port: 443
          protocol: HTTPS
          hostname: "*.api.example.test"
          tls: {certificateRefs: [{name: api-tls}]}
        - name: passthrough
          port: 8443
          protocol: TLS
          hostname: db.example.test
          tls: {mode: Passthrough}
        """));
    assertThat(problems(c, Problem.Severity.ERROR)).isEmpty();
    assertThat(c.certificates()).containsOnlyKeys("shop/shop-tls", "shop/api-tls");
    CertificateConfig shop = c.certificates().get("shop/shop-tls");
    assertThat(shop.dnsNames()).containsExactly("www.example.test", "shop.example.test");
    assertThat(shop.secretName()).isEqualTo("shop-tls");
    assertThat(shop.duration()).isEqualTo(Duration.ofHours(720));
    assertThat(shop.issuer()).isEqualTo(new IssuerConfig.IssuerRef("ClusterIssuer", "", "ca"));
    assertThat(shop.origin()).isEqualTo("Gateway gateway.networking.k8s.io shop/edge (cert-manager.io/cluster-issuer)");
    assertThat(c.certificates().get("shop/api-tls").dnsNames()).containsExactly("*.api.example.test");
  }

  @Test
  void gatewayListenersCertManagerSkipsAreWarningsNamingTheField() {
    CertManagerConfig c = translate(ISSUERS, GATEWAY_CLASS, apiGateway("portcullis", """
        cert-manager.io/issuer: team-ca
        """, """
        - name: nohost
          port: 443
          protocol: HTTPS
          tls: {certificateRefs: [{name: a}]}
        - name: elsewhere
          port: 443
          protocol: HTTPS
          hostname: b.example.test
          tls: {certificateRefs: [{name: b, namespace: other}]}
        - name: good
          port: 443
          protocol: HTTPS
          hostname: c.example.test
          tls: {certificateRefs: [{name: c}]}
        """));
    assertThat(c.certificates()).containsOnlyKeys("shop/c");
    assertThat(c.certificates().get("shop/c").issuer()).isEqualTo(new IssuerConfig.IssuerRef("Issuer", "shop",
        "team-ca"));
    List<String> warnings = problems(c, Problem.Severity.WARNING);
    assertThat(warnings).anySatisfy(w -> assertThat(w).contains("spec.listeners[0].hostname", "missing"));
    assertThat(warnings).anySatisfy(w -> assertThat(w).contains("spec.listeners[1].tls.certificateRefs[0].namespace",
        "other"));
  }

  @Test
  void aGatewayOfAnotherClassOrWithoutAnnotationsGetsNoCertificate() {
    String listener = """
        - name: www
          port: 443
          protocol: HTTPS
          hostname: www.example.test
          tls: {certificateRefs: [{name: www-tls}]}
        """;
    assertThat(translate(ISSUERS, GATEWAY_CLASS, apiGateway("other", "cert-manager.io/cluster-issuer: ca",
        listener)).certificates()).isEmpty();
    assertThat(translate(ISSUERS, GATEWAY_CLASS, apiGateway("portcullis", "example.com/other: x", listener))
        .certificates()).isEmpty();
    // kubernetes.io/tls-acme is an Ingress annotation only, as in cert-manager
    assertThat(translate(new DefaultIssuer("ca", "ClusterIssuer", ""), ISSUERS, GATEWAY_CLASS,
        apiGateway("portcullis", "kubernetes.io/tls-acme: \"true\"", listener)).certificates()).isEmpty();
  }

  @Test
  void istioSecuredHostsReadTheSameAnnotations() {
    CertManagerConfig c = translate(ISSUERS, """
        apiVersion: networking.istio.io/v1
        kind: Gateway
        metadata:
          name: gw
          namespace: istio-system
          annotations:
            cert-manager.io/cluster-issuer: ca
            cert-manager.io/renew-before: 100h
            cert-manager.io/common-name: www.example.test
        spec:
          selector: {istio: ingressgateway}
          servers:
          - port: {number: 443, name: https, protocol: HTTPS}
            hosts: [www.example.test]
            tls: {mode: SIMPLE, credentialName: www-credential}
        """);
    assertThat(problems(c, Problem.Severity.ERROR)).isEmpty();
    CertificateConfig www = c.certificates().get("istio-system/www-credential");
    assertThat(www.renewBefore()).isEqualTo(Optional.of(Duration.ofHours(100)));
    assertThat(www.commonName()).contains("www.example.test");
  }
}
