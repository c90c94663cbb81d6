package io.portcullis.proxy;

import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.EventLoop;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http2.Http2Headers;

/**
 * The client side of one {@link Exchange}: a downstream HTTP/1.1 connection ({@link ProxyHandler}) or one HTTP/2
 * stream ({@link Http2ServerStream}). A response head comes in the form the upstream (or the gateway) produced it;
 * the downstream converts it only when its own protocol differs, so an HTTP/1.1 → HTTP/1.1 or HTTP/2 → HTTP/2
 * exchange never copies a header block. All methods are called on {@link #eventLoop()} and never block.
 */
interface Downstream {
  /** The listener's shared state. */
  ProxyContext context();

  /** {@code HTTP/1.1} or {@code HTTP/2}, as the access log shows it. */
  String protocol();

  /** Whether this is an HTTP/2 stream. */
  boolean isH2();

  /** The server name the client sent in its ClientHello, or null. */
  String sni();

  /** The downstream TCP connection (an HTTP/2 stream's parent). */
  Channel connection();

  /** The event loop of the connection; upstream connections for this exchange are opened on it. */
  EventLoop eventLoop();

  /**
   * Returns {@code bytes} of request body to the client once the upstream took them: HTTP/1.1 reads the next
   * message, HTTP/2 sends the stream's WINDOW_UPDATE (so the client's window tracks the upstream's consumption).
   */
  void requestConsumed(int bytes);

  /** Writes a response head in HTTP/1.1 form (not flushed); {@code endStream} when no body follows. */
  void writeHead(HttpResponse head, boolean endStream);

  /** Writes a response head in HTTP/2 form (not flushed); {@code endStream} when no body follows. */
  void writeHead(Http2Headers head, boolean endStream);

  /** Writes response body bytes (owned by the callee); the future completes once they reached the socket. */
  ChannelFuture writeData(ByteBuf data, boolean endStream);

  /** Writes the response trailers, ending the response; HTTP/1.1 sends them only when the body is chunked. */
  ChannelFuture writeTrailers(Http2Headers trailers);

  /** Writes the response trailers in HTTP/1.1 form, ending the response. */
  ChannelFuture writeTrailers(HttpHeaders trailers);

  /** Flushes what was written. */
  void flush();

  /** Whether the client takes more response bytes now (socket writable; for HTTP/2 also the stream's window). */
  boolean isWritable();

  /** Ends the response abnormally: an HTTP/1.1 connection is closed, an HTTP/2 stream reset. */
  void abort();

  /** The exchange accepted a WebSocket upgrade: from now on request and response bytes pass untouched. */
  void upgrade();

  /** Called by the exchange once it is finished (response written or given up), before its log line. */
  void exchangeDone(Exchange exchange);

  /**
   * The response ended: an HTTP/1.1 connection reads the next request when {@code written} and {@code reuse}, else
   * closes; an HTTP/2 stream whose request is still arriving ({@code reuse} false) is reset.
   */
  void responseEnded(boolean written, boolean reuse);
}
