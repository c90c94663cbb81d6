package io.portcullis.config.gatewayapi;

import io.fabric8.kubernetes.api.model.gatewayapi.v1.AllowedRoutes;
import io.fabric8.kubernetes.api.model.gatewayapi.v1.Gateway;
import io.fabric8.kubernetes.api.model.gatewayapi.v1.Listener;
import io.fabric8.kubernetes.api.model.gatewayapi.v1.ListenerTLSConfig;
import io.fabric8.kubernetes.api.model.gatewayapi.v1.RouteGroupKind;
import io.fabric8.kubernetes.api.model.gatewayapi.v1.SecretObjectReference;
import io.portcullis.config.GatewayConfig;
import io.portcullis.config.Problem.Severity;
import io.portcullis.config.Resource;
import io.portcullis.config.ServerConfig;
import io.portcullis.config.SpecValues;
import io.portcullis.config.TranslationContext;
import io.portcullis.config.istio.IstioModel;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;

/**
 * Turns the {@code spec.listeners} of a Gateway this gateway serves into {@link ListenerState}s with the Gateway
 * API's listener conditions, and each usable listener into a server of the Istio model, as Istio's
 * {@code convertGateways} does: {@code HTTP} a plain server, {@code HTTPS} a {@code SIMPLE} TLS server whose
 * credentials are the {@code tls.certificateRefs} Secrets ({@code kubernetes.io/tls}, in the Gateway's namespace
 * unless a ReferenceGrant allows another), {@code TLS} with {@code tls.mode: Passthrough} a {@code PASSTHROUGH}
 * server routed by TLSRoutes; each on {@code port} + {@code --port-offset}, for {@code hostname} (any host when
 * unset).
 *
 * <p>Conditions (Gateway API {@code ListenerConditionType}): {@code Accepted} (False: {@code PortUnavailable},
 * {@code UnsupportedProtocol}, {@code UnsupportedValue} for a hostname that is not a DNS name), {@code ResolvedRefs}
 * (False: {@code InvalidCertificateRef}, {@code RefNotPermitted}, {@code InvalidRouteKinds}), {@code Conflicted}
 * ({@link ListenerConflicts}), {@code Programmed}.
 */
final class GatewayListeners {
  private static final Set<String> HTTP_KINDS = Set.of("HTTPRoute", "GRPCRoute");

  private GatewayListeners() {}

  /**
   * Validates the listeners of Gateway {@code r}; conflicts between them ({@link ListenerConflicts}) and servers
   * ({@link #serve}) come later, once every Gateway's listeners are known.
   */
  static List<ListenerState> listeners(Resource r, Gateway g, ReferenceGrants grants, TranslationContext cx,
      Instant now) {
    List<Listener> in = g.getSpec().getListeners() == null ? List.of() : g.getSpec().getListeners();
    List<ListenerState> out = new ArrayList<>();
    Set<String> names = new HashSet<>();
    for (int i = 0; i < in.size(); i++) {
      Listener l = in.get(i);
      String at = "spec.listeners[" + i + "]";
      String name = l.getName() == null ? "" : l.getName().trim();
      if (name.isEmpty() || !names.add(name)) {
        cx.problem(Severity.ERROR, r, at + ".name", (name.isEmpty() ? "missing" : name + ": a second listener of "
            + "that name") + " (expected: a name unique in the Gateway); listener ignored");
        continue;
      }
      out.add(listener(r, i, l, name, grants, cx, now));
    }
    return out;
  }

  /** Adds a server to {@code model} for each usable listener; the others get {@code Programmed} False. */
  static void serve(List<ListenerState> listeners, IstioModel model, ReferenceGrants grants, TranslationContext cx) {
    for (ListenerState ls : listeners) {
      if (ls.usable()) {
        server(ls.gateway, ls, ls.spec, grants, cx).ifPresent(s -> {
          model.addServer(s);
          ls.served = true;
        });
      } else {
        ls.conditions.set("Programmed", false, "Invalid", "the listener is not " + (ls.conditions.isTrue(
            "Conflicted") ? "served: it conflicts with another listener" : "accepted"));
      }
    }
  }

