package io.portcullis.proxy;

import io.netty.handler.ssl.DelegatingSslContext;
import io.netty.handler.ssl.ReferenceCountedOpenSslEngine;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslHandler;
import io.netty.internal.tcnative.SSL;
import io.portcullis.tls.ClientTlsContexts;
import javax.net.ssl.SSLEngine;

/**
 * An upstream client {@link SslContext} that counts how each of its handshakes ends, under Envoy's cluster
 * {@code ssl.*} names ({@link ProxyStats#UPSTREAM_SSL_HANDSHAKE} and the others), for both the HTTP/1.1 pool and the
 * HTTP/2 connector, which make their {@link SslHandler}s from it. A BoringSSL handshake that resumed a session (the
 * context's client session cache, keyed by the peer host and port given to {@code newHandler}) also counts as
 * {@code ssl.session_reused}. Counting runs on the connection's event loop and never blocks.
 */
final class UpstreamTlsHandshakes extends DelegatingSslContext {
  private final ProxyStats stats;

  UpstreamTlsHandshakes(SslContext ctx, ProxyStats stats) {
    super(ctx);
    this.stats = stats;
  }

  @Override
  protected void initEngine(SSLEngine engine) {}

  @Override
  protected void initHandler(SslHandler handler) {
    handler.handshakeFuture().addListener(f -> {
      if (f.isSuccess()) {
        stats.inc(ProxyStats.UPSTREAM_SSL_HANDSHAKE);
        if (reused(handler.engine())) {
          stats.inc(ProxyStats.UPSTREAM_SSL_SESSION_REUSED);
        }
        return;
      }
      stats.inc(switch (ClientTlsContexts.kind(f.cause())) {
        case VERIFY_SAN -> ProxyStats.UPSTREAM_SSL_FAIL_VERIFY_SAN;
        case VERIFY_ERROR -> ProxyStats.UPSTREAM_SSL_FAIL_VERIFY_ERROR;
        case CONNECTION -> ProxyStats.UPSTREAM_SSL_CONNECTION_ERROR;
      });
    });
  }

  /** Whether the handshake just completed resumed a session (BoringSSL only; the JDK's engine does not say). */
  static boolean reused(SSLEngine engine) {
    if (engine instanceof ReferenceCountedOpenSslEngine e) {
      long ssl = e.sslPointer();
      return ssl != 0 && SSL.isSessionReused(ssl);
    }
    return false;
  }
}
