package io.portcullis.proxy;

import io.netty.handler.ssl.SslContext;
import io.portcullis.proxy.lb.Balancers;
import io.portcullis.proxy.lb.ClusterHosts;
import io.portcullis.proxy.lb.Host;
import io.portcullis.routing.Cluster;
import io.portcullis.routing.Endpoint;
import io.portcullis.routing.TrafficPolicy;
import io.portcullis.tls.ClientTlsContexts;
import java.util.HashMap;
import java.util.Map;

/**
 * One event loop's way to upstreams: picks an endpoint of a cluster and opens a call on it, over a pooled HTTP/1.1
 * connection or a multiplexed HTTP/2 one as the cluster's protocol says, plain or TLS as its DestinationRule's
 * {@code tls} says. Not thread-safe: used only on its loop.
 *
 * <p>Endpoints are picked by the cluster's DestinationRule {@code loadBalancer}, among the hosts its outlier
 * detection has not ejected ({@link Balancers}).
 */
final class UpstreamCalls {
  private final Http1UpstreamPool http1;
  private final Http2UpstreamPool http2;
  private final Balancers balancers;

  UpstreamCalls(Http1UpstreamPool http1, Http2UpstreamPool http2, Balancers balancers) {
    this.http1 = http1;
    this.http2 = http2;
    this.balancers = balancers;
  }

  /** What {@link #open} reports, on the loop. */
  interface Callback {
    void opened(UpstreamCall call);

    void failed(Throwable cause);
  }

  /** An open in progress; {@link #cancel()} closes a connection made only for it. */
  interface Pending {
    void cancel();
  }

  /**
   * Picks the next endpoint of {@code cluster} by its load-balancer policy without a hash key (a TLS passthrough
   * stream); null when every endpoint is ejected.
   */
  Endpoint next(Cluster cluster) {
    Host h = balancers.pick(cluster, 0, false, null);
    return h == null ? null : h.endpoint();
  }

  /**
   * Closes the connections to endpoints, or under settings, not in {@code live} (HTTP/1.1: the idle ones, and the others as their request
   * ends; HTTP/2: drained with GOAWAY); see {@link Upstreams#retainEndpoints}.
   */
  void retainEndpoints(java.util.Map<Endpoint, java.util.Set<TrafficPolicy.ConnectionPool>> live) {
    http1.retainEndpoints(live);
    http2.retainEndpoints(live);
  }

  /** Forgets the balancers of clusters the configuration no longer has. */
  void pruneBalancers() {
    balancers.prune();
  }

  /** Returns the shared hosts (load, outlier state) of {@code cluster}. */
  ClusterHosts hosts(Cluster cluster) {
    return balancers.hosts(cluster);
  }

  /**
   * Picks the host of a request's attempt among {@code hosts} ({@link Balancers#pick(ClusterHosts, long, boolean,
   * Host)}); null when none can take it (503 {@code UH}).
   */
  Host pick(ClusterHosts hosts, long hash, boolean hashed, Host avoid) {
    return balancers.pick(hosts, hash, hashed, avoid);
  }

  /**
   * Returns the protocol a request is sent upstream in: the client's when the cluster's DestinationRule says
   * {@code connectionPool.http.useClientProtocol} (Envoy's {@code use_downstream_protocol_config}; an HTTP/2 client's
   * WebSocket, an extended CONNECT, still goes as HTTP/1.1's upgrade), else the cluster's.
   */
  static Cluster.Protocol protocol(Cluster cluster, boolean clientHttp2) {
    if (!cluster.policy().connectionPool().useClientProtocol()) {
      return cluster.protocol();
    }
    return clientHttp2 ? Cluster.Protocol.HTTP2 : Cluster.Protocol.HTTP1;
  }

  /**
   * Opens a call to {@code endpoint} reporting to {@code listener}, in {@link #protocol(Cluster, boolean)} (the
   * client speaks HTTP/2 when {@code clientHttp2}); returns the pending open, or null when it
   * completed at once (a pooled connection, or a failure known at once).
   *
   * <p>A cluster whose DestinationRule says {@code tls} {@code SIMPLE} or {@code MUTUAL} is reached over TLS with the
   * context built for that setting when the configuration was applied (looked up, never built, here): SNI is
   * {@code tls.sni}, else the cluster's host; HTTP/2 clusters negotiate ALPN {@code h2}, the others
   * {@code http/1.1}. When the setting has no usable context, {@code callback} fails at once with
   * {@link ClientTlsContexts.Unavailable}.
   */
  Pending open(Cluster cluster, Endpoint endpoint, boolean clientHttp2, UpstreamCall.Listener listener,
      Callback callback) {
    Cluster.Protocol protocol = protocol(cluster, clientHttp2);
    SslContext ssl = null;
    String sni = null;
    TrafficPolicy.UpstreamTls tls = cluster.policy().tls();
    if (tls.enabled()) {
      ClientTlsContexts.ClientTls ct = http1.upstreamTls().lookup(tls, protocol);
      if (ct.context().isEmpty()) {
        callback.failed(new ClientTlsContexts.Unavailable(ct.error()));
        return null;
      }
      ssl = ct.context().get();
      sni = tls.sni().orElse(cluster.host());
    }
    if (protocol == Cluster.Protocol.HTTP2) {
      Http2UpstreamPool.Pending p = http2.acquire(endpoint, ssl, sni, cluster.policy().connectionPool(),
          balancers.hosts(cluster).breakers(),
          connection -> callback.opened(new Http2UpstreamCall(listener).open(connection)), callback::failed);
      return p == Http2UpstreamPool.Pending.NONE ? null : p::cancel;
    }
    return http1.acquire(endpoint, ssl, sni, cluster.policy().connectionPool(), balancers.hosts(cluster).breakers(),
        new Http1UpstreamPool.Acquired() {
          @Override
          public void ready(io.netty.channel.Channel ch) {
            callback.opened(new Http1UpstreamCall(ch, http1, endpoint, listener));
          }

          @Override
          public void failed(Throwable cause) {
            callback.failed(cause);
          }
        });
  }
}
