package io.portcullis.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.http2.AbstractHttp2ConnectionHandlerBuilder;
import io.netty.handler.codec.http2.DefaultHttp2FrameReader;
import io.netty.handler.codec.http2.DefaultHttp2Headers;
import io.netty.handler.codec.http2.DefaultHttp2HeadersEncoder;
import io.netty.handler.codec.http2.Http2CodecUtil;
import io.netty.handler.codec.http2.Http2ConnectionDecoder;
import io.netty.handler.codec.http2.Http2ConnectionEncoder;
import io.netty.handler.codec.http2.Http2ConnectionHandler;
import io.netty.handler.codec.http2.Http2Error;
import io.netty.handler.codec.http2.Http2Flags;
import io.netty.handler.codec.http2.Http2FrameAdapter;
import io.netty.handler.codec.http2.Http2FrameTypes;
import io.netty.handler.codec.http2.Http2Settings;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * {@link Http2ResetFloodDecoder} in front of a Netty server handler, fed a client's bytes: RST_STREAM frames for a
 * stream that has closed (which Netty's decoder drops before any listener) count, the 201st within the window is a
 * connection error (GOAWAY {@code ENHANCE_YOUR_CALM}, closed), and the frame boundaries hold however the bytes are
 * split across reads and whatever frames come between, stream errors among them.
 */
class Http2ResetFloodDecoderTest {
  private static final int LIMIT = 200;

  @ParameterizedTest(name = "{0} resets, {1}-byte reads, DATA between: {2}")
  @CsvSource({
      "200, 0,     false, false",
      "201, 0,     false, true",
      "200, 1,     true,  false",
      "201, 1,     true,  true",
      "201, 7,     true,  true",
      "400, 4096,  true,  true"})
  void resetsOfAClosedStreamCountTowardsTheLimit(int resets, int readSize, boolean dataBetween, boolean flood) {
    Peer peer = new Peer();
    ByteBuf bytes = Unpooled.buffer();
    bytes.writeBytes(Http2CodecUtil.connectionPrefaceBuf());
    frame(bytes, Http2FrameTypes.SETTINGS, 0, 0, Unpooled.EMPTY_BUFFER);
    frame(bytes, Http2FrameTypes.HEADERS, Http2Flags.END_HEADERS | Http2Flags.END_STREAM, 1,
        headers());
    for (int i = 0; i < resets; i++) {
      frame(bytes, Http2FrameTypes.RST_STREAM, 0, 1, Unpooled.buffer(4).writeInt((int) Http2Error.CANCEL.code()));
      if (dataBetween && i % 50 == 10) {
        // DATA for the closed stream: a stream error (STREAM_CLOSED) that Netty answers with RST_STREAM.
        frame(bytes, Http2FrameTypes.DATA, 0, 1, Unpooled.wrappedBuffer(new byte[100]));
      }
    }
    frame(bytes, Http2FrameTypes.PING, 0, 0, Unpooled.buffer(8).writeLong(42));
    peer.feed(bytes, readSize);
    if (flood) {
      assertThat(peer.goAways).containsExactly(Http2Error.ENHANCE_YOUR_CALM.code());
      assertThat(peer.channel.isOpen()).isFalse();
      assertThat(peer.pingAcks).as("frames after the flood are not decoded").isZero();
    } else {
      assertThat(peer.goAways).isEmpty();
      assertThat(peer.channel.isOpen()).isTrue();
      assertThat(peer.pingAcks).as("the frame after the resets").isEqualTo(1);
    }
    assertThat(peer.resets).as("RST_STREAM answers to the DATA frames").isEqualTo(dataBetween ? 4 : 0);
    peer.channel.finishAndReleaseAll();
  }

  @Test
  void theFramesBeforeTheOneOverTheLimitAreDecoded() {
    Peer peer = new Peer();
    ByteBuf bytes = Unpooled.buffer();
    bytes.writeBytes(Http2CodecUtil.connectionPrefaceBuf());
    frame(bytes, Http2FrameTypes.SETTINGS, 0, 0, Unpooled.EMPTY_BUFFER);
    frame(bytes, Http2FrameTypes.HEADERS, Http2Flags.END_HEADERS | Http2Flags.END_STREAM, 1,
        headers());
    for (int i = 0; i < LIMIT; i++) {
      frame(bytes, Http2FrameTypes.RST_STREAM, 0, 1, Unpooled.buffer(4).writeInt((int) Http2Error.CANCEL.code()));
    }
    frame(bytes, Http2FrameTypes.PING, 0, 0, Unpooled.buffer(8).writeLong(42));
    frame(bytes, Http2FrameTypes.RST_STREAM, 0, 1, Unpooled.buffer(4).writeInt((int) Http2Error.CANCEL.code()));
    frame(bytes, Http2FrameTypes.PING, 0, 0, Unpooled.buffer(8).writeLong(43));
    peer.feed(bytes, 0); // in one read

    assertThat(peer.pingAcks).as("the PING before the 201st reset, not the one after").isEqualTo(1);
    assertThat(peer.goAways).containsExactly(Http2Error.ENHANCE_YOUR_CALM.code());
    assertThat(peer.channel.isOpen()).isFalse();
    peer.channel.finishAndReleaseAll();
  }

  private static ByteBuf headers() {
    ByteBuf block = Unpooled.buffer();
    try {
      new DefaultHttp2HeadersEncoder().encodeHeaders(1, new DefaultHttp2Headers().method("GET").scheme("http")
          .authority("a.example").path("/"), block);
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
    return block;
  }

  /** Appends one frame (RFC 9113 §4.1) and releases {@code payload}. */
  private static void frame(ByteBuf out, byte type, int flags, int streamId, ByteBuf payload) {
    out.writeMedium(payload.readableBytes()).writeByte(type).writeByte(flags).writeInt(streamId);
    out.writeBytes(payload);
    payload.release();
  }

  /** A server handler with the limit, on an {@link EmbeddedChannel}; what it writes is decoded as a client would. */
  private static final class Peer {
    final EmbeddedChannel channel = new EmbeddedChannel(new ServerBuilder().build());
    final List<Long> goAways = new ArrayList<>();
    int resets;
    int pingAcks;
    private final DefaultHttp2FrameReader reader = new DefaultHttp2FrameReader();
    /** What the server wrote and the reader has not read yet (a frame may come in more than one buffer). */
    private final ByteBuf written = Unpooled.buffer();
    private boolean serverPrefaceSeen;

    /** Writes {@code bytes} in reads of {@code readSize} bytes (0: all at once), reading what the server wrote. */
    void feed(ByteBuf bytes, int readSize) {
      while (bytes.isReadable() && channel.isOpen()) {
        int n = readSize == 0 ? bytes.readableBytes() : Math.min(readSize, bytes.readableBytes());
        channel.writeInbound(bytes.readRetainedSlice(n));
        channel.runPendingTasks();
        drainOutbound();
      }
      bytes.release();
    }

    private void drainOutbound() {
      ByteBuf out;
      while ((out = channel.readOutbound()) != null) {
        written.writeBytes(out);
        out.release();
      }
      try {
        reader.readFrame(channel.pipeline().firstContext(), written, new Http2FrameAdapter() {
          @Override
          public void onGoAwayRead(ChannelHandlerContext ctx, int lastStreamId, long errorCode, ByteBuf debug) {
            goAways.add(errorCode);
          }

          @Override
          public void onRstStreamRead(ChannelHandlerContext ctx, int streamId, long errorCode) {
            resets++;
          }

          @Override
          public void onPingAckRead(ChannelHandlerContext ctx, long data) {
            pingAcks++;
          }

          @Override
          public void onSettingsRead(ChannelHandlerContext ctx, Http2Settings settings) {
            serverPrefaceSeen = true;
          }

          @Override
          public int onDataRead(ChannelHandlerContext ctx, int streamId, ByteBuf data, int padding,
              boolean endOfStream) {
            return data.readableBytes() + padding;
          }
        });
      } catch (Exception e) {
        throw new IllegalStateException(e);
      }
      written.discardReadBytes();
      assertThat(serverPrefaceSeen).isTrue();
    }
  }

  /** Netty's server handler as Http2ServerConnection builds it, with a listener that takes every frame. */
  private static final class ServerBuilder
      extends AbstractHttp2ConnectionHandlerBuilder<Http2ConnectionHandler, ServerBuilder> {
    ServerBuilder() {
      server(true);
      decoderEnforceMaxRstFramesPerWindow(0, 0);
      frameListener(new Http2FrameAdapter());
    }

    @Override
    protected Http2ConnectionHandler build() {
      return super.build();
    }

    @Override
    protected Http2ConnectionHandler build(Http2ConnectionDecoder decoder, Http2ConnectionEncoder encoder,
        Http2Settings initialSettings) {
      return new Http2ConnectionHandler(Http2ResetFloodDecoder.wrap(decoder, LIMIT, 30, "client"), encoder,
          initialSettings) {};
    }
  }
}
