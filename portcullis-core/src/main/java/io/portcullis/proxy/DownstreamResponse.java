package io.portcullis.proxy;

import io.netty.buffer.Unpooled;
import io.netty.handler.codec.DateFormatter;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.DefaultHttpResponse;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.portcullis.routing.HttpRoute;
import java.util.Date;

/**
 * The response head a client gets: an upstream's, adapted (hop-by-hop headers dropped, the route's response header
 * operations, {@code x-envoy-upstream-service-time}, HTTP/1.1 framing), or a local one (no route, direct response,
 * redirect, refusal). Stateless; called on an event loop.
 */
final class DownstreamResponse {
  private DownstreamResponse() {}

  /**
   * Adapts {@code resp} in place and returns what to write downstream (a head without content when {@code resp}
   * also carried content, which the caller writes after it).
   *
   * @param serviceMs upstream time to the response head, for {@code x-envoy-upstream-service-time}
   * @param h2 whether the downstream is an HTTP/2 stream (no HTTP/1.1 framing headers)
   * @param close whether an HTTP/1.1 downstream connection closes after it
   */
  static HttpResponse fromUpstream(HttpResponse resp, HttpRoute route, long serviceMs, boolean h2, HttpMethod method,
      boolean close) {
    HttpHeaders h = resp.headers();
    boolean chunked = HttpUtil.isTransferEncodingChunked(resp);
    HopByHop.strip(h);
    route.responseHeaders().applyTo(h);
    h.set("x-envoy-upstream-service-time", Long.toString(serviceMs));
    if (!h2) {
      int code = resp.status().code();
      boolean bodyAllowed = code != 204 && code != 304 && !method.equals(HttpMethod.HEAD);
      if (bodyAllowed && !h.contains(HttpHeaderNames.CONTENT_LENGTH)) {
        h.set(HttpHeaderNames.TRANSFER_ENCODING, HttpHeaderValues.CHUNKED);
      } else if (!chunked) {
        h.remove(HttpHeaderNames.TRANSFER_ENCODING);
      }
      if (close) {
        h.set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
      }
    } else {
      h.remove(HttpHeaderNames.TRANSFER_ENCODING);
    }
    resp.setProtocolVersion(HttpVersion.HTTP_1_1);
    return resp instanceof HttpContent ? new DefaultHttpResponse(HttpVersion.HTTP_1_1, resp.status(), h) : resp;
  }

  private record Stamp(long second, String text) {}

  private static volatile Stamp stamp = new Stamp(-1, "");

  /** Returns the IMF-fixdate of now ({@code Tue, 01 Dec 2026 21:40:00 GMT}), formatted once a second. */
  static String date() {
    long now = System.currentTimeMillis();
    Stamp s = stamp;
    if (s.second() != now / 1000) {
      s = new Stamp(now / 1000, DateFormatter.format(new Date(now / 1000 * 1000)));
      stamp = s;
    }
    return s.text();
  }

  /**
   * Returns a complete local response.
   *
   * @param location a {@code Location} header, or null
   * @param route the route whose response header operations apply, or null
   * @param close whether to say {@code connection: close}
   */
  static FullHttpResponse local(int code, byte[] content, String location, HttpRoute route, boolean close) {
    FullHttpResponse resp = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.valueOf(code),
        Unpooled.wrappedBuffer(content));
    resp.headers().setInt(HttpHeaderNames.CONTENT_LENGTH, content.length);
    resp.headers().set(HttpHeaderNames.DATE, date()); // RFC 9110 §6.6.1: a server with a clock sends Date
    if (content.length > 0) {
      resp.headers().set(HttpHeaderNames.CONTENT_TYPE, "text/plain");
    }
    if (location != null) {
      resp.headers().set(HttpHeaderNames.LOCATION, location);
    }
    if (route != null) {
      route.responseHeaders().applyTo(resp.headers());
    }
    if (close) {
      resp.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
    }
    return resp;
  }
}
