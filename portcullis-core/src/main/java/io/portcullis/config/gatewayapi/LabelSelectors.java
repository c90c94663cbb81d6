package io.portcullis.config.gatewayapi;

import io.fabric8.kubernetes.api.model.LabelSelector;
import io.fabric8.kubernetes.api.model.LabelSelectorRequirement;
import java.util.List;
import java.util.Map;

/**
 * Kubernetes {@code metav1.LabelSelector} matching ({@code matchLabels} ANDed with {@code matchExpressions}: In,
 * NotIn, Exists, DoesNotExist), as the API machinery's {@code LabelSelectorAsSelector} evaluates it. An empty
 * selector matches everything; a null one nothing.
 */
final class LabelSelectors {
  private LabelSelectors() {}

  /** Whether {@code labels} satisfy {@code selector}. */
  static boolean matches(LabelSelector selector, Map<String, String> labels) {
    if (selector == null) {
      return false;
    }
    if (selector.getMatchLabels() != null) {
      for (Map.Entry<String, String> e : selector.getMatchLabels().entrySet()) {
        if (!e.getValue().equals(labels.get(e.getKey()))) {
          return false;
        }
      }
    }
    if (selector.getMatchExpressions() != null) {
      for (LabelSelectorRequirement req : selector.getMatchExpressions()) {
        String v = labels.get(req.getKey());
        List<String> values = req.getValues() == null ? List.of() : req.getValues();
        boolean ok = switch (req.getOperator() == null ? "" : req.getOperator()) {
          case "In" -> v != null && values.contains(v);
          case "NotIn" -> v == null || !values.contains(v);
          case "Exists" -> v != null;
          case "DoesNotExist" -> v == null;
          default -> false;
        };
        if (!ok) {
          return false;
        }
      }
    }
    return true;
  }
}
