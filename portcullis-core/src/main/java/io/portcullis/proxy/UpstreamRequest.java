package io.portcullis.proxy;

import io.netty.handler.codec.http.DefaultHttpRequest;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.portcullis.routing.HttpRoute;
import io.portcullis.routing.RouteAction;
import io.portcullis.routing.RouteMatch;

/**
 * Builds the HTTP/1.1 request head sent upstream from the downstream one: hop-by-hop headers dropped (RFC 9110
 * §7.6.1), {@code Host} the route's {@code rewrite.authority} or the client's, {@code x-forwarded-for} /
 * {@code x-forwarded-proto} / {@code x-request-id} as Envoy sets them, the route's request header operations, and
 * the request line's target the normalised origin form ({@link RequestHead.Checked#originForm()}), or its
 * {@code rewrite.uri}, in which case the normalised path before the rewrite goes in {@code x-envoy-original-path}
 * as Envoy does. Stateless; called on an event loop.
 */
final class UpstreamRequest {
  private UpstreamRequest() {}

  /**
   * Returns the upstream head; changes {@code request}'s headers in place (they are the exchange's alone).
   *
   * @param remoteIp the downstream peer's address, appended to {@code x-forwarded-for}
   * @param tls whether the downstream connection is TLS ({@code x-forwarded-proto})
   * @param h2 whether the downstream request is an HTTP/2 stream
   */
  static HttpRequest build(HttpRequest request, RequestHead.Checked head, RouteMatch.RequestView view,
      HttpRoute route, RouteAction.Forward forward, String remoteIp, boolean tls, boolean h2, String requestId) {
    HttpHeaders h = request.headers();
    HopByHop.strip(h);
    h.remove(HttpHeaderNames.EXPECT);
    h.remove("x-envoy-original-path"); // only the gateway says what the path was before a rewrite
    h.set(HttpHeaderNames.HOST, forward.rewriteAuthority().orElse(head.authority()));
    String xff = h.get("x-forwarded-for");
    h.set("x-forwarded-for", xff == null || xff.isEmpty() ? remoteIp : xff + ", " + remoteIp);
    h.set("x-forwarded-proto", tls ? "https" : "http");
    h.set("x-request-id", requestId);
    String target = head.originForm();
    if (forward.rewriteUri().isPresent()) {
      h.set("x-envoy-original-path", target);
      target = HttpRoute.rewritePath(head.path(), forward.rewriteUri().get(), route.matches(), view)
          + (head.query().isEmpty() ? "" : "?" + head.query());
    }
    route.requestHeaders().applyTo(h);
    boolean hasBody = !(request instanceof FullHttpRequest full) || full.content().isReadable();
    if (h2 && hasBody && !h.contains(HttpHeaderNames.CONTENT_LENGTH)) {
      h.set(HttpHeaderNames.TRANSFER_ENCODING, HttpHeaderValues.CHUNKED);
    }
    if (!h2 && !h.contains(HttpHeaderNames.CONTENT_LENGTH) && !HttpUtil.isTransferEncodingChunked(request)) {
      h.remove(HttpHeaderNames.TRANSFER_ENCODING);
    }
    return new DefaultHttpRequest(HttpVersion.HTTP_1_1, request.method(), target, h);
  }
}
