package io.portcullis.proxy;

import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http2.DefaultHttp2Headers;
import io.netty.handler.codec.http2.Http2Headers;
import io.portcullis.routing.RouteAction;
import java.util.Locale;
import java.util.concurrent.TimeUnit;

/**
 * gRPC over HTTP/2 as the gateway needs it (grpc/doc/PROTOCOL-HTTP2.md): recognising a gRPC request, its
 * {@code grpc-timeout}, the status of a response, the trailers-only replies the gateway itself sends (HTTP 200 with
 * {@code grpc-status} from gRPC's HTTP-to-gRPC status mapping, as Envoy does), and the gRPC {@code retryOn}
 * conditions. Stateless.
 */
final class Grpc {
  /** Envoy's gRPC retry conditions and the status codes they name. */
  static final java.util.Map<String, String> RETRY_ON = java.util.Map.of("cancelled", "1",
      "deadline-exceeded", "4", "internal", "13", "resource-exhausted", "8", "unavailable", "14");

  private Grpc() {}

  /** Whether {@code contentType} is gRPC's ({@code application/grpc}, {@code application/grpc+proto}, ...). */
  static boolean isGrpc(CharSequence contentType) {
    if (contentType == null || contentType.length() < 16) {
      return false;
    }
    String t = contentType.toString().toLowerCase(Locale.ROOT);
    return t.startsWith("application/grpc") && (t.length() == 16 || t.charAt(16) == '+' || t.charAt(16) == ';');
  }

  /**
   * Parses a {@code grpc-timeout} value ({@code 1*8DIGIT} then one of {@code H M S m u n}); returns nanoseconds, or
   * 0 when absent or malformed.
   */
  static long parseTimeoutNanos(String value) {
    if (value == null || value.length() < 2 || value.length() > 9) {
      return 0;
    }
    long n;
    try {
      n = Long.parseLong(value.substring(0, value.length() - 1));
    } catch (NumberFormatException e) {
      return 0;
    }
    if (n < 0) {
      return 0;
    }
    TimeUnit unit = switch (value.charAt(value.length() - 1)) {
      case 'H' -> TimeUnit.HOURS;
      case 'M' -> TimeUnit.MINUTES;
      case 'S' -> TimeUnit.SECONDS;
      case 'm' -> TimeUnit.MILLISECONDS;
      case 'u' -> TimeUnit.MICROSECONDS;
      case 'n' -> TimeUnit.NANOSECONDS;
      default -> null;
    };
    return unit == null ? 0 : unit.toNanos(n);
  }

  /** Formats {@code nanos} as a {@code grpc-timeout} value (at most 8 digits, milliseconds when they fit). */
  static String formatTimeout(long nanos) {
    long ms = TimeUnit.NANOSECONDS.toMillis(nanos);
    if (ms < 100_000_000L) {
      return Math.max(ms, 1) + "m";
    }
    return Math.min(TimeUnit.NANOSECONDS.toSeconds(nanos), 99_999_999L) + "S";
  }

  /** Returns a response's {@code grpc-status}, or null. */
  static String status(Http2Headers headers) {
    CharSequence s = headers.get("grpc-status");
    return s == null ? null : s.toString();
  }

  /** Returns a response's {@code grpc-status}, or null. */
  static String status(HttpHeaders headers) {
    return headers.get("grpc-status");
  }

  /** Returns {@code :status} as a number (0 when malformed: the caller's protocol check refuses it). */
  static int statusCode(Http2Headers headers) {
    CharSequence s = headers.status();
    if (s == null || s.length() != 3) {
      return 0;
    }
    int v = 0;
    for (int i = 0; i < 3; i++) {
      char c = s.charAt(i);
      if (c < '0' || c > '9') {
        return 0;
      }
      v = v * 10 + (c - '0');
    }
    return v;
  }

  /** Whether {@code policy}'s {@code retryOn} names the gRPC status {@code code}. */
  static boolean retries(RouteAction.RetryPolicy policy, String code) {
    for (String on : policy.retryOn()) {
      String c = RETRY_ON.get(on);
      if (c != null && c.equals(code)) {
        return true;
      }
    }
    return false;
  }

  /**
   * Returns gRPC's status for an HTTP status the gateway would have sent (gRPC's "HTTP to gRPC status code
   * mapping"; 504 and Envoy's {@code UT} are DEADLINE_EXCEEDED, no route UNIMPLEMENTED as Envoy's router does).
   */
  static int fromHttp(int httpStatus, String flags) {
    if ("NR".equals(flags)) {
      return 12; // UNIMPLEMENTED
    }
    return switch (httpStatus) {
      case 400 -> 13; // INTERNAL
      case 401 -> 16; // UNAUTHENTICATED
      case 403 -> 7; // PERMISSION_DENIED
      case 404 -> 12; // UNIMPLEMENTED
      case 408, 504 -> 4; // DEADLINE_EXCEEDED
      case 429, 502, 503 -> 14; // UNAVAILABLE
      default -> 2; // UNKNOWN
    };
  }

  /** Returns a trailers-only gRPC reply for a local HTTP error ({@code :status 200}, ends the stream). */
  static Http2Headers trailersOnly(int httpStatus, String flags, String message) {
    Http2Headers h = new DefaultHttp2Headers();
    h.status("200");
    h.set("content-type", "application/grpc");
    h.set("grpc-status", Integer.toString(fromHttp(httpStatus, flags)));
    String m = message.strip();
    if (!m.isEmpty()) {
      h.set("grpc-message", percentEncode(m));
    }
    return h;
  }

  /** gRPC's grpc-message encoding: percent-encodes bytes outside printable ASCII and '%'. */
  static String percentEncode(String s) {
    StringBuilder b = new StringBuilder(s.length());
    for (byte x : s.getBytes(java.nio.charset.StandardCharsets.UTF_8)) {
      int c = x & 0xff;
      if (c >= 0x20 && c <= 0x7e && c != '%') {
        b.append((char) c);
      } else {
        b.append('%').append(Character.toUpperCase(Character.forDigit(c >> 4, 16)))
            .append(Character.toUpperCase(Character.forDigit(c & 15, 16)));
      }
    }
    return b.toString();
  }
}
