package io.portcullis.proxy;

import io.netty.channel.Channel;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.TooLongHttpHeaderException;
import io.netty.handler.codec.http.TooLongHttpLineException;
import io.netty.handler.codec.http2.Http2Headers;
import io.netty.util.Attribute;
import io.netty.util.AttributeKey;
import java.util.List;
import java.util.Locale;
import java.util.UUID;
import java.util.concurrent.ThreadLocalRandom;

/**
 * A request head as the gateway understands it, checked before anything routes it: the decoder's verdict (414 for a
 * request line over {@link ProxyLimits#MAX_REQUEST_LINE}, 431 for a header block over {@code --max-request-headers-kb},
 * 400 for the rest), the header count ({@code --max-headers-count}: 431), exactly one {@code Host} (RFC 9112 §3.2),
 * and the request target, normalised by {@link RequestTarget} under {@code --path-normalization}: routing, rewrite and
 * the upstream request all use {@link Checked#path()} and {@link Checked#originForm()}, never the raw target. An
 * absolute-form target's authority replaces {@code Host}, and a {@code Host} that disagrees with it is a 400 (RFC
 * 9112 §3.2.2). Stateless; called on an event loop.
 */
final class RequestHead {
  private RequestHead() {}

  /** The outcome: {@link Checked} or {@link Refused}. */
  sealed interface Result permits Checked, Refused {}

  /**
   * A request that may be routed.
   *
   * @param path the normalised path, no query
   * @param query the query as sent, without its {@code ?}; "" when none
   * @param originForm what the upstream request line carries: the normalised path and {@code ?query}
   * @param authority {@code Host} (set from an absolute-form target when there was one); "" when absent
   */
  record Checked(String path, String query, String originForm, String authority) implements Result {}

  /**
   * A request answered locally and not routed.
   *
   * @param status 400, 405, 414, 431 or 307 (a redirect to {@link #location})
   * @param text the response body, one line
   * @param counter the {@link ProxyStats} counter it counts in
   * @param location the redirect's {@code Location}, or null
   */
  record Refused(int status, String text, String counter, String location) implements Result {}

  /**
   * Checks an HTTP/1.1 {@code request} and, when it is accepted, sets its {@code Host} to the absolute-form authority
   * if any.
   */
  static Result check(HttpRequest request, ProxyLimits limits, PathNormalization normalization) {
    if (request.decoderResult().isFailure()) {
      Throwable cause = request.decoderResult().cause();
      if (cause instanceof TooLongHttpLineException) {
        return refused(414, "request line longer than " + ProxyLimits.MAX_REQUEST_LINE + " bytes",
            ProxyStats.RQ_TOO_LARGE);
      }
      if (cause instanceof TooLongHttpHeaderException) {
        return refused(431, "request headers larger than " + limits.maxRequestHeadersKb() + " KiB",
            ProxyStats.RQ_TOO_LARGE);
      }
      return refused(400, "bad request", ProxyStats.CX_PROTOCOL_ERROR);
    }
    HttpHeaders headers = request.headers();
    if (headers.size() > limits.maxHeadersCount()) {
      return refused(431, "more than " + limits.maxHeadersCount() + " request headers", ProxyStats.RQ_TOO_LARGE);
    }
    List<String> hosts = headers.getAll(HttpHeaderNames.HOST);
    if (hosts.size() > 1) {
      return refused(400, "more than one Host header (RFC 9112 §3.2)", ProxyStats.RQ_BAD_REQUEST);
    }
    if (request.method().equals(HttpMethod.CONNECT)) {
      return refused(405, "CONNECT is not supported", ProxyStats.RQ_BAD_REQUEST);
    }
    Result r = target(request.method().name(), request.uri(), hosts.isEmpty() ? "" : hosts.get(0),
        headers.get(HttpHeaderNames.CONTENT_TYPE), false, normalization);
    if (r instanceof Checked c && !hosts.isEmpty() && !c.authority().equals(hosts.get(0))) {
      headers.set(HttpHeaderNames.HOST, c.authority());
    } else if (r instanceof Checked c && hosts.isEmpty() && !c.authority().isEmpty()) {
      headers.set(HttpHeaderNames.HOST, c.authority());
    }
    return r;
  }

  /**
   * Checks an HTTP/2 request head (RFC 9113 §8.3: {@code :method}, {@code :path}, {@code :authority} or
   * {@code Host}, at most one {@code Host} and none that names another host than {@code :authority}, §8.3.1); Netty's
   * decoder has already refused malformed pseudo-headers and over-long header lists. A {@code CONNECT} is accepted
   * only as RFC 8441's extended CONNECT ({@code :protocol websocket}).
   */
  static Result check(Http2Headers headers, ProxyLimits limits, PathNormalization normalization) {
    if (headers.size() > limits.maxHeadersCount()) {
      return refused(431, "more than " + limits.maxHeadersCount() + " request headers", ProxyStats.RQ_TOO_LARGE);
    }
    CharSequence method = headers.method();
    if (method == null) {
      return refused(400, "bad request: no :method", ProxyStats.CX_PROTOCOL_ERROR);
    }
    CharSequence protocol = headers.get(Http2Headers.PseudoHeaderName.PROTOCOL.value());
    if (HttpMethod.CONNECT.asciiName().contentEquals(method)
        && (protocol == null || !"websocket".equalsIgnoreCase(protocol.toString()))) {
      return refused(405, "CONNECT is not supported" + (protocol == null ? "" : " for :protocol " + protocol),
          ProxyStats.RQ_BAD_REQUEST);
    }
    CharSequence path = headers.path();
    if (path == null) {
      return refused(400, "bad request: no :path", ProxyStats.CX_PROTOCOL_ERROR);
    }
    CharSequence authority = headers.authority();
    CharSequence host = headers.get(HttpHeaderNames.HOST);
    if (host != null) {
      if (headers.getAll(HttpHeaderNames.HOST).size() > 1) {
        return refused(400, "more than one host field (RFC 9110 §7.2)", ProxyStats.RQ_BAD_REQUEST);
      }
      if (authority == null) {
        authority = host;
      } else if (!sameAuthority(authority.toString(), host.toString())) {
        return refused(400, "host " + RequestTarget.echo(host.toString()) + " disagrees with :authority "
            + RequestTarget.echo(authority.toString()) + " (RFC 9113 §8.3.1)", ProxyStats.RQ_BAD_REQUEST);
      }
    }
    CharSequence type = headers.get(HttpHeaderNames.CONTENT_TYPE);
    return target(method.toString(), path.toString(), authority == null ? "" : authority.toString(),
        type == null ? null : type.toString(), true, normalization);
  }

