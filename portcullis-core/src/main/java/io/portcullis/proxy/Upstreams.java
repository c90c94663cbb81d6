package io.portcullis.proxy;

import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;
import io.netty.resolver.AddressResolverGroup;
import io.netty.util.AttributeKey;
import io.portcullis.proxy.lb.Balancers;
import io.portcullis.proxy.lb.ClusterRegistry;
import io.portcullis.routing.Endpoint;
import java.net.SocketAddress;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * Upstream HTTP/1.1 keep-alive connections, pooled per (event loop, endpoint) so that a request and its upstream
 * connection share one event loop and no pool is touched by two threads. A connection that has sat in the pool for
 * the upstream idle timeout is closed (DestinationRule {@code connectionPool.http.idleTimeout}; counted as
 * {@code upstream_cx_idle_timeout}).
 */
final class Upstreams {
  static final AttributeKey<UpstreamListener> LISTENER = AttributeKey.valueOf("portcullis.upstream.listener");
  static final int CONNECT_TIMEOUT_MS = 10_000;
  static final int MAX_IDLE_PER_ENDPOINT = 1024;

  /** Every cluster's hosts, shared by the loops: requests in flight and outlier state. */
  private final ClusterRegistry clusters;
  private final Map<EventLoop, UpstreamCalls> calls = new ConcurrentHashMap<>();
  private final Class<? extends Channel> channelType;
  private final AddressResolverGroup<? extends SocketAddress> resolver;
  private final long idleTimeoutNanos;
  private final ProxyStats stats;

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
    private final Map<Endpoint, ArrayDeque<Channel>> idle = new HashMap<>();

    Pool(EventLoop loop) {
      this.bootstrap = new Bootstrap().group(loop).channel(channelType).resolver(resolver)
          .option(ChannelOption.TCP_NODELAY, true)
          .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, CONNECT_TIMEOUT_MS)
          .handler(new ChannelInitializer<Channel>() {
            @Override
            protected void initChannel(Channel ch) {
              ch.pipeline().addLast(new UpstreamCodec(4096, 65_536, 8192));
              ch.pipeline().addLast(new UpstreamHandler(stats, idleTimeoutNanos));
            }
          });
    }

    /** Returns the counters its connections count in. */
    ProxyStats stats() {
      return stats;
    }

    /** Returns an idle connection to {@code endpoint}, or starts a new one. */
    ChannelFuture acquire(Endpoint endpoint) {
      ArrayDeque<Channel> q = idle.get(endpoint);
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
      ChannelFuture f = bootstrap.connect(Addresses.upstream(endpoint));
      // Once per connection: wherever it is when it closes, it leaves the idle set.
      f.channel().closeFuture().addListener(c -> {
        ArrayDeque<Channel> idleNow = idle.get(endpoint);
        if (idleNow != null) {
          idleNow.remove(f.channel());
        }
      });
      return f;
    }

    /** Returns a connection whose exchange completed cleanly to the idle set. */
    void release(Endpoint endpoint, Channel ch) {
      ch.attr(LISTENER).set(null);
      if (!ch.isActive()) {
        return;
      }
      ArrayDeque<Channel> q = idle.computeIfAbsent(endpoint, e -> new ArrayDeque<>());
      if (q.size() >= MAX_IDLE_PER_ENDPOINT) {
        ch.close();
        return;
      }
      q.addLast(ch);
      ch.config().setAutoRead(true); // reading while idle: the upstream closing it is seen at once
      UpstreamHandler h = ch.pipeline().get(UpstreamHandler.class);
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
    private io.netty.channel.ChannelHandlerContext ctx;
    /** When the connection went back to the pool; -1 while a request uses it. */
    private long pooledSinceNanos = -1;
    private io.netty.util.concurrent.ScheduledFuture<?> timer;

    UpstreamHandler(ProxyStats stats, long idleTimeoutNanos) {
      this.stats = stats;
      this.idleTimeoutNanos = idleTimeoutNanos;
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
