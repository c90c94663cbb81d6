package io.portcullis.config.ingress;

import static io.portcullis.config.ingress.IngressFixtures.SHOP;
import static io.portcullis.config.ingress.IngressFixtures.problems;
import static io.portcullis.config.ingress.IngressFixtures.route;
import static io.portcullis.config.ingress.IngressFixtures.translate;
import static io.portcullis.config.ingress.IngressTranslatorTest.ingress;
import static org.assertj.core.api.Assertions.assertThat;

import io.portcullis.config.GatewayConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class IngressVersionsTest {
  @ParameterizedTest(name = "{0} -> {1}")
  @CsvSource({
      "spec.defaultBackend.service.name, spec.backend.serviceName",
      "spec.defaultBackend.service.port.number, spec.backend.servicePort",
      "spec.rules[0].http.paths[1].backend.service.port.name, spec.rules[0].http.paths[1].backend.servicePort",
      "spec.rules[0].http.paths[1].backend.service.name, spec.rules[0].http.paths[1].backend.serviceName",
      "spec.rules[2].http.paths[0].path, spec.rules[2].http.paths[0].path",
      "spec.tls[0].secretName, spec.tls[0].secretName",
  })
  void v1FieldPathsMapBackToTheV1beta1FieldsWritten(String v1, String written) {
    var legacy = new IngressVersions.View(null, null, true);
    var current = new IngressVersions.View(null, null, false);
    assertThat(legacy.field(v1)).isEqualTo(written);
    assertThat(current.field(v1)).isEqualTo(v1);
  }

  @Test
  void anUnknownVersionIsAnError() {
    GatewayConfig c = translate(SHOP, ingress("x", "annotations: {kubernetes.io/ingress.class: istio}", "")
        .replace("networking.k8s.io/v1", "networking.k8s.io/v2"));
    assertThat(problems(c)).contains("ERROR Ingress default/x: apiVersion: networking.k8s.io/v2 (expected: "
        + "networking.k8s.io/v1, or the removed networking.k8s.io/v1beta1 or extensions/v1beta1)");
    assertThat(route(c, 80, "x", "/x")).isEqualTo("no listener");
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
}