  private static ListenerState listener(Resource r, int i, Listener l, String name, ReferenceGrants grants,
      TranslationContext cx, Instant now) {
    String at = "spec.listeners[" + i + "]";
    Conditions c = Conditions.of(r, now)
        .set("Accepted", true, "Accepted", "listener accepted")
        .set("Conflicted", false, "NoConflicts", "no conflicts")
        .set("ResolvedRefs", true, "ResolvedRefs", "all references resolved")
        .set("Programmed", true, "Programmed", "listener programmed");
    String protocol = l.getProtocol() == null ? "" : l.getProtocol().trim();
    int port = l.getPort() == null ? 0 : l.getPort();
    if (port < 1 || port > 65535 || port + cx.portOffset() < 1 || port + cx.portOffset() > 65535) {
      String why = port + (port >= 1 && port <= 65535 ? " + --port-offset " + cx.portOffset() : "")
          + " (expected: a port in 1..65535)";
      cx.problem(Severity.ERROR, r, at + ".port", why);
      c.set("Accepted", false, "PortUnavailable", "port " + why);
    }
    if (!Set.of("HTTP", "HTTPS", "TLS").contains(protocol)) {
      cx.problem(Severity.ERROR, r, at + ".protocol", (protocol.isEmpty() ? "missing" : protocol)
          + " (expected: HTTP, HTTPS or TLS); listener not served");
      c.set("Accepted", false, "UnsupportedProtocol", "protocol " + protocol + " is not supported (expected: HTTP, "
          + "HTTPS or TLS)");
    }
    String hostname = "*";
    if (l.getHostname() != null && !l.getHostname().isBlank()) {
      hostname = l.getHostname().trim().toLowerCase(Locale.ROOT);
      if (hostname.equals("*") || !SpecValues.validHost(hostname) || hostname.matches("[0-9.]+")) {
        cx.problem(Severity.ERROR, r, at + ".hostname", l.getHostname() + " (expected: a DNS name, or \"*.\" "
            + "followed by one; not an IP address)");
        // ListenerReasonUnsupportedValue, an Accepted reason since v1.5 ("a value for a field that is not supported");
        // v1.4 lists none for a hostname (only PortUnavailable, UnsupportedProtocol) and lets controllers add reasons
        c.set("Accepted", false, "UnsupportedValue", "hostname " + l.getHostname() + " is not a valid DNS name");
      }
    }
    ListenerTLSConfig tls = l.getTls();
    if (protocol.equals("HTTP") && tls != null) {
      cx.problem(Severity.WARNING, r, at + ".tls", "set on an HTTP listener; ignored");
    }
    if (protocol.equals("HTTPS") || protocol.equals("TLS")) {
      String mode = tls == null || tls.getMode() == null ? "Terminate" : tls.getMode();
      if (protocol.equals("HTTPS") && !mode.equals("Terminate")) {
        cx.problem(Severity.ERROR, r, at + ".tls.mode", mode + " (expected: Terminate on an HTTPS listener; "
            + "Passthrough takes protocol TLS)");
        c.set("Accepted", false, "UnsupportedProtocol", "tls.mode " + mode + " on an HTTPS listener");
      } else if (protocol.equals("TLS") && !mode.equals("Passthrough")) {
        cx.problem(Severity.ERROR, r, at + ".tls.mode", mode + " (expected: Passthrough; a TLS listener that "
            + "terminates is not supported yet: use protocol HTTPS)");
        c.set("Accepted", false, "UnsupportedProtocol", "tls.mode " + mode + " on a TLS listener is not supported");
      } else if (protocol.equals("HTTPS")) {
        certificateRefs(r, at, tls, grants, c, cx);
      }
      if (tls != null && tls.getOptions() != null && !tls.getOptions().isEmpty()) {
        cx.problem(Severity.WARNING, r, at + ".tls.options", "not acted on; ignored");
      }
    }
    List<String> kinds = kinds(r, at, protocol, l.getAllowedRoutes(), c, cx);
    AllowedRoutes ar = l.getAllowedRoutes();
    String from = ar == null || ar.getNamespaces() == null || ar.getNamespaces().getFrom() == null ? "Same"
        : ar.getNamespaces().getFrom();
    var selector = ar == null || ar.getNamespaces() == null ? null : ar.getNamespaces().getSelector();
    if (!Set.of("Same", "All", "Selector").contains(from)) {
      cx.problem(Severity.ERROR, r, at + ".allowedRoutes.namespaces.from", from + " (expected: Same, All or "
          + "Selector); taken as Same");
      from = "Same";
    } else if (from.equals("Selector") && selector == null) {
      cx.problem(Severity.ERROR, r, at + ".allowedRoutes.namespaces.selector", "missing with from: Selector "
          + "(expected: a label selector); no route may attach");
    }
    return new ListenerState(r, l, i, name, port, protocol, hostname, kinds, from, selector, c);
  }

