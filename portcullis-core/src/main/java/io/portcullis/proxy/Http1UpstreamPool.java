package io.portcullis.proxy;

import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslHandler;
import io.netty.resolver.AddressResolverGroup;
import io.netty.util.AttributeKey;
import io.portcullis.proxy.lb.CircuitBreakers;
import io.portcullis.routing.Endpoint;
import io.portcullis.routing.TrafficPolicy;
import io.portcullis.tls.ClientTlsContexts;
import java.net.SocketAddress;
import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/**
 * One event loop's HTTP/1.1 connections, by endpoint (plain, no DestinationRule {@code connectionPool}) or
 * {@link TlsKey}. A request takes an idle connection, or opens one; when the cluster has its DestinationRule
 * {@code tcp.maxConnections} open already and this loop has a connection to the endpoint, the request waits
 * (up to {@code http1MaxPendingRequests} waiting in the cluster, beyond which it is refused: 503 {@code UO}) for
 * the next connection released here, or for a connection's close to make room. As in Envoy, a loop with no
 * connection to the endpoint opens one even at the limit, so no waiter is stranded. Not thread-safe: used only on
 * its loop.
 */
final class Http1UpstreamPool {
  static final AttributeKey<UpstreamListener> LISTENER = AttributeKey.valueOf("portcullis.upstream.listener");
  /** The idle-set key of a pooled connection: its endpoint (plain), or a {@link TlsKey}. */
  private static final AttributeKey<Object> POOL_KEY = AttributeKey.valueOf("portcullis.upstream.pool-key");
  static final int MAX_IDLE_PER_ENDPOINT = 1024;
  private final Class<? extends Channel> channelType;
  private final long idleTimeoutNanos;
  private final ProxyStats stats;
  private final Supplier<ClientTlsContexts.Table> upstreamTls;
  private final Bootstrap bootstrap;
  private final Map<Object, KeyState> keys = new HashMap<>();

