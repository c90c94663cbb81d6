package io.portcullis.config.ingress;

import static io.portcullis.config.ingress.IngressFixtures.SHOP;
import static io.portcullis.config.ingress.IngressFixtures.problems;
import static io.portcullis.config.ingress.IngressFixtures.route;
import static io.portcullis.config.ingress.IngressFixtures.translate;
import static org.assertj.core.api.Assertions.assertThat;

import io.portcullis.config.ConfigTranslator;
import io.portcullis.config.GatewayConfig;
import io.portcullis.config.Manifests;
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
  void aValueOfTheWrongTypeIsAnErrorOnItsFieldAndOtherIngressesAreServed() {
    GatewayConfig c = translate(SHOP, ingress("bad", "annotations: {kubernetes.io/ingress.class: istio}",
        "tls: {secretName: x}"), ingress("good", "annotations: {kubernetes.io/ingress.class: istio}", ""));
    assertThat(problems(c)).anyMatch(p -> p.startsWith("ERROR Ingress default/bad: spec.tls: ")
        && p.endsWith("(expected: a valid Ingress)"));
    assertThat(route(c, 80, "x", "/bad")).isEqualTo("none");
    assertThat(route(c, 80, "x", "/good")).isEqualTo("default/good.rules[0].paths[0]");
  }
}
