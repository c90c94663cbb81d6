package io.portcullis.config.ingress;

import static io.portcullis.config.ingress.IngressFixtures.SHOP;
import static io.portcullis.config.ingress.IngressFixtures.problems;
import static io.portcullis.config.ingress.IngressFixtures.route;
import static io.portcullis.config.ingress.IngressFixtures.translate;
import static io.portcullis.config.ingress.IngressTranslatorTest.ingress;
import static org.assertj.core.api.Assertions.assertThat;

import io.portcullis.config.ConfigTranslator;
import io.portcullis.config.GatewayConfig;
import io.portcullis.config.Manifests;
import io.portcullis.config.ServerConfig;
import org.junit.jupiter.api.Test;

class IngressServersTest {
  @Test
  void tlsEntriesBecomeHttpsServersOn443WithSecretsInTheGatewayNamespace() {
    GatewayConfig c = new ConfigTranslator("istio-system", 10000).translate(Manifests.snapshot(SHOP, ingress("web",
        "annotations: {kubernetes.io/ingress.class: istio}", """
            tls:
            - {hosts: [shop.example.com], secretName: istio-ingress-certs}
            - {secretName: wildcard}
            - {hosts: [x.example.com]}"""), """
        apiVersion: v1
        kind: Secret
        metadata: {name: wildcard, namespace: default}
        type: kubernetes.io/tls
        stringData: {tls.crt: x, tls.key: y}
        """));
    var https = c.listeners().get(443);
    assertThat(https.bindPort()).isEqualTo(10443);
    assertThat(https.tls()).isTrue();
    assertThat(https.servers()).extracting(ServerConfig::portName, s -> s.tls().orElseThrow().credentialNames())
        .containsExactly(org.assertj.core.groups.Tuple.tuple("https-443-ingress-web-default-0",
            java.util.List.of("istio-system/istio-ingress-certs")), org.assertj.core.groups.Tuple.tuple(
            "https-443-ingress-web-default-1", java.util.List.of("istio-system/wildcard")));
    assertThat(https.serversByHost().find("shop.example.com").orElseThrow().portName())
        .isEqualTo("https-443-ingress-web-default-0");
    assertThat(https.serversByHost().find("other.example.com").orElseThrow().portName())
        .isEqualTo("https-443-ingress-web-default-1");
    assertThat(c.listeners().get(80).bindPort()).isEqualTo(10080);
    assertThat(route(c, 443, "shop.example.com", "/web")).isEqualTo("default/web.rules[0].paths[0]");
    assertThat(route(c, 80, "shop.example.com", "/web")).isEqualTo("default/web.rules[0].paths[0]");
    assertThat(problems(c)).contains(
        "ERROR Ingress default/web: spec.tls[2].secretName: missing (expected: the name of a Secret in namespace "
            + "istio-system; Istio skips this TLS entry)",
        "WARNING Ingress default/web: spec.tls[1].secretName: wildcard: served from Secret istio-system/wildcard, "
            + "which does not exist; default/wildcard does, but Ingress TLS Secrets are read from the gateway "
            + "namespace, as Istio reads them (expected: the Secret in namespace istio-system)")
        .noneMatch(p -> p.contains("istio-ingress-certs") && p.startsWith("ERROR"));
  }

  @Test
  void twoIngressesClaimingOneTlsHostAreReportedOnTheUsersField() {
    String tls = "tls:\n- {hosts: [shop.example.com], secretName: s}";
    GatewayConfig c = translate(SHOP,
        ingress("a", "annotations: {kubernetes.io/ingress.class: istio}\ncreationTimestamp: \"2024-01-01T00:00:00Z\"",
            tls),
        ingress("b", "annotations: {kubernetes.io/ingress.class: istio}\ncreationTimestamp: \"2024-02-01T00:00:00Z\"",
            tls));
    assertThat(problems(c)).contains("WARNING Ingress default/b: spec.tls[0].hosts: shop.example.com on port 443 is "
        + "already served by Ingress default/a spec.tls[0]; that server wins");
  }
}
