package io.portcullis.config.ingress;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Optional;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** Istio's {@code shouldProcessIngressWithClass}, as a table. */
class IngressClassSelectionTest {
  @ParameterizedTest(name = "annotation {0}, IngressClass controller {1}, mode {2} -> {3}")
  @CsvSource({
      // annotation wins, whatever ingressClassName names; OFF refuses every annotation
      "istio, , STRICT, true", "istio, , DEFAULT, true", "istio, , OFF, false",
      "nginx, , STRICT, false", "nginx, , DEFAULT, false", "nginx, , OFF, false",
      "nginx, istio.io/ingress-controller, STRICT, false", "istio, k8s.io/ingress-nginx, STRICT, true",
      "istio, istio.io/ingress-controller, OFF, false",
      // no annotation: an existing IngressClass decides by its controller, in every mode
      ", istio.io/ingress-controller, STRICT, true", ", istio.io/ingress-controller, DEFAULT, true",
      ", istio.io/ingress-controller, OFF, true", ", k8s.io/ingress-nginx, STRICT, false",
      ", k8s.io/ingress-nginx, DEFAULT, false", ", k8s.io/ingress-nginx, OFF, false",
      // no class at all (or ingressClassName naming a missing IngressClass): DEFAULT only
      ", , STRICT, false", ", , DEFAULT, true", ", , OFF, false",
  })
  void selectsAsIstio(String annotation, String controller, String mode, boolean expected) {
    IngressClassSelection s = new IngressClassSelection("istio", IngressClassSelection.Mode.parse(mode));
    assertThat(s.selects(Optional.ofNullable(annotation), Optional.ofNullable(controller))).isEqualTo(expected);
  }

  @ParameterizedTest
  @CsvSource({"gw, gw, true", "gw, istio, false"})
  void theAnnotationIsComparedWithIngressClass(String ingressClass, String annotation, boolean expected) {
    IngressClassSelection s = new IngressClassSelection(ingressClass, IngressClassSelection.Mode.STRICT);
    assertThat(s.selects(Optional.of(annotation), Optional.empty())).isEqualTo(expected);
  }

  @ParameterizedTest
  @CsvSource({"strict, STRICT", "Default, DEFAULT", "OFF, OFF"})
  void parsesModesIgnoringCase(String text, IngressClassSelection.Mode expected) {
    assertThat(IngressClassSelection.Mode.parse(text)).isEqualTo(expected);
  }

  @ParameterizedTest
  @CsvSource({"LOOSE"})
  void refusesAnUnknownMode(String text) {
    assertThatThrownBy(() -> IngressClassSelection.Mode.parse(text))
        .hasMessage("--ingress-mode: LOOSE (expected: STRICT, DEFAULT or OFF)");
  }
}
