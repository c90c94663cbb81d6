package io.portcullis.proxy;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelFuture;
import io.netty.handler.codec.http2.Http2Headers;
import io.netty.handler.codec.http2.Http2Stream;

/**
 * One request stream on an {@link Http2UpstreamConnection}: the request is written with {@link #writeHeaders},
 * {@link #writeData} and {@link #writeTrailers}, the response comes to the {@link Listener}. Everything here runs on
 * the connection's event loop: call these methods only there.
 *
 * <p>Flow control is tied end to end: response DATA is not returned to the upstream's window when it is read; the
 * caller returns it with {@link #consumed(int)} once it has written those bytes downstream, so the upstream never has
 * more than the stream window ({@link Http2UpstreamLimits#initialStreamWindow()}) in flight that the downstream has
 * not taken (RFC 9113 §5.2). Request DATA is written through the upstream's flow control: {@link #writeData} returns
 * a future that completes when the bytes reached the socket, and {@link #isWritable()} says whether more would go out
 * now.
 *
 * <p>Each stream gets exactly one ending: the response's last frame ({@code endStream} on {@link Listener#headers} or
 * {@link Listener#data}), {@link Listener#reset}, {@link Listener#closed} or {@link Listener#protocolError}, unless the
 * caller ended it first with {@link #reset()}; after it, no callback comes. A stream whose response ended while the
 * request was still being sent stays open upstream until the request ends or the caller calls {@link #reset()}
 * (RFC 9113 §8.1: the caller may stop sending, with a reset).
 */
final class Http2UpstreamStream {
  /**
   * What the response side reports, on the connection's event loop. A callback that throws resets its stream (it is
   * logged); it never harms the connection.
   */
  interface Listener {
    /**
     * A header block: the response head (informational 1xx heads first, which a proxy skips, then the final one), or,
     * after the final head, the trailers (then {@code endStream} is true). {@code :status} has been checked: three
     * digits, 100..599, not 101 (RFC 9113 §8.6); connection-specific fields are refused (RFC 9113 §8.2.2).
     */
    void headers(Http2Headers headers, boolean endStream);

    /**
     * Response body bytes; the listener owns {@code data} (releases it or passes it on). Call {@link #consumed(int)}
     * with {@code data.readableBytes()} once they are written downstream; padding was already returned.
     */
    void data(ByteBuf data, boolean endStream);

    /**
     * The upstream reset the stream (RST_STREAM {@code errorCode}, RFC 9113 §6.4), or refused it: {@code refused} is
     * true for {@code REFUSED_STREAM} and for a stream above the last stream id of the upstream's GOAWAY (then
     * {@code errorCode} is the GOAWAY's); a refused stream was not processed and is safe to retry on another
     * connection (RFC 9113 §8.7).
     */
    void reset(long errorCode, boolean refused);

    /**
     * The stream ended without a response end or a reset: the connection went away (closed by the upstream, a
     * connection error such as a flood from it, an I/O error) or writing the request failed. {@code cause} names the
     * endpoint and why. Not followed by {@link #readComplete()}: flush what is written here.
     */
    void closed(Throwable cause);

    /**
     * The response is malformed (RFC 9113 §8.1.1): no or an invalid {@code :status}, a connection-specific header, a
     * content-length that the body does not match, a header block over our limit, a frame not allowed in the stream's
     * state. The stream has been reset with {@code PROTOCOL_ERROR}. A proxy answers 502 with Envoy's {@code UPE} flag
     * and never relays the response; this may come after headers or data were delivered (a content-length mismatch is
     * known only at the end), then the proxy resets its downstream stream instead.
     */
    void protocolError(String why);

    /** A socket read batch that called this listener has ended: flush downstream once, now. */
    void readComplete();

    /** {@link #isWritable()} changed. */
    void writabilityChanged();
  }

