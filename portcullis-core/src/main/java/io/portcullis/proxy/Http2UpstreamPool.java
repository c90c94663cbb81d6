package io.portcullis.proxy;

import static java.util.Objects.requireNonNull;

import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;
import io.netty.handler.ssl.SslContext;
import io.netty.resolver.AddressResolverGroup;
import io.portcullis.routing.Endpoint;
import java.net.SocketAddress;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

/**
 * One event loop's HTTP/2 upstream connections, keyed by (endpoint, TLS context, SNI): a request is given a
 * connection that has room for one more stream; while none has, the requests wait on one connect in progress (up to
 * the streams a connection is assumed to take, so a burst does not open a connection per request); only when that is
 * full is another connection opened. So there is one connection per (endpoint, event loop) until the upstream's
 * {@code SETTINGS_MAX_CONCURRENT_STREAMS} is reached, then another (issue 13). Not thread-safe: used only on its loop.
 */
final class Http2UpstreamPool {
  private static final org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger(Http2UpstreamPool.class);
  /** The most requests waiting for connections to one key: Envoy's circuit breaker {@code max_pending_requests}. */
  static final int MAX_PENDING = 1024;

  private final EventLoop loop;
  private final Bootstrap bootstrap;
  private final Http2UpstreamLimits limits;
  private final ProxyStats stats;
  private final Map<Key, Entry> entries = new HashMap<>();

