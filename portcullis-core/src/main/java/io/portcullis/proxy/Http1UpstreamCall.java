package io.portcullis.proxy;

import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.handler.codec.http.DefaultHttpContent;
import io.netty.handler.codec.http.DefaultLastHttpContent;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpObject;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.handler.codec.http2.Http2Headers;
import io.netty.handler.codec.http2.HttpConversionUtil;
import io.netty.util.ReferenceCountUtil;
import io.portcullis.routing.Endpoint;

/**
 * An {@link UpstreamCall} on a pooled HTTP/1.1 keep-alive connection: the connection is the call's until it is
 * released (back to the pool when the exchange ended cleanly) or abandoned (closed). Upstream connections read
 * freely; the exchange stops reading ({@link #reading}) only while its downstream cannot take more. After a
 * {@code 101} the codec is removed and bytes pass untouched (a WebSocket). A response the decoder finds malformed is
 * a protocol error (Envoy's {@code UPE}) and closes the connection, as is a {@code 101} to a request that asked for
 * no upgrade.
 */
final class Http1UpstreamCall implements UpstreamCall, Http1UpstreamPool.UpstreamListener {
  private final Channel channel;
  private final Http1UpstreamPool pool;
  private final Endpoint endpoint;
  private final Listener listener;
  private boolean tunnel;
  private boolean finished;
  /** The request asked for a WebSocket upgrade: only then is a {@code 101} an answer. */
  private boolean upgradeAsked;

  Http1UpstreamCall(Channel channel, Http1UpstreamPool pool, Endpoint endpoint, Listener listener) {
    this.channel = channel;
    this.pool = pool;
    this.endpoint = endpoint;
    this.listener = listener;
    channel.attr(Http1UpstreamPool.LISTENER).set(this);
  }

  @Override
  public void sendHead(HttpRequest request, UpstreamRequest.Context cx, boolean endStream) {
    upgradeAsked = cx.webSocket();
    // Void promises: a failed write reaches the upstream handler's exceptionCaught, which fails the call.
    channel.write(UpstreamRequest.http1(request, cx), channel.voidPromise());
    if (endStream) {
      channel.write(LastHttpContent.EMPTY_LAST_CONTENT, channel.voidPromise());
    }
  }

  @Override
  public void sendHead(Http2Headers request, int streamId, UpstreamRequest.Context cx, boolean endStream) {
    upgradeAsked = cx.webSocket();
    channel.write(UpstreamRequest.http1(request, streamId, cx), channel.voidPromise());
    if (endStream && !cx.webSocket()) {
      channel.write(LastHttpContent.EMPTY_LAST_CONTENT, channel.voidPromise());
    }
  }

  @Override
  public ChannelFuture sendData(ByteBuf data, boolean endStream) {
    if (tunnel) {
      ChannelFuture f = channel.write(data);
      if (endStream) {
        f.addListener(ChannelFutureListener.CLOSE); // the client ended its side of the tunnel
      }
      return f;
    }
    return channel.write(endStream ? ProxyHandler.lastContent(data) : new DefaultHttpContent(data));
  }

  @Override
  public void sendTrailers(Http2Headers trailers) {
    LastHttpContent last = new DefaultLastHttpContent();
    try {
      HttpConversionUtil.addHttp2ToHttpHeaders(0, trailers, last.trailingHeaders(),
          io.netty.handler.codec.http.HttpVersion.HTTP_1_1, true, true);
    } catch (io.netty.handler.codec.http2.Http2Exception e) {
      throw new IllegalStateException(e);
    }
    channel.write(last);
  }

  @Override
  public void flush() {
    channel.flush();
  }

  @Override
  public boolean needsConsumedCallbacks() {
    return false;
  }

  @Override
  public void responseConsumed(int bytes) {}

  @Override
  public void reading(boolean on) {
    channel.config().setAutoRead(on);
  }

