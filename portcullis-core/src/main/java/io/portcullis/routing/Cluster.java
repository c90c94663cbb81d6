package io.portcullis.routing;

import java.util.List;

/**
 * An upstream service as Envoy names it: {@code outbound|8000||httpbin.default.svc.cluster.local}.
 *
 * @param name Envoy's cluster name, used in the access log's {@code upstream_cluster}
 * @param host the service's fully qualified host
 * @param port the service port the route asked for
 * @param endpoints where to connect, tried round-robin; empty when the service is unknown (answers 503 {@code NC})
 */
public record Cluster(String name, String host, int port, List<Endpoint> endpoints) {
  /** Copies the endpoint list. */
  public Cluster {
    endpoints = List.copyOf(endpoints);
  }

  /** Returns Envoy's outbound cluster name for {@code host} and {@code port}. */
  public static String outboundName(String host, int port) {
    return "outbound|" + port + "||" + host;
  }
}
