package io.portcullis.proxy;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.util.AttributeKey;
import io.netty.util.concurrent.ScheduledFuture;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;

/**
 * Envoy's {@code request_headers_timeout} for HTTP/1.1: a request's header block must be complete within the timeout
 * of its first byte, or the client gets {@code 408 Request Timeout} and the connection is closed (a slowloris sending
 * one byte a second never gets its request routed). Sits before the HTTP codec and sees raw bytes; the
 * {@link ProxyHandler} says when a request's headers were decoded ({@link #headersReceived}) and when its exchange
 * ended ({@link #exchangeEnded}), after which the next byte starts the clock again. Counted as
 * {@code downstream_rq_header_timeout}.
 *
 * <p>One timer at a time per connection, re-armed only when it fires early: keep-alive requests do not schedule and
 * cancel a timer each. Runs on the connection's event loop.
 */
final class RequestHeadersTimeout extends ChannelInboundHandlerAdapter {
  private static final AttributeKey<RequestHeadersTimeout> KEY = AttributeKey.valueOf("portcullis.rq-headers");
  private static final byte[] RESPONSE = ("HTTP/1.1 408 Request Timeout\r\ncontent-length: 0\r\n"
      + "connection: close\r\n\r\n").getBytes(StandardCharsets.US_ASCII);

  private enum Phase { IDLE, HEADERS, EXCHANGE }

  private final long timeoutNanos;
  private final ProxyStats stats;
  private ChannelHandlerContext ctx;
  private Phase phase = Phase.IDLE;
  private long headersStartNanos;
  private ScheduledFuture<?> timer;

  /** @param timeoutNanos greater than 0 */
  RequestHeadersTimeout(long timeoutNanos, ProxyStats stats) {
    this.timeoutNanos = timeoutNanos;
    this.stats = stats;
  }

  @Override
  public void handlerAdded(ChannelHandlerContext ctx) {
    this.ctx = ctx;
    ctx.channel().attr(KEY).set(this);
  }

  @Override
  public void handlerRemoved(ChannelHandlerContext ctx) {
    ctx.channel().attr(KEY).set(null);
    cancel();
  }

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    if (phase == Phase.IDLE && msg instanceof ByteBuf b && b.isReadable()) {
      phase = Phase.HEADERS;
      headersStartNanos = System.nanoTime();
      if (timer == null) {
        timer = ctx.executor().schedule(this::check, timeoutNanos, TimeUnit.NANOSECONDS);
      }
    }
    ctx.fireChannelRead(msg);
  }

  @Override
  public void channelInactive(ChannelHandlerContext ctx) {
    cancel();
    ctx.fireChannelInactive();
  }

  private void check() {
    timer = null;
    if (phase != Phase.HEADERS || !ctx.channel().isActive()) {
      return;
    }
    long left = timeoutNanos - (System.nanoTime() - headersStartNanos);
    if (left > 0) {
      timer = ctx.executor().schedule(this::check, left, TimeUnit.NANOSECONDS);
      return;
    }
    stats.inc(ProxyStats.RQ_HEADER_TIMEOUT);
    phase = Phase.EXCHANGE; // nothing more is read: the connection closes after the 408
    ctx.channel().config().setAutoRead(false);
    ctx.writeAndFlush(Unpooled.wrappedBuffer(RESPONSE)).addListener(ChannelFutureListener.CLOSE);
  }

  private void cancel() {
    if (timer != null) {
      timer.cancel(false);
      timer = null;
    }
  }

  /** The request whose bytes started the clock has its headers: stop it until the exchange ends. */
  static void headersReceived(Channel ch) {
    RequestHeadersTimeout t = ch.attr(KEY).get();
    if (t != null) {
      t.phase = Phase.EXCHANGE;
    }
  }

  /** The exchange ended: the next byte read starts the clock for the next request's headers. */
  static void exchangeEnded(Channel ch) {
    RequestHeadersTimeout t = ch.attr(KEY).get();
    if (t != null && t.phase == Phase.EXCHANGE) {
      t.phase = Phase.IDLE;
    }
  }
}