  /**
   * @param loop the event loop whose requests this pool serves; its connections run on it
   * @param channelType the socket channel type (epoll, io_uring or NIO), as the listeners use
   * @param resolver resolves DNS endpoints without blocking the loop
   * @param connectTimeout TCP connect timeout (Envoy's cluster {@code connect_timeout}); the TLS handshake has
   *     Netty's own (10 s)
   */
  Http2UpstreamPool(EventLoop loop, Class<? extends Channel> channelType,
      AddressResolverGroup<? extends SocketAddress> resolver, Duration connectTimeout, Http2UpstreamLimits limits,
      ProxyStats stats) {
    this.loop = requireNonNull(loop, "loop");
    this.limits = requireNonNull(limits, "limits");
    this.stats = requireNonNull(stats, "stats");
    this.bootstrap = new Bootstrap().group(loop).channel(channelType).resolver(resolver)
        .option(ChannelOption.TCP_NODELAY, true)
        .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, (int) Math.min(Integer.MAX_VALUE, connectTimeout.toMillis()));
  }

  /** A request waiting for a connection; {@link #cancel()} when it no longer wants one. */
  interface Pending {
    /** Returned when the request was served (or failed) at once: cancelling it does nothing. */
    Pending NONE = () -> { };

    /** Stops waiting: neither callback will be called. The connect it waited on goes on for later requests. */
    void cancel();
  }

  /**
   * Gets a connection to {@code endpoint} with room for a stream: {@code onReady} is called (at once when one is
   * pooled, else when a connect completes) and must open its stream right then
   * ({@link Http2UpstreamConnection#openStream}), or not at all; {@code onFailure} gets why the connect failed
   * (refused, timed out, TLS or ALPN) or {@link PendingOverflowException}. Call on this pool's loop; the callbacks
   * run there, exactly one of them once, unless cancelled.
   *
   * @param ssl null for h2c with prior knowledge, else a client context that offers ALPN {@code h2}
   * @param sni the TLS server name (and the name the certificate must have when the context verifies it); null for
   *     the endpoint's host
   * @return the pending request, or {@link Pending#NONE} when it was served or refused at once
   * @throws IllegalArgumentException when {@code ssl} does not offer ALPN {@code h2}
   */
  Pending acquire(Endpoint endpoint, SslContext ssl, String sni, Consumer<Http2UpstreamConnection> onReady,
      Consumer<Throwable> onFailure) {
    assert loop.inEventLoop();
    Http2UpstreamConnector.checkAlpn(ssl, endpoint);
    Key key = new Key(endpoint, ssl, ssl == null ? null : sni);
    return acquire(key, new Waiter(onReady, onFailure));
  }

  /** Returns the open connections to {@code endpoint} (all TLS settings), for tests and the admin server. */
  List<Http2UpstreamConnection> connections(Endpoint endpoint) {
    List<Http2UpstreamConnection> out = new ArrayList<>();
    entries.forEach((k, e) -> {
      if (k.endpoint.equals(endpoint)) {
        out.addAll(e.connections);
      }
    });
    return out;
  }

  /** Closes every connection gracefully (GOAWAY, then close once its streams ended). */
  void closeAll() {
    for (Entry e : entries.values()) {
      for (Http2UpstreamConnection c : new ArrayList<>(e.connections)) {
        c.close();
      }
    }
  }

  private Pending acquire(Key key, Waiter w) {
    Entry e = entries.computeIfAbsent(key, k -> new Entry());
    for (int i = e.connections.size() - 1; i >= 0; i--) {
      Http2UpstreamConnection c = e.connections.get(i);
      if (c.hasCapacity()) {
        w.ready(c);
        return Pending.NONE;
      }
    }
    int assumed = Math.min(Http2UpstreamConnection.ASSUMED_MAX_CONCURRENT_STREAMS, limits.maxConcurrentStreams());
    int waiting = 0;
    Connect room = null;
    for (Connect c : e.connecting) {
      waiting += c.waiters.size();
      if (room == null && c.waiters.size() < assumed) {
        room = c;
      }
    }
    if (waiting >= MAX_PENDING) {
      stats.inc(ProxyStats.UPSTREAM_RQ_PENDING_OVERFLOW);
      w.failed(new PendingOverflowException(key.endpoint, waiting, MAX_PENDING + " per endpoint and event loop"));
      return Pending.NONE;
    }
    if (room == null) {
      room = new Connect();
      e.connecting.add(room);
      room.waiters.addLast(w);
      w.connect = room;
      connect(key, e, room); // after the waiter is in: a connect can fail inside the call (a cached resolution)
      return w.connect == null ? Pending.NONE : w;
    }
    room.waiters.addLast(w);
    w.connect = room;
    return w;
  }

  private void connect(Key key, Entry e, Connect c) {
    Http2UpstreamConnector.connect(bootstrap, loop, key.endpoint, Addresses.upstream(key.endpoint), key.ssl, key.sni, limits,
        stats).addListener(f -> {
          e.connecting.remove(c);
          if (f.isSuccess()) {
            Http2UpstreamConnection conn = (Http2UpstreamConnection) f.getNow();
            e.connections.add(conn);
            conn.closeFuture().addListener(cf -> {
              e.connections.remove(conn);
              if (e.connections.isEmpty() && e.connecting.isEmpty()) {
                entries.remove(key, e);
              }
            });
            Waiter w;
            while ((w = c.waiters.pollFirst()) != null) {
              w.connect = null;
              if (conn.hasCapacity()) {
                w.ready(conn);
              } else {
                acquire(key, w); // this one is full (or already going away): another one, or a new connect
              }
            }
          } else {
            if (e.connections.isEmpty() && e.connecting.isEmpty()) {
              entries.remove(key, e);
            }
            Throwable cause = f.cause();
            Waiter w;
            while ((w = c.waiters.pollFirst()) != null) {
              w.connect = null;
              w.failed(cause);
            }
          }
        });
  }

  /** The pool key; a TLS context is compared by identity (one per DestinationRule TLS setting). */
  private record Key(Endpoint endpoint, SslContext ssl, String sni) {}

  private static final class Entry {
    final List<Http2UpstreamConnection> connections = new ArrayList<>(2);
    final List<Connect> connecting = new ArrayList<>(1);
  }

  private static final class Connect {
    final ArrayDeque<Waiter> waiters = new ArrayDeque<>();
  }

  private static final class Waiter implements Pending {
    final Consumer<Http2UpstreamConnection> onReady;
    final Consumer<Throwable> onFailure;
    Connect connect;

    Waiter(Consumer<Http2UpstreamConnection> onReady, Consumer<Throwable> onFailure) {
      this.onReady = onReady;
      this.onFailure = onFailure;
    }

    void ready(Http2UpstreamConnection c) {
      try {
        onReady.accept(c);
      } catch (RuntimeException ex) {
        log.warn("a request failed to use {}", c, ex); // the others waiting still get theirs
      }
    }

    void failed(Throwable cause) {
      try {
        onFailure.accept(cause);
      } catch (RuntimeException ex) {
        log.warn("a request failed on a connect failure", ex);
      }
    }

    @Override
    public void cancel() {
      if (connect != null) {
        connect.waiters.remove(this);
        connect = null;
      }
    }
  }
}
