package io.portcullis.proxy;

import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.http.DefaultLastHttpContent;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.util.ReferenceCountUtil;
import io.portcullis.acme.Http01Challenges;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The last handler of a downstream HTTP/1.1 connection or HTTP/2 stream: hands each request to an {@link Exchange}
 * (one at a time; the next is read only when it is done) and passes it the request body and the channel's events.
 * Runs on the channel's event loop and never blocks.
 */
final class ProxyHandler extends ChannelInboundHandlerAdapter {
  private static final Logger log = LoggerFactory.getLogger(ProxyHandler.class);

  final Listener listener;
  final Upstreams upstreams;
  final AccessLog accessLog;
  final Http01Challenges challenges;
  final String protocol;
  final String sni;
  final Channel connection;
  private Exchange current;

  /**
   * @param protocol {@code HTTP/1.1} or {@code HTTP/2}, as the access log shows it
   * @param sni the server name the client sent, or null
   * @param connection the downstream TCP connection (the parent of an HTTP/2 stream)
   */
  ProxyHandler(Listener listener, Upstreams upstreams, AccessLog accessLog, Http01Challenges challenges,
      String protocol, String sni, Channel connection) {
    this.listener = listener;
    this.upstreams = upstreams;
    this.accessLog = accessLog;
    this.challenges = challenges;
    this.protocol = protocol;
    this.sni = sni;
    this.connection = connection;
  }

  boolean isH2() {
    return protocol.equals("HTTP/2");
  }

  /** Called by {@code exchange} when it has finished (response written or given up). */
  void exchangeDone(Exchange exchange) {
    if (current == exchange) {
      current = null;
    }
  }

  @Override
  public void handlerAdded(ChannelHandlerContext ctx) {
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
    if (msg instanceof HttpRequest req) {
      if (current != null) {
        ReferenceCountUtil.release(msg); // pipelined request while one is in flight: not supported
        ctx.close();
        return;
      }
      current = new Exchange(this, ctx, req);
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
        content.release();
        ctx.read();
      }
    } else {
      ReferenceCountUtil.release(msg);
      ctx.read();
    }
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
    ctx.fireChannelInactive();
  }

  @Override
  public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
    log.debug("downstream {}: {}", ctx.channel(), cause.toString());
    ctx.close();
  }
}
