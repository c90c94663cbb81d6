package io.portcullis.admin;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.portcullis.config.ListenerConfig;
import io.portcullis.proxy.DataPlane;
import io.portcullis.proxy.lb.ClusterHosts;
import io.portcullis.proxy.lb.Host;
import io.portcullis.routing.Cluster;
import io.portcullis.routing.Endpoint;
import io.portcullis.routing.TrafficPolicy;
import java.util.Collection;
import java.util.Optional;
import java.util.function.Function;

/**
 * Renders the {@code clusters} of {@code /config_dump}: each cluster the routes forward to, with its load-balancer
 * policy, its outlier detection, and its endpoints' health as Envoy's {@code /clusters} shows it
 * ({@code health_flags}: {@code healthy} or {@code /failed_outlier_check} while ejected, times ejected, requests in
 * flight). Endpoints of a cluster no request has reached yet show as healthy with no history.
 */
final class ClustersDump {
  private ClustersDump() {}

  static void render(ArrayNode out, Collection<ListenerConfig> listeners,
      Function<String, Optional<ClusterHosts>> hosts) {
    for (Cluster c : DataPlane.clusters(listeners).values()) {
      ObjectNode cn = out.addObject();
      cn.put("name", c.name());
      TrafficPolicy.LoadBalancer lb = c.policy().loadBalancer();
      ObjectNode ln = cn.putObject("load_balancer");
      if (lb.consistentHash().isPresent()) {
        TrafficPolicy.LoadBalancer.ConsistentHash h = lb.consistentHash().get();
        ln.put("policy", h.algorithm().name());
        ln.put("hash_key", h.key().name() + (h.name().isEmpty() ? "" : " " + h.name()));
        ln.put(h.algorithm() == TrafficPolicy.LoadBalancer.ConsistentHash.Algorithm.MAGLEV ? "table_size"
            : "minimum_ring_size", h.tableSize());
      } else {
        ln.put("policy", lb.simple().name());
      }
      if (!lb.warmup().isZero()) {
        ln.put("slow_start_window", ConfigDump.seconds(lb.warmup()));
      }
      c.policy().outlierDetection().ifPresent(od -> cn.putObject("outlier_detection")
          .put("consecutive_5xx", od.consecutive5xxErrors())
          .put("consecutive_gateway_failure", od.consecutiveGatewayErrors())
          .put("interval", ConfigDump.seconds(od.interval()))
          .put("base_ejection_time", ConfigDump.seconds(od.baseEjectionTime()))
          .put("max_ejection_percent", od.maxEjectionPercent())
          .put("min_health_percent", od.minHealthPercent()));
      Optional<ClusterHosts> ch = hosts.apply(c.name());
      ArrayNode eps = cn.putArray("endpoints");
      for (Endpoint e : c.endpoints()) {
        ObjectNode en = eps.addObject().put("address", e.toString());
        Host h = ch.map(x -> x.host(e)).orElse(null);
        en.put("health_flags", h != null && h.ejected() ? "/failed_outlier_check" : "healthy");
        en.put("ejections", h == null ? 0 : h.ejections());
        en.put("active_requests", h == null ? 0 : h.active());
      }
    }
  }
}
