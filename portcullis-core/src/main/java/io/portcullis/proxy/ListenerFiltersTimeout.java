package io.portcullis.proxy;

import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * Closes a new connection that has not sent what its listener needs to pick a server in time: the TLS ClientHello
 * (SNI) on a TLS port, the first request line or the HTTP/2 preface on a plain one. Envoy's
 * {@code listener_filters_timeout}; counted as {@code listener.<port>.downstream_pre_cx_timeout}. The handler that
 * received what it needed calls {@link #passed}, which removes this handler and its timer.
 */
final class ListenerFiltersTimeout extends ChannelInboundHandlerAdapter {
  private final long timeoutNanos;
  private final ProxyStats stats;
  private final int port;
  private ScheduledFuture<?> timer;

  /** @param timeoutNanos greater than 0 */
  ListenerFiltersTimeout(long timeoutNanos, ProxyStats stats, int port) {
    this.timeoutNanos = timeoutNanos;
    this.stats = stats;
    this.port = port;
  }

  @Override
  public void handlerAdded(ChannelHandlerContext ctx) {
    timer = ctx.executor().schedule(() -> {
      stats.inc(port, ProxyStats.PRE_CX_TIMEOUT);
      ctx.channel().close();
    }, timeoutNanos, TimeUnit.NANOSECONDS);
  }

  @Override
  public void handlerRemoved(ChannelHandlerContext ctx) {
    if (timer != null) {
      timer.cancel(false);
    }
  }

  /** Called on {@code ch}'s event loop once the listener has what it needs; a no-op without this handler. */
  static void passed(Channel ch) {
    if (ch.pipeline().get(ListenerFiltersTimeout.class) != null) {
      ch.pipeline().remove(ListenerFiltersTimeout.class);
    }
  }
}
