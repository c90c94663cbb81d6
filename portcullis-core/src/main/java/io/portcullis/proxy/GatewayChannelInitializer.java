package io.portcullis.proxy;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.ByteBufUtil;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelPipeline;
import io.netty.handler.codec.ByteToMessageDecoder;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpServerExpectContinueHandler;
import io.netty.handler.codec.http2.Http2CodecUtil;
import io.netty.handler.codec.http2.Http2FrameCodecBuilder;
import io.netty.handler.codec.http2.Http2MultiplexHandler;
import io.netty.handler.codec.http2.Http2StreamChannel;
import io.netty.handler.codec.http2.Http2StreamFrameToHttpObjectCodec;
import io.netty.handler.flush.FlushConsolidationHandler;
import io.netty.handler.ssl.ApplicationProtocolNames;
import io.netty.handler.ssl.ApplicationProtocolNegotiationHandler;
import io.netty.handler.ssl.SniHandler;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslHandler;
import io.netty.util.AsyncMapping;
import io.netty.util.AttributeKey;
import io.netty.util.concurrent.Future;
import io.netty.util.concurrent.Promise;
import io.portcullis.acme.Http01Challenges;
import io.portcullis.tls.TlsContexts.ServerTls;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import javax.net.ssl.SSLHandshakeException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Assembles a downstream connection's pipeline: for a TLS port SNI (picks the server's credential) then ALPN ({@code h2}
 * or {@code http/1.1}); for a plain port HTTP/1.1, or HTTP/2 with prior knowledge (h2c) told by the first bytes; then
 * one {@link ProxyHandler} per connection (HTTP/1.1) or per stream (HTTP/2).
 */
final class GatewayChannelInitializer extends ChannelInitializer<Channel> {
  private static final Logger log = LoggerFactory.getLogger(GatewayChannelInitializer.class);
  static final AttributeKey<String> SNI = AttributeKey.valueOf("portcullis.sni");
  /** The name ({@link io.portcullis.config.ServerConfig#routeName()}) of the server the handshake chose by SNI. */
  static final AttributeKey<String> SNI_SERVER = AttributeKey.valueOf("portcullis.sni-server");
  static final int MAX_INITIAL_LINE = 8192;
  static final int MAX_HEADER_SIZE = 65_536;
  static final int MAX_CHUNK = 65_536;

  private final Listener listener;
  private final Upstreams upstreams;
  private final AccessLog accessLog;
  private final Http01Challenges challenges;

  GatewayChannelInitializer(Listener listener, Upstreams upstreams, AccessLog accessLog,
      Http01Challenges challenges) {
    this.listener = listener;
    this.upstreams = upstreams;
    this.accessLog = accessLog;
    this.challenges = challenges;
  }

  @Override
  protected void initChannel(Channel ch) {
    ChannelPipeline p = ch.pipeline();
    if (listener.state().config().tls()) {
      // Nearest the socket, so that its flush before the half-close is not held back by the flush consolidation.
      p.addLast(new LingerOnHandshakeFailure());
    }
    p.addLast(new FlushConsolidationHandler(256, true));
    if (listener.state().config().tls()) {
      SniMapping sni = new SniMapping(listener);
      p.addLast(new SniHandler(sni) {
        @Override
        protected void replaceHandler(ChannelHandlerContext ctx, String hostname, SslContext sslContext)
            throws Exception {
          ctx.channel().attr(SNI).set(hostname);
          ctx.channel().attr(SNI_SERVER).set(sni.chosen.server().routeName());
          super.replaceHandler(ctx, hostname, sslContext);
        }

        @Override
        protected SslHandler newSslHandler(SslContext context, ByteBufAllocator allocator) {
          // The shared context's key manager serves the credential named by the engine's "peer host".
          return context.newHandler(allocator, sni.chosen.alias(), -1);
        }
      });
      p.addLast(new Alpn());
    } else {
      ch.config().setAutoRead(false);
      p.addLast(new CleartextDetector());
    }
  }

