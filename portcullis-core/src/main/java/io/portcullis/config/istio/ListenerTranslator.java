package io.portcullis.config.istio;

import io.portcullis.config.ListenerConfig;
import io.portcullis.config.Problem.Severity;
import io.portcullis.config.Problem;
import io.portcullis.config.ServerConfig;
import io.portcullis.config.TranslationContext;
import io.portcullis.config.istio.BoundRoutes.TlsRule;
import io.portcullis.routing.HostTable;
import io.portcullis.routing.HttpRoute;
import io.portcullis.routing.TlsRoute;
import io.portcullis.routing.VirtualHost;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * Assembles the translated Gateway servers and the VirtualServices bound to them into one {@link ListenerConfig}
 * per port: servers by host (the first server with a host wins), the HTTP routes of every VirtualService host a
 * server host covers (or that covers it), as one {@link VirtualHost} per domain, and the {@code tls[]} routes of
 * PASSTHROUGH servers by SNI host. Reports servers whose port mixes plain and TLS, hosts served twice, and
 * VirtualServices bound to a Gateway with no valid server.
 */
final class ListenerTranslator {
  private ListenerTranslator() {}

  /**
   * The VirtualServices bound to one Gateway, by host, so that binding N servers to N VirtualServices costs N
   * look-ups rather than N × N comparisons. Candidates come back in binding order.
   */
  private static final class VsIndex {
    private final List<BoundRoutes> bound;
    private final Map<String, List<Integer>> byExactHost = new HashMap<>();
    private final List<Integer> withWildcard = new ArrayList<>();

    VsIndex(List<BoundRoutes> bound) {
      this.bound = bound;
      for (int i = 0; i < bound.size(); i++) {
        boolean wildcard = false;
        for (String h : bound.get(i).hosts()) {
          if (h.startsWith("*")) {
            wildcard = true;
          } else {
            byExactHost.computeIfAbsent(h, k -> new ArrayList<>()).add(i);
          }
        }
        if (wildcard) {
          withWildcard.add(i);
        }
      }
    }

    /** Returns the VirtualServices that may share a host with server host {@code serverHost}. */
    List<BoundRoutes> candidates(String serverHost) {
      if (serverHost.startsWith("*")) {
        return bound; // a wildcard or "*" server may cover any VirtualService host
      }
      TreeSet<Integer> ordinals = new TreeSet<>(withWildcard);
      ordinals.addAll(byExactHost.getOrDefault(serverHost, List.of()));
      List<BoundRoutes> out = new ArrayList<>(ordinals.size());
      ordinals.forEach(i -> out.add(bound.get(i)));
      return out;
    }
  }

  /**
   * Binds the VirtualService {@code tls[]} routes of a {@code PASSTHROUGH} server: an SNI host of a match whose port
   * is unset or the server's, and which one of the server's hosts covers (namespace permitting), routes there. The
   * first route bound to a host wins, as Envoy's first matching filter chain does.
   */
  private static void passthroughRoutes(ServerConfig s, List<BoundRoutes> bound, HostTable.Builder<TlsRoute> table,
      TranslationContext cx) {
    boolean any = false;
    for (BoundRoutes vs : bound) {
      for (TlsRule rule : vs.tlsRoutes()) {
        if (rule.port() != 0 && rule.port() != s.port()) {
          continue;
        }
        for (String sni : rule.sniHosts()) {
          for (ServerConfig.ServerHost sh : s.hosts()) {
            boolean nsOk = sh.namespace().equals("*") || sh.namespace().equals(vs.resource().namespace());
            if (nsOk && HostTable.covers(sh.host(), sni)) {
              table.put(sni, rule.route());
              any = true;
              break;
            }
          }
        }
      }
    }
    if (!any) {
      boolean istio = s.origin().field().startsWith("spec.servers[");
      cx.problems().add(new Problem(Severity.WARNING, s.origin().subject(), "", s.origin().field() + ".tls.mode",
          "PASSTHROUGH server for " + s.hosts().stream().map(ServerConfig.ServerHost::host).toList() + " has no " + (istio ? "VirtualService tls route" : "TLSRoute")
          + " for its hosts; its connections are closed (expected: " + (istio ? "a VirtualService with "
          + "tls[].match[].sniHosts bound to this Gateway)" : "a TLSRoute attached to this listener)")));
    }
  }

