package io.portcullis.proxy;

import static java.util.Objects.requireNonNull;

import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;
import io.netty.handler.ssl.SslContext;
import io.netty.resolver.AddressResolverGroup;
import io.portcullis.proxy.lb.CircuitBreakers;
import io.portcullis.routing.Endpoint;
import io.portcullis.routing.TrafficPolicy.ConnectionPool;
import java.net.SocketAddress;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

/**
 * One event loop's HTTP/2 upstream connections, keyed by (endpoint, TLS context, SNI, DestinationRule
 * {@code connectionPool}): a request is given a connection that has room for one more stream; while none has, the
 * requests wait on one connect in progress (up to the streams a connection is assumed to take, so a burst does not
 * open a connection per request); only when that is full is another connection opened. So there is one connection
 * per (endpoint, event loop) until the upstream's {@code SETTINGS_MAX_CONCURRENT_STREAMS} is reached, then another
 * (issue 13). Not thread-safe: used only on its loop.
 *
 * <p>The cluster's {@code connectionPool} (Istio {@code ConnectionPoolSettings}) applies as Envoy applies it to an
 * HTTP/2 cluster (issue 14); connections made under different settings never mix:
 * <ul>
 *   <li>{@code tcp.connectTimeout} (Envoy's cluster {@code connect_timeout}) and {@code tcp.tcpKeepalive}
 *       ({@code upstream_connection_options.tcp_keepalive}): the socket options of the key's connections, one
 *       bootstrap per distinct setting ({@link UpstreamSockets}). A connect that times out fails its requests as any
 *       connect failure does (503 {@code UF}), counted as {@code upstream_cx_connect_timeout} too.
 *   <li>{@code http.idleTimeout} (Envoy's {@code common_http_protocol_options.idle_timeout}): a connection with no
 *       stream for that long is closed with GOAWAY {@code NO_ERROR}.
 *   <li>{@code http.maxRequestsPerConnection} (Envoy's {@code max_requests_per_connection}): a connection that has
 *       opened that many streams takes no more and closes gracefully once they end ({@code upstream_cx_max_requests});
 *       the next request opens (or waits for) another.
 *   <li>{@code tcp.maxConnections} (Envoy's circuit breaker {@code max_connections}; the cluster's connections open
 *       or opening on every loop, {@link CircuitBreakers#connections()}): a request that needs a new connection when
 *       the cluster has that many does not get one if its key already has a connection that takes streams or one
 *       connecting ({@code upstream_cx_overflow}); it waits, in order, until a stream ends on one of the key's
 *       connections or one of them closes. A key with none always opens one, whatever the count (as Envoy: waiting
 *       requests are never stranded; a connection that takes no new stream, draining or at its request limit, does
 *       not count as one).
 *   <li>{@code http.http1MaxPendingRequests} (Envoy's circuit breaker {@code max_pending_requests}, which applies to
 *       HTTP/2 pools too; {@link CircuitBreakers#tryPending}): the cluster's requests waiting for a connection, on a
 *       connect or for {@code maxConnections}; one more fails at once with {@link PendingOverflowException} (503
 *       {@code UO}, {@code upstream_rq_pending_overflow}). {@link #MAX_PENDING} per key applies as well.
 * </ul>
 * {@link ConnectionPool#DEFAULT} (no DestinationRule setting) keeps the pool's own connect timeout and limits (the
 * gateway's {@code --upstream-idle-timeout}).
 */
final class Http2UpstreamPool {
  private static final org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger(Http2UpstreamPool.class);
  /** The most requests waiting for connections to one key, on one event loop. */
  static final int MAX_PENDING = 1024;

  private final EventLoop loop;
  private final Class<? extends Channel> channelType;
  private final ProxyStats stats;
  /** The bootstrap and limits of {@link ConnectionPool#DEFAULT} keys. */
  private final Sockets defaults;
  /** The bootstrap and limits of each other connectionPool setting that some key has now. */
  private final Map<ConnectionPool, Sockets> sockets = new HashMap<>();
  private final Map<Key, Entry> entries = new HashMap<>();

