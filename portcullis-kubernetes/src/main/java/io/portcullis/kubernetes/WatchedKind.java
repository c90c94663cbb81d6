package io.portcullis.kubernetes;

import io.fabric8.kubernetes.client.dsl.base.ResourceDefinitionContext;
import java.util.List;

/**
 * A kind the gateway reads from the API server: every kind the directory mode reads (Istio, Gateway API, Ingress,
 * IngressClass, Service, EndpointSlice, Endpoints, Pod, Namespace, Secret, ConfigMap, cert-manager), at the version
 * watched.
 *
 * @param group the API group, {@code ""} for the core group
 * @param version the version listed and watched
 * @param kind the kind
 * @param plural the resource name in the API's paths ({@code virtualservices})
 * @param namespaced whether objects live in namespaces ({@code --watch-namespaces} applies) or the cluster
 */
public record WatchedKind(String group, String version, String kind, String plural, boolean namespaced) {
  /** The kinds watched, in the order their objects are handed over. */
  public static final List<WatchedKind> ALL = List.of(
      core("Namespace", "namespaces", false),
      core("Secret", "secrets", true),
      core("ConfigMap", "configmaps", true),
      core("Service", "services", true),
      core("Endpoints", "endpoints", true),
      core("Pod", "pods", true),
      new WatchedKind("discovery.k8s.io", "v1", "EndpointSlice", "endpointslices", true),
      new WatchedKind("networking.istio.io", "v1", "Gateway", "gateways", true),
      new WatchedKind("networking.istio.io", "v1", "VirtualService", "virtualservices", true),
      new WatchedKind("networking.istio.io", "v1", "DestinationRule", "destinationrules", true),
      new WatchedKind("networking.istio.io", "v1", "ServiceEntry", "serviceentries", true),
      new WatchedKind("networking.k8s.io", "v1", "IngressClass", "ingressclasses", false),
      new WatchedKind("networking.k8s.io", "v1", "Ingress", "ingresses", true),
      new WatchedKind("gateway.networking.k8s.io", "v1", "GatewayClass", "gatewayclasses", false),
      new WatchedKind("gateway.networking.k8s.io", "v1", "Gateway", "gateways", true),
      new WatchedKind("gateway.networking.k8s.io", "v1", "HTTPRoute", "httproutes", true),
      new WatchedKind("gateway.networking.k8s.io", "v1", "GRPCRoute", "grpcroutes", true),
      new WatchedKind("gateway.networking.k8s.io", "v1alpha2", "TLSRoute", "tlsroutes", true),
      new WatchedKind("gateway.networking.k8s.io", "v1beta1", "ReferenceGrant", "referencegrants", true),
      new WatchedKind("cert-manager.io", "v1", "ClusterIssuer", "clusterissuers", false),
      new WatchedKind("cert-manager.io", "v1", "Issuer", "issuers", true),
      new WatchedKind("cert-manager.io", "v1", "Certificate", "certificates", true));

  private static WatchedKind core(String kind, String plural, boolean namespaced) {
    return new WatchedKind("", "v1", kind, plural, namespaced);
  }

  /** Returns {@code group/version}, or {@code version} for the core group. */
  public String apiVersion() {
    return group.isEmpty() ? version : group + "/" + version;
  }

  /** Returns the API path of the collection, e.g. {@code /apis/networking.istio.io/v1/virtualservices}. */
  String path() {
    return path("");
  }

  /** Returns the API path of the collection in {@code namespace} ({@code ""}: across all, or cluster-scoped). */
  String path(String namespace) {
    return (group.isEmpty() ? "/api/" : "/apis/" + group + "/") + version
        + (namespace.isEmpty() ? "" : "/namespaces/" + namespace) + "/" + plural;
  }

  ResourceDefinitionContext context() {
    return new ResourceDefinitionContext.Builder().withGroup(group).withVersion(version).withKind(kind)
        .withPlural(plural).withNamespaced(namespaced).build();
  }
}
