package io.portcullis.proxy;

import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;

/**
 * The data plane's counters, named as Envoy's statistics ({@code downstream_cx_overflow},
 * {@code downstream_rq_header_timeout}, ...); per listener ones are prefixed {@code listener.<port>.}. Thread-safe;
 * counting never blocks (a {@link LongAdder} per counter). Shown by the admin server's {@code /stats}.
 */
public final class ProxyStats {
  /** A connection accepted beyond {@code --max-connections} and closed at once (per listener). */
  static final String CX_OVERFLOW = "downstream_cx_overflow";
  /** Connections accepted (per listener). */
  static final String CX_TOTAL = "downstream_cx_total";
  /** No ClientHello (or request line) within {@code --listener-filters-timeout} (per listener). */
  static final String PRE_CX_TIMEOUT = "downstream_pre_cx_timeout";
  /** Connections closed by {@code --idle-timeout}. */
  static final String CX_IDLE_TIMEOUT = "downstream_cx_idle_timeout";
  /** HTTP/1.1 framing errors (bad chunk size, bare LF, ...): 400 and close. */
  static final String CX_PROTOCOL_ERROR = "downstream_cx_protocol_error";
  /** Requests whose headers did not arrive within {@code --request-headers-timeout}: 408. */
  static final String RQ_HEADER_TIMEOUT = "downstream_rq_header_timeout";
  /** Requests ended by {@code --stream-idle-timeout}. */
  static final String RQ_IDLE_TIMEOUT = "downstream_rq_idle_timeout";
  /** Requests refused with 431 or 414: header block, header count or request line over the limit. */
  static final String RQ_TOO_LARGE = "downstream_rq_headers_too_large";
  /** Requests refused by path normalisation (Envoy's {@code downstream_rq_failed_path_normalization}). */
  static final String RQ_FAILED_PATH_NORMALIZATION = "downstream_rq_failed_path_normalization";
  /** Requests refused as malformed (400): duplicate Host, a Host that disagrees with the target, bad target. */
  static final String RQ_BAD_REQUEST = "downstream_rq_400";
  /** Upstream connections closed idle: {@code --upstream-idle-timeout} or DestinationRule {@code idleTimeout}. */
  static final String UPSTREAM_CX_IDLE_TIMEOUT = "upstream_cx_idle_timeout";
  /** Upstream connects abandoned because the request had ended before the connection was needed. */
  static final String UPSTREAM_CX_CANCELLED = "upstream_cx_connect_cancelled";
  /**
   * HTTP/2 upstream connections opened; {@code upstream_cx_connect_fail}: upstream connects (TCP, TLS, ALPN; HTTP/1.1
   * and HTTP/2) that failed.
   */
  static final String UPSTREAM_CX_HTTP2_TOTAL = "upstream_cx_http2_total";
  static final String UPSTREAM_CX_CONNECT_FAIL = "upstream_cx_connect_fail";
  /** HTTP/2 upstream connections closed for a connection error of the upstream's (a flood, a bad frame). */
  static final String UPSTREAM_CX_PROTOCOL_ERROR = "upstream_cx_protocol_error";
  /** HTTP/2 upstream connections the upstream ended with GOAWAY (drained: streams it accepted carry on). */
  static final String UPSTREAM_CX_CLOSE_NOTIFY = "upstream_cx_close_notify";
  /**
   * Requests refused (503 {@code UO}) because too many already wait for an upstream connection (DestinationRule
   * {@code http1MaxPendingRequests}, or the HTTP/2 pool's own bound) or are in flight to the cluster
   * ({@code http2MaxRequests}).
   */
  static final String UPSTREAM_RQ_PENDING_OVERFLOW = "upstream_rq_pending_overflow";
  /** Requests that waited for a connection because the cluster had DestinationRule {@code tcp.maxConnections}. */
  static final String UPSTREAM_CX_OVERFLOW = "upstream_cx_overflow";
  /** Upstream connects that took longer than DestinationRule {@code tcp.connectTimeout} (also counted as failed). */
  static final String UPSTREAM_CX_CONNECT_TIMEOUT = "upstream_cx_connect_timeout";
  /** Upstream connections closed after DestinationRule {@code maxRequestsPerConnection} requests. */
  static final String UPSTREAM_CX_MAX_REQUESTS = "upstream_cx_max_requests";
  /** Retries not made because the cluster's retries in flight reached DestinationRule {@code maxRetries}. */
  static final String UPSTREAM_RQ_RETRY_OVERFLOW = "upstream_rq_retry_overflow";
  /** Upstream streams reset by the upstream; {@code ...rx_messaging_error}: malformed responses (502 {@code UPE}). */
  static final String UPSTREAM_RQ_RX_RESET = "upstream_rq_rx_reset";
  static final String UPSTREAM_HTTP2_RX_MESSAGING_ERROR = "upstream_http2.rx_messaging_error";
  /**
   * Upstream TLS (DestinationRule {@code tls}), summed over clusters: Envoy's cluster {@code ssl.handshake} (handshakes
   * completed), {@code ssl.session_reused} (of those, resumed sessions), {@code ssl.fail_verify_san} (the certificate
   * has none of {@code subjectAltNames}), {@code ssl.fail_verify_error} (chain, name or revocation check failed) and
   * {@code ssl.connection_error} (any other handshake failure).
   */
  static final String UPSTREAM_SSL_HANDSHAKE = "upstream_ssl.handshake";
  static final String UPSTREAM_SSL_SESSION_REUSED = "upstream_ssl.session_reused";
  static final String UPSTREAM_SSL_FAIL_VERIFY_SAN = "upstream_ssl.fail_verify_san";
  static final String UPSTREAM_SSL_FAIL_VERIFY_ERROR = "upstream_ssl.fail_verify_error";
  static final String UPSTREAM_SSL_CONNECTION_ERROR = "upstream_ssl.connection_error";