  @Override
  public void upgrade() {
    tunnel = true;
    if (channel.pipeline().get(UpstreamCodec.class) != null) {
      channel.pipeline().remove(UpstreamCodec.class); // bytes it still holds are passed on as they are
    }
  }

  @Override
  public void release(boolean reusable) {
    if (finished) {
      return;
    }
    finished = true;
    if (reusable && !tunnel) {
      pool.release(endpoint, channel);
    } else {
      channel.attr(Http1UpstreamPool.LISTENER).set(null);
      channel.close();
    }
  }

  @Override
  public void abandon() {
    if (finished) {
      return;
    }
    finished = true;
    channel.attr(Http1UpstreamPool.LISTENER).set(null);
    channel.close();
  }

  @Override
  public void upstreamRead(Object msg) {
    if (finished) {
      ReferenceCountUtil.release(msg);
      return;
    }
    if (msg instanceof ByteBuf b) {
      listener.responseData(b, false); // a tunnel's bytes
      return;
    }
    if (msg instanceof HttpObject o && o.decoderResult().isFailure()) {
      // A malformed head (Netty makes it a "999 Unknown") or body (a bad chunk arrives as a "last" chunk): never
      // relayed as if complete, and the connection, whose decoder now drops everything, is never reused.
      protocolError(msg, "malformed HTTP/1.1 response: " + o.decoderResult().cause());
      return;
    }
    if (msg instanceof HttpResponse resp) {
      int code = resp.status().code();
      if (code >= 100 && code < 200 && code != 101) {
        ReferenceCountUtil.release(msg); // interim response
        return;
      }
      if (code == 101 && !upgradeAsked) {
        protocolError(msg, "101 to a request without Upgrade (RFC 9110 §15.2.2)");
        return;
      }
      listener.responseHead(resp);
      if (msg instanceof HttpContent c) {
        content(c);
      }
      return;
    }
    if (msg instanceof HttpContent c) {
      content(c);
      return;
    }
    ReferenceCountUtil.release(msg);
  }

  /** The response is not one to relay: counted, the connection closed, the exchange told (502 UPE or a reset). */
  private void protocolError(Object msg, String why) {
    ReferenceCountUtil.release(msg);
    pool.stats().inc(ProxyStats.UPSTREAM_CX_PROTOCOL_ERROR);
    finished = true;
    channel.attr(Http1UpstreamPool.LISTENER).set(null);
    channel.close();
    listener.upstreamFailed(Failure.PROTOCOL_ERROR, why);
  }

  private void content(HttpContent c) {
    if (c instanceof LastHttpContent last) {
      if (tunnel) {
        // the 101's (empty) end: what follows is the tunnel
        last.release();
        return;
      }
      if (!last.trailingHeaders().isEmpty()) {
        listener.responseData(last.content(), false);
        listener.responseTrailers(last.trailingHeaders());
      } else {
        listener.responseData(last.content(), true);
      }
      return;
    }
    listener.responseData(c.content(), false);
  }

  @Override
  public void upstreamReadComplete() {
    if (!finished) {
      listener.upstreamReadComplete();
    }
  }

  @Override
  public void upstreamClosed() {
    if (!finished) {
      finished = true;
      listener.upstreamFailed(Failure.CLOSED, "connection closed");
    }
  }

  /** Whether {@code cause} is TLS's (an alert, a record that does not decrypt), wrapped by the decoder or not. */
  private static boolean tls(Throwable cause) {
    for (Throwable t = cause; t != null; t = t.getCause()) {
      if (t instanceof javax.net.ssl.SSLException) {
        return true;
      }
    }
    return false;
  }

  @Override
  public void upstreamException(Throwable cause) {
    if (!finished) {
      finished = true;
      channel.close();
      if (tls(cause)) {
        listener.upstreamFailed(Failure.TLS, io.portcullis.tls.ClientTlsContexts.failureReason(cause)
            .orElse(cause.toString()));
        return;
      }
      listener.upstreamFailed(Failure.CLOSED, cause.toString());
    }
  }
}
