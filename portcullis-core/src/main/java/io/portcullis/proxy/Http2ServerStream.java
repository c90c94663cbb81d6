package io.portcullis.proxy;

import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.EventLoop;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http2.DefaultHttp2Headers;
import io.netty.handler.codec.http2.Http2Error;
import io.netty.handler.codec.http2.Http2Headers;
import io.netty.handler.codec.http2.HttpConversionUtil;

/**
 * One downstream HTTP/2 stream and its {@link Exchange}: the {@link Downstream} an {@link Http2ServerConnection}
 * gives each request. Response heads and trailers are written as header blocks, data through the connection's
 * flow controller (its write future completes once the bytes reached the socket). Runs on the connection's event
 * loop.
 */
final class Http2ServerStream implements Downstream {
  /** How long a stream answered before its request ended may go on receiving before it is reset. */
  static final long RESET_GRACE_MS = 1000;

  private final Http2ServerConnection connection;
  private final ChannelHandlerContext ctx;
  private final int id;
  private Exchange exchange;
  private boolean ended;

  Http2ServerStream(Http2ServerConnection connection, int id) {
    this.connection = connection;
    this.ctx = connection.ctx();
    this.id = id;
  }

  void start(Http2Headers headers, boolean endStream) {
    ConnectionIdleTimeout.requestStarted(ctx.channel());
    exchange = new Exchange(this, headers, id, endStream);
    connection.streamIdle().arm();
    exchange.start();
  }

  void requestData(ByteBuf data, boolean endStream) {
    exchange.requestData(data, endStream);
  }

  void requestTrailers(Http2Headers trailers) {
    exchange.requestTrailers(trailers);
  }

  /** The client reset the stream (RST_STREAM). */
  void resetByClient() {
    exchange.downstreamClosed();
  }

  /** The stream closed (both ends done, or reset either way, or the connection went away). */
  void closed() {
    exchange.downstreamClosed();
    if (!ended) {
      ended = true;
      ConnectionIdleTimeout.requestEnded(ctx.channel());
    }
  }

  /** Returns the exchange while it is in flight (for the connection's stream idle timer), else null. */
  Exchange inFlight() {
    return ended ? null : exchange;
  }

  /** The stream's window (or the connection's) opened again. */
  void writable() {
    exchange.downstreamWritable();
  }

  @Override
  public ProxyContext context() {
    return connection.context();
  }

  @Override
  public String protocol() {
    return "HTTP/2";
  }

  @Override
  public boolean isH2() {
    return true;
  }

  @Override
  public String sni() {
    return connection.sni();
  }

  @Override
  public Channel connection() {
    return ctx.channel();
  }

  @Override
  public EventLoop eventLoop() {
    return ctx.channel().eventLoop();
  }

  @Override
  public void requestConsumed(int bytes) {
    connection.consumed(id, bytes);
  }

  @Override
  public void writeHead(HttpResponse head, boolean endStream) {
    writeHead(DownstreamResponse.toHttp2(head), endStream);
  }

  @Override
  public void writeHead(Http2Headers head, boolean endStream) {
    connection.encoder().writeHeaders(ctx, id, head, 0, endStream, ctx.voidPromise());
  }

  @Override
  public ChannelFuture writeData(ByteBuf data, boolean endStream) {
    return connection.encoder().writeData(ctx, id, data, 0, endStream, ctx.newPromise());
  }

  @Override
  public ChannelFuture writeTrailers(Http2Headers trailers) {
    return connection.encoder().writeHeaders(ctx, id, trailers, 0, true, ctx.newPromise());
  }

  @Override
  public ChannelFuture writeTrailers(HttpHeaders trailers) {
    Http2Headers h = new DefaultHttp2Headers(false);
    HttpConversionUtil.toHttp2Headers(trailers, h);
    return writeTrailers(h);
  }

  @Override
  public void flush() {
    connection.flushSoon();
  }

  @Override
  public boolean isWritable() {
    return connection.isWritable(id);
  }

  @Override
  public void abort() {
    connection.reset(id, Http2Error.INTERNAL_ERROR);
  }

  @Override
  public void upgrade() {
    // an extended CONNECT's DATA frames already carry the tunnel's bytes
  }

  @Override
  public void exchangeDone(Exchange e) {
    if (!ended) {
      ended = true;
      ConnectionIdleTimeout.requestEnded(ctx.channel());
    }
  }

  @Override
  public void responseEnded(boolean written, boolean reuse) {
    if (written && !reuse) {
      // RFC 9113 §8.1: the response is complete; the client need not send the rest of its request. A short grace
      // first: a client whose last DATA is already on its way ends the stream itself (some clients, curl 7.88 among
      // them, report a reset that crosses their END_STREAM as an error even with NO_ERROR).
      ctx.executor().schedule(() -> {
        if (connection.isOpen(id)) {
          connection.reset(id, Http2Error.NO_ERROR);
        }
      }, RESET_GRACE_MS, java.util.concurrent.TimeUnit.MILLISECONDS);
    }
  }
}
