package io.portcullis.proxy;

import static java.util.Objects.requireNonNull;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.IoHandlerFactory;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.ServerChannel;
import io.netty.channel.epoll.EpollDatagramChannel;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.uring.IoUring;
import io.netty.channel.uring.IoUringDatagramChannel;
import io.netty.channel.uring.IoUringIoHandler;
import io.netty.channel.uring.IoUringServerSocketChannel;
import io.netty.channel.uring.IoUringSocketChannel;
import io.netty.channel.socket.DatagramChannel;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioDatagramChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.resolver.dns.DnsAddressResolverGroup;
import io.netty.resolver.dns.DnsNameResolverBuilder;
import io.portcullis.acme.Http01Challenges;
import io.portcullis.config.ListenerConfig;
import io.portcullis.proxy.lb.ClusterHosts;
import io.portcullis.routing.Cluster;
import io.portcullis.routing.Endpoint;
import io.portcullis.routing.HostTable;
import io.portcullis.routing.HttpRoute;
import io.portcullis.routing.RouteAction;
import io.portcullis.routing.TlsRoute;
import io.portcullis.routing.VirtualHost;
import io.portcullis.tls.ClientTlsContexts;
import io.portcullis.tls.TlsContexts.ServerTls;
import java.net.InetSocketAddress;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The Netty data plane: one server socket per Gateway port (io_uring or epoll where available, see {@link Transport}),
 * connections served on one event loop per core.
 *
 * <p>{@link #apply} swaps what each port serves without touching open connections: new ports are bound, removed ports
 * stop accepting (their open connections finish on the state they had), kept ports get the new state for their next
 * handshake and request. Call {@link #apply} from one thread at a time, never from an event loop (it waits for binds).
 */
public final class DataPlane implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(DataPlane.class);

  private final String bindAddress;
  private final AccessLog accessLog;
  private final Http01Challenges challenges;
  private final EventLoopGroup group;
  private final Class<? extends ServerChannel> serverChannelType;
  private final Upstreams upstreams;
  private final Map<Integer, Listener> listeners = new ConcurrentHashMap<>();
  private final DnsAddressResolverGroup resolver;
  private final ProxyLimits limits;
  private final PathNormalization normalization;
  private final ProxyStats stats = new ProxyStats();
  private final ClientTlsContexts upstreamTls = new ClientTlsContexts(ctx -> new UpstreamTlsHandshakes(ctx, stats));

  /**
   * Starts the event loops (none bound yet).
   *
   * @param bindAddress the address every Gateway port binds ({@code --bind}), e.g. {@code 0.0.0.0}
   * @param threads event loops; 0 for one per available processor
   * @param transport the socket transport wanted; the first available one is used ({@link Transport#resolve})
   * @param challenges the ACME HTTP-01 challenges every plain-HTTP listener answers before routing
   * @param limits the timeouts and size limits of every listener and upstream pool
   * @param normalization how request paths are normalised before routing ({@code --path-normalization})
   */
  public DataPlane(String bindAddress, AccessLog accessLog, int threads, Transport transport,
      Http01Challenges challenges, ProxyLimits limits, PathNormalization normalization) {
    this.normalization = requireNonNull(normalization, "normalization");
    this.limits = requireNonNull(limits, "limits");
    this.bindAddress = requireNonNull(bindAddress, "bindAddress");
    this.accessLog = requireNonNull(accessLog, "accessLog");
    this.challenges = requireNonNull(challenges, "challenges");
    Transport t = transport.resolve();
    boolean uring = t == Transport.IO_URING;
    boolean epoll = t == Transport.EPOLL;
    IoHandlerFactory io = uring ? IoUringIoHandler.newFactory()
        : epoll ? EpollIoHandler.newFactory() : NioIoHandler.newFactory();
    int n = threads > 0 ? threads : Runtime.getRuntime().availableProcessors();
    this.group = new MultiThreadIoEventLoopGroup(n, io);
    this.serverChannelType = uring ? IoUringServerSocketChannel.class
        : epoll ? EpollServerSocketChannel.class : NioServerSocketChannel.class;
    Class<? extends SocketChannel> socketType = uring ? IoUringSocketChannel.class
        : epoll ? EpollSocketChannel.class : NioSocketChannel.class;
    Class<? extends DatagramChannel> datagramType = uring ? IoUringDatagramChannel.class
        : epoll ? EpollDatagramChannel.class : NioDatagramChannel.class;
    this.resolver = new DnsAddressResolverGroup(new DnsNameResolverBuilder().datagramChannelType(datagramType)
        .socketChannelType(socketType));
    this.upstreams = new Upstreams(socketType, resolver, limits.upstreamIdleTimeout(), stats);
    log.info("data plane: {} event loops, {} transport (asked: {})", n, t, transport);
  }

  /**
   * Serves {@code config}: binds, rebinds and unbinds ports so that exactly its listeners are served.
   *
   * @param config by Gateway port
   * @param tls per TLS port, host to server credential
   * @param generation the configuration generation, for logs
   * @return by Gateway port, why it could not be bound (the rest still serve); empty when all are bound
   */
  public Map<Integer, String> apply(Map<Integer, ListenerConfig> config, Map<Integer, HostTable<ServerTls>> tls,
      long generation) {
    return apply(config, tls, ClientTlsContexts.Table.EMPTY, generation);
  }

  /**
   * As {@link #apply(Map, Map, long)}, with the client TLS contexts of the clusters' DestinationRule {@code tls}
   * (built by {@link #upstreamTlsContexts()} for {@code config}); they serve new upstream connects before the new
   * routes do.
   */
  public Map<Integer, String> apply(Map<Integer, ListenerConfig> config, Map<Integer, HostTable<ServerTls>> tls,
      ClientTlsContexts.Table upstreamTls, long generation) {
    upstreams.upstreamTls(upstreamTls);
    Map<Integer, String> errors = new HashMap<>();
    Map<Integer, Listener> old = new HashMap<>(listeners);
    for (ListenerConfig lc : config.values()) {
      ListenerState state = new ListenerState(lc, tls.getOrDefault(lc.port(), HostTable.empty()), generation);
      Listener existing = old.remove(lc.port());
      if (existing != null && existing.state().config().bindPort() == lc.bindPort()
          && existing.state().config().tls() == lc.tls() && existing.serverChannel() != null) {
        existing.update(state);
        continue;
      }
      if (existing != null) {
        unbind(existing);
      }
      Listener l = new Listener(lc.port(), state);
      try {
        Channel ch = new ServerBootstrap().group(group).channel(serverChannelType)
            .option(ChannelOption.SO_BACKLOG, 1024)
            .option(ChannelOption.SO_REUSEADDR, true)
            .childOption(ChannelOption.TCP_NODELAY, true)
            .childHandler(new GatewayChannelInitializer(l, upstreams, accessLog, challenges, limits,
                stats, normalization))
            .bind(new InetSocketAddress(bindAddress, lc.bindPort())).syncUninterruptibly().channel();
        l.bound(ch);
        listeners.put(lc.port(), l);
        log.info("listener {}: {} on {} ({} servers)", lc.port(), lc.tls() ? "HTTPS" : "HTTP", ch.localAddress(),
            lc.servers().size());
      } catch (Exception e) {
        String msg = "listener " + lc.port() + ": cannot bind " + bindAddress + ":" + lc.bindPort() + ": " + e;
        errors.put(lc.port(), msg);
        log.error(msg);
      }
    }
    for (Listener gone : old.values()) {
      unbind(gone);
    }
    Map<String, Cluster> clusters = clusters(config.values());
    upstreams.retainClusters(clusters.keySet()); // hosts and outlier state of removed clusters go
    Map<Endpoint, java.util.Set<io.portcullis.routing.TrafficPolicy.ConnectionPool>> pools = new HashMap<>();
    clusters.values().forEach(c -> c.endpoints().forEach(e -> pools.computeIfAbsent(e, x -> new java.util.HashSet<>())
        .add(c.policy().connectionPool())));
    upstreams.retainEndpoints(pools); // connections to endpoints, or under settings, no cluster has any more close
    return errors;
  }

  /** Returns every cluster the routes of {@code listeners} forward to, by name, in route order. */
  public static Map<String, Cluster> clusters(Collection<ListenerConfig> listeners) {
    Map<String, Cluster> out = new LinkedHashMap<>();
    for (ListenerConfig l : listeners) {
      for (TlsRoute t : l.passthrough().entries().values()) {
        t.destinations().forEach(wc -> out.putIfAbsent(wc.cluster().name(), wc.cluster()));
      }
      for (VirtualHost vh : l.routes().entries().values()) {
        for (HttpRoute r : vh.routes()) {
          if (r.action() instanceof RouteAction.Forward f) {
            f.destinations().forEach(wc -> out.putIfAbsent(wc.cluster().name(), wc.cluster()));
          }
        }
      }
    }
    return out;
  }

  /**
   * Returns the hosts of cluster {@code name} (endpoints with their requests in flight and outlier ejections), or
   * empty when no request has gone to it yet ({@code /config_dump}).
   */
  public Optional<ClusterHosts> clusterHosts(String name) {
    return Optional.ofNullable(upstreams.clusters().find(name));
  }

  private void unbind(Listener l) {
    listeners.remove(l.port());
    if (l.serverChannel() != null) {
      l.serverChannel().close().awaitUninterruptibly(5, TimeUnit.SECONDS);
      log.info("listener {}: closed (open connections finish)", l.port());
    }
  }

  /** Returns the client TLS contexts being served (the last {@link #apply}'s table), for the admin server. */
  public ClientTlsContexts.Table upstreamTlsTable() {
    return upstreams.upstreamTls();
  }

  /**
   * Returns the store of upstream client TLS contexts: build a configuration's with it (off the event loops), then
   * pass the table to {@link #apply(Map, Map, ClientTlsContexts.Table, long)}. Its contexts count their handshakes
   * in {@link #stats()}.
   */
  public ClientTlsContexts upstreamTlsContexts() {
    return upstreamTls;
  }

  /** Returns the data plane's counters ({@code /stats}). */
  public ProxyStats stats() {
    return stats;
  }

  /** Returns the limits every listener applies ({@code /config_dump}). */
  public ProxyLimits limits() {
    return limits;
  }

  /** Returns how request paths are normalised ({@code /config_dump}). */
  public PathNormalization normalization() {
    return normalization;
  }

  /** Returns the connections open now on each Gateway port. */
  public Map<Integer, Integer> openConnections() {
    Map<Integer, Integer> out = new HashMap<>();
    listeners.forEach((port, l) -> out.put(port, l.connections()));
    return out;
  }

  /** Returns the local address each Gateway port is bound to. */
  public Map<Integer, InetSocketAddress> boundAddresses() {
    Map<Integer, InetSocketAddress> out = new HashMap<>();
    listeners.forEach((port, l) -> {
      if (l.serverChannel() != null) {
        out.put(port, (InetSocketAddress) l.serverChannel().localAddress());
      }
    });
    return out;
  }

  @Override
  public void close() {
    for (Listener l : List.copyOf(listeners.values())) {
      unbind(l);
    }
    resolver.close();
    // Bounded: a stop must never hang, even if an event loop died (as when the jar is replaced under a running JVM).
    if (!group.shutdownGracefully(0, 2, TimeUnit.SECONDS).awaitUninterruptibly(5, TimeUnit.SECONDS)) {
      log.warn("data plane: event loops did not stop within 5 s; exiting anyway");
    }
  }
}
