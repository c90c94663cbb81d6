package io.portcullis.proxy;

import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.timeout.IdleStateEvent;
import io.netty.handler.timeout.IdleStateHandler;
import io.netty.util.AttributeKey;
import io.netty.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * Envoy's {@code idle_timeout} for downstream connections: a connection with no request in flight (no HTTP/1.1
 * exchange, no open HTTP/2 stream) for the timeout is closed, an HTTP/2 one after a {@code GOAWAY} (NO_ERROR).
 * Counted as {@code downstream_cx_idle_timeout}. {@link ProxyHandler} reports each request's start and end
 * ({@link #requestStarted}, {@link #requestEnded}).
 *
 * <p>One timer per connection, which re-arms itself for what is left of the idle period when it fires early: a
 * request costs two counter updates, not a timer. Runs on the connection's event loop.
 */
final class ConnectionIdleTimeout extends ChannelInboundHandlerAdapter {
  private static final AttributeKey<ConnectionIdleTimeout> KEY = AttributeKey.valueOf("portcullis.cx-idle");

  private final long timeoutNanos;
  private final ProxyStats stats;
  private ChannelHandlerContext ctx;
  private int active;
  private long idleSinceNanos = System.nanoTime();
  private ScheduledFuture<?> timer;
  private boolean http2;

  /** @param timeoutNanos greater than 0 */
  ConnectionIdleTimeout(long timeoutNanos, ProxyStats stats) {
    this.timeoutNanos = timeoutNanos;
    this.stats = stats;
  }

  @Override
  public void handlerAdded(ChannelHandlerContext ctx) {
    this.ctx = ctx;
    ctx.channel().attr(KEY).set(this);
    timer = ctx.executor().schedule(this::check, timeoutNanos, TimeUnit.NANOSECONDS);
  }

  @Override
  public void handlerRemoved(ChannelHandlerContext ctx) {
    ctx.channel().attr(KEY).set(null);
    if (timer != null) {
      timer.cancel(false);
    }
  }

  private void check() {
    if (!ctx.channel().isActive()) {
      return;
    }
    long left = active > 0 ? timeoutNanos : timeoutNanos - (System.nanoTime() - idleSinceNanos);
    if (left > 0) {
      timer = ctx.executor().schedule(this::check, left, TimeUnit.NANOSECONDS);
      return;
    }
    stats.inc(ProxyStats.CX_IDLE_TIMEOUT);
    // HTTP/2: the close passes through Http2ServerConnection, which sends GOAWAY (NO_ERROR) first
    ctx.channel().close();
  }

  /**
   * For a connection relayed as TCP ({@code PASSTHROUGH}), where no request starts or ends: Envoy's TCP proxy
   * {@code idle_timeout}, the connection is closed once no byte moved either way for the timeout.
   */
  static void relayed(Channel connection) {
    ConnectionIdleTimeout t = connection.attr(KEY).get();
    if (t != null) {
      connection.pipeline().replace(t, "tcp-idle-timeout", new Tcp(t.timeoutNanos, t.stats));
    }
  }

  /** No bytes either way for the timeout: closed (a {@code PASSTHROUGH} relay's idle timeout). */
  private static final class Tcp extends IdleStateHandler {
    private final ProxyStats stats;

    Tcp(long timeoutNanos, ProxyStats stats) {
      super(0, 0, timeoutNanos, TimeUnit.NANOSECONDS);
      this.stats = stats;
    }

    @Override
    protected void channelIdle(ChannelHandlerContext ctx, IdleStateEvent evt) {
      stats.inc(ProxyStats.CX_IDLE_TIMEOUT);
      ctx.close();
    }
  }

  /** Marks {@code connection} as speaking HTTP/2, so that it is closed with a GOAWAY. */
  static void http2(Channel connection) {
    ConnectionIdleTimeout t = connection.attr(KEY).get();
    if (t != null) {
      t.http2 = true;
    }
  }

  /** A request (exchange or stream) started on {@code connection}; call on its event loop. */
  static void requestStarted(Channel connection) {
    ConnectionIdleTimeout t = connection.attr(KEY).get();
    if (t != null) {
      t.active++;
    }
  }

  /** A request started with {@link #requestStarted} ended; call on the connection's event loop. */
  static void requestEnded(Channel connection) {
    ConnectionIdleTimeout t = connection.attr(KEY).get();
    if (t != null && t.active > 0 && --t.active == 0) {
      t.idleSinceNanos = System.nanoTime();
    }
  }
}
