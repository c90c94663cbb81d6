package io.portcullis.config.gatewayapi;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.fabric8.kubernetes.api.model.gatewayapi.v1.ParentReference;
import io.portcullis.config.Problem.Severity;
import io.portcullis.config.Resource;
import io.portcullis.config.SpecValues;
import io.portcullis.config.TranslationContext;
import io.portcullis.routing.HostTable;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * Attaches a route to the listeners its {@code spec.parentRefs} name, as the Gateway API defines attachment: the
 * parent Gateway (this gateway's class), the listeners selected by {@code sectionName} and {@code port} (all when
 * neither is set), each of which must be usable, allow the route's namespace and kind ({@code allowedRoutes}) and
 * share a hostname with the route ({@code hostnames} intersected with the listener's {@code hostname}). Records per
 * parent the route's {@code Accepted} condition (False: {@code NoMatchingParent}, {@code NotAllowedByListeners},
 * {@code NoMatchingListenerHostname}) and counts {@code attachedRoutes} on each listener its parentRefs select and
 * whose {@code allowedRoutes} allow it, as {@code ListenerStatus.attachedRoutes} defines it. Used on the translating
 * thread only.
 */
final class RouteParents {
  /** One parent of a route that this gateway controls, with its status conditions. */
  record Parent(ObjectNode parentRef, Conditions conditions, List<Attachment> attachments) {}

  /** The route attached to {@code listener} for {@code domains} (lower case; {@code *} for any). */
  record Attachment(ListenerState listener, List<String> domains) {}

  private RouteParents() {}

