package io.portcullis.proxy;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.http2.DecoratingHttp2ConnectionDecoder;
import io.netty.handler.codec.http2.Http2CodecUtil;
import io.netty.handler.codec.http2.Http2ConnectionDecoder;
import io.netty.handler.codec.http2.Http2Error;
import io.netty.handler.codec.http2.Http2Exception;
import io.netty.handler.codec.http2.Http2FrameTypes;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Counts every RST_STREAM frame (RFC 9113 §6.4) the peer sends, whatever stream it names, and fails the connection
 * with {@code ENHANCE_YOUR_CALM} (a connection error, §5.4.1: GOAWAY, then the connection is closed) once more than
 * {@code maxFrames} arrive within one window of {@code windowSeconds}. It replaces Netty's limit
 * ({@code decoderEnforceMaxRstFramesPerWindow}), which sits behind {@code DefaultHttp2ConnectionDecoder}: that drops a
 * RST_STREAM for a stream that is closed or long gone (§5.1 says to ignore it) before any listener, so a peer could
 * send those without end, uncounted. Used on both sides: {@link Http2ServerConnection} (a client's reset flood, rapid
 * reset CVE-2023-44487 included) and {@link Http2UpstreamHandler} (an upstream's).
 *
 * <p>The frame headers (§4.1: a 24-bit length, then the type) are read in the bytes the decoder is handed, before it
 * decodes them; nothing is copied. As with Netty's limit, the frames before the first RST_STREAM over the limit are
 * decoded and that one is the connection error; the rest of the peer's bytes are dropped unread. The window is
 * Netty's too: it starts at the first frame counted, and the first one after it ends starts the next. Runs on the
 * connection's event loop.
 */
final class Http2ResetFloodDecoder extends DecoratingHttp2ConnectionDecoder {
  private final int maxFrames;
  private final long windowNanos;
  private final String peer;
  /** Where the next frame header starts, in bytes from the reader index of what the decoder has not read yet. */
  private long nextHeader;
  /** Where the first RST_STREAM over the limit starts, counted as {@link #nextHeader} is; -1 until one came. */
  private long floodAt = -1;
  private long windowStart;
  private int inWindow;
  private boolean exceeded;

  private Http2ResetFloodDecoder(Http2ConnectionDecoder delegate, int maxFrames, int windowSeconds, String peer) {
    super(delegate);
    this.maxFrames = maxFrames;
    this.windowNanos = TimeUnit.SECONDS.toNanos(windowSeconds);
    this.peer = peer;
    this.windowStart = System.nanoTime() - windowNanos;
  }

  /**
   * Returns {@code decoder} with the limit in front of it, or {@code decoder} itself when {@code maxFrames} is 0.
   *
   * @param maxFrames RST_STREAM frames allowed per window, >= 0 (0: no limit)
   * @param windowSeconds the window, seconds, >= 1
   * @param peer who sends them, for the error's message ({@code "client"}, {@code "upstream"})
   * @throws IllegalArgumentException naming the value, when one is out of range
   */
  static Http2ConnectionDecoder wrap(Http2ConnectionDecoder decoder, int maxFrames, int windowSeconds, String peer) {
    if (maxFrames < 0 || windowSeconds < 1) {
      throw new IllegalArgumentException("maxFrames/windowSeconds: " + maxFrames + "/" + windowSeconds
          + " (expected: >= 0 / >= 1)");
    }
    return maxFrames == 0 ? decoder : new Http2ResetFloodDecoder(decoder, maxFrames, windowSeconds, peer);
  }

  @Override
  public void decodeFrame(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) throws Http2Exception {
    if (exceeded) {
      in.skipBytes(in.readableBytes()); // the connection is closing: nothing more of the flood is decoded
      return;
    }
    if (floodAt < 0) {
      scan(in);
    }
    if (floodAt < 0) {
      decode(ctx, in, out);
      return;
    }
    if (floodAt > 0) {
      // The frames before the one over the limit are decoded first, as Netty's own limit does; a stream error
      // among them comes out of here, and the handler calls again with the rest.
      int end = in.writerIndex();
      in.writerIndex(in.readerIndex() + (int) floodAt);
      try {
        decode(ctx, in, out);
      } finally {
        in.writerIndex(end);
      }
    }
    exceeded = true;
    throw Http2Exception.connectionError(Http2Error.ENHANCE_YOUR_CALM,
        "RST_STREAM flood from the %s: %d RST_STREAM frames within %d s (expected: at most %d)", peer,
        maxFrames + 1, TimeUnit.NANOSECONDS.toSeconds(windowNanos), maxFrames);
  }

  /** Reads the frame headers not read yet, counting RST_STREAM frames, up to the first one over the limit. */
  private void scan(ByteBuf in) {
    int start = in.readerIndex();
    long at = nextHeader;
    while (at + Http2CodecUtil.FRAME_HEADER_LENGTH <= in.readableBytes()) {
      int header = start + (int) at;
      if (in.getByte(header + 3) == Http2FrameTypes.RST_STREAM && !allowed()) {
        floodAt = at;
        break;
      }
      at += Http2CodecUtil.FRAME_HEADER_LENGTH + in.getUnsignedMedium(header);
    }
    nextHeader = at;
  }

  private void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) throws Http2Exception {
    int start = in.readerIndex();
    try {
      super.decodeFrame(ctx, in, out);
    } finally {
      // The decoder reads whole headers, and payloads whole (after a stream error too): never past the next header.
      int read = in.readerIndex() - start;
      nextHeader -= read;
      if (floodAt >= 0) {
        floodAt -= read;
      }
    }
  }

  /** Counts one RST_STREAM frame; returns whether it is within the limit. */
  private boolean allowed() {
    long now = System.nanoTime();
    if (now - windowStart >= windowNanos) {
      windowStart = now;
      inWindow = 1;
      return true;
    }
    return ++inWindow <= maxFrames;
  }
}