  /** Returns the route kinds of {@code allowedRoutes.kinds} the protocol supports, or the protocol's defaults. */
  private static List<String> kinds(Resource r, String at, String protocol, AllowedRoutes ar, Conditions c,
      TranslationContext cx) {
    Set<String> supported = protocol.equals("TLS") ? Set.of("TLSRoute") : HTTP_KINDS;
    List<RouteGroupKind> asked = ar == null || ar.getKinds() == null ? List.of() : ar.getKinds();
    if (asked.isEmpty()) {
      return protocol.equals("TLS") ? List.of("TLSRoute") : List.of("HTTPRoute", "GRPCRoute");
    }
    List<String> out = new ArrayList<>();
    for (int k = 0; k < asked.size(); k++) {
      String group = asked.get(k).getGroup() == null ? GatewayApiTranslator.GROUP : asked.get(k).getGroup();
      String kind = asked.get(k).getKind() == null ? "" : asked.get(k).getKind();
      if (group.equals(GatewayApiTranslator.GROUP) && supported.contains(kind)) {
        if (!out.contains(kind)) {
          out.add(kind);
        }
      } else {
        cx.problem(Severity.ERROR, r, at + ".allowedRoutes.kinds[" + k + "]", group + "/" + kind + " (expected: "
            + "one of " + new java.util.TreeSet<>(supported) + " for protocol " + protocol + ")");
        c.set("ResolvedRefs", false, "InvalidRouteKinds", "route kind " + group + "/" + kind + " is not supported "
            + "on protocol " + protocol);
      }
    }
    return out;
  }

  /** Checks each {@code certificateRefs[]} entry; sets {@code ResolvedRefs} False for the first bad one. */
  private static void certificateRefs(Resource r, String at, ListenerTLSConfig tls, ReferenceGrants grants,
      Conditions c, TranslationContext cx) {
    List<SecretObjectReference> refs = tls == null || tls.getCertificateRefs() == null ? List.of()
        : tls.getCertificateRefs();
    if (refs.isEmpty()) {
      cx.problem(Severity.ERROR, r, at + ".tls.certificateRefs", "missing (expected: at least one kubernetes.io/tls "
          + "Secret)");
      c.set("ResolvedRefs", false, "InvalidCertificateRef", "no certificateRefs");
      return;
    }
    for (int k = 0; k < refs.size(); k++) {
      SecretObjectReference ref = refs.get(k);
      String field = at + ".tls.certificateRefs[" + k + "]";
      String group = ref.getGroup() == null ? "" : ref.getGroup();
      String kind = ref.getKind() == null ? "Secret" : ref.getKind();
      String ns = ref.getNamespace() == null || ref.getNamespace().isEmpty() ? r.namespace() : ref.getNamespace();
      String key = ns + "/" + ref.getName();
      if (!group.isEmpty() || !kind.equals("Secret")) {
        cx.problem(Severity.ERROR, r, field + ".kind", (group.isEmpty() ? "" : group + "/") + kind
            + " (expected: a core Secret)");
        c.set("ResolvedRefs", false, "InvalidCertificateRef", "certificateRefs[" + k + "] is " + kind
            + ", not a Secret");
      } else if (!grants.allows(GatewayApiTranslator.GROUP, "Gateway", r.namespace(), "", "Secret", ns,
          ref.getName())) {
        cx.problem(Severity.ERROR, r, field + ".namespace", ns + ": Secret " + key + " is in another namespace and "
            + "no ReferenceGrant in " + ns + " allows it (expected: a ReferenceGrant from Gateway in " + r.namespace()
            + " to Secret)");
        c.set("ResolvedRefs", false, "RefNotPermitted", "Secret " + key + " is not permitted by any ReferenceGrant");
      } else if (!tlsSecret(cx.secrets().get(key))) {
        boolean exists = cx.secrets().containsKey(key);
        cx.problem(exists ? Severity.ERROR : Severity.WARNING, r, field + ".name", exists ? "Secret " + key
            + " has no tls.crt and tls.key (expected: a kubernetes.io/tls Secret)" : "Secret " + key
            + " not found; its hosts fail the handshake until it exists (or a Certificate issues it)");
        c.set("ResolvedRefs", false, "InvalidCertificateRef", "Secret " + key + (exists ? " is not a "
            + "kubernetes.io/tls Secret" : " not found"));
      }
    }
  }

