package io.portcullis.proxy;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelPipeline;
import io.netty.handler.codec.ByteToMessageDecoder;
import io.netty.handler.codec.http.HttpDecoderConfig;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpServerExpectContinueHandler;
import io.netty.handler.codec.http2.Http2CodecUtil;
import io.netty.handler.flush.FlushConsolidationHandler;
import io.netty.handler.ssl.ApplicationProtocolNames;
import io.netty.handler.ssl.ApplicationProtocolNegotiationHandler;
import io.netty.handler.ssl.AbstractSniHandler;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.codec.DecoderException;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.AttributeKey;
import io.netty.util.concurrent.Future;
import io.portcullis.acme.Http01Challenges;
import io.portcullis.config.ServerConfig;
import io.portcullis.routing.TlsRoute;
import io.portcullis.tls.TlsContexts.ServerTls;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import javax.net.ssl.SSLHandshakeException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Assembles a downstream connection's pipeline: for a TLS port SNI (picks the server's credential, or relays a
 * {@code PASSTHROUGH} stream untouched) then ALPN ({@code h2} or {@code http/1.1}); for a plain port HTTP/1.1, or HTTP/2 with prior knowledge (h2c) told by the first bytes; then
 * one {@link ProxyHandler} per connection (HTTP/1.1) or one {@link Http2ServerConnection} (HTTP/2, streams
 * handled at the frame level).
 */
final class GatewayChannelInitializer extends ChannelInitializer<Channel> {
  private static final Logger log = LoggerFactory.getLogger(GatewayChannelInitializer.class);
  static final AttributeKey<String> SNI = AttributeKey.valueOf("portcullis.sni");
  /** The server the handshake chose by SNI (compared by {@link ServerConfig#sameRouteName}). */
  static final AttributeKey<ServerConfig> SNI_SERVER = AttributeKey.valueOf("portcullis.sni-server");
  static final int MAX_CHUNK = 65_536;

  private final Listener listener;
  private final Upstreams upstreams;
  private final AccessLog accessLog;
  private final Http01Challenges challenges;
  private final ProxyLimits limits;
  private final ProxyStats stats;
  private final PathNormalization normalization;
  private final ProxyContext context;

  GatewayChannelInitializer(Listener listener, Upstreams upstreams, AccessLog accessLog,
      Http01Challenges challenges, ProxyLimits limits, ProxyStats stats, PathNormalization normalization) {
    this.listener = listener;
    this.upstreams = upstreams;
    this.accessLog = accessLog;
    this.challenges = challenges;
    this.limits = limits;
    this.stats = stats;
    this.normalization = normalization;
    this.context = new ProxyContext(listener, upstreams, accessLog, challenges, limits, stats, normalization);
  }

  @Override
  protected void initChannel(Channel ch) {
    ChannelPipeline p = ch.pipeline();
    stats.inc(listener.port(), ProxyStats.CX_TOTAL);
    if (!listener.connectionOpened(limits.maxConnections())) {
      // Over --max-connections: accepted (the kernel already did) and closed at once, before any TLS work.
      stats.inc(listener.port(), ProxyStats.CX_OVERFLOW);
      ch.config().setAutoRead(false);
      ch.close();
      return;
    }
    ch.closeFuture().addListener(f -> listener.connectionClosed());
    if (!limits.listenerFiltersTimeout().isZero()) {
      p.addLast(new ListenerFiltersTimeout(limits.listenerFiltersTimeout().toNanos(), stats, listener.port()));
    }
    if (!limits.idleTimeout().isZero()) {
      p.addLast(new ConnectionIdleTimeout(limits.idleTimeout().toNanos(), stats));
    }
    if (listener.state().config().tls()) {
      // Nearest the socket, so that its flush before the half-close is not held back by the flush consolidation.
      p.addLast(new LingerOnHandshakeFailure());
    }
    p.addLast(new FlushConsolidationHandler(256, true));
    if (listener.state().config().tls()) {
      p.addLast(new TlsRouter());
      p.addLast(new Alpn());
    } else {
      ch.config().setAutoRead(false);
      p.addLast(new CleartextDetector());
    }
  }

  /** Adds the frame-level HTTP/2 handler ({@link Http2ServerConnection}); the connection itself reads freely. */
  private void http2(ChannelPipeline p, Channel ch) {
    ch.config().setAutoRead(true);
    ConnectionIdleTimeout.http2(ch);
    p.addLast(Http2ServerConnection.create(context, ch.attr(SNI).get()));
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
        ListenerFiltersTimeout.passed(ctx.channel());
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
    if (!listener.state().config().tls() && p.get(ListenerFiltersTimeout.class) != null) {
      p.addLast(new RequestLineSeen());
    }
    if (!limits.requestHeadersTimeout().isZero()) {
      p.addLast(new RequestHeadersTimeout(limits.requestHeadersTimeout().toNanos(), stats));
    }
    // Netty's decoder parses lines strictly (a bare LF in a chunk line is an error) and fails oversized lines and
    // header blocks with TooLongHttpLineException / TooLongHttpHeaderException, which Exchange answers 414 / 431.
    p.addLast(new HttpServerCodec(new HttpDecoderConfig().setMaxInitialLineLength(ProxyLimits.MAX_REQUEST_LINE)
        .setMaxHeaderSize(limits.maxRequestHeadersBytes()).setMaxChunkSize(MAX_CHUNK)));
    p.addLast(new HttpServerExpectContinueHandler());
    p.addLast(new ProxyHandler(context, ch.attr(SNI).get(), ch));
  }

