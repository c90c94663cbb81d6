package io.portcullis.proxy;

import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.EventLoop;
import io.netty.handler.codec.http.DefaultHttpContent;
import io.netty.handler.codec.http.DefaultHttpResponse;
import io.netty.handler.codec.http.DefaultLastHttpContent;
import io.netty.handler.codec.http.EmptyHttpHeaders;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpServerExpectContinueHandler;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.handler.codec.http2.DefaultHttp2Headers;
import io.netty.handler.codec.http2.Http2Exception;
import io.netty.handler.codec.http2.Http2Headers;
import io.netty.handler.codec.http2.HttpConversionUtil;
import io.netty.util.ReferenceCountUtil;
import java.util.ArrayDeque;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The last handler of a downstream HTTP/1.1 connection, and its {@link Downstream}: hands each request to an
 * {@link Exchange}, passes it the request body and the channel's events, and writes its response. Runs on the
 * channel's event loop and never blocks.
 *
 * <p>Requests are served one at a time, in order (RFC 9112 §9.3.2): requests a client pipelines behind the one in
 * flight wait here, already decoded, and are handed on one message per read the exchange asks for; the socket is
 * read again only when none wait. At most {@link #MAX_PIPELINED} messages wait; a client that sends more is cut
 * off. After a WebSocket upgrade ({@code 101}) the HTTP codec leaves the pipeline and bytes pass untouched.
 */
final class ProxyHandler extends ChannelInboundHandlerAdapter implements Downstream {
  private static final Logger log = LoggerFactory.getLogger(ProxyHandler.class);
  /** Decoded messages (request heads and body chunks) that may wait behind the request in flight. */
  static final int MAX_PIPELINED = 256;

  private final ProxyContext cx;
  private final String sni;
  private final Channel connection;
  private final ArrayDeque<Object> pipelined = new ArrayDeque<>();
  private ChannelHandlerContext ctx;
  private Exchange current;
  private boolean seenRequest;
  private boolean tunnel;
  private StreamIdleTimer streamIdle;

  /** @param sni the server name the client sent, or null */
  ProxyHandler(ProxyContext cx, String sni, Channel connection) {
    this.cx = cx;
    this.sni = sni;
    this.connection = connection;
  }

  @Override
  public ProxyContext context() {
    return cx;
  }

  @Override
  public String protocol() {
    return "HTTP/1.1";
  }

  @Override
  public boolean isH2() {
    return false;
  }

  @Override
  public String sni() {
    return sni;
  }

  @Override
  public Channel connection() {
    return connection;
  }

  @Override
  public EventLoop eventLoop() {
    return connection.eventLoop();
  }

  @Override
  public void exchangeDone(Exchange exchange) {
    if (current == exchange) {
      current = null;
      ConnectionIdleTimeout.requestEnded(connection);
      RequestHeadersTimeout.exchangeEnded(connection);
    }
  }

  @Override
  public void responseEnded(boolean written, boolean reuse) {
    if (!written || !reuse || tunnel) {
      ctx.close();
    } else {
      read();
    }
  }

  @Override
  public void requestConsumed(int bytes) {
    read();
  }

  /**
   * Asks for the next message of the downstream: one that waits behind the exchange (a pipelined request or its
   * body), else a read from the socket.
   */
  private void read() {
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
  public void writeHead(HttpResponse head, boolean endStream) {
    if (head instanceof FullHttpResponse full) {
      head = new DefaultHttpResponse(HttpVersion.HTTP_1_1, full.status(), full.headers()); // content follows
    } else if (current != null) {
      int code = head.status().code();
      DownstreamResponse.http1Framing(head, code >= 200 && code != 204 && code != 304 && !current.headRequest(),
          current.closesHttp1Connection());
    }
    ctx.write(head, ctx.voidPromise());
    if (endStream || head.status().code() == 101) {
      ctx.write(LastHttpContent.EMPTY_LAST_CONTENT, ctx.voidPromise());
    }
  }

  @Override
  public void writeHead(Http2Headers head, boolean endStream) {
    writeHead(DownstreamResponse.toHttp1(head), endStream);
  }

  @Override
  public ChannelFuture writeData(ByteBuf data, boolean endStream) {
    if (tunnel) {
      return ctx.write(data);
    }
    return ctx.write(endStream ? lastContent(data) : new DefaultHttpContent(data));
  }

  /** Returns {@code data} as the end of a message without trailers: no trailer headers allocated per message. */
  static LastHttpContent lastContent(ByteBuf data) {
    if (!data.isReadable()) {
      data.release();
      return LastHttpContent.EMPTY_LAST_CONTENT;
    }
    return new DefaultLastHttpContent(data, EmptyHttpHeaders.INSTANCE);
  }

  @Override
  public ChannelFuture writeTrailers(Http2Headers trailers) {
    LastHttpContent last = new DefaultLastHttpContent();
    try {
      HttpConversionUtil.addHttp2ToHttpHeaders(0, trailers, last.trailingHeaders(), HttpVersion.HTTP_1_1, true,
          false);
    } catch (Http2Exception e) {
      throw new IllegalStateException(e);
    }
    return ctx.write(last);
  }

  @Override
  public ChannelFuture writeTrailers(HttpHeaders trailers) {
    LastHttpContent last = new DefaultLastHttpContent();
    last.trailingHeaders().set(trailers);
    return ctx.write(last);
  }

  @Override
  public void flush() {
    ctx.flush();
  }

  @Override
  public boolean isWritable() {
    return ctx.channel().isWritable();
  }

  @Override
  public void abort() {
    ctx.close();
  }

  @Override
  public void upgrade() {
    tunnel = true;
    removeIfPresent(HttpServerExpectContinueHandler.class);
    removeIfPresent(RequestHeadersTimeout.class);
    removeIfPresent(HttpServerCodec.class); // its held bytes pass on
  }

  private void removeIfPresent(Class<? extends io.netty.channel.ChannelHandler> type) {
    if (ctx.pipeline().get(type) != null) {
      ctx.pipeline().remove(type);
    }
  }

  @Override
  public void handlerAdded(ChannelHandlerContext ctx) {
    this.ctx = ctx;
    this.streamIdle = new StreamIdleTimer(ctx.executor(), cx.limits().streamIdleTimeout().toNanos(), () -> current);
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
    if (tunnel) {
      if (current != null && msg instanceof ByteBuf b) {
        current.requestData(b, false);
      } else {
        ReferenceCountUtil.release(msg); // the rest of the 101's request message, or bytes after the tunnel
      }
      return;
    }
    if (!pipelined.isEmpty() || (msg instanceof HttpRequest && current != null)) {
      if (pipelined.size() >= MAX_PIPELINED) {
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
      RequestHeadersTimeout.headersReceived(connection);
      ConnectionIdleTimeout.requestStarted(connection);
      // A full request (Netty's for a malformed request line) is one buffer with two owners: the exchange releases
      // the request, content() its body.
      HttpContent full = msg instanceof HttpContent c ? c.retain() : null;
      current = new Exchange(this, req);
      streamIdle.arm();
      current.start();
      if (full != null) {
        content(full);
      }
    } else if (msg instanceof HttpContent c) {
      content(c);
    } else {
      ReferenceCountUtil.release(msg);
      read();
    }
  }

  private void content(HttpContent c) {
    if (current == null) {
      c.release(); // the rest of a body whose exchange already answered
      read();
      return;
    }
    if (c.decoderResult().isFailure()) {
      String why = String.valueOf(c.decoderResult().cause());
      c.release();
      current.badRequestBody(why);
      return;
    }
    if (c instanceof LastHttpContent last && !last.trailingHeaders().isEmpty()) {
      Http2Headers trailers = new DefaultHttp2Headers(false);
      HttpConversionUtil.toHttp2Headers(last.trailingHeaders(), trailers);
      Exchange e = current;
      e.requestData(last.content(), false);
      e.requestTrailers(trailers);
      return;
    }
    current.requestData(c.content(), c instanceof LastHttpContent);
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
    streamIdle.cancel();
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
