package io.portcullis.proxy;

import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.http2.AbstractHttp2ConnectionHandlerBuilder;
import io.netty.handler.codec.http2.Http2CodecUtil;
import io.netty.handler.codec.http2.Http2ConnectionDecoder;
import io.netty.handler.codec.http2.Http2ConnectionEncoder;
import io.netty.handler.codec.http2.Http2ConnectionHandler;
import io.netty.handler.codec.http2.Http2ConnectionPrefaceAndSettingsFrameWrittenEvent;
import io.netty.handler.codec.http2.Http2Exception;
import io.netty.handler.codec.http2.Http2FrameListener;
import io.netty.handler.codec.http2.Http2Settings;
import io.netty.handler.codec.http2.Http2Stream;

/**
 * The client side of one HTTP/2 upstream connection at Netty's {@link Http2ConnectionHandler} level (no child channel
 * per stream): frames go to the {@link Http2UpstreamConnection} that owns it. Built with the connection's defences
 * ({@link Http2UpstreamLimits}): header validation (RFC 9113 §8.2), the required response pseudo-header
 * ({@code :status}, §8.3.2), {@code SETTINGS_MAX_HEADER_LIST_SIZE}, a RST_STREAM rate limit that counts every
 * RST_STREAM, those for closed streams too ({@link Http2ResetFloodDecoder}), and a bound on queued control frames;
 * push is disabled ({@code SETTINGS_ENABLE_PUSH} 0, §8.4).
 */
final class Http2UpstreamHandler extends Http2ConnectionHandler {
  /** How long a graceful close (GOAWAY {@code NO_ERROR}) waits for the GOAWAY to be written, ms. */
  static final long GRACEFUL_CLOSE_MILLIS = 5_000;

  private final Http2UpstreamConnection owner;
  private final int connectionWindow;
  private ChannelHandlerContext ctx;

  private Http2UpstreamHandler(Http2ConnectionDecoder decoder, Http2ConnectionEncoder encoder,
      Http2Settings initialSettings, Http2UpstreamConnection owner, int connectionWindow) {
    super(decoder, encoder, initialSettings);
    this.owner = owner;
    this.connectionWindow = connectionWindow;
  }

  /** Returns a handler for {@code owner} with {@code listener} as its frame listener. */
  static Http2UpstreamHandler create(Http2UpstreamConnection owner, Http2FrameListener listener,
      Http2UpstreamLimits limits) {
    return new Builder(owner, limits).frameListener(listener).build();
  }

  ChannelHandlerContext ctx() {
    return ctx;
  }

  @Override
  public void handlerAdded(ChannelHandlerContext ctx) throws Exception {
    this.ctx = ctx; // before super: it sends the preface, whose event below needs it
    super.handlerAdded(ctx);
  }

  @Override
  public void userEventTriggered(ChannelHandlerContext ctx, Object evt) throws Exception {
    if (evt instanceof Http2ConnectionPrefaceAndSettingsFrameWrittenEvent) {
      // SETTINGS_INITIAL_WINDOW_SIZE covers streams only (RFC 9113 §6.9.2): the connection window is raised by hand.
      Http2Stream connectionStream = connection().connectionStream();
      int delta = connectionWindow - decoder().flowController().initialWindowSize(connectionStream);
      if (delta > 0) {
        decoder().flowController().incrementWindowSize(connectionStream, delta);
      }
      return; // ours: the preface is flushed by the handler right after
    }
    super.userEventTriggered(ctx, evt);
  }

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) throws Exception {
    owner.readStarted();
    super.channelRead(ctx, msg);
  }

  @Override
  public void channelReadComplete(ChannelHandlerContext ctx) throws Exception {
    owner.readBatchEnded(); // listeners flush downstream (and may write here) before the flush below
    try {
      super.channelReadComplete(ctx);
    } finally {
      owner.readEnded();
    }
  }

  @Override
  public void channelInactive(ChannelHandlerContext ctx) throws Exception {
    owner.inactive(); // first: Netty closes the streams below and each says why from it
    super.channelInactive(ctx);
    owner.streamsClosed();
  }

  @Override
  public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) throws Exception {
    if (Http2CodecUtil.getEmbeddedHttp2Exception(cause) != null) {
      super.exceptionCaught(ctx, cause);
      return;
    }
    owner.failed(cause); // an I/O or TLS error: the connection is gone
    ctx.close();
  }

  @Override
  protected void onConnectionError(ChannelHandlerContext ctx, boolean outbound, Throwable cause,
      Http2Exception http2Ex) {
    boolean graceful = http2Ex != null && http2Ex.shutdownHint() == Http2Exception.ShutdownHint.GRACEFUL_SHUTDOWN;
    owner.connectionError(cause, graceful);
    super.onConnectionError(ctx, outbound, cause, http2Ex);
    if (!graceful) {
      // GOAWAY is on its way; an upstream that floods us may not read it, so do not wait for it to be written.
      ctx.flush();
      ctx.close();
    }
  }

  @Override
  protected void onStreamError(ChannelHandlerContext ctx, boolean outbound, Throwable cause,
      Http2Exception.StreamException http2Ex) {
    Http2UpstreamStream s = owner.beforeStreamError(http2Ex.streamId(), outbound, cause);
    super.onStreamError(ctx, outbound, cause, http2Ex); // RST_STREAM, then the stream closes
    if (s != null && !outbound) {
      owner.afterStreamError(s, http2Ex);
    }
  }

  private static final class Builder extends AbstractHttp2ConnectionHandlerBuilder<Http2UpstreamHandler, Builder> {
    private final Http2UpstreamConnection owner;
    private final Http2UpstreamLimits limits;
    private final int connectionWindow;

    Builder(Http2UpstreamConnection owner, Http2UpstreamLimits limits) {
      this.owner = owner;
      this.limits = limits;
      this.connectionWindow = limits.connectionWindow();
      server(false);
      validateHeaders(true);
      validateRequiredPseudoHeaders(true);
      initialSettings(new Http2Settings()
          .pushEnabled(false)
          .initialWindowSize(limits.initialStreamWindow())
          .maxHeaderListSize(limits.maxResponseHeadersKb() * 1024L));
      // Netty's RST_STREAM limit (off on a client) would count resets of open streams only: ours counts them all.
      decoderEnforceMaxRstFramesPerWindow(0, 0);
      encoderEnforceMaxQueuedControlFrames(limits.maxQueuedControlFrames());
      gracefulShutdownTimeoutMillis(GRACEFUL_CLOSE_MILLIS);
    }

    @Override
    protected Builder frameListener(Http2FrameListener listener) {
      return super.frameListener(listener);
    }

    @Override
    protected Http2UpstreamHandler build() {
      return super.build();
    }

    @Override
    protected Http2UpstreamHandler build(Http2ConnectionDecoder decoder, Http2ConnectionEncoder encoder,
        Http2Settings initialSettings) {
      return new Http2UpstreamHandler(Http2ResetFloodDecoder.wrap(decoder, limits.maxRstFramesPerWindow(),
          limits.rstFramesWindowSeconds(), "upstream"), encoder, initialSettings, owner, connectionWindow);
    }
  }
}
