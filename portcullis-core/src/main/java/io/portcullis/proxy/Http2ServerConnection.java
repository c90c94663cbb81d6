package io.portcullis.proxy;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.http2.AbstractHttp2ConnectionHandlerBuilder;
import io.netty.handler.codec.http2.DefaultHttp2Connection;
import io.netty.handler.codec.http2.DefaultHttp2LocalFlowController;
import io.netty.handler.codec.http2.Http2ConnectionAdapter;
import io.netty.handler.codec.http2.Http2ConnectionDecoder;
import io.netty.handler.codec.http2.Http2ConnectionEncoder;
import io.netty.handler.codec.http2.Http2ConnectionHandler;
import io.netty.handler.codec.http2.Http2Error;
import io.netty.handler.codec.http2.Http2Exception;
import io.netty.handler.codec.http2.Http2Flags;
import io.netty.handler.codec.http2.Http2FrameListener;
import io.netty.handler.codec.http2.Http2Headers;
import io.netty.handler.codec.http2.Http2RemoteFlowController;
import io.netty.handler.codec.http2.Http2Settings;
import io.netty.handler.codec.http2.Http2Stream;
import io.netty.util.collection.IntObjectHashMap;
import io.netty.util.collection.IntObjectMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A downstream HTTP/2 connection, handled at the frame level (RFC 9113) on the connection itself: no child channel
 * per stream and no conversion of header blocks to HTTP/1 objects. Each stream is an {@link Http2ServerStream}
 * with its {@link Exchange}; request DATA is returned to the client's window only as the upstream takes it
 * ({@link #consumed}), so a slow upstream slows its client instead of filling memory, and a stream whose window
 * the client keeps closed stops its upstream's reads ({@link Http2ServerStream#isWritable()}).
 *
 * <p>Defences are Netty's, set here: {@code SETTINGS_MAX_CONCURRENT_STREAMS} advertised and enforced (REFUSED_STREAM
 * beyond it), {@code SETTINGS_MAX_HEADER_LIST_SIZE} = {@code --max-request-headers-kb} (a larger block is answered
 * 431 or refused while it is decoded, never buffered whole), CONTINUATION floods, RST_STREAM floods in both
 * directions (rapid reset, CVE-2023-44487, and MadeYouReset, CVE-2025-8671: GOAWAY {@code ENHANCE_YOUR_CALM}),
 * empty-DATA floods and the queue of unflushed control frames. The client's RST_STREAM frames are counted by
 * {@link Http2ResetFloodDecoder}, those for closed streams too, which Netty's own count misses. Runs on the
 * connection's event loop.
 */
final class Http2ServerConnection extends Http2ConnectionHandler implements Http2FrameListener {
  private static final Logger log = LoggerFactory.getLogger(Http2ServerConnection.class);
  /** {@code SETTINGS_MAX_CONCURRENT_STREAMS} advertised to clients (Envoy's and Netty's default). */
  static final int MAX_CONCURRENT_STREAMS = 100;
  /** RST_STREAM frames a client may send per {@link #RST_FRAMES_WINDOW_SECONDS} (Netty's server default). */
  static final int MAX_RST_FRAMES_PER_WINDOW = 200;
  /** The window of {@link #MAX_RST_FRAMES_PER_WINDOW}, seconds. */
  static final int RST_FRAMES_WINDOW_SECONDS = 30;
  /** The opaque data of the PING {@link #pingIfAnsweredFirst} sends ("portcull"); its ACK is ignored. */
  static final long EARLY_ANSWER_PING = 0x706f727463756c6cL;

  private final ProxyContext cx;
  private final String sni;
  private final IntObjectMap<Http2ServerStream> streams = new IntObjectHashMap<>();
  private ChannelHandlerContext ctx;
  private boolean flushScheduled;
  /** The stream idle timeout of all the streams: one timer for the connection, not one per stream. */
  private StreamIdleTimer streamIdle;

  private Http2ServerConnection(Http2ConnectionDecoder decoder, Http2ConnectionEncoder encoder,
      Http2Settings settings, ProxyContext cx, String sni) {
    super(decoder, encoder, settings);
    this.cx = cx;
    this.sni = sni;
    connection().addListener(new Http2ConnectionAdapter() {
      @Override
      public void onStreamClosed(Http2Stream stream) {
        Http2ServerStream s = streams.remove(stream.id());
        if (s != null) {
          s.closed();
        }
      }
    });
    connection().remote().flowController().listener(new Http2RemoteFlowController.Listener() {
      @Override
      public void writabilityChanged(Http2Stream stream) {
        Http2ServerStream s = streams.get(stream.id());
        if (s != null && connection().remote().flowController().isWritable(stream)) {
          s.writable();
        }
      }
    });
  }

  /** Returns the handler for a new downstream connection. */
  static Http2ServerConnection create(ProxyContext cx, String sni) {
    return new Builder(cx, sni).build();
  }

  private static final class Builder
      extends AbstractHttp2ConnectionHandlerBuilder<Http2ServerConnection, Builder> {
    private final ProxyContext cx;
    private final String sni;

    Builder(ProxyContext cx, String sni) {
      this.cx = cx;
      this.sni = sni;
      DefaultHttp2Connection connection = new DefaultHttp2Connection(true);
      // Request bytes go back to the client's windows only when consumed (sent upstream), half a window at a time.
      connection.local().flowController(new DefaultHttp2LocalFlowController(connection, 0.5f, true));
      connection(connection);
      validateHeaders(true);
      initialSettings(Http2Settings.defaultSettings()
          .maxConcurrentStreams(MAX_CONCURRENT_STREAMS)
          .maxHeaderListSize(cx.limits().maxRequestHeadersBytes())
          .connectProtocolEnabled(true)); // RFC 8441: WebSocket over HTTP/2
      gracefulShutdownTimeoutMillis(0);
      // Netty's RST_STREAM limit counts resets of open streams only: Http2ResetFloodDecoder counts them all.
      decoderEnforceMaxRstFramesPerWindow(0, 0);
    }

    @Override
    protected Http2ServerConnection build() {
      return super.build();
    }

    @Override
    protected Http2ServerConnection build(Http2ConnectionDecoder decoder, Http2ConnectionEncoder encoder,
        Http2Settings initialSettings) {
      Http2ServerConnection handler = new Http2ServerConnection(Http2ResetFloodDecoder.wrap(decoder,
          MAX_RST_FRAMES_PER_WINDOW, RST_FRAMES_WINDOW_SECONDS, "client"), encoder, initialSettings, cx, sni);
      frameListener(handler);
      return handler;
    }
  }

  @Override
  public void handlerAdded(ChannelHandlerContext ctx) throws Exception {
    this.ctx = ctx;
    this.streamIdle = new StreamIdleTimer(ctx.executor(), cx.limits().streamIdleTimeout().toNanos(), action -> {
      for (Http2ServerStream s : streams.values()) {
        Exchange e = s.inFlight();
        if (e != null) {
          action.accept(e);
        }
      }
    });
    super.handlerAdded(ctx);
  }

  @Override
  public void channelInactive(ChannelHandlerContext ctx) throws Exception {
    streamIdle.cancel();
    super.channelInactive(ctx);
  }

  StreamIdleTimer streamIdle() {
    return streamIdle;
  }

  ProxyContext context() {
    return cx;
  }

  String sni() {
    return sni;
  }

  ChannelHandlerContext ctx() {
    return ctx;
  }

  /** Returns {@code bytes} of stream {@code id}'s request body to the client's windows (WINDOW_UPDATE). */
  void consumed(int id, int bytes) {
    Http2Stream stream = connection().stream(id);
    if (stream == null || bytes == 0) {
      return;
    }
    try {
      if (connection().local().flowController().consumeBytes(stream, bytes)) {
        flushSoon();
      }
    } catch (Http2Exception e) {
      onError(ctx, true, e);
    }
  }

  /** Whether stream {@code id} may take more response bytes now (its window and the connection's are open). */
  boolean isWritable(int id) {
    Http2Stream stream = connection().stream(id);
    return stream != null && connection().remote().flowController().isWritable(stream);
  }

  /**
   * Flushes once at the end of this event-loop task, however many streams wrote in it: the writes an upstream read
   * batch produced for many streams leave in one flush.
   */
  void flushSoon() {
    if (!flushScheduled) {
      flushScheduled = true;
      ctx.executor().execute(() -> {
        flushScheduled = false;
        flush(ctx); // the handler's own flush: it writes what the flow controller holds, then flushes
      });
    }
  }

  /** Whether stream {@code id} is still open (not closed, not forgotten). */
  boolean isOpen(int id) {
    Http2Stream stream = connection().stream(id);
    return stream != null && stream.state() != Http2Stream.State.CLOSED;
  }

  /** Resets stream {@code id} with {@code error}. */
  void reset(int id, Http2Error error) {
    resetStream(ctx, id, error.code(), ctx.newPromise());
    flushSoon();
  }

  @Override
  public void onHeadersRead(ChannelHandlerContext ctx, int streamId, Http2Headers headers, int padding,
      boolean endStream) {
    Http2ServerStream s = streams.get(streamId);
    if (s == null) {
      Http2Stream stream = connection().stream(streamId);
      if (stream == null) {
        return; // already reset by the decoder
      }
      s = new Http2ServerStream(this, streamId);
      streams.put(streamId, s);
      s.start(headers, endStream);
    } else {
      if (endStream) {
        pingIfAnsweredFirst(ctx, streamId);
      }
      s.requestTrailers(headers);
    }
  }

  /**
   * A client that ends its request after the whole response reached it (the gateway answered early: a 404 to a
   * POST, a gRPC error before the message) gets a PING, which it must answer (RFC 9113 §6.7). curl before 8.1
   * (Debian bookworm's 7.88 among them) misses the close of a stream that its own END_STREAM closes and waits for
   * its socket to be readable until its timeout; the PING makes it readable. Called before the decoder closes the
   * stream's remote side, so {@code HALF_CLOSED_LOCAL} means the response had ended first.
   */
  private void pingIfAnsweredFirst(ChannelHandlerContext ctx, int streamId) {
    Http2Stream stream = connection().stream(streamId);
    if (stream != null && stream.state() == Http2Stream.State.HALF_CLOSED_LOCAL) {
      encoder().writePing(ctx, false, EARLY_ANSWER_PING, ctx.voidPromise());
      flushSoon();
    }
  }

  @Override
  public void onHeadersRead(ChannelHandlerContext ctx, int streamId, Http2Headers headers, int streamDependency,
      short weight, boolean exclusive, int padding, boolean endStream) {
    onHeadersRead(ctx, streamId, headers, padding, endStream);
  }

  @Override
  public int onDataRead(ChannelHandlerContext ctx, int streamId, ByteBuf data, int padding, boolean endOfStream) {
    Http2ServerStream s = streams.get(streamId);
    if (s == null) {
      return data.readableBytes() + padding;
    }
    if (endOfStream) {
      pingIfAnsweredFirst(ctx, streamId);
    }
    s.requestData(data.retain(), endOfStream);
    return padding; // the data itself is returned to the window as the upstream consumes it
  }

  @Override
  public void onRstStreamRead(ChannelHandlerContext ctx, int streamId, long errorCode) {
    Http2ServerStream s = streams.get(streamId);
    if (s != null) {
      s.resetByClient();
    }
  }

  @Override
  public void onPriorityRead(ChannelHandlerContext ctx, int streamId, int streamDependency, short weight,
      boolean exclusive) {}

  @Override
  public void onSettingsAckRead(ChannelHandlerContext ctx) {}

  @Override
  public void onSettingsRead(ChannelHandlerContext ctx, Http2Settings settings) {}

  @Override
  public void onPingRead(ChannelHandlerContext ctx, long data) {}

  @Override
  public void onPingAckRead(ChannelHandlerContext ctx, long data) {}

  @Override
  public void onPushPromiseRead(ChannelHandlerContext ctx, int streamId, int promisedStreamId, Http2Headers headers,
      int padding) {}

  @Override
  public void onGoAwayRead(ChannelHandlerContext ctx, int lastStreamId, long errorCode, ByteBuf debugData) {}

  @Override
  public void onWindowUpdateRead(ChannelHandlerContext ctx, int streamId, int windowSizeIncrement) {}

  @Override
  public void onUnknownFrame(ChannelHandlerContext ctx, byte frameType, int streamId, Http2Flags flags,
      ByteBuf payload) {}

  /**
   * Ignores DATA and HEADERS for a stream that has closed and been forgotten, as RFC 9113 §5.1 has it for a stream
   * this side reset ("MUST ignore frames that it receives on closed streams after it has sent a RST_STREAM"): the
   * gateway resets a stream with NO_ERROR whenever it answered before the request's body was in (a 404 to a POST),
   * and the DATA the client already had in flight would otherwise get a RST_STREAM(STREAM_CLOSED) each, which
   * Netty's MadeYouReset limit counts: some hundred such POSTs in 30 s and the connection was closed with
   * ENHANCE_YOUR_CALM. Netty has already counted the frame against the connection's flow-control window; frames
   * for a stream that never existed are a connection error before this.
   */
  @Override
  protected void onStreamError(ChannelHandlerContext ctx, boolean outbound, Throwable cause,
      Http2Exception.StreamException http2Ex) {
    if (!outbound && http2Ex.error() == Http2Error.STREAM_CLOSED && connection().stream(http2Ex.streamId()) == null) {
      return;
    }
    super.onStreamError(ctx, outbound, cause, http2Ex);
  }

  @Override
  protected void onConnectionError(ChannelHandlerContext ctx, boolean outbound, Throwable cause,
      Http2Exception http2Ex) {
    log.debug("downstream {}: HTTP/2 connection error: {}", ctx.channel(), cause.toString());
    cx.stats().inc(ProxyStats.CX_PROTOCOL_ERROR);
    super.onConnectionError(ctx, outbound, cause, http2Ex);
  }
}
