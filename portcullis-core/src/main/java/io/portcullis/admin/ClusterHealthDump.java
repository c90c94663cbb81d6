package io.portcullis.admin;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.portcullis.config.ListenerConfig;
import io.portcullis.proxy.DataPlane;
import io.portcullis.proxy.lb.ClusterHosts;
import io.portcullis.proxy.lb.HealthyHosts;
import io.portcullis.proxy.lb.Host;
import io.portcullis.routing.Cluster;
import io.portcullis.routing.Endpoint;
import java.util.Collection;
import java.util.Optional;
import java.util.function.Function;

/**
 * Renders the {@code cluster_health} of {@code /config_dump}: each cluster the routes forward to, by Envoy's name,
 * with its endpoints' health as Envoy's {@code /clusters} shows it: {@code health_flags} {@code healthy}, or
 * {@code /failed_outlier_check} while outlier detection has ejected the endpoint; the times it was ejected; its
 * requests in flight. {@code panic} when too few endpoints are healthy ({@code minHealthPercent}) and all are used.
 * Endpoints of a cluster no request has reached yet show as healthy with no history.
 */
final class ClusterHealthDump {
  private ClusterHealthDump() {}

  static void render(ArrayNode out, Collection<ListenerConfig> listeners,
      Function<String, Optional<ClusterHosts>> hosts) {
    for (Cluster c : DataPlane.clusters(listeners).values()) {
      ObjectNode cn = out.addObject();
      cn.put("name", c.name());
      Optional<ClusterHosts> ch = hosts.apply(c.name());
      if (ch.isPresent()) {
        HealthyHosts healthy = ch.get().healthy(System.nanoTime());
        cn.put("healthy_endpoints", healthy.panic() ? 0 : healthy.size());
        cn.put("panic", healthy.panic());
      }
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
