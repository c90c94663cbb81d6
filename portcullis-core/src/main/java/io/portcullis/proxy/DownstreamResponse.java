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
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.DefaultHttpHeaders;
import io.netty.handler.codec.http2.DefaultHttp2Headers;
import io.netty.handler.codec.http2.Http2Exception;
import io.netty.handler.codec.http2.Http2Headers;
import io.netty.handler.codec.http2.HttpConversionUtil;
import io.netty.util.AsciiString;
import io.portcullis.routing.HttpRoute;
import java.util.Date;
import java.util.Iterator;
import java.util.Map;

/**
 * The response head a client gets: an upstream's, adapted (hop-by-hop headers dropped, the route's response header
 * operations, {@code x-envoy-upstream-service-time}, HTTP/1.1 framing), or a local one (no route, direct response,
 * redirect, refusal). Stateless; called on an event loop.
 */
final class DownstreamResponse {
  private DownstreamResponse() {}

  private static final AsciiString SERVICE_TIME = AsciiString.cached("x-envoy-upstream-service-time");
  /** Service times under a second as text, made once each (immutable: racing threads make equal values). */
  private static final AsciiString[] MILLIS = new AsciiString[1000];

  /** Returns {@code ms} as decimal text, for {@code x-envoy-upstream-service-time}. */
  static CharSequence millis(long ms) {
    if (ms < 0 || ms >= MILLIS.length) {
      return Long.toString(ms);
    }
    AsciiString text = MILLIS[(int) ms];
    if (text == null) {
      text = AsciiString.cached(Long.toString(ms));
      MILLIS[(int) ms] = text;
    }
    return text;
  }

  /**
   * Adapts an HTTP/1.1 upstream response head in place: hop-by-hop headers dropped (a {@code 101} WebSocket upgrade
   * keeps {@code Upgrade: websocket} / {@code Connection: upgrade}), the route's response header operations,
   * {@code x-envoy-upstream-service-time}. Framing is the downstream's ({@link #http1Framing}).
   *
   * @param serviceMs upstream time to the response head, for {@code x-envoy-upstream-service-time}
   */
  static HttpResponse fromUpstream(HttpResponse resp, HttpRoute route, long serviceMs) {
    HttpHeaders h = resp.headers();
    HopByHop.strip(h);
    if (resp.status().code() == 101) {
      h.set(HttpHeaderNames.UPGRADE, HttpHeaderValues.WEBSOCKET);
      h.set(HttpHeaderNames.CONNECTION, HttpHeaderValues.UPGRADE);
    }
    route.responseHeaders().applyTo(h);
    h.set(SERVICE_TIME, millis(serviceMs));
    resp.setProtocolVersion(HttpVersion.HTTP_1_1);
    return resp instanceof HttpContent ? new DefaultHttpResponse(HttpVersion.HTTP_1_1, resp.status(), h) : resp;
  }

  /** Adapts an HTTP/2 upstream response head in place: the route's header operations and the service time. */
  static Http2Headers fromUpstream(Http2Headers resp, HttpRoute route, long serviceMs) {
    route.responseHeaders().applyTo(resp);
    resp.set(SERVICE_TIME, millis(serviceMs));
    return resp;
  }

  /**
   * Sets an HTTP/1.1 response's framing for the downstream connection (RFC 9112 §6): chunked when a body of unknown
   * length follows, {@code connection: close} when the connection ends after it.
   *
   * @param bodyAllowed false for {@code 1xx}, {@code 204}, {@code 304} and answers to {@code HEAD}
   */
  static void http1Framing(HttpResponse resp, boolean bodyAllowed, boolean close) {
    HttpHeaders h = resp.headers();
    int code = resp.status().code();
    if (code == 101) {
      return;
    }
    if (bodyAllowed && !h.contains(HttpHeaderNames.CONTENT_LENGTH)) {
      h.set(HttpHeaderNames.TRANSFER_ENCODING, HttpHeaderValues.CHUNKED);
    } else if (!bodyAllowed || h.contains(HttpHeaderNames.CONTENT_LENGTH)) {
      h.remove(HttpHeaderNames.TRANSFER_ENCODING);
    }
    if (close) {
      h.set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
    }
  }

  /**
   * Returns an HTTP/1.1 response as an HTTP/2 header block (connection-specific headers dropped), as Netty's
   * {@link HttpConversionUtil#toHttp2Headers(HttpHeaders, Http2Headers)} does; a head without {@code Connection},
   * {@code TE} or {@code Cookie} (which that conversion filters or splits by value) is copied here without a
   * lower-cased copy of each name ({@link HeaderNames}).
   */
  static Http2Headers toHttp2(HttpResponse resp) {
    HttpHeaders in = resp.headers();
    Http2Headers h = new DefaultHttp2Headers(false, in.size() + 1);
    h.status(resp.status().codeAsText());
    if (in.contains(HttpHeaderNames.CONNECTION) || in.contains(HttpHeaderNames.TE)
        || in.contains(HttpHeaderNames.COOKIE)) {
      in.remove(HttpHeaderNames.TRANSFER_ENCODING);
      HttpConversionUtil.toHttp2Headers(in, h);
      return h;
    }
    for (Iterator<Map.Entry<CharSequence, CharSequence>> i = in.iteratorCharSequence(); i.hasNext(); ) {
      Map.Entry<CharSequence, CharSequence> e = i.next();
      AsciiString name = HeaderNames.lowerCase(e.getKey());
      if (!connectionSpecific(name)) {
        h.add(name, e.getValue());
      }
    }
    return h;
  }

  /** What HTTP/2 does not carry (RFC 9113 §8.2.2), and Netty's {@code x-http2-*} names: Netty's list. */
  private static final AsciiString[] CONNECTION_SPECIFIC = {HttpHeaderNames.CONNECTION,
      AsciiString.cached("keep-alive"), AsciiString.cached("proxy-connection"), HttpHeaderNames.TRANSFER_ENCODING,
      HttpHeaderNames.HOST, HttpHeaderNames.UPGRADE, HttpConversionUtil.ExtensionHeaderNames.STREAM_ID.text(),
      HttpConversionUtil.ExtensionHeaderNames.SCHEME.text(), HttpConversionUtil.ExtensionHeaderNames.PATH.text(),
      HttpConversionUtil.ExtensionHeaderNames.PROTOCOL.text()};

  private static boolean connectionSpecific(AsciiString lowerCaseName) {
    for (AsciiString n : CONNECTION_SPECIFIC) {
      if (n.length() == lowerCaseName.length() && n.contentEquals(lowerCaseName)) {
        return true;
      }
    }
    return false;
  }

  /** Returns an HTTP/2 response head as an HTTP/1.1 one (for {@link #http1Framing}). */
  static HttpResponse toHttp1(Http2Headers resp) {
    HttpHeaders h = new DefaultHttpHeaders();
    try {
      HttpConversionUtil.addHttp2ToHttpHeaders(0, resp, h, HttpVersion.HTTP_1_1, false, false);
      h.remove(HttpConversionUtil.ExtensionHeaderNames.STREAM_ID.text());
      return new DefaultHttpResponse(HttpVersion.HTTP_1_1, HttpConversionUtil.parseStatus(resp.status()), h);
    } catch (Http2Exception e) {
      throw new IllegalArgumentException("bad :status " + resp.status(), e);
    }
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
