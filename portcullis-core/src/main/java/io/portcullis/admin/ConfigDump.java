package io.portcullis.admin;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.portcullis.config.GatewayConfig;
import io.portcullis.config.ListenerConfig;
import io.portcullis.config.Problem;
import io.portcullis.config.ServerConfig;
import io.portcullis.proxy.PathNormalization;
import io.portcullis.proxy.ProxyLimits;
import io.portcullis.routing.HostTable;
import io.portcullis.routing.HttpRoute;
import io.portcullis.routing.RouteAction;
import io.portcullis.routing.RouteMatch;
import io.portcullis.routing.VirtualHost;
import io.portcullis.tls.Credential;
import io.portcullis.tls.TlsContexts;
import io.portcullis.tls.TlsContexts.ServerTls;
import java.math.BigDecimal;
import java.net.InetSocketAddress;
import java.time.Clock;
import java.time.Duration;
import java.util.IdentityHashMap;
import java.util.Map;
import java.util.Optional;

/**
 * Renders {@code /config_dump}: listeners with their servers and credentials (subject, SANs, serial, notAfter, days
 * until expiration — never key material), virtual hosts and routes, the upstream clusters with their endpoints and
 * traffic policy ({@link ClusterDump}), and the problems found in the configuration.
 */
public final class ConfigDump {
  private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

  private ConfigDump() {}

  /**
   * Returns the dump as indented JSON.
   *
   * @param limits the data plane's timeouts and limits, shown under {@code limits} with Envoy's field names
   *     (durations as protobuf JSON does them, {@code "15s"}; 0 is off)
   * @param maxRegexProgramSize the most RE2 instructions a route {@code regex} may compile to
   *     ({@code --max-regex-program-size}), shown as {@code limits.max_regex_program_size}
   * @param connections the connections open now, by Gateway port
   * @param normalization how request paths are normalised (Istio's {@code meshConfig.pathNormalization})
   */
  public static String render(GatewayConfig config, Map<Integer, HostTable<ServerTls>> tls,
      Map<Integer, InetSocketAddress> bound, String tlsProvider, Clock clock, ProxyLimits limits,
      int maxRegexProgramSize, Map<Integer, Integer> connections, PathNormalization normalization) {
    return render(config, tls, bound, tlsProvider, clock, limits, maxRegexProgramSize, connections, normalization,
        name -> Optional.empty(), io.portcullis.tls.ClientTlsContexts.Table.EMPTY);
  }

