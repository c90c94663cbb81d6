package io.portcullis.proxy;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.http.HttpStatusClass;
import io.netty.handler.codec.http2.Http2Error;
import io.netty.handler.codec.http2.Http2Exception;
import io.netty.handler.codec.http2.Http2FrameAdapter;
import io.netty.handler.codec.http2.Http2Headers;
import io.netty.handler.codec.http2.Http2Settings;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The frames an upstream sends on one {@link Http2UpstreamConnection}, from Netty's decoder (which has checked their
 * state and fields), handed to their {@link Http2UpstreamStream}'s listener: response heads checked beyond Netty
 * (RFC 9113 §8.3.2; a malformed one is a stream error, reported to the listener as a protocol error), DATA (its
 * bytes go back to the upstream's window only as the listener consumes them), RST_STREAM, SETTINGS and GOAWAY.
 * Frames for streams that are not ours or already ended are dropped.
 */
final class Http2UpstreamFrames extends Http2FrameAdapter {
  private static final Logger log = LoggerFactory.getLogger(Http2UpstreamFrames.class);

  private final Http2UpstreamConnection connection;
  private final ProxyStats stats;

  Http2UpstreamFrames(Http2UpstreamConnection connection, ProxyStats stats) {
    this.connection = connection;
    this.stats = stats;
  }

  /** Checks a response head (RFC 9113 §8.3.2, RFC 9110 §15) beyond what Netty checks. */
  private static void checkStatus(int streamId, CharSequence status) throws Http2Exception {
    if (status == null || status.length() != 3 || !isDigit(status.charAt(0)) || !isDigit(status.charAt(1))
        || !isDigit(status.charAt(2)) || status.charAt(0) < '1' || status.charAt(0) > '5') {
      throw Http2Exception.streamError(streamId, Http2Error.PROTOCOL_ERROR,
          "response :status %s (expected: three digits, 100..599)", status);
    }
    if (status.charAt(0) == '1' && status.charAt(1) == '0' && status.charAt(2) == '1') {
      throw Http2Exception.streamError(streamId, Http2Error.PROTOCOL_ERROR,
          "response :status 101 (expected: not 101, which HTTP/2 does not have, RFC 9113 section 8.6)");
    }
  }

  private static boolean isDigit(char c) {
    return c >= '0' && c <= '9';
  }

  @Override
  public int onDataRead(ChannelHandlerContext ctx, int streamId, ByteBuf data, int padding, boolean endOfStream) {
    Http2UpstreamStream s = connection.streamOf(streamId);
    if (s == null || s.done) {
      return data.readableBytes() + padding; // nobody wants it: back to the window at once
    }
    connection.touch(s);
    if (endOfStream) {
      s.done = true;
    }
    try {
      s.listener.data(data.retain(), endOfStream);
    } catch (Throwable t) {
      connection.listenerFailed(s, t);
    }
    return padding; // the data itself goes back with consumed()
  }

  @Override
  public void onHeadersRead(ChannelHandlerContext ctx, int streamId, Http2Headers headers, int padding,
      boolean endOfStream) throws Http2Exception {
    onHeadersRead(ctx, streamId, headers, 0, (short) 16, false, padding, endOfStream);
  }

  @Override
  public void onHeadersRead(ChannelHandlerContext ctx, int streamId, Http2Headers headers, int streamDependency,
      short weight, boolean exclusive, int padding, boolean endOfStream) throws Http2Exception {
    Http2UpstreamStream s = connection.streamOf(streamId);
    if (s == null || s.done) {
      return;
    }
    if (!s.headReceived) {
      checkStatus(streamId, headers.status());
      if (HttpStatusClass.valueOf(headers.status()) == HttpStatusClass.INFORMATIONAL) {
        if (endOfStream) {
          throw Http2Exception.streamError(streamId, Http2Error.PROTOCOL_ERROR,
              "response :status %s with END_STREAM (expected: a final response after a 1xx one)",
              headers.status());
        }
      } else {
        s.headReceived = true;
      }
    }
    connection.touch(s);
    if (endOfStream) {
      s.done = true;
    }
    try {
      s.listener.headers(headers, endOfStream);
    } catch (Throwable t) {
      connection.listenerFailed(s, t);
    }
  }

  @Override
  public void onRstStreamRead(ChannelHandlerContext ctx, int streamId, long errorCode) {
    Http2UpstreamStream s = connection.streamOf(streamId);
    if (s == null || s.done) {
      return;
    }
    s.done = true;
    stats.inc(ProxyStats.UPSTREAM_RQ_RX_RESET);
    connection.touch(s);
    try {
      s.listener.reset(errorCode, errorCode == Http2Error.REFUSED_STREAM.code());
    } catch (Throwable t) {
      log.warn("{}: the listener failed on a reset", s, t);
    }
  }

  @Override
  public void onSettingsRead(ChannelHandlerContext ctx, Http2Settings settings) {
    connection.settingsRead();
  }

  @Override
  public void onGoAwayRead(ChannelHandlerContext ctx, int lastStreamId, long errorCode, ByteBuf debugData) {
    connection.goAwayRead(lastStreamId, errorCode);
  }
}
