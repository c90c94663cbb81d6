package io.portcullis.config.core;

import io.portcullis.config.Resource;
import io.portcullis.config.TranslationContext;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/**
 * The Kubernetes core API family ({@code v1}, and {@code discovery.k8s.io} for EndpointSlices): {@code Secret} and
 * {@code ConfigMap} become credential sources ({@link CredentialTranslator}); {@code Service}
 * ({@link ServiceTranslator}), {@code EndpointSlice} ({@link EndpointSliceTranslator}), {@code Endpoints}
 * ({@link EndpointsTranslator}) and {@code Pod} ({@link PodTranslator}) are joined into the service registry
 * ({@link ServiceDiscovery}); {@code Namespace} labels are kept for label selectors. Runs before the other families, which read what it produced from the
 * {@link TranslationContext}.
 */
public final class CoreTranslator {
  private static final Set<String> KINDS = Set.of("Secret", "ConfigMap", "Service", "Endpoints", "Pod",
      "Namespace");
  private static final String DISCOVERY_GROUP = "discovery.k8s.io";

  private CoreTranslator() {}

  /**
   * Whether {@code r} is of this family: {@code apiVersion: v1} and a kind it translates, or an
   * {@code EndpointSlice} of {@code discovery.k8s.io} (any version; checked later).
   */
  public static boolean handles(Resource r) {
    return r.apiVersion().equals("v1") && KINDS.contains(r.kind())
        || r.group().equals(DISCOVERY_GROUP) && r.kind().equals("EndpointSlice");
  }

  /**
   * Translates this family's resources ({@link #handles}) into {@code cx}: credential sources, and Services with
   * their ready endpoints in {@code cx.services()}.
   */
  public static void translate(Iterable<Resource> resources, TranslationContext cx) {
    ServiceDiscovery discovery = new ServiceDiscovery();
    for (Resource r : resources) {
      switch (r.kind()) {
        case "Secret" -> CredentialTranslator.secret(r, cx);
        case "ConfigMap" -> CredentialTranslator.configMap(r, cx);
        case "Service" -> {
          ServiceTranslator.Declared s = ServiceTranslator.service(r, cx);
          if (s != null) {
            discovery.service(s);
          }
        }
        case "EndpointSlice" -> {
          EndpointSliceTranslator.Slice s = EndpointSliceTranslator.endpointSlice(r, cx);
          if (s != null) {
            discovery.endpointSlice(r, s);
          }
        }
        case "Endpoints" -> {
          EndpointSliceTranslator.Slice s = EndpointsTranslator.endpoints(r, cx);
          if (s != null) {
            discovery.endpoints(r, s);
          }
        }
        case "Pod" -> {
          PodTranslator.PodInfo p = PodTranslator.pod(r, cx);
          if (p != null) {
            discovery.pod(p);
          }
        }
        case "Namespace" -> {
          Map<String, String> labels = new LinkedHashMap<>();
          r.body().path("metadata").path("labels").fields().forEachRemaining(e -> labels.put(e.getKey(),
              e.getValue().asText()));
          cx.namespaceLabels().put(r.name(), labels);
        }
        default -> throw new IllegalArgumentException("not a core resource: " + r.kind());
      }
    }
    discovery.register(cx);
  }
}
