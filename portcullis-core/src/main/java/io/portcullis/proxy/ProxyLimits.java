package io.portcullis.proxy;

import static java.util.Objects.requireNonNull;

import java.time.Duration;

/**
 * Timeouts and size limits of the data plane, named and defaulted as Envoy's (and Istio's) where Envoy has them. Each
 * is a {@code portcullis run} flag of the same name; a duration of zero disables that timeout.
 *
 * @param listenerFiltersTimeout a new connection must send its TLS ClientHello (on a plain port: its first request
 *     line, or the HTTP/2 preface) within this, or it is closed: Envoy's {@code listener_filters_timeout} (15 s)
 * @param requestHeadersTimeout an HTTP/1.1 request's headers must be complete this long after their first byte, or
 *     the client gets 408 and the connection is closed: Envoy's {@code request_headers_timeout} (10 s here; Envoy
 *     leaves it off)
 * @param idleTimeout a downstream connection with no request in flight for this long is closed, HTTP/2 with GOAWAY:
 *     Envoy's {@code common_http_protocol_options.idle_timeout} (1 h)
 * @param streamIdleTimeout a request (HTTP/1.1 exchange or HTTP/2 stream) with no bytes moving either way for this
 *     long is ended, 408 before the response started, a reset after: Envoy's {@code stream_idle_timeout} (5 min)
 * @param maxConnections per listener: a connection accepted beyond this many open ones is closed at once and counted
 *     ({@code downstream_cx_overflow}); 0 for no limit
 * @param maxRequestHeadersKb the largest request header block, KiB: larger gets 431 (HTTP/2: the
 *     {@code SETTINGS_MAX_HEADER_LIST_SIZE} advertised, then 431): Envoy's {@code max_request_headers_kb} (60)
 * @param maxHeadersCount the most request headers: more gets 431: Envoy's {@code max_headers_count} (100)
 * @param upstreamIdleTimeout an upstream connection idle in a pool this long is closed: DestinationRule's
 *     {@code connectionPool.http.idleTimeout} (Envoy's default, 1 h)
 */
public record ProxyLimits(Duration listenerFiltersTimeout, Duration requestHeadersTimeout, Duration idleTimeout,
    Duration streamIdleTimeout, int maxConnections, int maxRequestHeadersKb, int maxHeadersCount,
    Duration upstreamIdleTimeout) {
  /** The longest HTTP/1.1 request line, bytes: longer gets 414 (nginx's default buffer, 8 KiB). */
  public static final int MAX_REQUEST_LINE = 8192;

  /**
   * Checks the values.
   *
   * @throws IllegalArgumentException naming the flag, when a duration is negative or a size out of range
   */
  public ProxyLimits {
    nonNegative("--listener-filters-timeout", listenerFiltersTimeout);
    nonNegative("--request-headers-timeout", requestHeadersTimeout);
    nonNegative("--idle-timeout", idleTimeout);
    nonNegative("--stream-idle-timeout", streamIdleTimeout);
    nonNegative("--upstream-idle-timeout", upstreamIdleTimeout);
    if (maxConnections < 0) {
      throw new IllegalArgumentException("--max-connections: " + maxConnections + " (expected: >= 0, 0 for none)");
    }
    if (maxRequestHeadersKb < 1 || maxRequestHeadersKb > 8192) {
      throw new IllegalArgumentException("--max-request-headers-kb: " + maxRequestHeadersKb
          + " (expected: 1..8192, as Envoy's max_request_headers_kb)");
    }
    if (maxHeadersCount < 1) {
      throw new IllegalArgumentException("--max-headers-count: " + maxHeadersCount + " (expected: >= 1)");
    }
  }

  /** Envoy's defaults (request headers 10 s, which Envoy leaves off) and 10,000 connections per listener. */
  public static ProxyLimits defaults() {
    return new ProxyLimits(Duration.ofSeconds(15), Duration.ofSeconds(10), Duration.ofHours(1),
        Duration.ofMinutes(5), 10_000, 60, 100, Duration.ofHours(1));
  }

  /** Returns {@link #maxRequestHeadersKb} in bytes. */
  public int maxRequestHeadersBytes() {
    return maxRequestHeadersKb * 1024;
  }

  private static void nonNegative(String flag, Duration d) {
    requireNonNull(d, flag);
    if (d.isNegative()) {
      throw new IllegalArgumentException(flag + ": " + d + " (expected: >= 0, 0 to disable)");
    }
  }
}
