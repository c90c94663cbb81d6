package io.portcullis.config.gatewayapi;

import io.portcullis.config.Problem.Severity;
import io.portcullis.config.Resource;
import io.portcullis.config.TranslationContext;
import io.portcullis.config.istio.BoundRoutes;
import io.portcullis.config.istio.IstioModel;
import io.portcullis.routing.HostTable;
import io.portcullis.routing.HttpRoute;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Binds the HTTPRoutes and GRPCRoutes attached to listeners into the Istio model, per listener and host in the
 * Gateway API's precedence ({@link RankedRoute}), with two rules of the spec on top of attachment:
 *
 * <ul>
 *   <li><b>An HTTPRoute and a GRPCRoute do not share a host on one listener</b> ({@code GRPCRouteSpec.hostnames}):
 *       when their hostnames intersect there, the oldest route ({@code creationTimestamp}, then
 *       {@code namespace/name}) is served and the other gets {@code Accepted} False on that parent.
 *   <li><b>Listener isolation</b> ({@code GatewaySpec.listeners}, "General Listener behavior"; conformance
 *       {@code GatewayHTTPListenerIsolation}): a request matches at most one listener of its port, the one with the
 *       most specific hostname covering its host. A route's host that a more specific listener on the same port
 *       covers is left out where the route is attached to a less specific one (as Istio's
 *       {@code hostnameAllowedByIsolation} does), and every listener with a hostname claims it on the port even with
 *       no route there, so that its hosts answer 404 rather than fall through to a {@code *} sibling's routes.
 * </ul>
 *
 * Used on the translating thread only.
 */
final class ListenerRoutes {
  /** One route's routes (none for a TLSRoute), the parents it is attached to, and what its rules found. */
  record Attached(Resource route, List<RankedRoute> ranked, List<RouteParents.Parent> parents, RefStatus refs) {
    String created() {
      return route.body().path("metadata").path("creationTimestamp").asText("~");
    }
  }

  /** A route holding hosts on a listener. */
  private record Holder(Attached route, List<String> domains) {}

  private ListenerRoutes() {}

  /** Binds {@code routes} (HTTPRoutes and GRPCRoutes) to the served ones of {@code listeners}. */
  static void bind(List<Attached> routes, List<ListenerState> listeners, IstioModel model, TranslationContext cx) {
    List<Attached> oldestFirst = new ArrayList<>(routes);
    oldestFirst.sort(Comparator.comparing(Attached::created).thenComparing(a -> a.route().key()));
    // by listener, by route kind: a route is checked against the other kind's holders only
    Map<ListenerState, Map<String, List<Holder>>> holders = new LinkedHashMap<>();
    Map<Integer, List<ListenerState>> servedByPort = new LinkedHashMap<>();
    listeners.stream().filter(l -> l.served).forEach(l -> servedByPort.computeIfAbsent(l.port,
        p -> new ArrayList<>()).add(l));
    Map<ListenerState, Map<String, List<RankedRoute>>> byListener = new LinkedHashMap<>();
    for (Attached a : oldestFirst) {
      for (RouteParents.Parent p : a.parents()) {
        if (!p.conditions().isTrue("Accepted")) {
          continue;
        }
        List<String> refused = new ArrayList<>();
        int served = 0;
        for (RouteParents.Attachment at : p.attachments()) {
          ListenerState l = at.listener();
          if (!l.served) {
            continue;
          }
          served++;
          Map<String, List<Holder>> onListener = holders.computeIfAbsent(l, k -> new LinkedHashMap<>());
          String otherKind = a.route().kind().equals("HTTPRoute") ? "GRPCRoute" : "HTTPRoute";
          Holder other = onListener.getOrDefault(otherKind, List.of()).stream()
              .filter(h -> intersect(h.domains(), at.domains())).findFirst().orElse(null);
          if (other != null) {
            refused.add("listener " + l.name + " already serves " + other.route().route().id() + " (older) for "
                + String.join(", ", other.domains()));
            continue;
          }
          onListener.computeIfAbsent(a.route().kind(), k -> new ArrayList<>()).add(new Holder(a, at.domains()));
          Map<String, List<RankedRoute>> byDomain = byListener.computeIfAbsent(l, k -> new LinkedHashMap<>());
          for (String d : at.domains()) {
            if (!isolatedAway(l, d, servedByPort.get(l.port))) {
              byDomain.computeIfAbsent(d, k -> new ArrayList<>()).addAll(a.ranked());
            }
          }
        }
        if (!refused.isEmpty()) {
          String message = String.join("; ", refused) + ": an HTTPRoute and a GRPCRoute may not share a hostname on "
              + "one listener (the oldest is served)";
          cx.problem(Severity.WARNING, a.route(), "spec.hostnames", message + "; not served there");
          if (refused.size() == served) {
            p.conditions().set("Accepted", false, "NotAllowedByListeners", message);
          }
        }
      }
    }
    for (ListenerState l : listeners) {
      if (l.served && !l.protocol.equals("TLS") && !l.hostname.equals("*")) {
        // the listener's own hosts are its own, routes or not (isolation)
        byListener.computeIfAbsent(l, k -> new LinkedHashMap<>()).computeIfAbsent(l.hostname,
            k -> new ArrayList<>());
      }
    }
    byListener.forEach((l, byDomain) -> byDomain.forEach((domain, ranked) -> {
      ranked.sort(RankedRoute.PRECEDENCE);
      List<HttpRoute> bound = ranked.stream().map(RankedRoute::route).toList();
      model.bind(l.key, new BoundRoutes(l.gateway, List.of(domain), bound, List.of()));
    }));
  }

  /** Whether host patterns {@code a} and {@code b} share a host. */
  private static boolean intersect(List<String> a, List<String> b) {
    for (String x : a) {
      for (String y : b) {
        if (HostTable.covers(x, y) || HostTable.covers(y, x)) {
          return true;
        }
      }
    }
    return false;
  }

  /**
   * Whether {@code domain}, attached to {@code l}, belongs to a more specific listener served on the same port (one of
   * {@code onPort}): one whose hostname {@code l}'s covers and which covers {@code domain}.
   */
  private static boolean isolatedAway(ListenerState l, String domain, List<ListenerState> onPort) {
    for (ListenerState m : onPort) {
      if (m != l && !m.hostname.equals(l.hostname)
          && HostTable.covers(l.hostname, m.hostname) && HostTable.covers(m.hostname, domain)) {
        return true;
      }
    }
    return false;
  }
}
