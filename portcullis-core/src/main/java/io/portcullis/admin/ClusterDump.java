package io.portcullis.admin;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.portcullis.config.GatewayConfig;
import io.portcullis.config.ListenerConfig;
import io.portcullis.routing.Cluster;
import io.portcullis.routing.HttpRoute;
import io.portcullis.routing.RouteAction;
import io.portcullis.routing.TrafficPolicy;
import io.portcullis.routing.VirtualHost;
import io.portcullis.tls.ClientTlsContexts;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Renders the {@code clusters} of {@code /config_dump}: every upstream cluster a route or passthrough route sends to,
 * once, by Envoy's name, with its host, port, subset, protocol, endpoints and the traffic policy its DestinationRule
 * gave it. TLS settings are shown by mode, names and file paths only, with whether their client context loaded
 * ({@code serving}) and, when it did not, why ({@code error}: the field, the Secret or file; never key material).
 */
final class ClusterDump {
  private ClusterDump() {}

  /**
   * Adds {@code clusters} to {@code root}, in the order routes first name them.
   *
   * @param upstreamTls the client TLS contexts being served (whether each cluster's {@code tls} loaded)
   */
  static void render(ObjectNode root, GatewayConfig config, ClientTlsContexts.Table upstreamTls) {
    Map<String, Cluster> clusters = new LinkedHashMap<>();
    for (ListenerConfig l : config.listeners().values()) {
      l.passthrough().entries().values().forEach(r -> r.destinations()
          .forEach(wc -> clusters.putIfAbsent(wc.cluster().name(), wc.cluster())));
      for (VirtualHost vh : l.routes().entries().values()) {
        for (HttpRoute r : vh.routes()) {
          if (r.action() instanceof RouteAction.Forward f) {
            f.destinations().forEach(wc -> clusters.putIfAbsent(wc.cluster().name(), wc.cluster()));
          }
        }
      }
    }
    ArrayNode out = root.putArray("clusters");
    for (Cluster c : clusters.values()) {
      ObjectNode n = out.addObject();
      n.put("name", c.name());
      n.put("host", c.host());
      n.put("port", c.port());
      if (!c.subset().isEmpty()) {
        n.put("subset", c.subset());
      }
      n.put("protocol", c.protocol().name());
      ArrayNode eps = n.putArray("endpoints");
      c.endpoints().forEach(ep -> eps.add(ep.toString()));
      policy(n.putObject("traffic_policy"), c.policy());
      if (c.policy().tls().enabled()) {
        ClientTlsContexts.ClientTls ct = upstreamTls.lookup(c.policy().tls(), c.protocol());
        ObjectNode tls = (ObjectNode) n.path("traffic_policy").path("tls");
        tls.put("serving", ct.context().isPresent());
        if (ct.context().isEmpty()) {
          tls.put("error", ct.error());
        }
      }
    }
  }

  private static void policy(ObjectNode n, TrafficPolicy p) {
    TrafficPolicy.UpstreamTls t = p.tls();
    ObjectNode tls = n.putObject("tls");
    tls.put("mode", t.mode().name());
    if (t.enabled()) {
      t.credentialName().ifPresent(v -> tls.put("credential_name", v));
      t.clientCertificate().ifPresent(v -> tls.put("client_certificate", v.toString()));
      t.privateKey().ifPresent(v -> tls.put("private_key", v.toString()));
      t.caCertificates().ifPresent(v -> tls.put("ca_certificates", v.toString()));
      t.caCrl().ifPresent(v -> tls.put("ca_crl", v.toString()));
      t.sni().ifPresent(v -> tls.put("sni", v));
      ArrayNode sans = tls.putArray("subject_alt_names");
      t.subjectAltNames().forEach(sans::add);
      tls.put("insecure_skip_verify", t.insecureSkipVerify());
    }
    TrafficPolicy.ConnectionPool cp = p.connectionPool();
    ObjectNode pool = n.putObject("connection_pool");
    pool.put("max_connections", cp.maxConnections());
    pool.put("connect_timeout", ConfigDump.seconds(cp.connectTimeout()));
    cp.tcpKeepalive().ifPresent(k -> pool.putObject("tcp_keepalive").put("probes", k.probes())
        .put("time", ConfigDump.seconds(k.time())).put("interval", ConfigDump.seconds(k.interval())));
    pool.put("http1_max_pending_requests", cp.http1MaxPendingRequests());
    pool.put("http2_max_requests", cp.http2MaxRequests());
    pool.put("max_requests_per_connection", cp.maxRequestsPerConnection());
    pool.put("max_retries", cp.maxRetries());
    pool.put("idle_timeout", ConfigDump.seconds(cp.idleTimeout()));
    pool.put("h2_upgrade_policy", cp.h2UpgradePolicy().name());
    pool.put("use_client_protocol", cp.useClientProtocol());
    TrafficPolicy.LoadBalancer lb = p.loadBalancer();
    ObjectNode lbn = n.putObject("load_balancer");
    if (lb.consistentHash().isPresent()) {
      TrafficPolicy.LoadBalancer.ConsistentHash h = lb.consistentHash().get();
      ObjectNode hn = lbn.putObject("consistent_hash");
      hn.put("key", h.key().name());
      if (!h.name().isEmpty()) {
        hn.put("name", h.name());
      }
      if (h.key() == TrafficPolicy.LoadBalancer.ConsistentHash.Key.COOKIE) {
        hn.put("cookie_path", h.cookiePath()).put("cookie_ttl", ConfigDump.seconds(h.cookieTtl()));
      }
      hn.put("algorithm", h.algorithm().name());
      hn.put("table_size", h.tableSize());
    } else {
      lbn.put("simple", lb.simple().name());
    }
    if (!lb.warmup().isZero()) {
      lbn.put("warmup", ConfigDump.seconds(lb.warmup()));
    }
    p.outlierDetection().ifPresent(o -> n.putObject("outlier_detection")
        .put("consecutive_5xx_errors", o.consecutive5xxErrors())
        .put("consecutive_gateway_errors", o.consecutiveGatewayErrors())
        .put("interval", ConfigDump.seconds(o.interval()))
        .put("base_ejection_time", ConfigDump.seconds(o.baseEjectionTime()))
        .put("max_ejection_percent", o.maxEjectionPercent())
        .put("min_health_percent", o.minHealthPercent()));
  }
}