  /** Adds the HTTP/2 frame codec and one {@link ProxyHandler} per stream; the connection itself reads freely. */
  private void http2(ChannelPipeline p, Channel ch) {
    ch.config().setAutoRead(true);
    String sni = ch.attr(SNI).get();
    p.addLast(Http2FrameCodecBuilder.forServer().validateHeaders(true).build());
    p.addLast(new Http2MultiplexHandler(new ChannelInitializer<Http2StreamChannel>() {
      @Override
      protected void initChannel(Http2StreamChannel stream) {
        stream.config().setAutoRead(false);
        stream.pipeline().addLast(new Http2StreamFrameToHttpObjectCodec(true, true));
        stream.pipeline().addLast(new ProxyHandler(listener, upstreams, accessLog, challenges, "HTTP/2", sni, ch));
      }
    }));
  }

  /**
   * On a plain-text port, tells HTTP/2 with prior knowledge (h2c, RFC 9113 §3.3: the client starts with the
   * connection preface) from HTTP/1.1 by the first bytes, then replaces itself with the right pipeline.
   */
  private final class CleartextDetector extends ByteToMessageDecoder {
    private final ByteBuf preface = Http2CodecUtil.connectionPrefaceBuf();

    @Override
    public void channelActive(ChannelHandlerContext ctx) throws Exception {
      ctx.read();
      super.channelActive(ctx);
    }

    @Override
    protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
      int n = Math.min(in.readableBytes(), preface.readableBytes());
      if (!ByteBufUtil.equals(in, in.readerIndex(), preface, preface.readerIndex(), n)) {
        http1(ctx.pipeline(), ctx.channel());
        ctx.pipeline().remove(this);
        return;
      }
      if (n == preface.readableBytes()) {
        http2(ctx.pipeline(), ctx.channel());
        ctx.pipeline().remove(this);
        return;
      }
      ctx.read(); // a prefix of the preface so far: wait for more
    }

    @Override
    protected void handlerRemoved0(ChannelHandlerContext ctx) {
      preface.release();
    }
  }

  private void http1(ChannelPipeline p, Channel ch) {
    p.addLast(new HttpServerCodec(MAX_INITIAL_LINE, MAX_HEADER_SIZE, MAX_CHUNK));
    p.addLast(new HttpServerExpectContinueHandler());
    p.addLast(new ProxyHandler(listener, upstreams, accessLog, challenges, "HTTP/1.1", ch.attr(SNI).get(),
        ch));
  }

  /**
   * Chooses the server by SNI: exact host, then {@code *.} wildcard, then {@code *}; none fails the handshake. One
   * per connection: it remembers the choice for the SSL handler it makes.
   */
  private static final class SniMapping implements AsyncMapping<String, SslContext> {
    private final Listener listener;
    ServerTls chosen;

    SniMapping(Listener listener) {
      this.listener = listener;
    }

    @Override
    public Future<SslContext> map(String host, Promise<SslContext> promise) {
      String h = host == null ? null : host.toLowerCase(Locale.ROOT);
      Optional<ServerTls> server = listener.state().tls().find(h);
      if (server.isPresent() && server.get().context().isPresent()) {
        chosen = server.get();
        return promise.setSuccess(chosen.context().get());
      }
      return promise.setFailure(new SSLHandshakeException(server.isEmpty()
          ? "no server on port " + listener.port() + " covers SNI " + (host == null ? "(none)" : host)
          : "server " + server.get().server().routeName() + " has no usable credential: " + server.get().error()));
    }
  }

  private final class Alpn extends ApplicationProtocolNegotiationHandler {
    Alpn() {
      super(ApplicationProtocolNames.HTTP_1_1);
    }

    @Override
    protected void configurePipeline(ChannelHandlerContext ctx, String protocol) {
      Channel ch = ctx.channel();
      if (ApplicationProtocolNames.HTTP_2.equals(protocol)) {
        http2(ctx.pipeline(), ch);
        return;
      }
      ch.config().setAutoRead(false);
      http1(ctx.pipeline(), ch);
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
      // An SNI no server covers, or a server without a usable credential, arrives here from the SniHandler.
      log.debug("tls {}: {}", ctx.channel(), cause.getCause() != null ? cause.getCause().toString() : cause.toString());
      ctx.close();
    }

    @Override
    protected void handshakeFailure(ChannelHandlerContext ctx, Throwable cause) {
      log.debug("tls {}: handshake failed: {}", ctx.channel(), cause.toString());
      ctx.close();
    }
  }
}