  /**
   * Returns the parents of route {@code r} this gateway controls; parents of other classes are not listed.
   *
   * @param gateways this gateway's Gateways' listeners by {@code namespace/name}
   * @param otherGateways the {@code namespace/name}s of Gateways of other classes
   * @param namespaceLabels namespace labels by name ({@code kubernetes.io/metadata.name} always among them)
   */
  static List<Parent> attach(Resource r, List<ParentReference> parentRefs, List<String> hostnames,
      Map<String, List<ListenerState>> gateways, Set<String> otherGateways,
      Map<String, Map<String, String>> namespaceLabels, TranslationContext cx, Instant now) {
    List<Parent> out = new ArrayList<>();
    List<String> hosts = hostnames(r, hostnames, cx);
    List<ParentReference> refs = parentRefs == null ? List.of() : parentRefs;
    if (refs.isEmpty()) {
      cx.problem(Severity.WARNING, r, "spec.parentRefs", "empty: the route is attached to no Gateway (expected: a "
          + "parentRef to a Gateway)");
    }
    for (int p = 0; p < refs.size(); p++) {
      ParentReference ref = refs.get(p);
      String group = ref.getGroup() == null ? GatewayApiTranslator.GROUP : ref.getGroup();
      String kind = ref.getKind() == null ? "Gateway" : ref.getKind();
      if (!group.equals(GatewayApiTranslator.GROUP) || !kind.equals("Gateway")) {
        continue; // a Service (GAMMA) or another implementation's parent kind: not ours
      }
      String ns = ref.getNamespace() == null || ref.getNamespace().isEmpty() ? r.namespace() : ref.getNamespace();
      String key = ns + "/" + ref.getName();
      if (otherGateways.contains(key)) {
        continue;
      }
      ObjectNode parentRef = JsonNodeFactory.instance.objectNode();
      parentRef.put("group", group).put("kind", kind).put("namespace", ns).put("name", ref.getName());
      if (ref.getSectionName() != null) {
        parentRef.put("sectionName", ref.getSectionName());
      }
      if (ref.getPort() != null) {
        parentRef.put("port", ref.getPort());
      }
      Conditions c = Conditions.of(r, now).set("Accepted", true, "Accepted", "route accepted")
          .set("ResolvedRefs", true, "ResolvedRefs", "all references resolved");
      List<Attachment> attachments = new ArrayList<>();
      out.add(new Parent(parentRef, c, attachments));
      String at = "spec.parentRefs[" + p + "]";
      List<ListenerState> listeners = gateways.get(key);
      if (listeners == null) {
        cx.problem(Severity.WARNING, r, at + ".name", "Gateway " + key + " not found; the route is not served there");
        c.set("Accepted", false, "NoMatchingParent", "Gateway " + key + " not found");
        continue;
      }
      List<ListenerState> named = listeners.stream()
          .filter(l -> ref.getSectionName() == null || l.name.equals(ref.getSectionName()))
          .filter(l -> ref.getPort() == null || l.port == ref.getPort())
          .toList();
      if (named.isEmpty()) {
        String what = (ref.getSectionName() == null ? "" : "sectionName " + ref.getSectionName() + " ")
            + (ref.getPort() == null ? "" : "port " + ref.getPort());
        cx.problem(Severity.WARNING, r, at, "Gateway " + key + " has no listener with " + what.trim()
            + "; the route is not served there");
        c.set("Accepted", false, "NoMatchingParent", "no listener of Gateway " + key + " matches " + what.trim());
        continue;
      }
      Map<String, String> labels = namespaceLabels.getOrDefault(r.namespace(),
          Map.of("kubernetes.io/metadata.name", r.namespace()));
      boolean allowedSomewhere = false;
      for (ListenerState l : named) {
        if (!l.kinds.contains(r.kind()) || !l.allowsNamespace(r.namespace(), labels)) {
          continue;
        }
        // ListenerStatus.attachedRoutes: "based solely on" allowedRoutes and parentRefs, whatever the listener's or
        // the route's conditions (a hostname in common, valid rules, an accepted listener)
        l.attachedRoutes.add(r.id());
        if (!l.usable()) {
          continue;
        }
        allowedSomewhere = true;
        List<String> domains = intersect(l.hostname, hosts);
        if (!domains.isEmpty()) {
          attachments.add(new Attachment(l, domains));
        }
      }
      if (!allowedSomewhere) {
        cx.problem(Severity.WARNING, r, at, "no listener of Gateway " + key + " selected here allows a " + r.kind()
            + " from namespace " + r.namespace() + " (allowedRoutes); the route is not served there");
        c.set("Accepted", false, "NotAllowedByListeners", "no listener of Gateway " + key + " allows this route "
            + "(allowedRoutes)");
      } else if (attachments.isEmpty()) {
        cx.problem(Severity.WARNING, r, "spec.hostnames", "no hostname in common with the listeners of Gateway " + key
            + " selected by " + at + "; the route is not served there");
        c.set("Accepted", false, "NoMatchingListenerHostname", "no hostname in common with the listeners of "
            + "Gateway " + key);
      }
    }
    return out;
  }

  /** The route's valid hostnames, lower case; {@code *} when it has none. */
  private static List<String> hostnames(Resource r, List<String> in, TranslationContext cx) {
    Set<String> out = new LinkedHashSet<>();
    List<String> hs = in == null ? List.of() : in;
    for (int i = 0; i < hs.size(); i++) {
      String h = hs.get(i) == null ? "" : hs.get(i).trim().toLowerCase(Locale.ROOT);
      if (h.equals("*") || !SpecValues.validHost(h) || h.matches("[0-9.]+")) {
        cx.problem(Severity.ERROR, r, "spec.hostnames[" + i + "]", hs.get(i) + " (expected: a DNS name, or \"*.\" "
            + "followed by one; not an IP address); left out");
        continue;
      }
      out.add(h);
    }
    if (out.isEmpty() && !hs.isEmpty()) {
      return List.of(); // every hostname was invalid: nothing to serve
    }
    return out.isEmpty() ? List.of("*") : List.copyOf(out);
  }

  /**
   * Returns the hosts a listener of hostname {@code listener} ({@code *} for any) serves for route hostnames
   * {@code hosts} ({@code [*]} for any): the more specific of each intersecting pair.
   */
  static List<String> intersect(String listener, List<String> hosts) {
    List<String> out = new ArrayList<>();
    for (String h : hosts) {
      String d = HostTable.covers(listener, h) ? h : HostTable.covers(h, listener) ? listener : null;
      if (d != null && !out.contains(d)) {
        out.add(d);
      }
    }
    return out;
  }
}