  /**
   * @param loop the event loop whose requests this pool serves; its connections run on it
   * @param channelType the socket channel type (epoll, io_uring or NIO), as the listeners use
   * @param resolver resolves DNS endpoints without blocking the loop
   * @param idleTimeoutNanos how long a pooled connection without a DestinationRule setting may sit idle
   *     ({@code --upstream-idle-timeout}), ns; 0 for ever
   * @param upstreamTls the client TLS contexts of the configuration being served
   */
  Http1UpstreamPool(EventLoop loop, Class<? extends Channel> channelType,
      AddressResolverGroup<? extends SocketAddress> resolver, long idleTimeoutNanos, ProxyStats stats,
      Supplier<ClientTlsContexts.Table> upstreamTls) {
    this.channelType = channelType;
    this.idleTimeoutNanos = idleTimeoutNanos;
    this.stats = stats;
    this.upstreamTls = upstreamTls;
    this.bootstrap = new Bootstrap().group(loop).channel(channelType).resolver(resolver)
        .option(ChannelOption.TCP_NODELAY, true)
        .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, Upstreams.CONNECT_TIMEOUT_MS)
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
    return upstreamTls.get();
  }

  /**
   * Gets a connection to {@code endpoint} made with {@code ssl}, {@code sni} and {@code pool}: an idle one at once,
   * else a new one when connected and, for TLS, its handshake done, or, at the cluster's
   * {@code tcp.maxConnections}, one released or made room for later.
   *
   * @param ssl null for plain HTTP/1.1, else a client context offering ALPN {@code http/1.1}
   * @param sni the TLS server name, also the name the upstream's certificate is checked against (unless the
   *     context checks {@code subjectAltNames} instead), and the key of the context's session cache; ignored
   *     when {@code ssl} is null
   * @param pool the cluster's DestinationRule {@code connectionPool}: its {@code tcp} options apply to new
   *     connections; a connection made under it is closed after {@code maxRequestsPerConnection} requests and
   *     when idle for {@code idleTimeout}; {@link TrafficPolicy.ConnectionPool#DEFAULT} (no DestinationRule
   *     setting) keeps the gateway's {@code --upstream-idle-timeout}
   * @param breakers the cluster's circuit breakers: its connections and waiting requests are counted there
   * @return the waiting or connecting request, to cancel when it no longer wants the connection; null when
   *     {@code acquired} was called already
   */
  UpstreamCalls.Pending acquire(Endpoint endpoint, SslContext ssl, String sni, TrafficPolicy.ConnectionPool pool,
      CircuitBreakers breakers, Acquired acquired) {
    boolean defaults = pool == TrafficPolicy.ConnectionPool.DEFAULT;
    Object key = ssl == null && defaults ? endpoint : new TlsKey(endpoint, ssl, ssl == null ? null : sni, pool);
    KeyState k = keys.computeIfAbsent(key, x -> new KeyState(key, endpoint, ssl, sni, pool));
    Channel idleChannel = k.pollIdle();
    if (idleChannel != null) {
      acquired.ready(idleChannel);
      return null;
    }
    Waiter w = new Waiter(k, breakers, acquired);
    if (k.open == 0 || breakers.connections() < pool.maxConnections()) {
      connect(k, w);
      return w.done ? null : w;
    }
    stats.inc(ProxyStats.UPSTREAM_CX_OVERFLOW);
    if (!breakers.tryPending(pool.http1MaxPendingRequests())) {
      stats.inc(ProxyStats.UPSTREAM_RQ_PENDING_OVERFLOW);
      acquired.failed(new PendingOverflowException(endpoint, breakers.pending(), pool.http1MaxPendingRequests()
          + " (DestinationRule connectionPool.http.http1MaxPendingRequests)"));
      return null;
    }
    w.queued = true;
    k.waiters.addLast(w);
    return w;
  }

  /** Opens a connection of {@code k} for {@code w}; counted in the loop's key and the cluster's breakers. */
  private void connect(KeyState k, Waiter w) {
    boolean plain = k.key instanceof Endpoint;
    ChannelFuture f = (plain ? bootstrap : bootstrap(k.endpoint, k.ssl, k.sni, k.pool))
        .connect(Addresses.upstream(k.endpoint));
    Channel ch = f.channel();
    if (f.isDone() && !f.isSuccess() && !ch.isRegistered()) {
      // failed before it had a channel of its own (no socket: EMFILE; registration refused): its close future never
      // completes, so it is not counted
      countFailure(f);
      w.failed(f.cause());
      return;
    }
    w.connecting = ch;
    ch.attr(POOL_KEY).set(k.key);
    k.open++;
    CircuitBreakers breakers = w.breakers;
    breakers.connectionOpened();
    // Once per connection: wherever it is when it closes, it leaves the idle set and makes room for a waiter.
    ch.closeFuture().addListener(c -> {
      k.idle.remove(ch);
      k.open--;
      breakers.connectionClosed();
      serveWaiter(k);
    });
    if (k.ssl == null) {
      if (f.isDone()) {
        connected(f, w);
      } else {
        f.addListener(cf -> connected(f, w));
      }
      return;
    }
    f.addListener(cf -> {
      if (!cf.isSuccess()) {
        connected(f, w);
        return;
      }
      io.netty.util.concurrent.Future<Channel> hs = ch.pipeline().get(SslHandler.class).handshakeFuture();
      hs.addListener(hf -> {
        if (!hf.isSuccess()) {
          ch.close();
        }
        connected(hf, w);
      });
    });
  }

  /** A connect (or its TLS handshake) made for {@code w} completed. */
  private void connected(io.netty.util.concurrent.Future<?> f, Waiter w) {
    Channel ch = w.connecting;
    w.connecting = null;
    if (!f.isSuccess()) {
      countFailure(f);
      w.failed(f.cause());
      return;
    }
    if (w.cancelled) {
      handOff(ch); // a new connection the request no longer needs: to a waiter, else closed (never pooled unused)
      return;
    }
    w.ready(ch);
  }

  /** Gives {@code ch} (unused) to the key's next waiter if it is still open, else closes it. */
  private void handOff(Channel ch) {
    KeyState k = keys.get(ch.attr(POOL_KEY).get());
    Waiter next = k == null || !ch.isActive() ? null : k.nextWaiter();
    if (next == null) {
      ch.close();
    } else {
      next.ready(ch);
    }
  }

  /** A connection of {@code k} closed: its next waiter may connect now (the cluster's count dropped). */
  private void serveWaiter(KeyState k) {
    Waiter next = k.peekWaiter();
    if (next != null && (k.open == 0 || next.breakers.connections() < k.pool.maxConnections())) {
      connect(k, k.nextWaiter());
    }
    if (k.open == 0 && k.peekWaiter() == null && k.idle.isEmpty()) {
      keys.remove(k.key, k);
    }
  }

  /** Counts a failed connect or handshake, but not one the request gave up on (it closed the channel). */
  private void countFailure(io.netty.util.concurrent.Future<?> f) {
    if (!f.isSuccess() && !f.isCancelled() && !(f.cause() instanceof java.nio.channels.ClosedChannelException)) {
      stats.inc(ProxyStats.UPSTREAM_CX_CONNECT_FAIL);
      if (f.cause() instanceof io.netty.channel.ConnectTimeoutException) {
        stats.inc(ProxyStats.UPSTREAM_CX_CONNECT_TIMEOUT);
      }
    }
  }

  /**
   * The pool's bootstrap for a connection with TLS first in the pipeline (SNI {@code sni}, the session cache keyed
   * by it) when {@code ssl} is set, and the {@code tcp} options, idle timeout and request limit of {@code pool}.
   */
  private Bootstrap bootstrap(Endpoint endpoint, SslContext ssl, String sni, TrafficPolicy.ConnectionPool pool) {
    long idle = pool == TrafficPolicy.ConnectionPool.DEFAULT ? idleTimeoutNanos : pool.idleTimeout().toNanos();
    int maxRequests = pool.maxRequestsPerConnection();
    Bootstrap b = bootstrap.clone().handler(new ChannelInitializer<Channel>() {
      @Override
      protected void initChannel(Channel ch) {
        if (ssl != null) {
          SslHandler tls = ssl.newHandler(ch.alloc(), sni, endpoint.port());
          // the handshake has the connect timeout too (Envoy's connect_timeout ends when the TLS socket is up)
          tls.setHandshakeTimeoutMillis(ch.config().getConnectTimeoutMillis());
          ch.pipeline().addLast(tls);
        }
        ch.pipeline().addLast(new UpstreamCodec(4096, 65_536, 8192));
        ch.pipeline().addLast(new UpstreamHandler(stats, idle, maxRequests));
      }
    });
    return pool == TrafficPolicy.ConnectionPool.DEFAULT ? b : UpstreamSockets.configure(b, channelType, pool);
  }

  /**
   * Closes the idle connections to endpoints not in {@code live}, or made under a {@code connectionPool} setting its
   * endpoint no longer has, and marks their keys so that a connection in use is closed, not pooled, when its request
   * ends.
   */
  void retainEndpoints(java.util.Map<Endpoint, java.util.Set<TrafficPolicy.ConnectionPool>> live) {
    for (KeyState k : new java.util.ArrayList<>(keys.values())) {
      k.removed = !live.getOrDefault(k.endpoint, java.util.Set.of()).contains(k.pool);
      if (k.removed) {
        for (Channel ch : new java.util.ArrayList<>(k.idle)) {
          ch.close();
        }
      }
    }
  }

  /**
   * Takes back a connection whose exchange completed cleanly: to the key's next waiting request, else to the idle
   * set it was made for.
   */
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
    KeyState k = keys.get(key == null ? endpoint : key);
    if (k == null) {
      ch.close();
      return;
    }
    if (k.peekWaiter() != null) {
      // After the releasing exchange has unwound, the next request starts on a connection no one else holds. The
      // waiter stays queued (and cancellable, holding its pending slot) until then; a close meanwhile is the close
      // listener's to handle.
      ch.eventLoop().execute(() -> {
        if (ch.isActive()) {
          handOffOrPool(k, ch, h);
        }
      });
      return;
    }
    handOffOrPool(k, ch, h);
  }

  /** Gives a released, open connection to the key's next waiter, else back to the idle set (or closes it). */
  private void handOffOrPool(KeyState k, Channel ch, UpstreamHandler h) {
    ch.config().setAutoRead(true); // a request's own reading starts from here; idle, the upstream's close is seen
    Waiter next = k.nextWaiter();
    if (next != null) {
      next.ready(ch);
      return;
    }
    if (k.removed || k.idle.size() >= MAX_IDLE_PER_ENDPOINT) {
      ch.close(); // its endpoint or setting left the configuration, or the idle set is full
      return;
    }
    k.idle.addLast(ch);
    if (h != null) {
      h.pooled();
    }
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

  /** What {@link #acquire} reports, on the pool's loop: exactly one of the two, once, unless cancelled. */
  interface Acquired {
    /** A connection, connected (and its TLS handshake done), for the request alone until it is released. */
    void ready(Channel ch);

    /** Why no connection: the connect or handshake failed, or {@link PendingOverflowException}. */
    void failed(Throwable cause);
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

  /** One pool key's connections on one loop: idle ones, how many are open or opening, and requests waiting. */
  private static final class KeyState {
    final Object key;
    final Endpoint endpoint;
    final SslContext ssl;
    final String sni;
    final TrafficPolicy.ConnectionPool pool;
    final ArrayDeque<Channel> idle = new ArrayDeque<>();
    final ArrayDeque<Waiter> waiters = new ArrayDeque<>();
    int open;
    /** No cluster of the configuration has the endpoint any more: its connections are not pooled again. */
    boolean removed;

    KeyState(Object key, Endpoint endpoint, SslContext ssl, String sni, TrafficPolicy.ConnectionPool pool) {
      this.key = key;
      this.endpoint = endpoint;
      this.ssl = ssl;
      this.sni = sni;
      this.pool = pool;
    }

    /** Returns an active idle connection, taken out of the idle set and marked in use, or null. */
    Channel pollIdle() {
      Channel ch;
      while ((ch = idle.pollLast()) != null) {
        if (ch.isActive()) {
          UpstreamHandler h = ch.pipeline().get(UpstreamHandler.class);
          if (h != null) {
            h.inUse();
          }
          return ch;
        }
      }
      return null;
    }

    /** Takes the first waiting request off the queue (its pending slot given back), or returns null. */
    Waiter nextWaiter() {
      Waiter w = peekWaiter();
      if (w != null) {
        waiters.pollFirst();
        w.dequeued();
      }
      return w;
    }

    /**
     * Returns the first waiting request without taking it, or null. Cancelled ones are left in the queue by
     * {@link Waiter#cancel} (removing from the middle of a long queue is linear) and dropped here.
     */
    Waiter peekWaiter() {
      Waiter w;
      while ((w = waiters.peekFirst()) != null && w.cancelled) {
        waiters.pollFirst();
      }
      return w;
    }
  }

  /** A request waiting for, or connecting, a connection of one key. */
  private static final class Waiter implements UpstreamCalls.Pending {
    final KeyState key;
    final CircuitBreakers breakers;
    final Acquired acquired;
    /** In the key's queue, holding a pending slot of the cluster's. */
    boolean queued;
    boolean cancelled;
    /** Called back already. */
    boolean done;
    /** The connection being made for it, while it is. */
    Channel connecting;

    Waiter(KeyState key, CircuitBreakers breakers, Acquired acquired) {
      this.key = key;
      this.breakers = breakers;
      this.acquired = acquired;
    }

    void dequeued() {
      if (queued) {
        queued = false;
        breakers.pendingEnded();
      }
    }

    void ready(Channel ch) {
      done = true;
      UpstreamHandler h = ch.pipeline().get(UpstreamHandler.class);
      if (h != null) {
        h.inUse();
      }
      acquired.ready(ch);
    }

    void failed(Throwable cause) {
      done = true;
      if (!cancelled) {
        acquired.failed(cause);
      }
    }

    @Override
    public void cancel() {
      if (done || cancelled) {
        return;
      }
      cancelled = true;
      if (queued) {
        dequeued(); // left in the queue, skipped when it comes to the front
      } else if (connecting != null && key.peekWaiter() == null) {
        connecting.close(); // no one else wants it: the connect stops here (an upstream that never answers)
      }
    }
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
