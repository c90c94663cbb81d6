package io.portcullis.proxy;

import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.TooLongHttpHeaderException;
import io.netty.handler.codec.http.TooLongHttpLineException;
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
   * Checks {@code request} and, when it is accepted, sets its {@code Host} to the absolute-form authority if any.
   *
   * @param h2 whether it came as an HTTP/2 stream (its target is {@code :path})
   */
  static Result check(HttpRequest request, boolean h2, ProxyLimits limits, PathNormalization normalization) {
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
    if (!h2 && hosts.size() > 1) {
      return refused(400, "more than one Host header (RFC 9112 §3.2)", ProxyStats.RQ_BAD_REQUEST);
    }
    String method = request.method().name();
    if (request.method().equals(HttpMethod.CONNECT)) {
      return refused(405, "CONNECT is not supported", ProxyStats.RQ_BAD_REQUEST);
    }
    RequestTarget.Result target = h2 ? RequestTarget.http2(method, request.uri(), normalization)
        : RequestTarget.http1(method, request.uri(), normalization);
    if (target instanceof RequestTarget.Rejected r) {
      return refused(r.status(), r.reason(), ProxyStats.RQ_FAILED_PATH_NORMALIZATION);
    }
    if (target instanceof RequestTarget.Redirect rd) {
      if (grpc(headers)) {
        return refused(400, "escaped slash in a gRPC path", ProxyStats.RQ_FAILED_PATH_NORMALIZATION);
      }
      return new Refused(rd.status(), "", ProxyStats.RQ_FAILED_PATH_NORMALIZATION, rd.location());
    }
    RequestTarget.Accepted a = (RequestTarget.Accepted) target;
    String authority = hosts.isEmpty() ? "" : hosts.get(0);
    if (a.authority().isPresent()) {
      String fromTarget = a.authority().get();
      if (!authority.isEmpty() && !sameAuthority(authority, fromTarget)) {
        return refused(400, "Host " + RequestTarget.echo(authority) + " disagrees with the request target's "
            + "authority " + RequestTarget.echo(fromTarget) + " (RFC 9112 §3.2.2)", ProxyStats.RQ_BAD_REQUEST);
      }
      authority = fromTarget;
      headers.set(HttpHeaderNames.HOST, authority);
    }
    String query = a.query().isEmpty() ? "" : a.query().substring(1);
    return new Checked(a.path(), query, a.originForm(), authority);
  }

  private static Refused refused(int status, String text, String counter) {
    return new Refused(status, text + "\n", counter, null);
  }

  private static boolean grpc(HttpHeaders headers) {
    String type = headers.get(HttpHeaderNames.CONTENT_TYPE);
    return type != null && type.toLowerCase(Locale.ROOT).startsWith("application/grpc");
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
