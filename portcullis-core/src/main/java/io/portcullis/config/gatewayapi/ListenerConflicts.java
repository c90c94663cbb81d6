package io.portcullis.config.gatewayapi;

import io.portcullis.config.Problem.Severity;
import io.portcullis.config.ServerConfig;
import io.portcullis.config.TranslationContext;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Finds the listeners that are not distinct, as the Gateway API defines them ({@code GatewaySpec.listeners},
 * "Handling indistinct Listeners", v1.4), among the accepted listeners of every Gateway this gateway serves that share
 * a port (Gateways of this class on one port share it): one plain HTTP and one TLS (HTTPS or TLS; Portcullis serves a
 * port plain or TLS, so they are not compatible), in one Gateway or across Gateways, or beside an Istio Gateway or
 * Ingress server that serves the port the other way ({@code ProtocolConflict}); two of one Gateway with the same
 * hostname ({@code HostnameConflict}).
 *
 * <p>As the spec asks, no conflicting listener is picked as the winner: <em>all</em> of them get {@code Conflicted}
 * True, {@code Accepted} False (with the conflict's reason, as Istio reports it) and are not served; the others still
 * are. Listeners of <em>different</em> Gateways with the same hostname on a port are served together, their routes
 * side by side (as Istio serves Gateways merged onto one deployment; a route can so move from one Gateway to the other
 * without a failed request): that is reported as a WARNING and in their {@code Conflicted} False message. Used on the
 * translating thread only.
 */
final class ListenerConflicts {
  private ListenerConflicts() {}

  /**
   * Marks the conflicting listeners among {@code listeners}, given the servers already in the model (Istio
   * Gateways', Ingresses').
   */
  static void mark(List<ListenerState> listeners, List<ServerConfig> otherServers, TranslationContext cx) {
    Map<Integer, List<ListenerState>> byPort = new LinkedHashMap<>();
    for (ListenerState l : listeners) {
      if (l.conditions.isTrue("Accepted")) {
        byPort.computeIfAbsent(l.port, p -> new ArrayList<>()).add(l);
      }
    }
    Map<ListenerState, String> protocolWith = new LinkedHashMap<>();
    Map<ListenerState, String> hostnameWith = new LinkedHashMap<>();
    Map<ListenerState, String> sharedWith = new LinkedHashMap<>();
    byPort.forEach((port, onPort) -> {
      for (ListenerState l : onPort) {
        for (ServerConfig s : otherServers) {
          if (s.port() == port && s.tls().isPresent() == l.plain()) {
            protocolWith.putIfAbsent(l, (s.tls().isPresent() ? "TLS" : "plain HTTP") + " server "
                + s.origin().subject() + " " + s.origin().field() + ", which keeps serving");
          }
        }
        for (ListenerState o : onPort) {
          if (o == l) {
            continue;
          }
          if (o.plain() != l.plain()) {
            protocolWith.merge(l, "listener " + o.nameFrom(l) + " (" + o.protocol + ")", (a, b) -> a + ", " + b);
          } else if (o.hostname.equals(l.hostname)) {
            (o.gateway.key().equals(l.gateway.key()) ? hostnameWith : sharedWith).merge(l, "listener "
                + o.nameFrom(l), (a, b) -> a + ", " + b);
          }
        }
      }
    });
    for (ListenerState l : listeners) {
      String with = protocolWith.get(l);
      if (with != null) {
        cx.problem(Severity.ERROR, l.gateway, l.field() + ".protocol", l.protocol + " on port " + l.port
            + " conflicts with " + with + "; this listener is not served (expected: one protocol family per port, "
            + "plain HTTP or TLS)");
        conflicted(l, "ProtocolConflict", "port " + l.port + " is " + l.protocol + " here and also served by "
            + with);
        continue;
      }
      with = hostnameWith.get(l);
      if (with != null) {
        cx.problem(Severity.ERROR, l.gateway, l.field() + ".hostname", l.hostname + " on port " + l.port + " is also "
            + with + "'s; none of them is served (expected: a distinct hostname per port)");
        conflicted(l, "HostnameConflict", "hostname " + l.hostname + " on port " + l.port + " is also " + with
            + "'s");
        continue;
      }
      with = sharedWith.get(l);
      if (with != null) {
        String shared = "hostname " + l.hostname + " on port " + l.port + " is also " + with + "'s: their routes "
            + "are served together (Gateways of this class share a port)";
        cx.problem(Severity.WARNING, l.gateway, l.field() + ".hostname", shared);
        l.conditions.set("Conflicted", false, "NoConflicts", "no conflict within the Gateway; " + shared);
      }
    }
  }

  private static void conflicted(ListenerState l, String reason, String message) {
    l.conditions.set("Conflicted", true, reason, message)
        .set("Accepted", false, reason, "not accepted: " + message);
  }
}
