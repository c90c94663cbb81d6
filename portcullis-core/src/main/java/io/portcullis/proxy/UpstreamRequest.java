package io.portcullis.proxy;

import io.netty.handler.codec.http.DefaultHttpHeaders;
import io.netty.handler.codec.http.DefaultHttpRequest;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http2.DefaultHttp2Headers;
import io.netty.handler.codec.http2.Http2Exception;
import io.netty.handler.codec.http2.Http2Headers;
import io.netty.handler.codec.http2.HttpConversionUtil;
import io.netty.util.AsciiString;
import io.portcullis.routing.HttpRoute;
import io.portcullis.routing.RouteAction;
import io.portcullis.routing.RouteMatch;
import java.util.Base64;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Builds the request head sent upstream from the downstream one, in the upstream's protocol: hop-by-hop headers
 * dropped (RFC 9110 §7.6.1; a WebSocket upgrade keeps its {@code Upgrade} / {@code Connection: upgrade} pair),
 * {@code Host} / {@code :authority} the route's {@code rewrite.authority} or the client's,
 * {@code x-forwarded-for} / {@code x-forwarded-proto} / {@code x-request-id} as Envoy sets them, the route's request
 * header operations, and the target the normalised origin form ({@link RequestHead.Checked#originForm()}) or its
 * {@code rewrite.uri}, in which case the normalised path before the rewrite goes in {@code x-envoy-original-path} as
 * Envoy does. A head in the same protocol as the downstream's is changed in place (no header copy); across protocols
 * it is converted once. Stateless; called on an event loop.
 */
final class UpstreamRequest {
  private static final AsciiString X_ENVOY_ORIGINAL_PATH = AsciiString.cached("x-envoy-original-path");
  private static final AsciiString X_FORWARDED_FOR = AsciiString.cached("x-forwarded-for");
  private static final AsciiString X_FORWARDED_PROTO = AsciiString.cached("x-forwarded-proto");
  private static final AsciiString X_REQUEST_ID = AsciiString.cached("x-request-id");
  private static final AsciiString GRPC_TIMEOUT = AsciiString.cached("grpc-timeout");

  private UpstreamRequest() {}

  /**
   * What the request carries besides its head, for the upstream head.
   *
   * @param remoteIp the downstream peer's address, appended to {@code x-forwarded-for}
   * @param tls whether the downstream connection is TLS ({@code x-forwarded-proto})
   * @param webSocket whether this is a WebSocket upgrade (HTTP/1.1 {@code Upgrade} or RFC 8441 extended CONNECT)
   * @param hasBody whether request body bytes follow the head
   * @param grpcTimeout the {@code grpc-timeout} to send (already capped by the route's timeout), or null to keep
   *     the client's
   * @param grpcWeb the gRPC-Web translation of this request, or null: the upstream gets {@code application/grpc}
   * @param replay whether an earlier attempt already sent this head: a head changed in place is sent as it is then
   *     (applied again, {@code x-forwarded-for} would get the client twice and header {@code add}s would repeat)
   * @param shadow whether this is a mirror's copy ({@link Mirroring}): the authority gets Envoy's {@code -shadow}
   *     suffix on its host ({@link #shadowHost})
   */
  record Context(RequestHead.Checked head, RouteMatch.RequestView view, HttpRoute route, RouteAction.Forward forward,
      String remoteIp, boolean tls, String requestId, boolean webSocket, boolean hasBody, String grpcTimeout,
      GrpcWeb grpcWeb, boolean replay, boolean shadow) {
    /** A context for the request itself (not a mirror's copy). */
    Context(RequestHead.Checked head, RouteMatch.RequestView view, HttpRoute route, RouteAction.Forward forward,
        String remoteIp, boolean tls, String requestId, boolean webSocket, boolean hasBody, String grpcTimeout,
        GrpcWeb grpcWeb, boolean replay) {
      this(head, view, route, forward, remoteIp, tls, requestId, webSocket, hasBody, grpcTimeout, grpcWeb, replay,
          false);
    }

    /** Returns this context for a retry, after the head was sent once. */
    Context forReplay() {
      return replay ? this : new Context(head, view, route, forward, remoteIp, tls, requestId, webSocket, hasBody,
          grpcTimeout, grpcWeb, true, shadow);
    }

    /** Returns this context for a mirror's copy of the head ({@code -shadow} authority), sent once. */
    Context forShadow() {
      return new Context(head, view, route, forward, remoteIp, tls, requestId, false, hasBody, grpcTimeout, grpcWeb,
          false, true);
    }

    /**
     * Returns the target sent upstream: the normalised origin form, or with a {@code rewrite.uri} the rewritten path
     * ({@link HttpRoute#rewritePath(String, String, boolean, java.util.List, RouteMatch.RequestView)}) and the query.
     */
    String target() {
      if (forward.rewriteUri().isEmpty()) {
        return head.originForm();
      }
      return HttpRoute.rewritePath(head.path(), forward.rewriteUri().get(), forward.rewriteFullPath(),
          route.matches(), view) + (head.query().isEmpty() ? "" : "?" + head.query());
    }

    String authority() {
      String a = forward.rewriteAuthority().orElse(head.authority());
      return shadow ? shadowHost(a) : a;
    }
  }

  /**
   * Returns {@code authority} with {@code -shadow} appended to its host, before any port, as Envoy's
   * {@code shadowAppendedHost} does for a mirrored request: {@code a.com:8080} becomes {@code a.com-shadow:8080}.
   */
  static String shadowHost(String authority) {
    int colon = authority.lastIndexOf(':');
    if (colon < 0 || authority.indexOf(']', colon) >= 0) {
      return authority + "-shadow";
    }
    return authority.substring(0, colon) + "-shadow" + authority.substring(colon);
  }

  /**
   * Returns the HTTP/1.1 upstream head for an HTTP/1.1 request; changes {@code request}'s headers in place (once: a
   * replay sends them as they are).
   */
  static HttpRequest http1(HttpRequest request, Context cx) {
    HttpHeaders h = request.headers();
    if (!cx.replay()) {
      HopByHop.strip(h);
      common(h, cx);
      if (!h.contains(HttpHeaderNames.CONTENT_LENGTH) && !HttpUtil.isTransferEncodingChunked(request)) {
        h.remove(HttpHeaderNames.TRANSFER_ENCODING);
      }
    }
    return new DefaultHttpRequest(HttpVersion.HTTP_1_1, request.method(), cx.target(), h);
  }

  /**
   * Returns the HTTP/1.1 upstream head for an HTTP/2 request (converted: RFC 9113 §8.2.3 cookies joined); an
   * extended CONNECT for WebSocket (RFC 8441 §5) becomes an HTTP/1.1 upgrade with its own {@code Sec-WebSocket-Key}.
   */
  static HttpRequest http1(Http2Headers request, int streamId, Context cx) {
    HttpHeaders h = new DefaultHttpHeaders();
    // Host is set from the authority below; RequestHead already refused a host field that disagrees with :authority
    request.remove(HttpHeaderNames.HOST);
    if (cx.webSocket()) {
      try { // Netty's conversion: extended CONNECT's pseudo-headers
        HttpConversionUtil.addHttp2ToHttpHeaders(streamId, request, h, HttpVersion.HTTP_1_1, false, true);
      } catch (Http2Exception e) {
        throw new IllegalStateException(e); // the decoder validated the block already
      }
    } else {
      toHttp1(request, h);
    }
    HopByHop.strip(h);
    HttpMethod method = HttpMethod.valueOf(request.method().toString());
    if (cx.webSocket()) {
      method = HttpMethod.GET;
      byte[] key = new byte[16];
      ThreadLocalRandom.current().nextBytes(key);
      h.set(HttpHeaderNames.SEC_WEBSOCKET_KEY, Base64.getEncoder().encodeToString(key));
    }
    common(h, cx);
    if (cx.hasBody() && !h.contains(HttpHeaderNames.CONTENT_LENGTH) && !cx.webSocket()) {
      h.set(HttpHeaderNames.TRANSFER_ENCODING, HttpHeaderValues.CHUNKED);
    }
    return new DefaultHttpRequest(HttpVersion.HTTP_1_1, method, cx.target(), h);
  }

  /**
   * Copies a request's header block without {@code host} to HTTP/1.1 headers as
   * {@link HttpConversionUtil#addHttp2ToHttpHeaders} does for what reaches the upstream: {@code :authority} becomes
   * {@code Host}, the other pseudo-headers are dropped, {@code cookie} fields are joined with {@code "; "} (RFC 9113
   * §8.2.3), {@code transfer-encoding} and {@code trailer} are dropped. Names are already lower case.
   */
  static void toHttp1(Http2Headers request, HttpHeaders h) {
    StringBuilder cookies = null;
    for (Map.Entry<CharSequence, CharSequence> e : request) {
      CharSequence name = e.getKey();
      if (name.length() > 0 && name.charAt(0) == ':') {
        if (Http2Headers.PseudoHeaderName.AUTHORITY.value().contentEquals(name)) {
          h.add(HttpHeaderNames.HOST, e.getValue());
        }
      } else if (HttpHeaderNames.COOKIE.contentEquals(name)) {
        cookies = cookies == null ? new StringBuilder() : cookies.append("; ");
        cookies.append(e.getValue());
      } else {
        h.add(name, e.getValue());
      }
    }
    if (cookies != null) {
      h.add(HttpHeaderNames.COOKIE, cookies.toString());
    }
    h.remove(HttpHeaderNames.TRANSFER_ENCODING);
    h.remove(HttpHeaderNames.TRAILER);
  }

  private static void common(HttpHeaders h, Context cx) {
    h.remove(HttpHeaderNames.EXPECT);
    h.remove(X_ENVOY_ORIGINAL_PATH); // only the gateway says what the path was before a rewrite
    if (!h.contains(HttpHeaderNames.HOST, cx.authority(), false)) { // at most one Host here (RequestHead)
      h.set(HttpHeaderNames.HOST, cx.authority());
    }
    String xff = h.get(X_FORWARDED_FOR);
    h.set(X_FORWARDED_FOR, xff == null || xff.isEmpty() ? cx.remoteIp() : xff + ", " + cx.remoteIp());
    h.set(X_FORWARDED_PROTO, cx.tls() ? "https" : "http");
    h.set(X_REQUEST_ID, cx.requestId());
    if (cx.forward().rewriteUri().isPresent()) {
      h.set(X_ENVOY_ORIGINAL_PATH, cx.head().originForm());
    }
    if (cx.webSocket()) {
      h.set(HttpHeaderNames.UPGRADE, HttpHeaderValues.WEBSOCKET);
      h.set(HttpHeaderNames.CONNECTION, HttpHeaderValues.UPGRADE);
    }
    if (cx.grpcTimeout() != null) {
      h.set(GRPC_TIMEOUT, cx.grpcTimeout());
    }
    if (cx.grpcWeb() != null) {
      h.set(HttpHeaderNames.CONTENT_TYPE, GrpcWeb.UPSTREAM_TYPE);
      h.set(HttpHeaderNames.TE, HttpHeaderValues.TRAILERS);
      if (h.contains(HttpHeaderNames.CONTENT_LENGTH)) {
        h.remove(HttpHeaderNames.CONTENT_LENGTH); // base64 text changes the length: chunked instead
        h.set(HttpHeaderNames.TRANSFER_ENCODING, HttpHeaderValues.CHUNKED);
      }
    }
    cx.route().requestHeaders().applyTo(h);
  }

  /** Returns the HTTP/2 upstream head for an HTTP/2 request; changes {@code request} in place (once, as above). */
  static Http2Headers http2(Http2Headers request, Context cx) {
    if (cx.replay()) {
      return request;
    }
    request.remove(HttpHeaderNames.HOST);
    return common(request, cx);
  }

  /** Returns the HTTP/2 upstream head for an HTTP/1.1 request (converted once; connection headers dropped). */
  static Http2Headers http2(HttpRequest request, Context cx) {
    Http2Headers h = new DefaultHttp2Headers(false, request.headers().size() + 4);
    h.method(request.method().asciiName());
    HttpConversionUtil.toHttp2Headers(request.headers(), h);
    return common(h, cx);
  }

  private static Http2Headers common(Http2Headers h, Context cx) {
    h.remove(HttpHeaderNames.EXPECT);
    h.remove(X_ENVOY_ORIGINAL_PATH);
    h.remove(Http2Headers.PseudoHeaderName.PROTOCOL.value());
    h.authority(cx.authority());
    h.scheme("http"); // h2c: the upstream hop is plain text
    h.path(cx.target());
    CharSequence xff = h.get(X_FORWARDED_FOR);
    h.set(X_FORWARDED_FOR, xff == null || xff.length() == 0 ? cx.remoteIp() : xff + ", " + cx.remoteIp());
    h.set(X_FORWARDED_PROTO, cx.tls() ? "https" : "http");
    h.set(X_REQUEST_ID, cx.requestId());
    if (cx.forward().rewriteUri().isPresent()) {
      h.set(X_ENVOY_ORIGINAL_PATH, cx.head().originForm());
    }
    if (cx.grpcTimeout() != null) {
      h.set(GRPC_TIMEOUT, cx.grpcTimeout());
    }
    if (cx.grpcWeb() != null) {
      h.set(HttpHeaderNames.CONTENT_TYPE, GrpcWeb.UPSTREAM_TYPE);
      h.set(HttpHeaderNames.TE, HttpHeaderValues.TRAILERS);
      h.remove(HttpHeaderNames.CONTENT_LENGTH);
      h.remove("x-grpc-web");
    }
    cx.route().requestHeaders().applyTo(h);
    return h;
  }
}
