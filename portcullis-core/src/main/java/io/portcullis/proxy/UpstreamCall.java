package io.portcullis.proxy;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelFuture;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http2.Http2Headers;

/**
 * One attempt of an {@link Exchange} on an upstream: an HTTP/1.1 keep-alive connection it holds
 * ({@link Http1UpstreamCall}) or a stream on a multiplexed HTTP/2 connection (Http2UpstreamCall). The request
 * head is given in the downstream's form and converted only when the protocols differ. All methods are called on
 * the exchange's event loop.
 */
interface UpstreamCall {
  /** Why a call ended before its response did. */
  enum Failure {
    /** The connection closed (Envoy's {@code UC}). */
    CLOSED,
    /** The upstream reset the stream (Envoy's {@code UR}). */
    RESET,
    /** The upstream refused the stream before processing it (REFUSED_STREAM, or above a GOAWAY's last stream). */
    REFUSED,
    /** The response was malformed (Envoy's {@code UPE}): never relayed. */
    PROTOCOL_ERROR,
    /**
     * A TLS error on the connection, such as the upstream's alert refusing the client certificate, which TLS 1.3
     * sends only after the client's handshake completed (RFC 8446 §4.4.2.4): before the response, Envoy's {@code UF}
     * with the reason; after, {@code UC}.
     */
    TLS
  }

  /** What a call reports to its exchange, on the exchange's event loop. */
  interface Listener {
    /** A final HTTP/1.1 response head (interim ones are dropped here); its content follows separately. */
    void responseHead(HttpResponse head);

    /** An HTTP/2 response head; {@code endStream} when nothing follows (a gRPC trailers-only response). */
    void responseHead(Http2Headers head, boolean endStream);

    /** Response body bytes (the listener owns them). */
    void responseData(ByteBuf data, boolean endStream);

    /** HTTP/2 response trailers, ending the response. */
    void responseTrailers(Http2Headers trailers);

    /** HTTP/1.1 chunked-body trailers, ending the response. */
    void responseTrailers(HttpHeaders trailers);

    /** The end of a socket read batch: flush downstream once. */
    void upstreamReadComplete();

    /** The call ended before its response did. */
    void upstreamFailed(Failure failure, String why);
  }

  /** Sends the head of an HTTP/1.1 request. */
  void sendHead(HttpRequest request, UpstreamRequest.Context cx, boolean endStream);

  /** Sends the head of an HTTP/2 request. */
  void sendHead(Http2Headers request, int streamId, UpstreamRequest.Context cx, boolean endStream);

  /** Sends body bytes (owned by the callee); the future completes once they reached the upstream's socket. */
  ChannelFuture sendData(ByteBuf data, boolean endStream);

  /** Sends the request's trailers, ending it. */
  void sendTrailers(Http2Headers trailers);

  /** Flushes what was sent. */
  void flush();

  /** Whether the exchange must report {@link #responseConsumed} (HTTP/2 flow control). */
  boolean needsConsumedCallbacks();

  /** The downstream took {@code bytes} of this call's response: HTTP/2 returns them to the stream's window. */
  void responseConsumed(int bytes);

  /** Pauses or resumes reading the response (HTTP/1.1; HTTP/2 is paced by its windows). */
  void reading(boolean on);

  /** The exchange accepted a {@code 101}: from now on bytes pass untouched both ways. */
  void upgrade();

  /** The exchange is done with the call: an HTTP/1.1 connection returns to its pool if {@code reusable}. */
  void release(boolean reusable);

  /** Gives the call up: an HTTP/1.1 connection is closed, an HTTP/2 stream reset. Idempotent. */
  void abandon();
}
