package io.portcullis.proxy;

import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ConnectTimeoutException;
import io.netty.channel.EventLoop;
import io.netty.handler.ssl.ApplicationProtocolNames;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.ssl.SslHandshakeCompletionEvent;
import io.netty.util.concurrent.Future;
import io.netty.util.concurrent.Promise;
import io.portcullis.routing.Endpoint;
import java.net.SocketAddress;
import javax.net.ssl.SSLHandshakeException;

/**
 * Opens {@link Http2UpstreamConnection}s: TCP, then h2c with prior knowledge (RFC 9113 §3.3), or TLS with SNI and
 * ALPN that must choose {@code h2} (RFC 9113 §3.2, RFC 7301).
 */
final class Http2UpstreamConnector {
  private Http2UpstreamConnector() {}

  /**
   * Connects to {@code endpoint} at {@code address} on {@code loop}: h2c with prior knowledge when {@code ssl} is
   * null, else TLS with SNI {@code sni} (the endpoint's host when null; also the name the certificate is checked
   * against when the context does hostname verification, as Netty 4.2's client contexts do by default) and ALPN
   * {@code h2}.
   *
   * @param bootstrap the channel type, resolver and options (the handler is set here, on a copy)
   * @return completes on the event loop when the connection can take streams (plain: connected; TLS: handshake done
   *     and ALPN chose {@code h2}), or fails: connect refused or timed out (Netty's {@link ConnectTimeoutException}
   *     after the bootstrap's {@code CONNECT_TIMEOUT_MILLIS}), handshake failed, ALPN chose another protocol or none
   *     ({@link SSLHandshakeException} naming the endpoint and what was chosen)
   * @throws IllegalArgumentException when {@code ssl} does not offer ALPN {@code h2}
   */
  static Future<Http2UpstreamConnection> connect(Bootstrap bootstrap, EventLoop loop, Endpoint endpoint,
      SocketAddress address, SslContext ssl, String sni, Http2UpstreamLimits limits, ProxyStats stats) {
    checkAlpn(ssl, endpoint);
    Promise<Http2UpstreamConnection> ready = loop.newPromise();
    Http2UpstreamConnection[] made = new Http2UpstreamConnection[1];
    ChannelFuture f = bootstrap.clone(loop).handler(new ChannelInitializer<Channel>() {
      @Override
      protected void initChannel(Channel ch) {
        Http2UpstreamConnection c = new Http2UpstreamConnection(endpoint, ch, limits, stats);
        made[0] = c;
        if (ssl == null) {
          ch.pipeline().addLast(c.handler());
        } else {
          SslHandler tls = ssl.newHandler(ch.alloc(), sni != null ? sni : endpoint.host(), endpoint.port());
          // the handshake has the connect timeout too (Envoy's connect_timeout ends when the TLS socket is up)
          tls.setHandshakeTimeoutMillis(ch.config().getConnectTimeoutMillis());
          ch.pipeline().addLast(tls, new AlpnGate(c, tls, ready, stats));
        }
      }
    }).connect(address);
    f.addListener(cf -> {
      if (!cf.isSuccess()) {
        failConnect(ready, cf.cause(), stats);
      } else if (ssl == null) {
        made[0].becameReady(ready);
      }
    });
    return ready;
  }

  /**
   * Checks that {@code ssl} (null: plain) offers ALPN {@code h2}.
   *
   * @throws IllegalArgumentException naming the endpoint and the protocols offered, when it does not
   */
  static void checkAlpn(SslContext ssl, Endpoint endpoint) {
    if (ssl != null && (ssl.applicationProtocolNegotiator() == null
        || !ssl.applicationProtocolNegotiator().protocols().contains(ApplicationProtocolNames.HTTP_2))) {
      throw new IllegalArgumentException("upstream " + endpoint + ": the TLS context offers ALPN "
          + (ssl.applicationProtocolNegotiator() == null ? "[]" : ssl.applicationProtocolNegotiator().protocols())
          + " (expected: h2 among them)");
    }
  }

  /**
   * Fails {@code ready} with {@code cause} unless it is done, counting {@code upstream_cx_connect_fail} (and
   * {@code upstream_cx_connect_timeout} when the TCP connect outlasted the bootstrap's connect timeout, DestinationRule
   * {@code connectionPool.tcp.connectTimeout}) first: the failure runs the waiters' callbacks at once, and whoever
   * they wake must find the count already there. Call on the connection's event loop (the only thread that completes
   * {@code ready}).
   */
  private static void failConnect(Promise<Http2UpstreamConnection> ready, Throwable cause, ProxyStats stats) {
    if (ready.isDone()) {
      return;
    }
    if (cause instanceof ConnectTimeoutException) {
      stats.inc(ProxyStats.UPSTREAM_CX_CONNECT_TIMEOUT);
    }
    stats.inc(ProxyStats.UPSTREAM_CX_CONNECT_FAIL);
    ready.setFailure(cause);
  }

  /**
   * Waits for the TLS handshake, checks that ALPN chose {@code h2} (RFC 9113 §3.2), then puts the HTTP/2 handler in
   * its place and reports the connection ready.
   */
  private static final class AlpnGate extends ChannelInboundHandlerAdapter {
    private final Http2UpstreamConnection connection;
    private final SslHandler tls;
    private final Promise<Http2UpstreamConnection> ready;
    private final ProxyStats stats;

    AlpnGate(Http2UpstreamConnection connection, SslHandler tls, Promise<Http2UpstreamConnection> ready,
        ProxyStats stats) {
      this.connection = connection;
      this.tls = tls;
      this.ready = ready;
      this.stats = stats;
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) throws Exception {
      if (!(evt instanceof SslHandshakeCompletionEvent done)) {
        super.userEventTriggered(ctx, evt);
        return;
      }
      Endpoint ep = connection.endpoint();
      if (!done.isSuccess()) {
        fail(ctx, new SSLHandshakeException("upstream " + ep + ": TLS handshake failed: " + done.cause()
            .getMessage()), done.cause());
        return;
      }
      String protocol = tls.applicationProtocol();
      if (!ApplicationProtocolNames.HTTP_2.equals(protocol)) {
        fail(ctx, new SSLHandshakeException("upstream " + ep + ": ALPN chose " + (protocol == null ? "no protocol"
            : protocol) + " (expected: h2)"), null);
        return;
      }
      ctx.pipeline().replace(this, null, connection.handler());
      connection.becameReady(ready);
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) throws Exception {
      failConnect(ready, new SSLHandshakeException("upstream " + connection.endpoint()
          + " closed the connection during the TLS handshake"), stats);
      super.channelInactive(ctx);
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
      fail(ctx, new SSLHandshakeException("upstream " + connection.endpoint() + ": " + cause.getMessage()), cause);
    }

    private void fail(ChannelHandlerContext ctx, SSLHandshakeException e, Throwable cause) {
      if (cause != null) {
        e.initCause(cause);
      }
      failConnect(ready, e, stats);
      ctx.close();
    }
  }
}