  final Http2UpstreamConnection connection;
  final Listener listener;
  /** Netty's stream, from the moment the request head is written; null before (or when it was refused). */
  Http2Stream stream;
  /** The stream id, 0 until the request head is written. */
  int id;
  /** {@link #writeHeaders} was called. */
  boolean headWritten;
  /** The final (non-1xx) response head arrived. */
  boolean headReceived;
  /** The stream's one ending happened (or the caller reset it): no more callbacks. */
  boolean done;
  /** The caller reset it: nothing more is written. */
  boolean cancelled;
  /** Still counted against the connection's concurrent streams. */
  boolean counted = true;
  /** Already in the connection's list of streams touched by the current read batch. */
  boolean touched;
  /** Why writing the request failed, for {@link Listener#closed}. */
  Throwable writeFailure;

  Http2UpstreamStream(Http2UpstreamConnection connection, Listener listener) {
    this.connection = connection;
    this.listener = listener;
  }

  /** Returns the connection this stream is on. */
  Http2UpstreamConnection connection() {
    return connection;
  }

  /** Returns the HTTP/2 stream id, 0 before {@link #writeHeaders}. */
  int id() {
    return id;
  }

  /**
   * Writes the request head ({@code :method}, {@code :scheme}, {@code :authority}, {@code :path} and the fields, as
   * given: the caller has removed hop-by-hop ones); not flushed. When the connection can no longer take a stream
   * (it is draining after a GOAWAY, closed, or at the upstream's {@code SETTINGS_MAX_CONCURRENT_STREAMS}), the
   * listener gets {@link Listener#reset} with {@code refused} true, later on the event loop, and the future fails.
   *
   * @throws IllegalStateException when the head was already written
   */
  ChannelFuture writeHeaders(Http2Headers headers, boolean endStream) {
    if (headWritten) {
      throw new IllegalStateException("upstream stream " + id + ": the request head was already written");
    }
    headWritten = true;
    return connection.writeHead(this, headers, endStream);
  }

  /**
   * Writes request body bytes through the upstream's flow control; takes ownership of {@code data}. Not flushed. The
   * future completes when the bytes were written to the socket (after the stream and connection windows allowed
   * them), so a caller can read the next downstream chunk then; it fails when the stream was reset or the connection
   * ended first (then {@code data} is released). Writing on after the response ended is allowed (RFC 9113 §8.1).
   */
  ChannelFuture writeData(ByteBuf data, boolean endStream) {
    return connection.writeData(this, data, endStream);
  }

  /** Writes the request trailers and ends the request (no pseudo-header fields, RFC 9113 §8.1); not flushed. */
  ChannelFuture writeTrailers(Http2Headers trailers) {
    return connection.writeTrailers(this, trailers);
  }

  /** Flushes the connection (every stream's pending frames); call once per read batch, not per write. */
  void flush() {
    connection.flush();
  }

  /**
   * Resets the stream with {@code CANCEL} (RFC 9113 §8.7) and ends it: the listener gets nothing more. Idempotent;
   * nothing is sent for a stream that already ended both ways. Flushed unless a read batch of the connection is under
   * way (it flushes at its end).
   */
  void reset() {
    connection.resetStream(this);
  }

  /**
   * Returns whether request DATA would go out now: the stream's send window is open and the channel is writable
   * ({@code Http2RemoteFlowController#isWritable}); before the head is written, whether the channel is writable;
   * false once the stream ended.
   */
  boolean isWritable() {
    return connection.isWritable(this);
  }

  /**
   * Returns {@code bytes} of response DATA to the upstream's flow-control windows (stream and connection), sending
   * WINDOW_UPDATE when Netty's threshold is reached (half the window); call it once those bytes are written
   * downstream. More than was received is clamped; after the stream ended it does nothing (Netty returned the rest).
   */
  void consumed(int bytes) {
    connection.consumed(this, bytes);
  }

  @Override
  public String toString() {
    return "upstream stream " + id + " on " + connection;
  }
}
