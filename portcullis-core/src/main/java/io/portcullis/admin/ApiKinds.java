package io.portcullis.admin;

import java.util.List;
import java.util.Optional;

/**
 * The kinds whose objects the admin server shows with their {@code status} ({@code /apis/...}) and
 * {@code portcullis get} prints. Names, scopes and versions are those of the Gateway API CRDs (Standard channel
 * v1.4 to v1.6, {@code config/crd/standard/*.yaml}; TLSRoute from the Experimental channel, whose {@code v1alpha2}
 * and {@code v1alpha3} v1.6 still serves) and of Kubernetes' built-in {@code networking.k8s.io/v1} types. Never a
 * Secret.
 */
public final class ApiKinds {
  /** The Gateway API's group. */
  public static final String GATEWAY_API = "gateway.networking.k8s.io";

  /** Kubernetes' networking group (Ingress, IngressClass). */
  public static final String NETWORKING = "networking.k8s.io";

  private static final List<ApiKind> ALL = List.of(
      new ApiKind(GATEWAY_API, "GatewayClass", "gatewayclasses", "gatewayclass", List.of("gc"),
          List.of("v1", "v1beta1"), false, List.of()),
      new ApiKind(GATEWAY_API, "Gateway", "gateways", "gateway", List.of("gtw"), List.of("v1", "v1beta1"), true,
          List.of()),
      new ApiKind(GATEWAY_API, "HTTPRoute", "httproutes", "httproute", List.of(), List.of("v1", "v1beta1"), true,
          List.of()),
      new ApiKind(GATEWAY_API, "GRPCRoute", "grpcroutes", "grpcroute", List.of(), List.of("v1"), true, List.of()),
      new ApiKind(GATEWAY_API, "TLSRoute", "tlsroutes", "tlsroute", List.of(), List.of("v1", "v1alpha3", "v1alpha2"),
          true, List.of()),
      new ApiKind(GATEWAY_API, "ReferenceGrant", "referencegrants", "referencegrant", List.of("refgrant"),
          List.of("v1", "v1beta1"), true, List.of()),
      new ApiKind(NETWORKING, "Ingress", "ingresses", "ingress", List.of("ing"), List.of("v1"), true,
          List.of("extensions")),
      new ApiKind(NETWORKING, "IngressClass", "ingressclasses", "ingressclass", List.of(), List.of("v1"), false,
          List.of()));

  private ApiKinds() {}

  /** Returns every kind, Gateway API first, in the order {@code kubectl api-resources} would list them by group. */
  public static List<ApiKind> all() {
    return ALL;
  }

  /** Returns the kind served at {@code /apis/group/version/plural}, if any. */
  public static Optional<ApiKind> byPath(String group, String version, String plural) {
    return ALL.stream().filter(k -> k.group().equals(group) && k.plural().equals(plural)
        && k.versions().contains(version)).findFirst();
  }
}