  /**
   * @param loop the event loop whose requests this pool serves; its connections run on it
   * @param channelType the socket channel type (epoll, io_uring or NIO), as the listeners use
   * @param resolver resolves DNS endpoints without blocking the loop
   * @param connectTimeout TCP connect timeout without a DestinationRule {@code tcp.connectTimeout} (Envoy's cluster
   *     {@code connect_timeout}); the TLS handshake has Netty's own (10 s)
   * @param limits the connections' limits without a DestinationRule {@code connectionPool}; a setting replaces
   *     their {@code idleTimeout} and {@code maxRequestsPerConnection} with its own
   */
  Http2UpstreamPool(EventLoop loop, Class<? extends Channel> channelType,
      AddressResolverGroup<? extends SocketAddress> resolver, Duration connectTimeout, Http2UpstreamLimits limits,
      ProxyStats stats) {
    this.loop = requireNonNull(loop, "loop");
    this.channelType = requireNonNull(channelType, "channelType");
    this.stats = requireNonNull(stats, "stats");
    Bootstrap bootstrap = new Bootstrap().group(loop).channel(channelType).resolver(resolver)
        .option(ChannelOption.TCP_NODELAY, true)
        .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, (int) Math.min(Integer.MAX_VALUE, connectTimeout.toMillis()));
    this.defaults = new Sockets(bootstrap, requireNonNull(limits, "limits"));
  }

  /** A request waiting for a connection; {@link #cancel()} when it no longer wants one. */
  interface Pending {
    /** Returned when the request was served (or failed) at once: cancelling it does nothing. */
    Pending NONE = () -> { };

    /**
     * Stops waiting: neither callback will be called, and its place among the cluster's pending requests is given
     * back. The connect it waited on goes on for later requests.
     */
    void cancel();
  }

  /**
   * Gets a connection to {@code endpoint} with room for a stream: {@code onReady} is called (at once when one is
   * pooled, else when a connect completes or a stream of the key's ends) and must open its stream right then
   * ({@link Http2UpstreamConnection#openStream}), or not at all; {@code onFailure} gets why the connect failed
   * (refused, timed out, TLS or ALPN) or {@link PendingOverflowException}. Call on this pool's loop; the callbacks
   * run there, exactly one of them once, unless cancelled.
   *
   * @param ssl null for h2c with prior knowledge, else a client context that offers ALPN {@code h2}
   * @param sni the TLS server name (and the name the certificate must have when the context verifies it); null for
   *     the endpoint's host
   * @param pool the cluster's DestinationRule {@code connectionPool}, {@link ConnectionPool#DEFAULT} without one
   * @param breakers the cluster's circuit breakers: its connections and waiting requests are counted there
   * @return the pending request, or {@link Pending#NONE} when it was served or refused at once
   * @throws IllegalArgumentException when {@code ssl} does not offer ALPN {@code h2}
   */
  Pending acquire(Endpoint endpoint, SslContext ssl, String sni, ConnectionPool pool, CircuitBreakers breakers,
      Consumer<Http2UpstreamConnection> onReady, Consumer<Throwable> onFailure) {
    assert loop.inEventLoop();
    requireNonNull(pool, "pool");
    requireNonNull(breakers, "breakers");
    Http2UpstreamConnector.checkAlpn(ssl, endpoint);
    Entry e = entry(new Key(endpoint, ssl, ssl == null ? null : sni, pool));
    Waiter w = new Waiter(breakers, onReady, onFailure);
    if (e.queued.isEmpty()) { // else those waiting go first: this one joins them
      Http2UpstreamConnection c = withCapacity(e);
      if (c != null) {
        w.ready(c);
        return Pending.NONE;
      }
    }
    if (!admit(e, w)) {
      removeIfUnused(e);
      return Pending.NONE;
    }
    if (!e.queued.isEmpty() || !place(e, w)) {
      queue(e, w);
    }
    return w.waiting() ? w : Pending.NONE;
  }

  /** Returns the open connections to {@code endpoint} (all TLS and pool settings), for tests and the admin server. */
  List<Http2UpstreamConnection> connections(Endpoint endpoint) {
    List<Http2UpstreamConnection> out = new ArrayList<>();
    entries.forEach((k, e) -> {
      if (k.endpoint.equals(endpoint)) {
        out.addAll(e.connections);
      }
    });
    return out;
  }

  /**
   * Closes gracefully (GOAWAY, then close once its streams ended) every connection to an endpoint not in
   * {@code live}, or made under a {@code connectionPool} setting its endpoint no longer has: a new configuration
   * removed or changed it (Envoy drains a removed host's pools).
   */
  void retainEndpoints(java.util.Map<Endpoint, java.util.Set<ConnectionPool>> live) {
    for (Map.Entry<Key, Entry> e : new ArrayList<>(entries.entrySet())) {
      if (!live.getOrDefault(e.getKey().endpoint, java.util.Set.of()).contains(e.getKey().pool)) {
        for (Http2UpstreamConnection c : new ArrayList<>(e.getValue().connections)) {
          c.close();
        }
      }
    }
  }

  private Entry entry(Key key) {
    Entry e = entries.get(key);
    if (e == null) {
      Sockets s = key.pool.equals(ConnectionPool.DEFAULT) ? defaults : sockets.computeIfAbsent(key.pool,
          p -> new Sockets(UpstreamSockets.configure(defaults.bootstrap.clone(), channelType, p),
              defaults.limits.withIdleTimeout(p.idleTimeout())
                  .withMaxRequestsPerConnection(p.maxRequestsPerConnection())));
      s.keys++;
      e = new Entry(key, s);
      entries.put(key, e);
    }
    return e;
  }

  /** Forgets {@code e} (and its settings' bootstrap, when no other key has them) once nothing is left in it. */
  private void removeIfUnused(Entry e) {
    if (e.connections.isEmpty() && e.connecting.isEmpty() && e.queued.isEmpty() && !e.drainScheduled
        && entries.remove(e.key, e) && --e.sockets.keys == 0 && e.sockets != defaults) {
      sockets.remove(e.key.pool, e.sockets);
    }
  }

  private static Http2UpstreamConnection withCapacity(Entry e) {
    for (int i = e.connections.size() - 1; i >= 0; i--) {
      Http2UpstreamConnection c = e.connections.get(i);
      if (c.hasCapacity()) {
        return c;
      }
    }
    return null;
  }

  /**
   * Counts {@code w} among the requests waiting for a connection, or fails it with {@link PendingOverflowException}
   * when the key has {@link #MAX_PENDING} waiting or the cluster {@code http1MaxPendingRequests}; returns whether it
   * may wait.
   */
  private boolean admit(Entry e, Waiter w) {
    int waiting = e.queued.size();
    for (Connect c : e.connecting) {
      waiting += c.waiters.size();
    }
    if (waiting >= MAX_PENDING) {
      stats.inc(ProxyStats.UPSTREAM_RQ_PENDING_OVERFLOW);
      w.failed(new PendingOverflowException(e.key.endpoint, waiting, MAX_PENDING + " per endpoint and event loop"));
      return false;
    }
    int max = e.key.pool.http1MaxPendingRequests();
    if (!w.breakers.tryPending(max)) {
      stats.inc(ProxyStats.UPSTREAM_RQ_PENDING_OVERFLOW);
      w.failed(new PendingOverflowException(e.key.endpoint, w.breakers.pending(),
          max + " per cluster (DestinationRule connectionPool.http.http1MaxPendingRequests)"));
      return false;
    }
    w.pending = true;
    return true;
  }

  /**
   * Serves {@code w} with a connection of {@code e} that has room, or lets it wait on a connect with room for it, or
   * starts one; returns false, leaving {@code w} as it was, when a connect is needed and {@code tcp.maxConnections}
   * forbids it ({@link #mayConnect}).
   */
  private boolean place(Entry e, Waiter w) {
    Http2UpstreamConnection c = withCapacity(e);
    if (c != null) {
      w.ready(c);
      return true;
    }
    int room = e.sockets.limits.streamsPerConnect();
    for (Connect k : e.connecting) {
      if (k.waiters.size() < room) {
        k.add(w);
        return true;
      }
    }
    if (!mayConnect(e, w.breakers)) {
      return false;
    }
    Connect k = new Connect(w.breakers);
    e.connecting.add(k);
    k.add(w);
    connect(e, k); // after the waiter is in: a connect can fail inside the call (a cached resolution)
    return true;
  }

  /**
   * Returns whether another connection may be opened for {@code e}: its cluster has fewer than
   * {@code tcp.maxConnections} open or opening, or {@code e} has none connecting and none that takes new streams.
   */
  private static boolean mayConnect(Entry e, CircuitBreakers breakers) {
    if (breakers.connections() < e.key.pool.maxConnections()) {
      return true;
    }
    if (!e.connecting.isEmpty()) {
      return false;
    }
    for (Http2UpstreamConnection c : e.connections) {
      if (!c.isRetiring()) {
        return false;
      }
    }
    return true;
  }

  /** Lets {@code w} wait, last, for a stream slot or a connection of {@code e} ({@code tcp.maxConnections}). */
  private void queue(Entry e, Waiter w) {
    if (!w.overflowed) {
      w.overflowed = true;
      stats.inc(ProxyStats.UPSTREAM_CX_OVERFLOW);
    }
    e.queued.addLast(w);
    w.queuedIn = e;
  }

  /** Serves {@code e}'s waiting requests, in order, later on the loop (never inside a connection's callback). */
  private void scheduleDrain(Entry e) {
    if (!e.drainScheduled && !e.queued.isEmpty()) {
      e.drainScheduled = true;
      loop.execute(() -> drain(e));
    }
  }

  private void drain(Entry e) {
    e.drainScheduled = false;
    Waiter w;
    while ((w = e.queued.pollFirst()) != null) {
      w.queuedIn = null;
      if (!place(e, w)) {
        e.queued.addFirst(w); // still no room and no connect allowed: the next stream end or close tries again
        w.queuedIn = e;
        break;
      }
    }
    removeIfUnused(e);
  }

  private void connect(Entry e, Connect k) {
    Key key = e.key;
    k.breakers.connectionOpened();
    try {
      Http2UpstreamConnector.connect(e.sockets.bootstrap, loop, key.endpoint, Addresses.upstream(key.endpoint),
          key.ssl, key.sni, e.sockets.limits, stats).addListener(f -> {
            e.connecting.remove(k);
            if (f.isSuccess()) {
              connected(e, k, (Http2UpstreamConnection) f.getNow());
            } else {
              connectFailed(e, k, f.cause());
            }
          });
    } catch (RuntimeException ex) {
      e.connecting.remove(k);
      connectFailed(e, k, ex);
    }
  }

  private void connected(Entry e, Connect k, Http2UpstreamConnection conn) {
    e.connections.add(conn);
    conn.stateListener(() -> scheduleDrain(e)); // a slot is free, or it retires and another may be opened
    Waiter w;
    while ((w = k.waiters.pollFirst()) != null) {
      w.connect = null;
      if (conn.hasCapacity()) {
        w.ready(conn);
      } else if (!place(e, w)) { // this one is full (or already going away): another one, a new connect, or wait
        queue(e, w);
      }
    }
    conn.closeFuture().addListener(cf -> { // after the waiters: it may have closed already, and runs at once then
      k.breakers.connectionClosed();
      e.connections.remove(conn);
      scheduleDrain(e); // a connect may be allowed now
      removeIfUnused(e);
    });
    scheduleDrain(e); // the new connection may have room for those waiting for maxConnections too
  }

  /**
   * A connect of {@code e} failed: its waiters fail with {@code cause}, and so do those waiting for
   * {@code maxConnections} when nothing else of the key could serve them (Envoy purges a pool's pending requests on
   * a connect failure; a retry may pick another host).
   */
  private void connectFailed(Entry e, Connect k, Throwable cause) {
    k.breakers.connectionClosed();
    List<Waiter> failing = new ArrayList<>(k.waiters);
    k.waiters.clear();
    if (e.connecting.isEmpty() && e.connections.stream().allMatch(Http2UpstreamConnection::isRetiring)) {
      failing.addAll(e.queued);
      e.queued.clear();
    }
    for (Waiter w : failing) {
      w.connect = null;
      w.queuedIn = null;
    }
    removeIfUnused(e);
    for (Waiter w : failing) {
      w.failed(cause);
    }
  }

  /**
   * The pool key. A TLS context is compared by identity (one per DestinationRule TLS setting; {@link SslContext} has
   * no {@code equals}), the {@code connectionPool} by value.
   */
  private record Key(Endpoint endpoint, SslContext ssl, String sni, ConnectionPool pool) {}

  /** What connections of one {@code connectionPool} setting are made with, and how many keys have it. */
  private static final class Sockets {
    final Bootstrap bootstrap;
    final Http2UpstreamLimits limits;
    int keys;

    Sockets(Bootstrap bootstrap, Http2UpstreamLimits limits) {
      this.bootstrap = bootstrap;
      this.limits = limits;
    }
  }

  private static final class Entry {
    final Key key;
    final Sockets sockets;
    final List<Http2UpstreamConnection> connections = new ArrayList<>(2);
    final List<Connect> connecting = new ArrayList<>(1);
    /** Requests with no connection to take them and no connect allowed ({@code tcp.maxConnections}), in order. */
    final ArrayDeque<Waiter> queued = new ArrayDeque<>();
    boolean drainScheduled;

    Entry(Key key, Sockets sockets) {
      this.key = key;
      this.sockets = sockets;
    }
  }

  /** One connect in progress and the requests waiting on it; its connection is counted in {@code breakers}. */
  private static final class Connect {
    final CircuitBreakers breakers;
    final ArrayDeque<Waiter> waiters = new ArrayDeque<>();

    Connect(CircuitBreakers breakers) {
      this.breakers = breakers;
    }

    void add(Waiter w) {
      waiters.addLast(w);
      w.connect = this;
    }
  }

  private static final class Waiter implements Pending {
    final CircuitBreakers breakers;
    final Consumer<Http2UpstreamConnection> onReady;
    final Consumer<Throwable> onFailure;
    /** The connect it waits on, or null. */
    Connect connect;
    /** The entry in whose queue it waits, or null. */
    Entry queuedIn;
    /** Counted in {@code breakers}' pending requests ({@link CircuitBreakers#tryPending}). */
    boolean pending;
    /** Counted as {@code upstream_cx_overflow} (once per request). */
    boolean overflowed;
    /** Cancelled: neither callback is called any more (a failure list taken before the cancel included it). */
    boolean cancelled;

    Waiter(CircuitBreakers breakers, Consumer<Http2UpstreamConnection> onReady, Consumer<Throwable> onFailure) {
      this.breakers = breakers;
      this.onReady = onReady;
      this.onFailure = onFailure;
    }

    boolean waiting() {
      return connect != null || queuedIn != null;
    }

    void ready(Http2UpstreamConnection c) {
      endPending();
      if (cancelled) {
        return;
      }
      try {
        onReady.accept(c);
      } catch (RuntimeException ex) {
        log.warn("a request failed to use {}", c, ex); // the others waiting still get theirs
      }
    }

    void failed(Throwable cause) {
      endPending();
      if (cancelled) {
        return;
      }
      try {
        onFailure.accept(cause);
      } catch (RuntimeException ex) {
        log.warn("a request failed on a connect failure", ex);
      }
    }

    private void endPending() {
      if (pending) {
        pending = false;
        breakers.pendingEnded();
      }
    }

    @Override
    public void cancel() {
      cancelled = true;
      if (connect != null) {
        connect.waiters.remove(this);
        connect = null;
      }
      if (queuedIn != null) {
        queuedIn.queued.remove(this);
        queuedIn = null;
      }
      endPending();
    }
  }
}
