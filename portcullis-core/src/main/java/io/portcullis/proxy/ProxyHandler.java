package io.portcullis.proxy;

import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.http.DefaultLastHttpContent;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.ScheduledFuture;
import java.util.ArrayDeque;
import java.util.concurrent.TimeUnit;
import io.portcullis.acme.Http01Challenges;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The last handler of a downstream HTTP/1.1 connection or HTTP/2 stream: hands each request to an {@link Exchange}
 * and passes it the request body and the channel's events. Runs on the channel's event loop and never blocks.
 *
 * <p>HTTP/1.1 requests are served one at a time, in order (RFC 9112 §9.3.2): requests a client pipelines behind the
 * one in flight wait here, already decoded, and are handed on one message per read the exchange asks for; the socket
 * is read again only when none wait. At most {@link #MAX_PIPELINED} messages wait; a client that sends more is cut
 * off.
 */
final class ProxyHandler extends ChannelInboundHandlerAdapter {
  private static final Logger log = LoggerFactory.getLogger(ProxyHandler.class);
  /** Decoded messages (request heads and body chunks) that may wait behind the request in flight. */
  static final int MAX_PIPELINED = 256;

  final Listener listener;
  final Upstreams upstreams;
  final AccessLog accessLog;
  final Http01Challenges challenges;
  final String protocol;
  final String sni;
  final Channel connection;
  final ProxyLimits limits;
  final ProxyStats stats;
  final PathNormalization normalization;
  private final ArrayDeque<Object> pipelined = new ArrayDeque<>();
  private ChannelHandlerContext ctx;
  private Exchange current;
  private boolean seenRequest;
  /** The stream idle timer: one per connection (HTTP/1.1) or stream (HTTP/2), re-armed for what is left. */
  private ScheduledFuture<?> streamIdle;

  /**
   * @param protocol {@code HTTP/1.1} or {@code HTTP/2}, as the access log shows it
   * @param sni the server name the client sent, or null
   * @param connection the downstream TCP connection (the parent of an HTTP/2 stream)
   */
  ProxyHandler(Listener listener, Upstreams upstreams, AccessLog accessLog, Http01Challenges challenges,
      String protocol, String sni, Channel connection, ProxyLimits limits, ProxyStats stats,
      PathNormalization normalization) {
    this.listener = listener;
    this.upstreams = upstreams;
    this.accessLog = accessLog;
    this.challenges = challenges;
    this.protocol = protocol;
    this.sni = sni;
    this.connection = connection;
    this.limits = limits;
    this.stats = stats;
    this.normalization = normalization;
  }

  boolean isH2() {
    return protocol.equals("HTTP/2");
  }

  /** Called by {@code exchange} when it has finished (response written or given up). */
  void exchangeDone(Exchange exchange) {
    if (current == exchange) {
      current = null;
      ConnectionIdleTimeout.requestEnded(connection);
      if (!isH2()) {
        RequestHeadersTimeout.exchangeEnded(connection);
      }
    }
  }

  /**
   * Asks for the next message of the downstream: one that waits behind the exchange (a pipelined request or its
   * body), else a read from the socket. What exchanges call instead of {@code ctx.read()}.
   */
  void read() {
    if (pipelined.isEmpty()) {
      ctx.read();
      return;
    }
    ctx.executor().execute(() -> {
      // Deferred: the exchange asking may still be finishing (its write listener runs after this call).
      Object next = pipelined.peek();
      if (next == null || (next instanceof HttpRequest && current != null)) {
        return; // the exchange in flight asks again when it is done
      }
      dispatch(pipelined.poll());
    });
  }

  @Override
  public void handlerAdded(ChannelHandlerContext ctx) {
    this.ctx = ctx;
    if (ctx.channel().isActive()) {
      ctx.read(); // added after the TLS handshake: channelActive has passed already
    }
  }

  @Override
  public void channelActive(ChannelHandlerContext ctx) {
    ctx.read();
    ctx.fireChannelActive();
  }

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    if (!pipelined.isEmpty() || (msg instanceof HttpRequest && current != null)) {
      if (isH2() || pipelined.size() >= MAX_PIPELINED) {
        ReferenceCountUtil.release(msg);
        log.debug("downstream {}: more than {} pipelined messages; closing", ctx.channel(), MAX_PIPELINED);
        ctx.close();
        return;
      }
      pipelined.add(msg); // behind the request in flight, answered in order
      return;
    }
    dispatch(msg);
  }

  private void dispatch(Object msg) {
    if (msg instanceof HttpRequest req) {
      if (!seenRequest) {
        seenRequest = true;
        ListenerFiltersTimeout.passed(connection); // a plain port's first request line
      }
      if (!isH2()) {
        RequestHeadersTimeout.headersReceived(connection);
      }
      ConnectionIdleTimeout.requestStarted(connection);
      current = new Exchange(this, ctx, req);
      armStreamIdle(limits.streamIdleTimeout().toNanos());
      current.start();
      if (msg instanceof FullHttpRequest full && current != null) {
        // An HTTP/2 request that ended with its headers: pass its (empty) body on as content only, never the
        // request object itself, which the upstream encoder would send as a second request.
        current.requestContent(new DefaultLastHttpContent(full.content().retain(), full.trailingHeaders()));
      }
      ReferenceCountUtil.release(msg);
    } else if (msg instanceof HttpContent content) {
      if (current != null) {
        current.requestContent(content);
      } else {
        content.release(); // the rest of a body whose exchange already answered
        read();
      }
    } else {
      ReferenceCountUtil.release(msg);
      read();
    }
  }

  /**
   * Envoy's {@code stream_idle_timeout} for the exchange in flight: one timer for the connection's (or stream's)
   * life rather than one per request, which checks when the exchange last moved bytes and re-arms itself for what is
   * left; it lapses while no exchange is in flight and is armed again by the next one.
   */
  private void armStreamIdle(long delayNanos) {
    if (streamIdle != null || limits.streamIdleTimeout().isZero()) {
      return;
    }
    streamIdle = ctx.executor().schedule(() -> {
      streamIdle = null;
      Exchange e = current;
      if (e == null) {
        return;
      }
      long left = limits.streamIdleTimeout().toNanos() - (System.nanoTime() - e.lastActivityNanos());
      if (left > 0) {
        armStreamIdle(left);
      } else {
        e.streamIdleTimeout();
      }
    }, delayNanos, TimeUnit.NANOSECONDS);
  }

  @Override
  public void channelWritabilityChanged(ChannelHandlerContext ctx) {
    if (current != null && ctx.channel().isWritable()) {
      current.downstreamWritable();
    }
    ctx.fireChannelWritabilityChanged();
  }

  @Override
  public void channelInactive(ChannelHandlerContext ctx) {
    if (current != null) {
      current.downstreamClosed();
    }
    if (streamIdle != null) {
      streamIdle.cancel(false);
      streamIdle = null;
    }
    pipelined.forEach(ReferenceCountUtil::release);
    pipelined.clear();
    ctx.fireChannelInactive();
  }

  @Override
  public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
    log.debug("downstream {}: {}", ctx.channel(), cause.toString());
    ctx.close();
  }
}
