package io.portcullis.proxy;

import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;
import io.netty.resolver.AddressResolverGroup;
import io.portcullis.proxy.lb.Balancers;
import io.portcullis.proxy.lb.ClusterRegistry;
import io.portcullis.routing.Endpoint;
import io.portcullis.routing.TrafficPolicy;
import io.portcullis.tls.ClientTlsContexts;
import java.net.SocketAddress;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The data plane's way to upstreams: every event loop's {@link UpstreamCalls} (its HTTP/1.1 pool,
 * {@link Http1UpstreamPool}, and its HTTP/2 pool, {@link Http2UpstreamPool}), every cluster's shared hosts, and
 * the current {@link ClientTlsContexts.Table}, swapped by the configuration thread
 * ({@link #upstreamTls(ClientTlsContexts.Table)}) and read by requests.
 */
final class Upstreams {
  static final int CONNECT_TIMEOUT_MS = 10_000;

  /** Every cluster's hosts, shared by the loops: requests in flight and outlier state. */
  private final ClusterRegistry clusters;
  private final Map<EventLoop, UpstreamCalls> calls = new ConcurrentHashMap<>();
  private final Class<? extends Channel> channelType;
  private final AddressResolverGroup<? extends SocketAddress> resolver;
  private final long idleTimeoutNanos;
  private final ProxyStats stats;
  private volatile ClientTlsContexts.Table upstreamTls = ClientTlsContexts.Table.EMPTY;

  /** @param idleTimeout how long a pooled connection may sit idle before it is closed; zero for ever */
  Upstreams(Class<? extends Channel> channelType, AddressResolverGroup<? extends SocketAddress> resolver,
      Duration idleTimeout, ProxyStats stats) {
    this.channelType = channelType;
    this.resolver = resolver;
    this.idleTimeoutNanos = idleTimeout.toNanos();
    this.stats = stats;
    this.clusters = new ClusterRegistry(stats::add);
  }

  /** Returns every cluster's shared hosts (load, outlier state). */
  ClusterRegistry clusters() {
    return clusters;
  }

  /**
   * Forgets the hosts of the clusters not in {@code names} (a new configuration dropped them), on every loop's
   * balancers too; called off the event loops.
   */
  void retainClusters(java.util.Set<String> names) {
    clusters.retain(names);
    calls.forEach((loop, c) -> loop.execute(c::pruneBalancers));
  }

  /**
   * Closes, on every loop, the connections to an endpoint that no cluster has any more, or made under a
   * DestinationRule {@code connectionPool} that no cluster of the endpoint has any more (a new configuration removed
   * or changed them: Envoy drains a removed host's pools, and a changed cluster's): HTTP/1.1 idle ones at once, the
   * others after their request; HTTP/2 ones drained with GOAWAY. Called off the event loops.
   *
   * @param live each endpoint of the configuration, with the {@code connectionPool} settings its clusters have
   */
  void retainEndpoints(java.util.Map<Endpoint, java.util.Set<TrafficPolicy.ConnectionPool>> live) {
    calls.forEach((loop, c) -> loop.execute(() -> c.retainEndpoints(live)));
  }

  ProxyStats stats() {
    return stats;
  }

  /** Serves the client TLS contexts of a new configuration from the next connect on. Any thread. */
  void upstreamTls(ClientTlsContexts.Table table) {
    upstreamTls = java.util.Objects.requireNonNull(table, "table");
  }

  /** Returns the client TLS contexts of the configuration being served. Called on event loops. */
  ClientTlsContexts.Table upstreamTls() {
    return upstreamTls;
  }

  /** Returns the upstream calls of {@code loop}; call only on that loop. */
  UpstreamCalls calls(EventLoop loop) {
    return calls.computeIfAbsent(loop, l -> new UpstreamCalls(new Http1UpstreamPool(l, channelType, resolver,
        idleTimeoutNanos, stats, this::upstreamTls), new Http2UpstreamPool(l, channelType,
        resolver, Duration.ofMillis(CONNECT_TIMEOUT_MS),
        Http2UpstreamLimits.defaults().withIdleTimeout(Duration.ofNanos(idleTimeoutNanos)), stats),
        new Balancers(clusters)));
  }

  /**
   * Opens a plain TCP connection to {@code endpoint} on {@code loop} (a {@code PASSTHROUGH} stream), with
   * {@code AUTO_READ} off: the caller reads as its writes complete; {@code pool}'s {@code tcp} options
   * ({@code connectTimeout}, {@code tcpKeepalive}) apply.
   */
  ChannelFuture connectTcp(EventLoop loop, Endpoint endpoint, TrafficPolicy.ConnectionPool pool,
      io.netty.channel.ChannelHandler handler) {
    Bootstrap b = new Bootstrap().group(loop).channel(channelType).resolver(resolver)
        .option(ChannelOption.TCP_NODELAY, true)
        .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, CONNECT_TIMEOUT_MS)
        .option(ChannelOption.AUTO_READ, false)
        .handler(handler);
    return (pool == TrafficPolicy.ConnectionPool.DEFAULT ? b : UpstreamSockets.configure(b, channelType, pool))
        .connect(Addresses.upstream(endpoint));
  }
}