  /**
   * Requests to a cluster none of whose endpoints could take them (all ejected): 503 {@code UH}; per cluster,
   * {@code cluster.<name>.upstream_cx_none_healthy} as Envoy's.
   */
  static final String UPSTREAM_CX_NONE_HEALTHY = "upstream_cx_none_healthy";

  /**
   * Request mirrors ({@link Mirroring}), in total and per mirror cluster ({@code cluster.<name>.mirror_rq_*}): copies
   * started, answered (their response read to its end and discarded), failed (no endpoint, connect failure, reset,
   * malformed response), timed out, and not sent because the request's body was over
   * {@value Mirroring#MAX_BODY_BYTES} bytes.
   */
  static final String MIRROR_RQ_TOTAL = "mirror_rq_total";
  static final String MIRROR_RQ_COMPLETED = "mirror_rq_completed";
  static final String MIRROR_RQ_FAILED = "mirror_rq_failed";
  static final String MIRROR_RQ_TIMEOUT = "mirror_rq_timeout";
  static final String MIRROR_RQ_BODY_TOO_LARGE = "mirror_rq_body_too_large";

  private final Map<String, LongAdder> counters = new ConcurrentHashMap<>();

  /** Adds one to counter {@code name}. */
  void inc(String name) {
    counters.computeIfAbsent(name, n -> new LongAdder()).increment();
  }

  /** Adds {@code delta} (negative for a gauge going down, as {@code ejections_active}) to counter {@code name}. */
  void add(String name, long delta) {
    counters.computeIfAbsent(name, n -> new LongAdder()).add(delta);
  }

  /** Adds one to listener {@code port}'s counter {@code name}. */
  void inc(int port, String name) {
    inc("listener." + port + "." + name);
  }

  /** Returns every counter that was ever incremented, by name, sorted. */
  public Map<String, Long> snapshot() {
    Map<String, Long> out = new TreeMap<>();
    counters.forEach((k, v) -> out.put(k, v.sum()));
    return out;
  }

  /** Returns counter {@code name}, 0 when never incremented. */
  public long get(String name) {
    LongAdder a = counters.get(name);
    return a == null ? 0 : a.sum();
  }
}