  private static boolean tlsSecret(GatewayConfig.SecretData s) {
    return s != null && s.data().containsKey("tls.crt") && s.data().containsKey("tls.key");
  }

  /** Returns the server of a usable listener; empty when an HTTPS one has no Secret to serve. */
  private static Optional<ServerConfig> server(Resource r, ListenerState ls, Listener l, ReferenceGrants grants,
      TranslationContext cx) {
    String at = ls.field();
    ServerConfig.Origin origin = new ServerConfig.Origin(r.id(), at, at + ".hostname", at + ".protocol");
    List<ServerConfig.ServerHost> hosts = List.of(new ServerConfig.ServerHost("*", ls.hostname));
    Optional<ServerConfig.TlsSettings> tls = Optional.empty();
    if (ls.protocol.equals("TLS")) {
      tls = Optional.of(settings("PASSTHROUGH", List.of()));
    } else if (ls.protocol.equals("HTTPS")) {
      List<String> keys = new ArrayList<>();
      for (SecretObjectReference ref : l.getTls().getCertificateRefs()) {
        String ns = ref.getNamespace() == null || ref.getNamespace().isEmpty() ? r.namespace() : ref.getNamespace();
        boolean secretKind = (ref.getGroup() == null || ref.getGroup().isEmpty())
            && (ref.getKind() == null || ref.getKind().equals("Secret"));
        if (secretKind && ref.getName() != null && grants.allows(GatewayApiTranslator.GROUP, "Gateway",
            r.namespace(), "", "Secret", ns, ref.getName())) {
          keys.add(ns + "/" + ref.getName());
        }
      }
      if (keys.size() > 2) {
        cx.problem(Severity.WARNING, r, at + ".tls.certificateRefs", keys.size() + " Secrets: the first two are "
            + "served (expected: at most one RSA and one ECDSA certificate)");
        keys = keys.subList(0, 2);
      }
      if (keys.isEmpty()) {
        ls.conditions.set("Programmed", false, "Invalid", "no certificateRefs Secret can be served");
        return Optional.empty();
      }
      if (!ls.conditions.isTrue("ResolvedRefs")) {
        ls.conditions.set("Programmed", false, "Invalid", ls.conditions.reason("ResolvedRefs") + ": hosts whose "
            + "Secret is missing fail the handshake");
      }
      tls = Optional.of(settings("SIMPLE", keys));
    }
    return Optional.of(new ServerConfig(ls.key, ls.index, ls.name, ls.port, ls.protocol, hosts, tls, false, origin));
  }

  private static ServerConfig.TlsSettings settings(String mode, List<String> keys) {
    return new ServerConfig.TlsSettings(mode, keys, List.of(), Optional.empty(), Optional.empty(), Optional.empty(),
        List.of(), List.of(), List.of(), "TLSv1.2", "TLSv1.3", List.of());
  }
}
