package io.portcullis.routing;

import java.util.List;

/**
 * An upstream service as Envoy names it: {@code outbound|8000||httpbin.default.svc.cluster.local}.
 *
 * @param name Envoy's cluster name, used in the access log's {@code upstream_cluster}
 * @param host the service's fully qualified host
 * @param port the service port the route asked for
 * @param endpoints where to connect, picked by the policy's load balancer; when empty, requests answer 503
 *     {@code UH} (no healthy upstream) for a known service and {@code NC} (no cluster) for an unknown one
 * @param protocol what the upstream speaks, from the port's protocol (ServiceEntry {@code ports[].protocol})
 * @param subset the DestinationRule subset the endpoints were selected by ({@code ""} for the whole service); part
 *     of the name ({@code outbound|8000|v1|httpbin.default.svc.cluster.local})
 * @param policy how connections and requests go to the endpoints (DestinationRule {@code trafficPolicy})
 * @param known whether a service (ServiceEntry, Kubernetes Service) and, with a subset, its DestinationRule subset
 *     declare this cluster; false for a route to a host or subset nothing declares (Envoy's cluster not found)
 */
public record Cluster(String name, String host, int port, List<Endpoint> endpoints, Protocol protocol, String subset,
    TrafficPolicy policy, boolean known) {
  /**
   * The application protocol of an upstream port, from Istio's port protocols: {@code HTTP2}, {@code GRPC} and
   * {@code GRPC-WEB} are HTTP/2 with prior knowledge (h2c); {@code HTTP} and anything else is HTTP/1.1.
   */
  public enum Protocol {
    /** HTTP/1.1 keep-alive connections, one request at a time. */
    HTTP1,
    /** HTTP/2 with prior knowledge, multiplexed. */
    HTTP2;

    /** Returns the protocol of an Istio port protocol name ({@code HTTP2}, {@code GRPC}, ...; null is HTTP/1.1). */
    public static Protocol ofIstio(String name) {
      if (name == null) {
        return HTTP1;
      }
      return switch (name.toUpperCase(java.util.Locale.ROOT)) {
        case "HTTP2", "GRPC", "GRPC-WEB" -> HTTP2;
        default -> HTTP1;
      };
    }
  }

  /** Copies the endpoint list. */
  public Cluster {
    endpoints = List.copyOf(endpoints);
    java.util.Objects.requireNonNull(protocol, "protocol");
    java.util.Objects.requireNonNull(subset, "subset");
    java.util.Objects.requireNonNull(policy, "policy");
  }

  /** A cluster of a known service. */
  public Cluster(String name, String host, int port, List<Endpoint> endpoints, Protocol protocol, String subset,
      TrafficPolicy policy) {
    this(name, host, port, endpoints, protocol, subset, policy, true);
  }

  /**
   * Returns the cluster of a route to a host or subset nothing declares: no endpoints, requests answer 503
   * {@code NC}.
   */
  public static Cluster unknown(String host, int port, String subset) {
    return new Cluster(outboundName(host, port, subset), host, port, List.of(), Protocol.HTTP1, subset,
        TrafficPolicy.DEFAULT, false);
  }

  /** A cluster of the whole service with the default traffic policy. */
  public Cluster(String name, String host, int port, List<Endpoint> endpoints, Protocol protocol) {
    this(name, host, port, endpoints, protocol, "", TrafficPolicy.DEFAULT);
  }

  /** An HTTP/1.1 cluster of the whole service with the default traffic policy. */
  public Cluster(String name, String host, int port, List<Endpoint> endpoints) {
    this(name, host, port, endpoints, Protocol.HTTP1);
  }

  /** Returns Envoy's outbound cluster name for {@code host} and {@code port}. */
  public static String outboundName(String host, int port) {
    return outboundName(host, port, "");
  }

  /** Returns Envoy's outbound cluster name for {@code host}, {@code port} and {@code subset} ({@code ""}: none). */
  public static String outboundName(String host, int port, String subset) {
    return "outbound|" + port + "|" + subset + "|" + host;
  }
}