  /** Returns the listeners by Gateway port number (before {@code --port-offset}). */
  static TreeMap<Integer, ListenerConfig> listeners(List<ServerConfig> servers,
      Map<String, List<BoundRoutes>> vsByGateway, TranslationContext cx) {
    int portOffset = cx.portOffset();
    Map<Integer, List<ServerConfig>> byPort = new TreeMap<>();
    for (ServerConfig s : servers) {
      List<ServerConfig> onPort = byPort.computeIfAbsent(s.port(), p -> new ArrayList<>());
      if (!onPort.isEmpty() && onPort.get(0).tls().isPresent() != s.tls().isPresent()) {
        cx.problems().add(new Problem(Severity.ERROR, s.origin().subject(), "", s.origin().protocolField(),
            s.protocol() + " on port " + s.port() + " conflicts with " + onPort.get(0).protocol()
            + " server " + onPort.get(0).origin().subject() + " " + onPort.get(0).origin().field() + " (expected: all servers on one port plain HTTP, or all HTTPS)"));
        continue;
      }
      onPort.add(s);
    }
    Set<String> gatewaysSeen = new HashSet<>();
    servers.forEach(s -> gatewaysSeen.add(s.gateway()));
    for (Map.Entry<String, List<BoundRoutes>> e : vsByGateway.entrySet()) {
      if (!gatewaysSeen.contains(e.getKey())) {
        for (BoundRoutes b : e.getValue()) {
          cx.problem(Severity.WARNING, b.resource(), "spec.gateways", "Gateway " + e.getKey() + " does not exist or "
              + "has no valid server; routes not served on it");
        }
      }
    }
    TreeMap<Integer, ListenerConfig> out = new TreeMap<>();
    for (Map.Entry<Integer, List<ServerConfig>> e : byPort.entrySet()) {
      int port = e.getKey();
      HostTable.Builder<ServerConfig> serversByHost = HostTable.builder();
      Map<String, List<HttpRoute>> routesByDomain = new LinkedHashMap<>();
      Map<String, Set<HttpRoute>> seenByDomain = new HashMap<>();
      Map<String, VsIndex> vsIndexes = new HashMap<>();
      HostTable.Builder<TlsRoute> passthrough = HostTable.builder();
      for (ServerConfig s : e.getValue()) {
        if (s.tls().isPresent() && s.tls().get().passthrough()) {
          passthroughRoutes(s, vsByGateway.getOrDefault(s.gateway(), List.of()), passthrough, cx);
        }
        for (ServerConfig.ServerHost sh : s.hosts()) {
          if (!serversByHost.put(sh.host(), s)) {
            ServerConfig first = serversByHost.get(sh.host()).orElseThrow();
            if (first != s) {
              cx.problems().add(new Problem(Severity.WARNING, s.origin().subject(), "", s.origin().hostsField(),
                  sh.host() + " on port " + port + " is already served by " + first.origin().subject() + " "
                  + first.origin().field() + "; that server wins"));
            }
          }
        }
        List<BoundRoutes> bound = vsByGateway.getOrDefault(s.gateway(), List.of());
        VsIndex vsIndex = bound.isEmpty() ? null : vsIndexes.computeIfAbsent(s.gateway(), g -> new VsIndex(bound));
        for (ServerConfig.ServerHost sh : s.hosts()) {
          for (BoundRoutes vs : vsIndex == null ? List.<BoundRoutes>of() : vsIndex.candidates(sh.host())) {
            if (!sh.namespace().equals("*") && !sh.namespace().equals(vs.resource().namespace())) {
              continue;
            }
            for (String vsHost : vs.hosts()) {
              String domain = HostTable.covers(sh.host(), vsHost) ? vsHost
                  : HostTable.covers(vsHost, sh.host()) ? sh.host() : null;
              if (domain != null) {
                // A route reached through two servers or hosts is added once, in order (by identity: equals is
                // deep and slow for large configurations).
                List<HttpRoute> list = routesByDomain.computeIfAbsent(domain, d -> new ArrayList<>());
                Set<HttpRoute> seen = seenByDomain.computeIfAbsent(domain,
                    d -> Collections.newSetFromMap(new IdentityHashMap<>()));
                for (HttpRoute route : vs.routes()) {
                  if (seen.add(route)) {
                    list.add(route);
                  }
                }
              }
            }
          }
        }
      }
      HostTable.Builder<VirtualHost> routes = HostTable.builder();
      routesByDomain.forEach((domain, list) -> routes.put(domain, new VirtualHost(domain + ":" + port, list)));
      boolean tls = e.getValue().get(0).tls().isPresent();
      out.put(port, new ListenerConfig(port, port + portOffset, tls, e.getValue(), serversByHost.build(),
          routes.build(), passthrough.build()));
    }
    return out;
  }
}
