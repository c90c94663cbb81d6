package io.portcullis.tls;

import static org.assertj.core.api.Assertions.assertThat;

import io.portcullis.testing.DevCertificates;
import io.portcullis.config.GatewayConfig;
import io.portcullis.config.Manifests;
import io.portcullis.config.Problem;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TlsContextsTest {
  static final TlsContexts.FileSource NO_FILES = p -> {
    throw new IllegalArgumentException("file " + p + ": not found");
  };
  @TempDir Path tmp;

  GatewayConfig config(String secretExtra) throws Exception {
    DevCertificates.DevCredential dev = DevCertificates.ensure(tmp.resolve("dev"));
    String crt = Base64.getEncoder().encodeToString(Files.readAllBytes(dev.certificateChain()));
    String key = Base64.getEncoder().encodeToString(Files.readAllBytes(dev.privateKey()));
    return Manifests.translate("""
        apiVersion: networking.istio.io/v1
        kind: Gateway
        metadata: {name: gw}
        spec:
          servers:
          - port: {number: 443, name: https, protocol: HTTPS}
            tls: {mode: SIMPLE, credentialName: web}
            hosts: [localhost]
          - port: {number: 443, name: https-other, protocol: HTTPS}
            tls: {mode: SIMPLE, credentialName: other}
            hosts: [other.localhost]
        ---
        apiVersion: v1
        kind: Secret
        metadata: {name: web, namespace: istio-system}
        data: {tls.crt: %1$s, tls.key: %2$s%3$s}
        ---
        apiVersion: v1
        kind: Secret
        metadata: {name: other, namespace: istio-system}
        data: {tls.crt: %1$s, tls.key: %2$s}
        """.formatted(crt, key, secretExtra));
  }

  @Test
  void aCredentialSecretWithATokenIsRefusedAndOnlyItsServerFails() throws Exception {
    GatewayConfig c = config(", token: " + Base64.getEncoder().encodeToString("sa-token".getBytes()));
    List<Problem> problems = new ArrayList<>();
    var tables = new TlsContexts().build(c.listeners(), c.secrets(), NO_FILES, Map.of(), problems);
    assertThat(problems).singleElement().satisfies(p -> {
      assertThat(p.severity()).isEqualTo(Problem.Severity.ERROR);
      assertThat(p.field()).isEqualTo("spec.servers[0].tls.credentialName");
      assertThat(p.message()).contains("Secret istio-system/web: token: a credential Secret may not hold a token");
    });
    assertThat(tables.get(443).find("localhost").orElseThrow().context()).isEmpty();
    assertThat(tables.get(443).find("other.localhost").orElseThrow().context()).isPresent();
  }

  @Test
  void aSecretAboutToBeIssuedIsInfoNamingItsIssuerNotAnError() throws Exception {
    GatewayConfig c = config("");
    Map<String, io.portcullis.config.GatewayConfig.SecretData> secrets = new java.util.HashMap<>(c.secrets());
    secrets.remove("istio-system/web");
    List<Problem> problems = new ArrayList<>();
    var tables = new TlsContexts().build(c.listeners(), secrets, NO_FILES, Map.of("istio-system/web",
        "Certificate istio-system/web"), problems);
    assertThat(problems).singleElement().satisfies(p -> {
      assertThat(p.severity()).isEqualTo(Problem.Severity.INFO);
      assertThat(p.message()).startsWith("Secret istio-system/web is not issued yet: Certificate istio-system/web "
          + "will store it");
    });
    assertThat(tables.get(443).find("localhost").orElseThrow().context()).isEmpty();
    assertThat(tables.get(443).find("other.localhost").orElseThrow().context()).isPresent();

    List<Problem> unowned = new ArrayList<>();
    new TlsContexts().build(c.listeners(), secrets, NO_FILES, Map.of(), unowned);
    assertThat(unowned).singleElement().satisfies(p -> {
      assertThat(p.severity()).isEqualTo(Problem.Severity.ERROR);
      assertThat(p.message()).startsWith("Secret istio-system/web not found");
    });
  }

  @Test
  void problemsNameTheIngressAndGatewayApiFieldsNotTheGeneratedGateway() {
    GatewayConfig c = Manifests.translate("""
        apiVersion: networking.k8s.io/v1
        kind: Ingress
        metadata: {name: web, namespace: default, annotations: {kubernetes.io/ingress.class: istio}}
        spec:
          tls: [{hosts: [www.example.test], secretName: missing-ingress-tls}]
          rules: [{host: www.example.test, http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: web,
            port: {number: 80}}}}]}}]
        ---
        apiVersion: gateway.networking.k8s.io/v1
        kind: GatewayClass
        metadata: {name: portcullis}
        spec: {controllerName: portcullis.io/gateway-controller}
        ---
        apiVersion: gateway.networking.k8s.io/v1
        kind: Gateway
        metadata: {name: edge, namespace: default}
        spec:
          gatewayClassName: portcullis
          listeners:
          - {name: plain, port: 8080, protocol: HTTP}
          - name: shop
            port: 8443
            protocol: HTTPS
            hostname: shop.example.test
            tls: {certificateRefs: [{name: missing-shop-tls}]}
        """);
    List<Problem> problems = new ArrayList<>();
    new TlsContexts().build(c.listeners(), c.secrets(), NO_FILES, Map.of("istio-system/missing-ingress-tls",
        "Certificate istio-system/missing-ingress-tls"), problems);
    assertThat(problems).extracting(p -> p.subject() + " " + p.field()).containsExactlyInAnyOrder(
        "Ingress default/web spec.tls[0].secretName",
        "Gateway default/edge spec.listeners[1].tls.certificateRefs[0]");
  }

  @Test
  void theSameSecretWithoutTheTokenServes() throws Exception {
    GatewayConfig c = config("");
    List<Problem> problems = new ArrayList<>();
    var tables = new TlsContexts().build(c.listeners(), c.secrets(), NO_FILES, Map.of(), problems);
    assertThat(problems).isEmpty();
    assertThat(tables.get(443).find("localhost").orElseThrow().context()).isPresent();
  }

  @Test
  void aBrokenSecretKeepsItsLastGoodCredentialUntilNoServerNamesItAnyMore() throws Exception {
    GatewayConfig good = config("");
    Map<String, GatewayConfig.SecretData> broken = new java.util.HashMap<>(good.secrets());
    broken.put("istio-system/web", new GatewayConfig.SecretData("istio-system/web", "test", Map.of(
        "tls.crt", "not a certificate".getBytes(), "tls.key", "not a key".getBytes())));
    TlsContexts contexts = new TlsContexts();
    contexts.build(good.listeners(), good.secrets(), NO_FILES, Map.of(), new ArrayList<>());

    List<Problem> kept = new ArrayList<>();
    var tables = contexts.build(good.listeners(), broken, NO_FILES, Map.of(), kept);
    assertThat(kept).singleElement().satisfies(p -> assertThat(p.message())
        .contains("still serving the last good credential"));
    assertThat(tables.get(443).find("localhost").orElseThrow().context()).isPresent();

    contexts.build(Map.of(), broken, NO_FILES, Map.of(), new ArrayList<>()); // the Gateway goes away
    List<Problem> afresh = new ArrayList<>();
    tables = contexts.build(good.listeners(), broken, NO_FILES, Map.of(), afresh);
    assertThat(afresh).singleElement().satisfies(p -> assertThat(p.message()).contains("fail until it is fixed"));
    assertThat(tables.get(443).find("localhost").orElseThrow().context()).isEmpty();
  }
}