  private static Result target(String method, String uri, String authority, String contentType, boolean h2,
      PathNormalization normalization) {
    if (h2 && method.equals("CONNECT")) {
      method = "GET"; // extended CONNECT: its :path is an origin-form target like a GET's
    }
    RequestTarget.Result target = h2 ? RequestTarget.http2(method, uri, normalization)
        : RequestTarget.http1(method, uri, normalization);
    if (target instanceof RequestTarget.Rejected r) {
      return refused(r.status(), r.reason(), ProxyStats.RQ_FAILED_PATH_NORMALIZATION);
    }
    if (target instanceof RequestTarget.Redirect rd) {
      if (contentType != null && contentType.toLowerCase(Locale.ROOT).startsWith("application/grpc")) {
        return refused(400, "escaped slash in a gRPC path", ProxyStats.RQ_FAILED_PATH_NORMALIZATION);
      }
      return new Refused(rd.status(), "", ProxyStats.RQ_FAILED_PATH_NORMALIZATION, rd.location());
    }
    RequestTarget.Accepted a = (RequestTarget.Accepted) target;
    if (a.authority().isPresent()) {
      String fromTarget = a.authority().get();
      if (!authority.isEmpty() && !sameAuthority(authority, fromTarget)) {
        return refused(400, "Host " + RequestTarget.echo(authority) + " disagrees with the request target's "
            + "authority " + RequestTarget.echo(fromTarget) + " (RFC 9112 §3.2.2)", ProxyStats.RQ_BAD_REQUEST);
      }
      authority = fromTarget;
    }
    String query = a.query().isEmpty() ? "" : a.query().substring(1);
    return new Checked(a.path(), query, a.originForm(), authority);
  }

  private static Refused refused(int status, String text, String counter) {
    return new Refused(status, text + "\n", counter, null);
  }

  /** Whether two authorities name the same host and port (ASCII case ignored; a missing port matches any). */
  static boolean sameAuthority(String a, String b) {
    if (a.equalsIgnoreCase(b)) {
      return true;
    }
    String ha = hostWithoutPort(a);
    String hb = hostWithoutPort(b);
    if (!ha.equalsIgnoreCase(hb)) {
      return false;
    }
    return ha.length() == a.length() || hb.length() == b.length();
  }

  private static final AttributeKey<String[]> LAST_HOST = AttributeKey.valueOf("portcullis.last-host");

  /**
   * Returns {@link #hostOf(String)}, remembered for the last authority seen on {@code connection} (a keep-alive
   * connection's requests, an HTTP/2 connection's streams, mostly name one). Call on the connection's event loop.
   */
  static String hostOf(String authority, Channel connection) {
    Attribute<String[]> cached = connection.attr(LAST_HOST);
    String[] last = cached.get();
    if (last != null && last[0].equals(authority)) {
      return last[1];
    }
    String host = hostOf(authority);
    cached.set(new String[] {authority, host});
    return host;
  }

  /** Returns the host of {@code authority}, lower-cased, without its port. */
  static String hostOf(String authority) {
    return hostWithoutPort(authority).toLowerCase(Locale.ROOT);
  }

  /** Returns {@code authority} without its {@code :port} ({@code [v6]} kept bracketed). */
  static String hostWithoutPort(String authority) {
    if (authority.startsWith("[")) {
      int end = authority.indexOf(']');
      return end > 0 ? authority.substring(0, end + 1) : authority;
    }
    int colon = authority.lastIndexOf(':');
    return colon >= 0 ? authority.substring(0, colon) : authority;
  }

  /** Returns the request's Content-Length, 0 when absent, -1 when malformed (the decoder then flags the request). */
  static long contentLength(HttpRequest request) {
    try {
      return HttpUtil.getContentLength(request, 0L);
    } catch (NumberFormatException e) {
      return -1;
    }
  }

  /** Returns a random (version 4) UUID for {@code x-request-id}, from the thread's fast generator. */
  static String randomUuid() {
    ThreadLocalRandom r = ThreadLocalRandom.current();
    long msb = (r.nextLong() & ~0xF000L) | 0x4000L;
    long lsb = (r.nextLong() & ~(0xC000000000000000L)) | 0x8000000000000000L;
    return new UUID(msb, lsb).toString();
  }
}
