package io.portcullis.proxy;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelFuture;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http2.Http2Headers;

/**
 * An {@link UpstreamCall} as one stream of a multiplexed HTTP/2 upstream connection ({@link Http2UpstreamStream}):
 * the request head goes as a header block (the downstream's own, changed in place, when it came over HTTP/2),
 * response DATA is returned to the upstream's window only once the downstream wrote it ({@link #responseConsumed}),
 * and an abandoned call resets its stream without touching the connection's other streams.
 */
final class Http2UpstreamCall implements UpstreamCall, Http2UpstreamStream.Listener {
  private final UpstreamCall.Listener listener;
  private Http2UpstreamStream stream;
  private boolean headReceived;
  private boolean finished;

  Http2UpstreamCall(UpstreamCall.Listener listener) {
    this.listener = listener;
  }

  /** Opens the call's stream on {@code connection}, which has room for it. */
  Http2UpstreamCall open(Http2UpstreamConnection connection) {
    stream = connection.openStream(this);
    return this;
  }

  @Override
  public void sendHead(HttpRequest request, UpstreamRequest.Context cx, boolean endStream) {
    stream.writeHeaders(UpstreamRequest.http2(request, cx), endStream);
  }

  @Override
  public void sendHead(Http2Headers request, int streamId, UpstreamRequest.Context cx, boolean endStream) {
    stream.writeHeaders(UpstreamRequest.http2(request, cx), endStream);
  }

  @Override
  public ChannelFuture sendData(ByteBuf data, boolean endStream) {
    return stream.writeData(data, endStream);
  }

  @Override
  public void sendTrailers(Http2Headers trailers) {
    stream.writeTrailers(trailers);
  }

  @Override
  public void flush() {
    stream.flush();
  }

  @Override
  public boolean needsConsumedCallbacks() {
    return true;
  }

  @Override
  public void responseConsumed(int bytes) {
    if (!finished) {
      stream.consumed(bytes);
    }
  }

  @Override
  public void reading(boolean on) {
    // paced by the stream's window: bytes are returned to it only as the downstream takes them
  }

  @Override
  public void upgrade() {
    throw new IllegalStateException("no 101 over HTTP/2 (RFC 9113 §8.6)");
  }

  @Override
  public void release(boolean reusable) {
    if (!finished) {
      finished = true;
      if (!reusable) {
        stream.reset(); // the response ended before the request did: the upstream need not read the rest
      }
    }
  }

  @Override
  public void abandon() {
    if (!finished) {
      finished = true;
      stream.reset();
    }
  }

  @Override
  public void headers(Http2Headers headers, boolean endStream) {
    if (finished) {
      return;
    }
    if (!headReceived) {
      CharSequence status = headers.status();
      if (status != null && status.length() == 3 && status.charAt(0) == '1') {
        return; // informational
      }
      headReceived = true;
      listener.responseHead(headers, endStream);
      return;
    }
    listener.responseTrailers(headers);
  }

  @Override
  public void data(ByteBuf data, boolean endStream) {
    if (finished) {
      stream.consumed(data.readableBytes());
      data.release();
      return;
    }
    listener.responseData(data, endStream);
  }

  @Override
  public void reset(long errorCode, boolean refused) {
    if (!finished) {
      finished = true;
      listener.upstreamFailed(refused ? Failure.REFUSED : Failure.RESET, "RST_STREAM " + errorCode);
    }
  }

  @Override
  public void closed(Throwable cause) {
    if (!finished) {
      finished = true;
      // a TLS error (TLS 1.3 sends the refusal of a client certificate just after the handshake): UF with the reason
      java.util.Optional<String> tls = io.portcullis.tls.ClientTlsContexts.failureReason(cause);
      listener.upstreamFailed(tls.isPresent() ? Failure.TLS : Failure.CLOSED, tls.orElse(String.valueOf(cause)));
    }
  }

  @Override
  public void protocolError(String why) {
    if (!finished) {
      finished = true;
      listener.upstreamFailed(Failure.PROTOCOL_ERROR, why);
    }
  }

  @Override
  public void readComplete() {
    if (!finished) {
      listener.upstreamReadComplete();
    }
  }

  @Override
  public void writabilityChanged() {}
}
