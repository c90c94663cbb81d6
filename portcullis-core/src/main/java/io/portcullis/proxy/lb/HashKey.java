package io.portcullis.proxy.lb;

import io.portcullis.routing.RouteMatch;
import io.portcullis.routing.TrafficPolicy.LoadBalancer.ConsistentHash;

/**
 * The hash a consistent-hash balancer places a request by, as Envoy's hash policies compute it: xxHash64 of the
 * header's first value ({@code httpHeaderName}), of the cookie's value ({@code httpCookie}), of the client's IP
 * ({@code useSourceIp}) or of the query parameter's first value as sent ({@code httpQueryParameterName}).
 *
 * <p>A request without the cookie gets one (Envoy's cookie generation): its value is the hex xxHash64 of the
 * downstream connection's remote and local addresses (so a connection's requests agree), the request is placed by
 * it, and the response carries {@code Set-Cookie: name="value"; Max-Age=ttl; Path=path; HttpOnly} ({@code Max-Age}
 * only for a non-zero {@code ttl}: zero makes a session cookie). Every {@code Cookie} field of the request is read
 * (HTTP/2 clients send one per cookie, RFC 9113 §8.2.3).
 */
public final class HashKey {
  /**
   * A request's hash.
   *
   * @param hash the 64-bit hash
   * @param setCookie the {@code Set-Cookie} value the response must carry (the cookie was generated), or null
   */
  public record Result(long hash, String setCookie) {}

  private HashKey() {}

  /**
   * Returns the hash of {@code request} under {@code policy}, or null when the request has no key (then the balancer
   * picks at random, as Envoy's).
   *
   * @param sourceIp the client's IP as text ({@code 127.0.0.1}, {@code ::1})
   * @param connection the downstream connection's remote and local addresses, for a generated cookie
   * @param cookies the request's {@code Cookie} fields joined by {@code "; "}, or null when it has none (read only
   *     for a cookie hash)
   */
  public static Result of(ConsistentHash policy, RouteMatch.RequestView request, String sourceIp, String connection,
      String cookies) {
    String value = switch (policy.key()) {
      case HEADER -> request.header(policy.name());
      case SOURCE_IP -> sourceIp;
      case QUERY_PARAMETER -> queryValue(request.query(), policy.name());
      case COOKIE -> cookie(cookies, policy.name());
    };
    if (value != null) {
      return new Result(XxHash64.hash(value), null);
    }
    if (policy.key() != ConsistentHash.Key.COOKIE) {
      return null;
    }
    String generated = hex(XxHash64.hash(connection));
    StringBuilder c = new StringBuilder(policy.name()).append("=\"").append(generated).append('"');
    if (!policy.cookieTtl().isZero()) {
      c.append("; Max-Age=").append(policy.cookieTtl().toSeconds());
    }
    if (!policy.cookiePath().isEmpty()) {
      c.append("; Path=").append(policy.cookiePath());
    }
    c.append("; HttpOnly");
    return new Result(XxHash64.hash(generated), c.toString());
  }

  /** Returns the value of cookie {@code name} in a {@code Cookie} header (quotes removed), or null. */
  static String cookie(String header, String name) {
    if (header == null) {
      return null;
    }
    int n = header.length();
    int start = 0;
    while (start < n) {
      int end = header.indexOf(';', start);
      if (end < 0) {
        end = n;
      }
      int eq = header.indexOf('=', start);
      if (eq > start && eq < end) {
        String k = header.substring(start, eq).trim();
        if (k.equals(name)) {
          String v = header.substring(eq + 1, end).trim();
          if (v.length() >= 2 && v.charAt(0) == '"' && v.charAt(v.length() - 1) == '"') {
            v = v.substring(1, v.length() - 1);
          }
          return v;
        }
      }
      start = end + 1;
    }
    return null;
  }

  /** Returns the first value of parameter {@code name} in {@code query}, as sent, or null when absent. */
  static String queryValue(String query, String name) {
    int n = query.length();
    int start = 0;
    while (start < n) {
      int end = query.indexOf('&', start);
      if (end < 0) {
        end = n;
      }
      int eq = query.indexOf('=', start);
      int nameEnd = eq >= 0 && eq < end ? eq : end;
      if (nameEnd - start == name.length() && query.startsWith(name, start)) {
        return nameEnd == end ? "" : query.substring(nameEnd + 1, end);
      }
      start = end + 1;
    }
    return null;
  }

  private static String hex(long v) {
    String h = Long.toHexString(v);
    return "0".repeat(16 - h.length()) + h;
  }
}