  /**
   * As the other {@code render}, with the endpoints' health under {@code cluster_health}
   * ({@link ClusterHealthDump}).
   *
   * @param clusterHosts the data plane's hosts of a cluster by name
   *     ({@link io.portcullis.proxy.DataPlane#clusterHosts})
   * @param upstreamTls the client TLS contexts the data plane serves ({@code clusters[].traffic_policy.tls.serving})
   */
  public static String render(GatewayConfig config, Map<Integer, HostTable<ServerTls>> tls,
      Map<Integer, InetSocketAddress> bound, String tlsProvider, Clock clock, ProxyLimits limits,
      int maxRegexProgramSize, Map<Integer, Integer> connections, PathNormalization normalization,
      java.util.function.Function<String, Optional<io.portcullis.proxy.lb.ClusterHosts>> clusterHosts,
      io.portcullis.tls.ClientTlsContexts.Table upstreamTls) {
    ObjectNode root = JSON.createObjectNode();
    root.put("generation", config.generation());
    root.put("tls_provider", tlsProvider);
    ObjectNode lim = root.putObject("limits");
    lim.put("listener_filters_timeout", seconds(limits.listenerFiltersTimeout()));
    lim.put("request_headers_timeout", seconds(limits.requestHeadersTimeout()));
    lim.put("idle_timeout", seconds(limits.idleTimeout()));
    lim.put("stream_idle_timeout", seconds(limits.streamIdleTimeout()));
    lim.put("max_connections", limits.maxConnections());
    lim.put("max_request_headers_kb", limits.maxRequestHeadersKb());
    lim.put("max_headers_count", limits.maxHeadersCount());
    lim.put("max_request_line_bytes", ProxyLimits.MAX_REQUEST_LINE);
    lim.put("upstream_idle_timeout", seconds(limits.upstreamIdleTimeout()));
    lim.put("max_regex_program_size", maxRegexProgramSize);
    ObjectNode paths = root.putObject("path_normalization");
    paths.put("normalization", normalization.type().name());
    paths.put("path_with_escaped_slashes_action", normalization.escapedSlashes().name());
    ClusterHealthDump.render(root.putArray("cluster_health"), config.listeners().values(), clusterHosts);
    ArrayNode listeners = root.putArray("listeners");
    for (ListenerConfig l : config.listeners().values()) {
      ObjectNode ln = listeners.addObject();
      ln.put("port", l.port());
      ln.put("bind_port", l.bindPort());
      ln.put("open_connections", connections.getOrDefault(l.port(), 0));
      InetSocketAddress a = bound.get(l.port());
      ln.put("address", a == null ? "(not bound)" : a.getAddress().getHostAddress() + ":" + a.getPort());
      ln.put("protocol", l.tls() ? "HTTPS" : "HTTP");
      ArrayNode servers = ln.putArray("servers");
      // Each server's TLS once, by identity: a search per server would cost servers x hosts on an event loop.
      Map<ServerConfig, ServerTls> tlsByServer = new IdentityHashMap<>();
      tls.getOrDefault(l.port(), HostTable.empty()).entries().values().forEach(t -> tlsByServer.put(t.server(), t));
      for (ServerConfig s : l.servers()) {
        ObjectNode sn = servers.addObject();
        sn.put("name", s.routeName());
        sn.put("gateway", s.gateway());
        ArrayNode hosts = sn.putArray("hosts");
        s.hosts().forEach(h -> hosts.add(h.namespace().equals("*") ? h.host() : h.namespace() + "/" + h.host()));
        if (s.httpsRedirect()) {
          sn.put("https_redirect", true);
        }
        if (s.tls().isPresent()) {
          ServerConfig.TlsSettings t = s.tls().get();
          ObjectNode tn = sn.putObject("tls");
          tn.put("mode", t.mode());
          t.credentialName().ifPresent(c -> tn.put("credential_name", c));
          if (t.credentialNames().size() > 1) {
            ArrayNode names = tn.putArray("credential_names");
            t.credentialNames().forEach(names::add);
          }
          if (!t.certificateFiles().isEmpty()) {
            ArrayNode files = tn.putArray("certificate_files");
            t.certificateFiles().forEach(f -> files.addObject().put("server_certificate", f.serverCertificate()
                .toString()).put("private_key", f.privateKey().toString()));
          }
          ArrayNode protocols = tn.putArray("protocols");
          TlsContexts.protocols(t).forEach(protocols::add);
          ArrayNode ciphers = tn.putArray("cipher_suites");
          t.cipherSuites().forEach(ciphers::add);
          Optional<ServerTls> st = Optional.ofNullable(tlsByServer.get(s));
          st.flatMap(ServerTls::credential).ifPresent(c -> credential(tn.putObject("certificate"), c, clock));
          if (st.isPresent() && st.get().credentials().size() > 1) {
            ArrayNode certs = tn.putArray("certificates");
            st.get().credentials().forEach(c -> credential(certs.addObject().put("key_algorithm",
                c.key().getAlgorithm()), c, clock));
          }
          if (t.mutual()) {
            tn.put("client_certificate", t.mode().equals("MUTUAL") ? "required" : "optional");
            ArrayNode cas = tn.putArray("client_ca");
            st.ifPresent(x -> x.clientCa().forEach(ca -> cas.addObject()
                .put("subject", ca.getSubjectX500Principal().getName())
                .put("expiration_time", ca.getNotAfter().toInstant().toString())));
            st.flatMap(ServerTls::clientValidation).ifPresent(v -> {
              tn.put("client_ca_source", v.source());
              ArrayNode crls = tn.putArray("crls");
              v.crls().forEach(c -> crls.addObject().put("issuer", c.getIssuerX500Principal().getName())
                  .put("revoked", c.getRevokedCertificates() == null ? 0 : c.getRevokedCertificates().size())
                  .put("next_update", c.getNextUpdate() == null ? "" : c.getNextUpdate().toInstant().toString()));
            });
            ArrayNode sans = tn.putArray("subject_alt_names");
            t.subjectAltNames().forEach(sans::add);
            ArrayNode spki = tn.putArray("verify_certificate_spki");
            t.verifyCertificateSpki().forEach(d -> spki.add(java.util.Base64.getEncoder().encodeToString(d)));
            ArrayNode hash = tn.putArray("verify_certificate_hash");
            t.verifyCertificateHash().forEach(d -> hash.add(java.util.HexFormat.of().formatHex(d)));
          }
          st.filter(x -> !x.error().isEmpty()).ifPresent(x -> tn.put("error", x.error()));
          tn.put("serving", t.passthrough() || st.isPresent() && st.get().context().isPresent());
        }
      }
      if (!l.passthrough().entries().isEmpty()) {
        ArrayNode pass = ln.putArray("passthrough_routes");
        l.passthrough().entries().forEach((sni, route) -> {
          ObjectNode pn = pass.addObject().put("sni", sni).put("name", route.name());
          destinations(pn.putArray("route"), route.destinations());
        });
      }
      ArrayNode vhosts = ln.putArray("virtual_hosts");
      for (Map.Entry<String, VirtualHost> e : l.routes().entries().entrySet()) {
        ObjectNode vn = vhosts.addObject();
        vn.put("name", e.getValue().name());
        vn.put("domain", e.getKey());
        ArrayNode routes = vn.putArray("routes");
        for (HttpRoute r : e.getValue().routes()) {
          ObjectNode rn = routes.addObject();
          rn.put("name", r.name());
          ArrayNode match = rn.putArray("match");
          r.matches().stream().map(RouteMatch::describe).forEach(match::add);
          action(rn, r.action());
        }
      }
    }
    ClusterDump.render(root, config, upstreamTls);
    ArrayNode problems = root.putArray("problems");
    for (Problem p : config.problems()) {
      ObjectNode pn = problems.addObject();
      pn.put("severity", p.severity().name());
      pn.put("subject", p.subject());
      pn.put("source", p.source());
      pn.put("field", p.field());
      pn.put("message", p.message());
    }
    try {
      return JSON.writeValueAsString(root) + "\n";
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  /** Formats {@code d} as protobuf's JSON mapping of a Duration does: {@code "15s"}, {@code "0.5s"}. */
  static String seconds(Duration d) {
    return BigDecimal.valueOf(d.toNanos(), 9).stripTrailingZeros().toPlainString() + "s";
  }

  private static void credential(ObjectNode n, Credential c, Clock clock) {
    n.put("subject", c.leaf().getSubjectX500Principal().getName());
    n.put("issuer", c.leaf().getIssuerX500Principal().getName());
    ArrayNode sans = n.putArray("subject_alt_names");
    c.subjectAltNames().forEach(sans::add);
    n.put("serial_number", c.serialHex());
    n.put("not_after", c.notAfter().toString());
    n.put("days_until_expiration", Duration.between(clock.instant(), c.notAfter()).toDays());
    n.put("chain_length", c.chain().size());
  }

  private static void destinations(ArrayNode out, java.util.List<RouteAction.WeightedCluster> destinations) {
    for (RouteAction.WeightedCluster wc : destinations) {
      ObjectNode d = out.addObject();
      d.put("cluster", wc.cluster().name());
      d.put("weight", wc.weight());
      ArrayNode eps = d.putArray("endpoints");
      wc.cluster().endpoints().forEach(ep -> eps.add(ep.toString()));
    }
  }

  private static void action(ObjectNode rn, RouteAction a) {
    if (a instanceof RouteAction.Forward f) {
      destinations(rn.putArray("route"), f.destinations());
      f.rewriteUri().ifPresent(u -> rn.put("rewrite_uri", u).put("rewrite_full_path", f.rewriteFullPath()));
      if (!f.mirrors().isEmpty()) {
        ArrayNode ms = rn.putArray("request_mirror_policies"); // Envoy's name; cluster and share of requests
        for (RouteAction.Mirror m : f.mirrors()) {
          ms.addObject().put("cluster", m.cluster().name()).put("percent", m.percent());
        }
      }
      f.rewriteAuthority().ifPresent(u -> rn.put("rewrite_authority", u));
      if (!f.timeout().isZero()) {
        rn.put("timeout_ms", f.timeout().toMillis());
      }
      rn.put("retry_attempts", f.retries().attempts());
    } else if (a instanceof RouteAction.Redirect r) {
      ObjectNode rd = rn.putObject("redirect");
      rd.put("code", r.code());
      r.uri().ifPresent(u -> rd.put("uri", u).put("replace_prefix", r.replacePrefix()));
      if (r.port() > 0) {
        rd.put("port", r.port());
      }
      r.authority().ifPresent(u -> rd.put("authority", u));
      r.scheme().ifPresent(u -> rd.put("scheme", u));
    } else if (a instanceof RouteAction.DirectResponse d) {
      rn.putObject("direct_response").put("status", d.status()).put("body_bytes", d.body().length);
    }
  }
}
