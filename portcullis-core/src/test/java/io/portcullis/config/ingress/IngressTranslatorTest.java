package io.portcullis.config.ingress;

import static io.portcullis.config.ingress.IngressFixtures.SHOP;
import static io.portcullis.config.ingress.IngressFixtures.problems;
import static io.portcullis.config.ingress.IngressFixtures.route;
import static io.portcullis.config.ingress.IngressFixtures.translate;
import static org.assertj.core.api.Assertions.assertThat;

import io.portcullis.config.ConfigTranslator;
import io.portcullis.config.GatewayConfig;
import io.portcullis.config.Manifests;
import io.portcullis.config.ServerConfig;
import io.portcullis.routing.SafeRegex;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class IngressTranslatorTest {
  static String ingress(String name, String metadataExtra, String specExtra) {
    return """
        apiVersion: networking.k8s.io/v1
        kind: Ingress
        metadata:
          name: %s
          namespace: default
        %s
        spec:
        %s
          rules:
          - http:
              paths:
              - {path: /%s, pathType: Prefix, backend: {service: {name: shop, port: {number: 8080}}}}
        """.formatted(name, metadataExtra.indent(2).stripTrailing(), specExtra.indent(2).stripTrailing(), name);
  }

  static final String ISTIO_CLASS = """
      apiVersion: networking.k8s.io/v1
      kind: IngressClass
      metadata: {name: istio}
      spec: {controller: istio.io/ingress-controller}
      """;
  static final String NGINX_CLASS = """
      apiVersion: networking.k8s.io/v1
      kind: IngressClass
      metadata: {name: nginx, annotations: {ingressclass.kubernetes.io/is-default-class: "true"}}
      spec: {controller: k8s.io/ingress-nginx}
      """;

  @Test
  void classesAreSelectedAsIstioSelectsThem() {
    GatewayConfig c = translate(SHOP, ISTIO_CLASS, NGINX_CLASS,
        ingress("byannotation", "annotations: {kubernetes.io/ingress.class: istio}", ""),
        ingress("byclass", "", "ingressClassName: istio"),
        ingress("foreign", "", "ingressClassName: nginx"),
        ingress("annotationwins", "annotations: {kubernetes.io/ingress.class: nginx}", "ingressClassName: istio"),
        ingress("defaulted", "", ""));
    assertThat(route(c, 80, "x", "/byannotation")).isEqualTo("default/byannotation.rules[0].paths[0]");
    assertThat(route(c, 80, "x", "/byclass")).isEqualTo("default/byclass.rules[0].paths[0]");
    assertThat(route(c, 80, "x", "/foreign")).isEqualTo("none");
    assertThat(route(c, 80, "x", "/annotationwins")).isEqualTo("none");
    assertThat(route(c, 80, "x", "/defaulted")).isEqualTo("none"); // the default class is nginx's
    assertThat(problems(c)).contains(
        "INFO Ingress default/foreign: spec.ingressClassName: IngressClass nginx has controller k8s.io/ingress-nginx: "
            + "not this gateway's (expected: istio.io/ingress-controller); ignored",
        "INFO Ingress default/annotationwins: metadata.annotations.kubernetes.io/ingress.class: class nginx: not this "
            + "gateway's (expected: istio); ignored")
        .noneMatch(p -> p.contains("not used by the gateway"));
  }

  @ParameterizedTest
  @CsvSource({"DEFAULT, default/plain.rules[0].paths[0]", "STRICT, no listener", "OFF, no listener"})
  void anIngressWithoutAClassIsServedInModeDefaultOnly(String mode, String expected) {
    GatewayConfig c = new ConfigTranslator("istio-system", 0, SafeRegex.DEFAULT_MAX_PROGRAM_SIZE,
        new IngressClassSelection("istio", IngressClassSelection.Mode.parse(mode)))
        .translate(Manifests.snapshot(SHOP, ingress("plain", "", "")));
    assertThat(route(c, 80, "x", "/plain")).isEqualTo(expected);
  }

  @Test
  void v1beta1IsReadAsV1WithOneWarningAndProblemsNameTheFieldsWritten() {
    GatewayConfig c = translate(SHOP, """
        apiVersion: extensions/v1beta1
        kind: Ingress
        metadata: {name: old, namespace: default, annotations: {kubernetes.io/ingress.class: istio}}
        spec:
          backend: {serviceName: shop, servicePort: 8080}
          rules:
          - http:
              paths:
              - {path: /a/*, backend: {serviceName: shop, servicePort: http}}
              - {path: /b, backend: {serviceName: shop, servicePort: nope}}
        """);
    assertThat(problems(c)).filteredOn(p -> p.startsWith("WARNING Ingress")).containsExactly(
        "WARNING Ingress default/old: apiVersion: extensions/v1beta1 Ingress was removed in Kubernetes 1.22; read as "
            + "networking.k8s.io/v1 (expected: apiVersion networking.k8s.io/v1; converted: spec.backend → "
            + "spec.defaultBackend, backend.serviceName → backend.service.name, backend.servicePort → "
            + "backend.service.port.number, backend.servicePort → backend.service.port.name, a missing pathType → "
            + "ImplementationSpecific)");
    assertThat(problems(c)).contains("ERROR Ingress default/old: spec.rules[0].http.paths[1].backend.servicePort: no "
        + "port named \"nope\" on Service default/shop (expected one of: http)");
    assertThat(route(c, 80, "x", "/a/1")).isEqualTo("default/old.rules[0].paths[0]");
    assertThat(route(c, 80, "x", "/zzz")).isEqualTo("default/old.defaultBackend");
  }

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
        + "already served by https.443.https-443-ingress-a-default-0.istio-autogenerated-k8s-ingress.istio-system; "
        + "that server wins");
  }

  @Test
  void aValueOfTheWrongTypeIsAnErrorOnItsFieldAndOtherIngressesAreServed() {
    GatewayConfig c = translate(SHOP, ingress("bad", "annotations: {kubernetes.io/ingress.class: istio}",
        "tls: {secretName: x}"), ingress("good", "annotations: {kubernetes.io/ingress.class: istio}", ""));
    assertThat(problems(c)).anyMatch(p -> p.startsWith("ERROR Ingress default/bad: spec.tls: ")
        && p.endsWith("(expected: a valid Ingress)"));
    assertThat(route(c, 80, "x", "/bad")).isEqualTo("none");
    assertThat(route(c, 80, "x", "/good")).isEqualTo("default/good.rules[0].paths[0]");
  }
}
