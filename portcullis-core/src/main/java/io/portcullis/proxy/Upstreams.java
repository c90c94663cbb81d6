package io.portcullis.proxy;

import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.ChannelPromise;
import io.netty.channel.EventLoop;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslHandler;
import io.netty.resolver.AddressResolverGroup;
import io.netty.util.AttributeKey;
import io.portcullis.proxy.lb.Balancers;
import io.portcullis.proxy.lb.ClusterRegistry;
import io.portcullis.routing.Endpoint;
import io.portcullis.routing.TrafficPolicy;
import io.portcullis.tls.ClientTlsContexts;
import java.net.SocketAddress;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * Upstream HTTP/1.1 keep-alive connections, pooled per (event loop, endpoint, TLS context, SNI) so that a request and
 * its upstream connection share one event loop, no pool is touched by two threads, and plain and TLS connections (or
 * two TLS settings) never mix. A TLS connection is handed out only once its handshake (SNI, ALPN {@code http/1.1},
 * the upstream's certificate checked as the DestinationRule's {@code tls} says) completed; a failed one fails the
 * acquire with the handshake's cause. A connection that has sat in the pool for the upstream idle timeout is closed
 * (DestinationRule {@code connectionPool.http.idleTimeout}; counted as {@code upstream_cx_idle_timeout}).
 *
 * <p>Also holds the current {@link ClientTlsContexts.Table}, swapped by the configuration thread
 * ({@link #upstreamTls(ClientTlsContexts.Table)}) and read by requests.
 */
final class Upstreams {
  static final AttributeKey<UpstreamListener> LISTENER = AttributeKey.valueOf("portcullis.upstream.listener");
  /** The idle-set key of a pooled connection: its endpoint (plain), or a {@link TlsKey}. */
  private static final AttributeKey<Object> POOL_KEY = AttributeKey.valueOf("portcullis.upstream.pool-key");
  static final int CONNECT_TIMEOUT_MS = 10_000;
  static final int MAX_IDLE_PER_ENDPOINT = 1024;

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

  /**
   * The idle-set key of a TLS connection, or of one made under a DestinationRule {@code connectionPool}: a context is
   * compared by identity (one per DestinationRule setting); {@code ssl} and {@code sni} are null for plain ones.
   */
  private record TlsKey(Endpoint endpoint, SslContext ssl, String sni, TrafficPolicy.ConnectionPool pool) {
    @Override
    public boolean equals(Object o) {
      return o instanceof TlsKey k && k.ssl == ssl && k.endpoint.equals(endpoint)
          && java.util.Objects.equals(k.sni, sni) && k.pool.equals(pool);
    }

    @Override
    public int hashCode() {
      return ((endpoint.hashCode() * 31 + System.identityHashCode(ssl)) * 31 + java.util.Objects.hashCode(sni)) * 31
          + pool.hashCode();
    }
  }

  /** Returns the upstream calls of {@code loop}; call only on that loop. */
  UpstreamCalls calls(EventLoop loop) {
    return calls.computeIfAbsent(loop, l -> new UpstreamCalls(new Pool(l), new Http2UpstreamPool(l, channelType,
        resolver, Duration.ofMillis(CONNECT_TIMEOUT_MS),
        Http2UpstreamLimits.defaults().withIdleTimeout(Duration.ofNanos(idleTimeoutNanos)), stats),
        new Balancers(clusters)));
  }

  /** What the upstream connection's handler reports to; set while a request uses the connection. */
  interface UpstreamListener {
    /** An {@code HttpObject} from upstream; the listener owns (releases) it. */
    void upstreamRead(Object msg);

    /** A read batch from upstream ended: flush what it produced and decide whether to read on. */
    void upstreamReadComplete();

    /** The upstream connection closed. */
    void upstreamClosed();

    /** The upstream connection failed. */
    void upstreamException(Throwable cause);
  }

  /** One event loop's connections. Not thread-safe: used only on its loop. */
  final class Pool {
    private final Bootstrap bootstrap;
    /** By endpoint (plain connections) or {@link TlsKey}. */
    private final Map<Object, ArrayDeque<Channel>> idle = new HashMap<>();

    Pool(EventLoop loop) {
      this.bootstrap = new Bootstrap().group(loop).channel(channelType).resolver(resolver)
          .option(ChannelOption.TCP_NODELAY, true)
          .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, CONNECT_TIMEOUT_MS)
          .handler(new ChannelInitializer<Channel>() {
            @Override
            protected void initChannel(Channel ch) {
              ch.pipeline().addLast(new UpstreamCodec(4096, 65_536, 8192));
              ch.pipeline().addLast(new UpstreamHandler(stats, idleTimeoutNanos, 0));
            }
          });
    }

    /** Returns the counters its connections count in. */
    ProxyStats stats() {
      return stats;
    }

    /** Returns the client TLS contexts of the configuration being served. */
    ClientTlsContexts.Table upstreamTls() {
      return upstreamTls;
    }

    /** Returns an idle plain connection to {@code endpoint}, or starts a new one. */
    ChannelFuture acquire(Endpoint endpoint) {
      return acquire(endpoint, null, null, TrafficPolicy.ConnectionPool.DEFAULT);
    }

    /**
     * Returns an idle connection to {@code endpoint} made with {@code ssl} and {@code sni}, or starts a new one: the
     * future completes when it is connected and, for TLS, its handshake is done, or fails with why not.
     *
     * @param ssl null for plain HTTP/1.1, else a client context offering ALPN {@code http/1.1}
     * @param sni the TLS server name, also the name the upstream's certificate is checked against (unless the
     *     context checks {@code subjectAltNames} instead), and the key of the context's session cache; ignored
     *     when {@code ssl} is null
     * @param pool the cluster's DestinationRule {@code connectionPool}: a connection made under it is closed after
     *     {@code maxRequestsPerConnection} requests and when idle for {@code idleTimeout};
     *     {@link TrafficPolicy.ConnectionPool#DEFAULT} (no DestinationRule setting) keeps the gateway's
     *     {@code --upstream-idle-timeout}
     */
    ChannelFuture acquire(Endpoint endpoint, SslContext ssl, String sni, TrafficPolicy.ConnectionPool pool) {
      boolean defaults = pool == TrafficPolicy.ConnectionPool.DEFAULT;
      Object key = ssl == null && defaults ? endpoint : new TlsKey(endpoint, ssl, ssl == null ? null : sni, pool);
      ArrayDeque<Channel> q = idle.get(key);
      while (q != null && !q.isEmpty()) {
        Channel ch = q.pollLast();
        if (ch.isActive()) {
          UpstreamHandler h = ch.pipeline().get(UpstreamHandler.class);
          if (h != null) {
            h.inUse();
          }
          return ch.newSucceededFuture();
        }
      }
      ChannelFuture f = (ssl == null && defaults ? bootstrap : bootstrap(endpoint, ssl, sni, pool))
          .connect(Addresses.upstream(endpoint));
      Channel ch = f.channel();
      ch.attr(POOL_KEY).set(key);
      // Once per connection: wherever it is when it closes, it leaves the idle set.
      ch.closeFuture().addListener(c -> {
        ArrayDeque<Channel> idleNow = idle.get(key);
        if (idleNow != null) {
          idleNow.remove(ch);
        }
      });
      if (ssl == null) {
        if (f.isDone()) {
          countFailure(f);
        } else {
          f.addListener(this::countFailure);
        }
        return f;
      }
      ChannelPromise ready = ch.newPromise();
      f.addListener(cf -> {
        if (!cf.isSuccess()) {
          countFailure(cf);
          ready.tryFailure(cf.cause());
          return;
        }
        ch.pipeline().get(SslHandler.class).handshakeFuture().addListener(hf -> {
          if (hf.isSuccess()) {
            ready.trySuccess();
          } else {
            countFailure(hf);
            ready.tryFailure(hf.cause());
            ch.close();
          }
        });
      });
      return ready;
    }

    /** Counts a failed connect or handshake, but not one the request gave up on (it closed the channel). */
    private void countFailure(io.netty.util.concurrent.Future<?> f) {
      if (!f.isSuccess() && !f.isCancelled() && !(f.cause() instanceof java.nio.channels.ClosedChannelException)) {
        stats.inc(ProxyStats.UPSTREAM_CX_CONNECT_FAIL);
      }
    }

    /**
     * The pool's bootstrap for a connection with TLS first in the pipeline (SNI {@code sni}, the session cache keyed
     * by it) when {@code ssl} is set, and the idle timeout and request limit of {@code pool}.
     */
    private Bootstrap bootstrap(Endpoint endpoint, SslContext ssl, String sni, TrafficPolicy.ConnectionPool pool) {
      long idle = pool == TrafficPolicy.ConnectionPool.DEFAULT ? idleTimeoutNanos : pool.idleTimeout().toNanos();
      int maxRequests = pool.maxRequestsPerConnection();
      return bootstrap.clone().handler(new ChannelInitializer<Channel>() {
        @Override
        protected void initChannel(Channel ch) {
          if (ssl != null) {
            ch.pipeline().addLast(ssl.newHandler(ch.alloc(), sni, endpoint.port()));
          }
          ch.pipeline().addLast(new UpstreamCodec(4096, 65_536, 8192));
          ch.pipeline().addLast(new UpstreamHandler(stats, idle, maxRequests));
        }
      });
    }

    /** Returns a connection whose exchange completed cleanly to the idle set it was made for. */
    void release(Endpoint endpoint, Channel ch) {
      ch.attr(LISTENER).set(null);
      if (!ch.isActive()) {
        return;
      }
      UpstreamHandler h = ch.pipeline().get(UpstreamHandler.class);
      if (h != null && h.requestDone()) {
        stats.inc(ProxyStats.UPSTREAM_CX_MAX_REQUESTS); // DestinationRule maxRequestsPerConnection reached
        ch.close();
        return;
      }
      Object key = ch.attr(POOL_KEY).get();
      ArrayDeque<Channel> q = idle.computeIfAbsent(key == null ? endpoint : key, e -> new ArrayDeque<>());
      if (q.size() >= MAX_IDLE_PER_ENDPOINT) {
        ch.close();
        return;
      }
      q.addLast(ch);
      ch.config().setAutoRead(true); // reading while idle: the upstream closing it is seen at once
      if (h != null) {
        h.pooled();
      }
    }
  }

  /**
   * Opens a plain TCP connection to {@code endpoint} on {@code loop} (a {@code PASSTHROUGH} stream), with
   * {@code AUTO_READ} off: the caller reads as its writes complete.
   */
  ChannelFuture connectTcp(EventLoop loop, Endpoint endpoint, io.netty.channel.ChannelHandler handler) {
    return new Bootstrap().group(loop).channel(channelType).resolver(resolver)
        .option(ChannelOption.TCP_NODELAY, true)
        .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, CONNECT_TIMEOUT_MS)
        .option(ChannelOption.AUTO_READ, false)
        .handler(handler)
        .connect(Addresses.upstream(endpoint));
  }

  /** Passes upstream events to the exchange currently using the connection. */
  private static final class UpstreamHandler extends io.netty.channel.ChannelInboundHandlerAdapter {
    private final ProxyStats stats;
    private final long idleTimeoutNanos;
    /** DestinationRule {@code maxRequestsPerConnection}; 0 for no limit. */
    private final int maxRequests;
    private int requests;
    private io.netty.channel.ChannelHandlerContext ctx;
    /** When the connection went back to the pool; -1 while a request uses it. */
    private long pooledSinceNanos = -1;
    private io.netty.util.concurrent.ScheduledFuture<?> timer;

    UpstreamHandler(ProxyStats stats, long idleTimeoutNanos, int maxRequests) {
      this.stats = stats;
      this.idleTimeoutNanos = idleTimeoutNanos;
      this.maxRequests = maxRequests;
    }

    /** A request on this connection completed; returns whether that was its last ({@code maxRequestsPerConnection}). */
    boolean requestDone() {
      requests++;
      return maxRequests > 0 && requests >= maxRequests;
    }

    @Override
    public void handlerAdded(io.netty.channel.ChannelHandlerContext ctx) {
      this.ctx = ctx;
    }

    /** Back in the pool: the idle clock starts. One timer per connection, re-armed for what is left. */
    void pooled() {
      pooledSinceNanos = System.nanoTime();
      if (timer == null && idleTimeoutNanos > 0) {
        timer = ctx.executor().schedule(this::check, idleTimeoutNanos, TimeUnit.NANOSECONDS);
      }
    }

    /** Taken from the pool by a request: the idle clock stops (the request's own timeouts apply). */
    void inUse() {
      pooledSinceNanos = -1;
    }

    private void check() {
      timer = null;
      if (pooledSinceNanos < 0 || !ctx.channel().isActive()) {
        return; // in use: pooled() arms it again
      }
      long left = idleTimeoutNanos - (System.nanoTime() - pooledSinceNanos);
      if (left > 0) {
        timer = ctx.executor().schedule(this::check, left, TimeUnit.NANOSECONDS);
        return;
      }
      stats.inc(ProxyStats.UPSTREAM_CX_IDLE_TIMEOUT);
      ctx.close();
    }

    @Override
    public void channelRead(io.netty.channel.ChannelHandlerContext ctx, Object msg) {
      UpstreamListener l = ctx.channel().attr(LISTENER).get();
      if (l == null) {
        io.netty.util.ReferenceCountUtil.release(msg);
        ctx.close(); // unsolicited data on an idle connection: it cannot be reused
        return;
      }
      l.upstreamRead(msg);
    }

    @Override
    public void channelReadComplete(io.netty.channel.ChannelHandlerContext ctx) {
      UpstreamListener l = ctx.channel().attr(LISTENER).get();
      if (l != null) {
        l.upstreamReadComplete();
      }
    }

    @Override
    public void channelInactive(io.netty.channel.ChannelHandlerContext ctx) {
      if (timer != null) {
        timer.cancel(false); // else it would hold the closed channel until the idle timeout
        timer = null;
      }
      UpstreamListener l = ctx.channel().attr(LISTENER).getAndSet(null);
      if (l != null) {
        l.upstreamClosed();
      }
    }

    @Override
    public void exceptionCaught(io.netty.channel.ChannelHandlerContext ctx, Throwable cause) {
      UpstreamListener l = ctx.channel().attr(LISTENER).getAndSet(null);
      ctx.close();
      if (l != null) {
        l.upstreamException(cause);
      }
    }
  }
}
