package io.portcullis.proxy;

import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
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
  private final Upstreams.Pool http1;
  private final Http2UpstreamPool http2;
  private final Balancers balancers;

  UpstreamCalls(Upstreams.Pool http1, Http2UpstreamPool http2, Balancers balancers) {
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
   * Opens a call to {@code endpoint} reporting to {@code listener}; returns the pending open, or null when it
   * completed at once (a pooled connection, or a failure known at once).
   *
   * <p>A cluster whose DestinationRule says {@code tls} {@code SIMPLE} or {@code MUTUAL} is reached over TLS with the
   * context built for that setting when the configuration was applied (looked up, never built, here): SNI is
   * {@code tls.sni}, else the cluster's host; HTTP/2 clusters negotiate ALPN {@code h2}, the others
   * {@code http/1.1}. When the setting has no usable context, {@code callback} fails at once with
   * {@link ClientTlsContexts.Unavailable}.
   */
  Pending open(Cluster cluster, Endpoint endpoint, UpstreamCall.Listener listener, Callback callback) {
    SslContext ssl = null;
    String sni = null;
    TrafficPolicy.UpstreamTls tls = cluster.policy().tls();
    if (tls.enabled()) {
      ClientTlsContexts.ClientTls ct = http1.upstreamTls().lookup(tls, cluster.protocol());
      if (ct.context().isEmpty()) {
        callback.failed(new ClientTlsContexts.Unavailable(ct.error()));
        return null;
      }
      ssl = ct.context().get();
      sni = tls.sni().orElse(cluster.host());
    }
    if (cluster.protocol() == Cluster.Protocol.HTTP2) {
      Http2UpstreamPool.Pending p = http2.acquire(endpoint, ssl, sni, cluster.policy().connectionPool(),
          balancers.hosts(cluster).breakers(),
          connection -> callback.opened(new Http2UpstreamCall(listener).open(connection)), callback::failed);
      return p == Http2UpstreamPool.Pending.NONE ? null : p::cancel;
    }
    ChannelFuture acquired = http1.acquire(endpoint, ssl, sni, cluster.policy().connectionPool());
    if (acquired.isDone()) {
      complete(acquired, endpoint, listener, callback);
      return null;
    }
    boolean[] cancelled = {false};
    acquired.addListener((ChannelFutureListener) f -> {
      if (cancelled[0]) {
        if (f.isSuccess()) {
          f.channel().close(); // a new connection the exchange no longer needs: never pooled unused
        }
        return;
      }
      complete(f, endpoint, listener, callback);
    });
    return () -> {
      cancelled[0] = true;
      acquired.channel().close();
    };
  }

  private void complete(ChannelFuture f, Endpoint endpoint, UpstreamCall.Listener listener, Callback callback) {
    if (f.isSuccess()) {
      callback.opened(new Http1UpstreamCall(f.channel(), http1, endpoint, listener));
    } else {
      callback.failed(f.cause());
    }
  }
}