  /** On a plain port, ends the listener filters timeout once the first request line is complete (its LF seen). */
  private static final class RequestLineSeen extends ChannelInboundHandlerAdapter {
    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
      if (msg instanceof ByteBuf b && b.indexOf(b.readerIndex(), b.writerIndex(), (byte) '\n') >= 0) {
        ListenerFiltersTimeout.passed(ctx.channel());
        ctx.pipeline().remove(this);
      }
      ctx.fireChannelRead(msg);
    }
  }

  /**
   * Chooses the server by SNI: exact host, then {@code *.} wildcard, then {@code *}; none fails the handshake. A
   * {@code PASSTHROUGH} server's connection is handed, ClientHello included, to a {@link PassthroughHandler}; any
   * other gets an {@link SslHandler} whose engine is told, as its "peer host", the alias of the credential to serve
   * (the ECDSA one of an RSA + ECDSA pair when the client accepts ECDSA). Replaces itself once it has chosen.
   */
  private final class TlsRouter extends AbstractSniHandler<Object> {
    private boolean ecdsa;
    private boolean sha2;

    TlsRouter() {
      super(0L); // no handshake timeout of its own, as Netty's SniHandler by default
    }

    @Override
    protected Future<Object> lookup(ChannelHandlerContext ctx, ByteBuf clientHello) throws Exception {
      ecdsa = ClientHellos.acceptsEcdsa(clientHello);
      sha2 = ClientHellos.acceptsSha2Signatures(clientHello);
      return super.lookup(ctx, clientHello);
    }

    @Override
    protected Future<Object> lookup(ChannelHandlerContext ctx, String host) {
      String h = host == null ? null : host.toLowerCase(Locale.ROOT);
      ListenerState state = listener.state();
      Optional<ServerConfig> server = h == null ? Optional.empty() : state.config().serversByHost().find(h);
      if (server.isPresent() && server.get().tls().map(ServerConfig.TlsSettings::passthrough).orElse(false)) {
        Optional<TlsRoute> route = state.config().passthrough().find(h);
        return route.<Future<Object>>map(r -> ctx.executor().newSucceededFuture(r)).orElseGet(() ->
            ctx.executor().newFailedFuture(new SSLHandshakeException("PASSTHROUGH server " + server.get().routeName()
                + " has no VirtualService tls route for SNI " + host)));
      }
      if (!sha2) {
        return ctx.executor().newFailedFuture(new SSLHandshakeException("the client accepts only MD5 or SHA-1 "
            + "handshake signatures (RFC 9155: refused)"));
      }
      Optional<ServerTls> tls = state.tls().find(h);
      if (tls.isPresent() && tls.get().context().isPresent()) {
        return ctx.executor().newSucceededFuture(tls.get());
      }
      return ctx.executor().newFailedFuture(new SSLHandshakeException(tls.isEmpty()
          ? "no server on port " + listener.port() + " covers SNI " + (host == null ? "(none)" : host)
          : "server " + tls.get().server().routeName() + " has no usable credential: " + tls.get().error()));
    }

    @Override
    protected void onLookupComplete(ChannelHandlerContext ctx, String host, Future<Object> future) {
      if (!future.isSuccess()) {
        throw new DecoderException("TLS connection refused: " + future.cause().getMessage(), future.cause());
      }
      ctx.channel().attr(SNI).set(host);
      ListenerFiltersTimeout.passed(ctx.channel());
      if (future.getNow() instanceof TlsRoute route) {
        ctx.pipeline().remove(Alpn.class);
        ConnectionIdleTimeout.relayed(ctx.channel());
        ctx.pipeline().replace(this, "passthrough", new PassthroughHandler(route.pick().cluster(), upstreams, host));
        return;
      }
      ServerTls chosen = (ServerTls) future.getNow();
      ctx.channel().attr(SNI_SERVER).set(chosen.server());
      // The shared context's key manager serves the credential named by the engine's "peer host".
      SslHandler handler = chosen.context().orElseThrow().newHandler(ctx.alloc(), chosen.alias(ecdsa), -1);
      try {
        ctx.pipeline().replace(this, SslHandler.class.getName(), handler);
      } catch (Throwable t) {
        ReferenceCountUtil.safeRelease(handler.engine());
        throw t;
      }
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
