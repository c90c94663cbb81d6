package io.portcullis.config.ingress;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.fabric8.kubernetes.api.model.networking.v1.Ingress;
import io.fabric8.kubernetes.api.model.networking.v1.IngressSpec;
import io.portcullis.config.Problem.Severity;
import io.portcullis.config.Resource;
import io.portcullis.config.TranslationContext;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * Reads an Ingress of any served version as {@code networking.k8s.io/v1}: the removed {@code extensions/v1beta1} and
 * {@code networking.k8s.io/v1beta1} (Kubernetes 1.22) are converted as the API server's conversion did
 * ({@code spec.backend} → {@code spec.defaultBackend}, {@code serviceName} / {@code servicePort} →
 * {@code service.name} / {@code service.port.number} or {@code .name}, a missing {@code pathType} →
 * {@code ImplementationSpecific}) with one WARNING per object; {@link View#field} maps a v1 field path back to the
 * one the user wrote, so later problems name it.
 */
final class IngressVersions {
  private IngressVersions() {}

  /**
   * An Ingress read as v1.
   *
   * @param resource the user's object
   * @param ingress the object in v1 form, read through fabric8's model (a spec always present)
   * @param legacy whether it was written as v1beta1
   */
  record View(Resource resource, Ingress ingress, boolean legacy) {
    /** Returns {@code spec}. */
    IngressSpec spec() {
      return ingress.getSpec();
    }

    /** Returns the field path the user wrote for v1 path {@code v1Field} ({@code spec.rules[0].http...}). */
    String field(String v1Field) {
      if (!legacy) {
        return v1Field;
      }
      String f = v1Field.startsWith("spec.defaultBackend") ? "spec.backend"
          + v1Field.substring("spec.defaultBackend".length()) : v1Field;
      return f.replaceFirst("backend\\.service\\.port(\\.(number|name))?$", "backend.servicePort")
          .replaceFirst("backend\\.service(\\.name)?$", "backend.serviceName");
    }

    /** Returns {@code metadata.annotations[key]}, if set. */
    Optional<String> annotation(String key) {
      JsonNode v = resource.body().path("metadata").path("annotations").path(key);
      return v.isValueNode() ? Optional.of(v.asText()) : Optional.empty();
    }
  }

  /**
   * Returns {@code r} as v1, or empty after an ERROR on {@code apiVersion} (a version Kubernetes never had) or on the
   * field that does not fit the v1 schema.
   */
  static Optional<View> read(Resource r, TranslationContext cx) {
    Optional<JsonNode> spec = v1Spec(r, cx);
    if (spec.isEmpty()) {
      return Optional.empty();
    }
    ObjectNode body = r.body().deepCopy();
    body.put("apiVersion", "networking.k8s.io/v1");
    body.set("spec", spec.get());
    Ingress ingress = cx.convert(new Resource(r.apiVersion(), r.kind(), r.namespace(), r.name(), r.source(), body),
        Ingress.class);
    if (ingress == null) {
      return Optional.empty();
    }
    if (ingress.getSpec() == null) {
      ingress.setSpec(new IngressSpec());
    }
    return Optional.of(new View(r, ingress, !r.apiVersion().equals("networking.k8s.io/v1")));
  }

  private static Optional<JsonNode> v1Spec(Resource r, TranslationContext cx) {
    JsonNode spec = r.body().path("spec");
    if (!spec.isObject()) {
      spec = JsonNodeFactory.instance.objectNode();
    }
    switch (r.apiVersion()) {
      case "networking.k8s.io/v1":
        return Optional.of(spec);
      case "networking.k8s.io/v1beta1", "extensions/v1beta1":
        ObjectNode v1 = spec.deepCopy();
        List<String> renames = new ArrayList<>();
        if (v1.has("backend")) {
          JsonNode b = v1.remove("backend");
          v1.set("defaultBackend", backend(b, renames));
          renames.add(0, "spec.backend → spec.defaultBackend");
        }
        boolean defaulted = false;
        for (JsonNode rule : v1.path("rules")) {
          for (JsonNode path : rule.path("http").path("paths")) {
            if (path instanceof ObjectNode p) {
              if (p.has("backend")) {
                p.set("backend", backend(p.get("backend"), renames));
              }
              if (!p.hasNonNull("pathType")) {
                p.put("pathType", "ImplementationSpecific");
                defaulted = true;
              }
            }
          }
        }
        if (defaulted) {
          renames.add("a missing pathType → ImplementationSpecific");
        }
        cx.problem(Severity.WARNING, r, "apiVersion", r.apiVersion() + " Ingress was removed in Kubernetes 1.22; read "
            + "as networking.k8s.io/v1 (expected: apiVersion networking.k8s.io/v1" + (renames.isEmpty() ? ""
            : "; converted: " + String.join(", ", renames.stream().distinct().toList())) + ")");
        return Optional.of(v1);
      default:
        cx.problem(Severity.ERROR, r, "apiVersion", r.apiVersion() + " (expected: networking.k8s.io/v1, or the "
            + "removed networking.k8s.io/v1beta1 or extensions/v1beta1)");
        return Optional.empty();
    }
  }

  private static JsonNode backend(JsonNode b, List<String> renames) {
    if (!(b instanceof ObjectNode in) || !(in.has("serviceName") || in.has("servicePort"))) {
      return b;
    }
    ObjectNode out = in.deepCopy();
    out.remove("serviceName");
    out.remove("servicePort");
    ObjectNode service = out.putObject("service");
    if (in.has("serviceName")) {
      service.set("name", in.get("serviceName"));
      renames.add("backend.serviceName → backend.service.name");
    }
    JsonNode port = in.get("servicePort");
    if (port != null) {
      if (port.isInt() || port.isTextual() && port.asText().matches("\\d+")) {
        service.putObject("port").put("number", port.asInt());
        renames.add("backend.servicePort → backend.service.port.number");
      } else {
        service.putObject("port").set("name", port);
        renames.add("backend.servicePort → backend.service.port.name");
      }
    }
    return out;
  }
}
