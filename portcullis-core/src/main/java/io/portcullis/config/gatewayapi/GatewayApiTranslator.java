package io.portcullis.config.gatewayapi;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.fabric8.kubernetes.api.model.gatewayapi.v1.GRPCRoute;
import io.fabric8.kubernetes.api.model.gatewayapi.v1.Gateway;
import io.fabric8.kubernetes.api.model.gatewayapi.v1.GatewayClass;
import io.fabric8.kubernetes.api.model.gatewayapi.v1.HTTPRoute;
import io.fabric8.kubernetes.api.model.gatewayapi.v1.ParentReference;
import io.fabric8.kubernetes.api.model.gatewayapi.v1alpha2.TLSRoute;
import io.portcullis.config.FieldCheck;
import io.portcullis.config.ObjectStatus;
import io.portcullis.config.Problem.Severity;
import io.portcullis.config.Resource;
import io.portcullis.config.TranslationContext;
import io.portcullis.config.istio.BoundRoutes;
import io.portcullis.config.istio.IstioModel;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * The Kubernetes Gateway API family ({@code gateway.networking.k8s.io} v1, v1beta1, v1alpha2): GatewayClasses
 * whose {@code controllerName} is {@value #CONTROLLER}, their Gateways ({@link GatewayListeners}, conflicts between
 * listeners across them: {@link ListenerConflicts}), HTTPRoutes ({@link HttpRouteRules}), GRPCRoutes
 * ({@link GrpcRouteRules}) and TLSRoutes ({@link TlsRouteRules}) attached to them ({@link RouteParents}), and
 * ReferenceGrants ({@link ReferenceGrants}), converted into the Istio model as Istio's
 * {@code pilot/pkg/config/kube/gateway} does: one server per listener, bound under its own gateway key, and per
 * listener and host the routes attached there, in the Gateway API's precedence ({@link RankedRoute}), isolated from
 * the port's other listeners ({@link ListenerRoutes}).
 *
 * <p>Computes the status the Gateway API defines for every object it serves (GatewayClass {@code Accepted};
 * Gateway {@code Accepted}, {@code Programmed} and per listener {@code Accepted}, {@code ResolvedRefs},
 * {@code Conflicted}, {@code Programmed}, {@code attachedRoutes}; per route parent {@code Accepted} and
 * {@code ResolvedRefs}, {@code PartiallyInvalid}; a Gateway's {@code addresses}, those of
 * {@link TranslationContext#addresses()} while it is programmed) into {@link TranslationContext#statuses()}, each
 * condition stamped with {@link TranslationContext#now()} unless its status is as in
 * {@link TranslationContext#previousStatuses()} ({@link Transitions}). Used on the translating thread only.
 */
public final class GatewayApiTranslator {
  /** The API group. */
  public static final String GROUP = "gateway.networking.k8s.io";
  /** The {@code GatewayClass.spec.controllerName} of the classes this gateway serves. */
  public static final String CONTROLLER = "portcullis.io/gateway-controller";
  private static final Set<String> KINDS = Set.of("GatewayClass", "Gateway", "HTTPRoute", "GRPCRoute", "TLSRoute",
      "ReferenceGrant");
  private static final Set<String> VERSIONS = Set.of("v1", "v1beta1", "v1alpha2", "v1alpha3");
  private static final FieldCheck GATEWAY_FIELDS = new FieldCheck("apiVersion", "kind", "metadata.**", "status.**",
      "spec.gatewayClassName", "spec.listeners[].name", "spec.listeners[].hostname", "spec.listeners[].port",
      "spec.listeners[].protocol", "spec.listeners[].tls.mode", "spec.listeners[].tls.certificateRefs[].**",
      "spec.listeners[].tls.options.**", "spec.listeners[].allowedRoutes.**");

  private GatewayApiTranslator() {}

  /** Whether {@code r} is of this family: its group and a kind it translates (any version; checked later). */
  public static boolean handles(Resource r) {
    return r.group().equals(GROUP) && KINDS.contains(r.kind());
  }

  /**
   * Adds the servers and routes of this family's resources ({@link #handles}) to {@code model}, and their status to
   * {@code cx}.
   *
   * @param namespaceLabels the labels of the v1 Namespaces of the manifests, by name (for {@code allowedRoutes}
   *     selectors; every namespace also has {@code kubernetes.io/metadata.name})
   */
  public static void translate(List<Resource> resources, Map<String, Map<String, String>> namespaceLabels,
      IstioModel model, TranslationContext cx) {
    Instant now = cx.now().truncatedTo(ChronoUnit.SECONDS);
    int firstStatus = cx.statuses().size();
    Map<String, List<Resource>> byKind = new LinkedHashMap<>();
    for (Resource r : resources) {
      String version = r.apiVersion().substring(r.apiVersion().indexOf('/') + 1);
      if (!VERSIONS.contains(version)) {
        cx.problem(Severity.ERROR, r, "apiVersion", r.apiVersion() + " (expected: " + GROUP + "/v1, v1beta1 or "
            + "v1alpha2)");
        continue;
      }
      byKind.computeIfAbsent(r.kind(), k -> new ArrayList<>()).add(r);
    }
    Map<String, Map<String, String>> labels = new LinkedHashMap<>();
    namespaceLabels.forEach((ns, l) -> {
      Map<String, String> m = new LinkedHashMap<>(l);
      m.put("kubernetes.io/metadata.name", ns);
      labels.put(ns, m);
    });
    Set<String> ourClasses = new HashSet<>();
    for (Resource r : byKind.getOrDefault("GatewayClass", List.of())) {
      GatewayClass gc = cx.convert(r, GatewayClass.class);
      if (gc == null || gc.getSpec() == null || !CONTROLLER.equals(gc.getSpec().getControllerName())) {
        continue; // another controller's class: not ours to serve or to give a status
      }
      ourClasses.add(r.name());
      Conditions c = Conditions.of(r, now).set("Accepted", true, "Accepted", "handled by " + CONTROLLER)
          .set("SupportedVersion", true, "SupportedVersion", "Gateway API v1 Standard channel");
      if (gc.getSpec().getParametersRef() != null) {
        cx.problem(Severity.ERROR, r, "spec.parametersRef", "not supported (expected: none)");
        c.set("Accepted", false, "InvalidParameters", "parametersRef is not supported");
      }
      ObjectNode status = JsonNodeFactory.instance.objectNode();
      status.set("conditions", c.toJson());
      cx.statuses().add(new ObjectStatus(r, status));
    }
    ReferenceGrants grants = new ReferenceGrants();
    byKind.getOrDefault("ReferenceGrant", List.of()).forEach(r -> grants.add(r, cx));
    Map<String, List<ListenerState>> gateways = new LinkedHashMap<>();
    Map<Resource, Conditions> gatewayConditions = new LinkedHashMap<>();
    Set<String> otherGateways = new HashSet<>();
    for (Resource r : byKind.getOrDefault("Gateway", List.of())) {
      Gateway g = cx.convert(r, Gateway.class);
      if (g == null || g.getSpec() == null) {
        continue;
      }
      if (!ourClasses.contains(g.getSpec().getGatewayClassName())) {
        otherGateways.add(r.key());
        cx.problem(Severity.INFO, r, "spec.gatewayClassName", g.getSpec().getGatewayClassName() + ": not a class of "
            + CONTROLLER + "; ignored");
        continue;
      }
      cx.unsupported(r, GATEWAY_FIELDS);
      gateways.put(r.key(), GatewayListeners.listeners(r, g, grants, cx, now));
      gatewayConditions.put(r, Conditions.of(r, now));
    }
    List<ListenerState> allListeners = gateways.values().stream().flatMap(List::stream).toList();
    ListenerConflicts.mark(allListeners, model.servers(), cx);
    GatewayListeners.serve(allListeners, model, grants, cx);
    gatewayConditions.forEach((r, c) -> gatewayConditions(gateways.get(r.key()), c, cx));
    List<ListenerRoutes.Attached> attached = new ArrayList<>();
    for (String kind : List.of("HTTPRoute", "GRPCRoute", "TLSRoute")) {
      for (Resource r : byKind.getOrDefault(kind, List.of())) {
        route(r, model, grants, gateways, otherGateways, labels, cx, now).ifPresent(attached::add);
      }
    }
    ListenerRoutes.bind(attached.stream().filter(a -> !a.route().kind().equals("TLSRoute")).toList(), allListeners,
        model, cx);
    for (ListenerRoutes.Attached a : attached) {
      ObjectNode status = JsonNodeFactory.instance.objectNode();
      ArrayNode ps = status.putArray("parents");
      for (RouteParents.Parent p : a.parents()) {
        RefStatus refs = a.refs();
        if (!refs.dropped.isEmpty() && !refs.allDropped() && p.conditions().isTrue("Accepted")) {
          // the spec's "Drop Rule(s)" approach: Accepted stays True, the message starts with "Dropped Rule"
          p.conditions().set("PartiallyInvalid", true, refs.dropped.get(0).reason(), refs.droppedMessage());
        }
        ObjectNode n = ps.addObject();
        n.set("parentRef", p.parentRef());
        n.put("controllerName", CONTROLLER);
        n.set("conditions", p.conditions().toJson());
      }
      cx.statuses().add(new ObjectStatus(a.route(), status));
    }
    gatewayConditions.forEach((r, c) -> {
      ObjectNode status = JsonNodeFactory.instance.objectNode();
      if (c.isTrue("Programmed")) {
        ArrayNode addresses = status.putArray("addresses");
        for (String a : cx.addresses()) {
          addresses.addObject().put("type", GatewayAddresses.isIpLiteral(a) ? "IPAddress" : "Hostname").put("value", a);
        }
      }
      status.set("conditions", c.toJson());
      ArrayNode ls = status.putArray("listeners");
      gateways.get(r.key()).forEach(l -> ls.add(l.toJson()));
      cx.statuses().add(new ObjectStatus(r, status));
    });
    Transitions transitions = new Transitions(cx.previousStatuses());
    cx.statuses().subList(firstStatus, cx.statuses().size()).forEach(s -> transitions.carry(s.resource(),
        s.status()));
  }

  /**
   * Sets a Gateway's {@code Accepted} (True {@code Accepted}; else {@code ListenersNotValid}, True while some
   * listener is valid, naming the listeners that are not and those accepted, as the spec asks) and
   * {@code Programmed}.
   */
  private static void gatewayConditions(List<ListenerState> listeners, Conditions c, TranslationContext cx) {
    List<ListenerState> invalid = listeners.stream().filter(l -> !l.usable()).toList();
    if (invalid.isEmpty() && !listeners.isEmpty()) {
      c.set("Accepted", true, "Accepted", "all listeners accepted");
    } else {
      List<String> accepted = listeners.stream().filter(ListenerState::usable).map(l -> l.name).toList();
      c.set("Accepted", !accepted.isEmpty(), "ListenersNotValid", invalid.size() + " of " + listeners.size()
          + " listeners are not valid: " + String.join(", ", invalid.stream().map(l -> l.name + " ("
          + (l.conditions.isTrue("Conflicted") ? "Conflicted " : "") + l.conditions.reason("Accepted") + ")")
          .toList()) + (accepted.isEmpty() ? "" : "; accepted: " + String.join(", ", accepted)));
    }
    boolean programmed = listeners.stream().anyMatch(l -> l.conditions.isTrue("Programmed"));
    c.set("Programmed", programmed, programmed ? "Programmed" : "Invalid", programmed ? "served on "
        + listeners.stream().filter(l -> l.conditions.isTrue("Programmed")).map(l -> String.valueOf(l.port
        + cx.portOffset())).distinct().toList() : "no listener is served");
  }

  /**
   * Translates route {@code r} and attaches it to its parents (their conditions set); binds a TLSRoute at once, and
   * returns an HTTPRoute or GRPCRoute for {@link ListenerRoutes} to bind. Empty when no parent is ours.
   */
  private static Optional<ListenerRoutes.Attached> route(Resource r, IstioModel model, ReferenceGrants grants,
      Map<String, List<ListenerState>> gateways, Set<String> otherGateways,
      Map<String, Map<String, String>> labels, TranslationContext cx, Instant now) {
    RefStatus refs = new RefStatus();
    List<ParentReference> parentRefs;
    List<String> hostnames;
    List<RankedRoute> ranked = List.of();
    TlsRouteRules.Translated tlsRoute = null;
    switch (r.kind()) {
      case "HTTPRoute" -> {
        HTTPRoute h = cx.convert(r, HTTPRoute.class);
        if (h == null || h.getSpec() == null) {
          return Optional.empty();
        }
        parentRefs = h.getSpec().getParentRefs();
        hostnames = h.getSpec().getHostnames();
        ranked = HttpRouteRules.routes(r, h, model, grants, refs, cx);
      }
      case "GRPCRoute" -> {
        GRPCRoute g = cx.convert(r, GRPCRoute.class);
        if (g == null || g.getSpec() == null) {
          return Optional.empty();
        }
        parentRefs = g.getSpec().getParentRefs();
        hostnames = g.getSpec().getHostnames();
        ranked = GrpcRouteRules.routes(r, g, model, grants, refs, cx);
      }
      default -> {
        TLSRoute t = cx.convert(r, TLSRoute.class);
        if (t == null || t.getSpec() == null) {
          return Optional.empty();
        }
        parentRefs = t.getSpec().getParentRefs();
        hostnames = t.getSpec().getHostnames();
        tlsRoute = TlsRouteRules.route(r, t, model, grants, refs, cx);
      }
    }
    List<RouteParents.Parent> parents = RouteParents.attach(r, parentRefs, hostnames, gateways, otherGateways,
        labels, cx, now);
    if (parents.isEmpty()) {
      return Optional.empty(); // no parent of ours: another controller's route, or none
    }
    boolean accepted = !refs.allDropped();
    for (RouteParents.Parent p : parents) {
      if (!accepted) {
        // no valid rule left: the route as a whole is not accepted (RouteConditionPartiallyInvalid: "fully invalid")
        p.conditions().set("Accepted", false, refs.dropped.get(0).reason(), "every rule is dropped: "
            + refs.droppedMessage().substring("Dropped ".length()));
      }
      if (!refs.refReason.isEmpty()) {
        p.conditions().set("ResolvedRefs", false, refs.refReason, refs.refMessage);
      }
      if (tlsRoute == null || tlsRoute.route() == null || !p.conditions().isTrue("Accepted")) {
        continue;
      }
      for (RouteParents.Attachment a : p.attachments()) {
        if (a.listener().served) {
          model.bind(a.listener().key, new BoundRoutes(r, a.domains(), List.of(),
              List.of(new BoundRoutes.TlsRule(a.domains(), 0, tlsRoute.route()))));
        }
      }
    }
    return Optional.of(new ListenerRoutes.Attached(r, ranked, parents, refs));
  }
}
