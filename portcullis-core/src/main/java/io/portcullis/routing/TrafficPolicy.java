package io.portcullis.routing;

import static java.util.Objects.requireNonNull;

import java.time.Duration;
import java.util.List;
import java.util.Optional;

/**
 * How the gateway talks to one {@link Cluster}'s endpoints: Istio's DestinationRule {@code trafficPolicy}, for the
 * cluster's port ({@code portLevelSettings} merged in) and subset ({@code subsets[].trafficPolicy} merged in), as
 * the translator resolved it. {@link #DEFAULT} is what a cluster without a DestinationRule gets.
 *
 * @param tls Istio {@code trafficPolicy.tls}: TLS origination to the endpoints
 * @param connectionPool Istio {@code trafficPolicy.connectionPool}: connection and request limits
 * @param loadBalancer Istio {@code trafficPolicy.loadBalancer}: how an endpoint is picked per request
 * @param outlierDetection Istio {@code trafficPolicy.outlierDetection}, or empty when off
 */
public record TrafficPolicy(UpstreamTls tls, ConnectionPool connectionPool, LoadBalancer loadBalancer,
    Optional<OutlierDetection> outlierDetection) {
  /** No TLS, Istio's connection-pool defaults, round robin, no outlier detection. */
  public static final TrafficPolicy DEFAULT = new TrafficPolicy(UpstreamTls.DISABLED, ConnectionPool.DEFAULT,
      LoadBalancer.DEFAULT, Optional.empty());

  /** Checks the parts are set. */
  public TrafficPolicy {
    requireNonNull(tls, "tls");
    requireNonNull(connectionPool, "connectionPool");
    requireNonNull(loadBalancer, "loadBalancer");
    requireNonNull(outlierDetection, "outlierDetection");
  }

  /**
   * Istio {@code ClientTLSSettings}: whether and how the gateway originates TLS to the endpoints.
   *
   * <p>Exactly one client-certificate form is set for {@code MUTUAL}: {@code credentialName} or the
   * {@code clientCertificate} / {@code privateKey} files. The upstream's certificate is verified against
   * {@code caCertificates} (or the CA found beside {@code credentialName}; else the JDK's trust store), its chain and
   * its name ({@code subjectAltNames} if given, else the SNI or the cluster's host) unless
   * {@code insecureSkipVerify}.
   *
   * @param mode {@code DISABLE}: plain; {@code SIMPLE}: TLS; {@code MUTUAL}: TLS with a client certificate
   * @param credentialName a Secret's {@code namespace/name} holding the client key and certificate
   *     ({@code tls.key}/{@code tls.crt} or {@code key}/{@code cert}) and the upstream CA ({@code ca.crt} or
   *     {@code cacert}); Istio {@code credentialName}, looked up in the gateway's namespace
   * @param clientCertificate a PEM file with the client certificate chain (Istio {@code clientCertificate})
   * @param privateKey a PEM file with the client key (Istio {@code privateKey})
   * @param caCertificates a PEM file of trust anchors for the upstream's certificate (Istio {@code caCertificates})
   * @param caCrl a PEM file of revocation lists for the upstream's chain (Istio {@code caCrl})
   * @param sni the server name sent in the handshake (Istio {@code sni}); empty: the cluster's host
   * @param subjectAltNames the upstream's certificate must carry one of these (Istio {@code subjectAltNames},
   *     exact); empty: the SNI (or host) is checked instead
   * @param insecureSkipVerify Istio {@code insecureSkipVerify}: no chain or name check at all
   */
  public record UpstreamTls(Mode mode, Optional<String> credentialName, Optional<java.nio.file.Path> clientCertificate,
      Optional<java.nio.file.Path> privateKey, Optional<java.nio.file.Path> caCertificates,
      Optional<java.nio.file.Path> caCrl, Optional<String> sni, List<String> subjectAltNames,
      boolean insecureSkipVerify) {
    /** Plain connections (Istio {@code DISABLE}). */
    public static final UpstreamTls DISABLED = new UpstreamTls(Mode.DISABLE, Optional.empty(), Optional.empty(),
        Optional.empty(), Optional.empty(), Optional.empty(), Optional.empty(), List.of(), false);

    /** Copies the list. */
    public UpstreamTls {
      requireNonNull(mode, "mode");
      subjectAltNames = List.copyOf(subjectAltNames);
    }

    /** Returns whether connections are TLS ({@code SIMPLE} or {@code MUTUAL}). */
    public boolean enabled() {
      return mode != Mode.DISABLE;
    }

    /** Istio {@code ClientTLSSettings.TLSmode}, without {@code ISTIO_MUTUAL} (the mesh's, not supported here). */
    public enum Mode {
      /** No TLS. */
      DISABLE,
      /** TLS; the upstream's certificate is verified. */
      SIMPLE,
      /** TLS with a client certificate. */
      MUTUAL
    }
  }

  /**
   * Istio {@code ConnectionPoolSettings} ({@code tcp} and {@code http}), as Envoy's circuit breakers and cluster
   * options apply them. Limits are per cluster for the whole gateway; a request over {@code http1MaxPendingRequests}
   * or {@code http2MaxRequests} answers 503 with Envoy's {@code UO} flag.
   *
   * @param maxConnections Istio {@code tcp.maxConnections}: upstream connections at once (Istio's default:
   *     2^32-1, kept here as {@link Integer#MAX_VALUE})
   * @param connectTimeout Istio {@code tcp.connectTimeout} (default 10 s)
   * @param tcpKeepalive Istio {@code tcp.tcpKeepalive}, or empty for the system's defaults
   * @param http1MaxPendingRequests Istio {@code http.http1MaxPendingRequests}: requests waiting for a connection
   * @param http2MaxRequests Istio {@code http.http2MaxRequests}: requests in flight to the cluster
   * @param maxRequestsPerConnection Istio {@code http.maxRequestsPerConnection}; 0 for no limit
   * @param maxRetries Istio {@code http.maxRetries}: retries in flight to the cluster at once
   * @param idleTimeout Istio {@code http.idleTimeout}: an upstream connection unused this long is closed
   *     (default 1 h)
   * @param h2UpgradePolicy Istio {@code http.h2UpgradePolicy}
   * @param useClientProtocol Istio {@code http.useClientProtocol}: speak to the upstream in the client's protocol
   */
  public record ConnectionPool(int maxConnections, Duration connectTimeout, Optional<TcpKeepalive> tcpKeepalive,
      int http1MaxPendingRequests, int http2MaxRequests, int maxRequestsPerConnection, int maxRetries,
      Duration idleTimeout, H2UpgradePolicy h2UpgradePolicy, boolean useClientProtocol) {
    /** Istio's defaults: no limits, 10 s to connect, 1 h idle. */
    public static final ConnectionPool DEFAULT = new ConnectionPool(Integer.MAX_VALUE, Duration.ofSeconds(10),
        Optional.empty(), Integer.MAX_VALUE, Integer.MAX_VALUE, 0, Integer.MAX_VALUE, Duration.ofHours(1),
        H2UpgradePolicy.DEFAULT, false);

    /** Checks the limits and durations. */
    public ConnectionPool {
      requireNonNull(connectTimeout, "connectTimeout");
      requireNonNull(tcpKeepalive, "tcpKeepalive");
      requireNonNull(idleTimeout, "idleTimeout");
      requireNonNull(h2UpgradePolicy, "h2UpgradePolicy");
      if (maxConnections < 1 || http1MaxPendingRequests < 1 || http2MaxRequests < 1 || maxRequestsPerConnection < 0
          || maxRetries < 0) {
        throw new IllegalArgumentException("connection pool limits: " + maxConnections + ", "
            + http1MaxPendingRequests + ", " + http2MaxRequests + ", " + maxRequestsPerConnection + ", " + maxRetries
            + " (expected: >= 1, per request per connection and retries >= 0)");
      }
    }

    /**
     * Istio {@code tcp.tcpKeepalive}: SO_KEEPALIVE with these settings.
     *
     * @param probes unanswered probes before the connection is dropped; 0 for the system's
     * @param time idle time before the first probe; zero for the system's
     * @param interval time between probes; zero for the system's
     */
    public record TcpKeepalive(int probes, Duration time, Duration interval) {}

    /** Istio {@code ConnectionPoolSettings.HTTPSettings.H2UpgradePolicy}. */
    public enum H2UpgradePolicy {
      /** The port's protocol decides. */
      DEFAULT,
      /** HTTP/1.1 even if the mesh would upgrade. */
      DO_NOT_UPGRADE,
      /** HTTP/2 to the upstream for an HTTP/1.1 port. */
      UPGRADE
    }
  }

  /**
   * Istio {@code LoadBalancerSettings}: how an endpoint is picked per request.
   *
   * @param simple Istio {@code simple}, when {@code consistentHash} is empty
   * @param consistentHash Istio {@code consistentHash}, or empty
   * @param warmup Istio {@code warmupDurationSecs}: a new endpoint's share grows over this long; zero for none
   */
  public record LoadBalancer(Simple simple, Optional<ConsistentHash> consistentHash, Duration warmup) {
    /** Round robin, no warm-up. */
    public static final LoadBalancer DEFAULT = new LoadBalancer(Simple.ROUND_ROBIN, Optional.empty(), Duration.ZERO);

    /** Checks the parts are set. */
    public LoadBalancer {
      requireNonNull(simple, "simple");
      requireNonNull(consistentHash, "consistentHash");
      requireNonNull(warmup, "warmup");
    }

    /** Istio {@code LoadBalancerSettings.SimpleLB}. */
    public enum Simple {
      /** In turn. */
      ROUND_ROBIN,
      /** The less loaded of two random endpoints (Envoy's power of two choices). */
      LEAST_REQUEST,
      /** Uniformly at random. */
      RANDOM,
      /** To the address the request was for (Envoy's original destination); no endpoint list. */
      PASSTHROUGH
    }

    /**
     * Istio {@code consistentHash}: requests with the same key go to the same endpoint while the endpoint set
     * stays, and adding an endpoint moves about 1/N of the keys.
     *
     * @param key what is hashed
     * @param name the header, cookie or query parameter name ({@code ""} for the source IP)
     * @param cookiePath Istio {@code httpCookie.path}: the path of the cookie set when absent
     * @param cookieTtl Istio {@code httpCookie.ttl}: the cookie's lifetime; zero for a session cookie
     * @param algorithm ring hash or Maglev
     * @param tableSize ring hash: the minimum ring size (Istio {@code ringHash.minimumRingSize}, default 1024);
     *     Maglev: the table size, a prime (Istio {@code maglev.tableSize}, default 65537)
     */
    public record ConsistentHash(Key key, String name, String cookiePath, Duration cookieTtl, Algorithm algorithm,
        long tableSize) {
      /** Checks the parts are set. */
      public ConsistentHash {
        requireNonNull(key, "key");
        requireNonNull(name, "name");
        requireNonNull(cookiePath, "cookiePath");
        requireNonNull(cookieTtl, "cookieTtl");
        requireNonNull(algorithm, "algorithm");
      }

      /** What a consistent hash is computed from. */
      public enum Key {
        /** Istio {@code httpHeaderName}. */
        HEADER,
        /** Istio {@code httpCookie}; the gateway sets the cookie when the request has none. */
        COOKIE,
        /** Istio {@code useSourceIp}. */
        SOURCE_IP,
        /** Istio {@code httpQueryParameterName}. */
        QUERY_PARAMETER
      }

      /** Istio's {@code ringHash} or {@code maglev}. */
      public enum Algorithm {
        /** Ketama-style ring (Envoy {@code RING_HASH}). */
        RING_HASH,
        /** Maglev lookup table (Envoy {@code MAGLEV}). */
        MAGLEV
      }
    }
  }

  /**
   * Istio {@code OutlierDetection}, as Envoy's outlier detection applies it: an endpoint that fails this many times
   * in a row is ejected (gets no traffic) for {@code baseEjectionTime} × the number of times it was ejected, then
   * returned; at most {@code maxEjectionPercent} of the endpoints are ejected at once, and none while fewer than
   * {@code minHealthPercent} are healthy.
   *
   * @param consecutive5xxErrors Istio {@code consecutive5xxErrors}: 5xx answers (and connect failures, resets,
   *     timeouts) in a row that eject; 0 disables (default 5)
   * @param consecutiveGatewayErrors Istio {@code consecutiveGatewayErrors}: 502, 503, 504 (and connect failures)
   *     in a row that eject; 0 disables (default)
   * @param interval Istio {@code interval}: how often ejections are reviewed (default 10 s)
   * @param baseEjectionTime Istio {@code baseEjectionTime} (default 30 s)
   * @param maxEjectionPercent Istio {@code maxEjectionPercent} (default 10; 0..100)
   * @param minHealthPercent Istio {@code minHealthPercent} (default 0; 0..100)
   */
  public record OutlierDetection(int consecutive5xxErrors, int consecutiveGatewayErrors, Duration interval,
      Duration baseEjectionTime, int maxEjectionPercent, int minHealthPercent) {
    /** Checks the ranges. */
    public OutlierDetection {
      requireNonNull(interval, "interval");
      requireNonNull(baseEjectionTime, "baseEjectionTime");
      if (consecutive5xxErrors < 0 || consecutiveGatewayErrors < 0 || maxEjectionPercent < 0
          || maxEjectionPercent > 100 || minHealthPercent < 0 || minHealthPercent > 100) {
        throw new IllegalArgumentException("outlier detection: " + consecutive5xxErrors + ", "
            + consecutiveGatewayErrors + ", " + maxEjectionPercent + " %, " + minHealthPercent
            + " % (expected: counts >= 0, percentages 0..100)");
      }
    }
  }
}
