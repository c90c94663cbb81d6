package io.portcullis.config.gatewayapi;

import io.portcullis.config.Problem.Severity;
import io.portcullis.config.Resource;
import io.portcullis.config.ServiceRegistry;
import io.portcullis.config.TranslationContext;
import io.portcullis.config.istio.IstioModel;
import io.portcullis.routing.Cluster;
import io.portcullis.routing.RouteAction;
import java.util.Optional;
import java.util.OptionalInt;

/**
 * Resolves a route's {@code backendRefs[]} entry (Gateway API {@code BackendObjectReference}: a core
 * {@code Service} by name, in the route's namespace unless {@code namespace} is set and a ReferenceGrant allows it,
 * with its {@code port}) into a weighted cluster of the Istio model, DestinationRules applied. An unresolved one is
 * reported, recorded in the route's {@link RefStatus} ({@code InvalidKind}, {@code RefNotPermitted},
 * {@code BackendNotFound}) and stands for its share of the requests as an {@link #invalid} destination. Used on the
 * translating thread only.
 */
final class BackendRefs {
  /** One backend reference, whatever the route kind's model class. */
  record Ref(String group, String kind, String name, String namespace, Integer port, Integer weight) {}

  private BackendRefs() {}

  /**
   * Returns the weighted destination standing for invalid {@code ref} (of route {@code r}) among valid ones: a
   * cluster nothing declares, with {@code ref}'s weight, so that its share of the requests answers the forward's
   * {@code clusterNotFoundStatus} (500 for an HTTPRoute, {@code UNAVAILABLE} for a GRPCRoute) rather than going to
   * the valid ones, as {@code HTTPRouteRule.backendRefs} and {@code GRPCRouteRule.backendRefs} ask.
   */
  static RouteAction.WeightedCluster invalid(Resource r, Ref ref) {
    String ns = ref.namespace() == null || ref.namespace().isEmpty() ? r.namespace() : ref.namespace();
    String host = (ref.name() == null ? "" : ref.name()) + "." + ns + "." + ServiceRegistry.CLUSTER_DOMAIN;
    return new RouteAction.WeightedCluster(Cluster.unknown(host, ref.port() == null ? 0 : ref.port(), ""),
        ref.weight() == null ? 1 : ref.weight());
  }

  /**
   * Returns the cluster {@code ref} (at field path {@code at} of route {@code r}, of kind {@code routeKind}) names;
   * empty after a problem.
   *
   * @param http2 whether the backend speaks HTTP/2 whatever its Service port says (GRPCRoute)
   */
  static Optional<RouteAction.WeightedCluster> resolve(Resource r, String routeKind, String at, Ref ref,
      boolean http2, IstioModel model, ReferenceGrants grants, RefStatus status, TranslationContext cx) {
    String group = ref.group() == null ? "" : ref.group();
    String kind = ref.kind() == null ? "Service" : ref.kind();
    String name = ref.name() == null ? "" : ref.name();
    String ns = ref.namespace() == null || ref.namespace().isEmpty() ? r.namespace() : ref.namespace();
    int weight = ref.weight() == null ? 1 : ref.weight();
    String answer = switch (routeKind) {
      case "GRPCRoute" -> "requests for it answer UNAVAILABLE";
      case "TLSRoute" -> "it gets no connection";
      default -> "requests for it answer 500";
    };
    if (!group.isEmpty() || !kind.equals("Service")) {
      cx.problem(Severity.ERROR, r, at + ".kind", (group.isEmpty() ? "" : group + "/") + kind + " (expected: a "
          + "core Service); " + answer);
      status.unresolved("InvalidKind", "backendRef " + name + " is a " + kind + ", not a Service");
      return Optional.empty();
    }
    if (!grants.allows(GatewayApiTranslator.GROUP, routeKind, r.namespace(), "", "Service", ns, name)) {
      cx.problem(Severity.ERROR, r, at + ".namespace", ns + ": Service " + ns + "/" + name + " is in another "
          + "namespace and no ReferenceGrant in " + ns + " allows it (expected: a ReferenceGrant from " + routeKind
          + " in " + r.namespace() + " to Service); " + answer);
      status.unresolved("RefNotPermitted", "backendRef Service " + ns + "/" + name + " is not permitted by any "
          + "ReferenceGrant");
      return Optional.empty();
    }
    String host = name + "." + ns + "." + ServiceRegistry.CLUSTER_DOMAIN;
    Optional<ServiceRegistry.Service> svc = cx.services().lookup(host, ns);
    if (svc.isEmpty() || !svc.get().kind().equals("Service")) {
      cx.problem(Severity.ERROR, r, at + ".name", name + ": Service " + ns + "/" + name + " not found (expected: a "
          + "Service in the manifests); " + answer);
      status.unresolved("BackendNotFound", "Service " + ns + "/" + name + " not found");
      return Optional.empty();
    }
    if (ref.port() == null) {
      cx.problem(Severity.ERROR, r, at + ".port", "missing (expected: a port of Service " + ns + "/" + name
          + ")");
      status.unresolved("BackendNotFound", "backendRef Service " + ns + "/" + name + " has no port");
      return Optional.empty();
    }
    int before = cx.problems().size();
    Optional<RouteAction.WeightedCluster> wc = model.resolve(r, at + ".name", at + ".port", host,
        OptionalInt.of(ref.port()), weight, cx);
    if (wc.isEmpty()) {
      status.unresolved("BackendNotFound", cx.problems().size() > before
          ? cx.problems().get(cx.problems().size() - 1).message() : "Service " + ns + "/" + name + " port "
          + ref.port() + " not found");
      return Optional.empty();
    }
    if (http2 && wc.get().cluster().protocol() != Cluster.Protocol.HTTP2) {
      Cluster c = wc.get().cluster();
      return Optional.of(new RouteAction.WeightedCluster(new Cluster(c.name(), c.host(), c.port(), c.endpoints(),
          Cluster.Protocol.HTTP2, c.subset(), c.policy(), c.known()), wc.get().weight()));
    }
    return wc;
  }
}
