package io.portcullis.proxy;

import static java.util.Objects.requireNonNull;

import java.time.Duration;

/**
 * The limits of an HTTP/2 upstream connection ({@link Http2UpstreamConnection}): what we advertise to the upstream and
 * the defences against an upstream that misbehaves. Named after Envoy's {@code Http2ProtocolOptions} where Envoy has
 * the setting.
 *
 * @param maxConcurrentStreams the most streams we open on one connection, whatever the upstream's
 *     {@code SETTINGS_MAX_CONCURRENT_STREAMS} allows (the smaller of the two applies; RFC 9113 §6.5.2); 1..2^31-1
 * @param initialStreamWindow our {@code SETTINGS_INITIAL_WINDOW_SIZE}, bytes: how much response body one stream may
 *     have in flight that the proxy has not yet written downstream (RFC 9113 §6.9.2; Envoy's
 *     {@code initial_stream_window_size}); 65,535 (the protocol's default) .. 2^31-1. The connection window is raised
 *     to {@code initialStreamWindow * maxConcurrentStreams} (capped at 2^31-1) so one slow stream cannot stall the
 *     others
 * @param maxResponseHeadersKb our {@code SETTINGS_MAX_HEADER_LIST_SIZE}, KiB: a response header block larger than
 *     this fails its stream (a protocol error, 502); one larger than 1.25 times it fails the connection before it is
 *     buffered. Envoy's {@code max_response_headers_kb} (60); 1..8192
 * @param maxRstFramesPerWindow RST_STREAM frames from the upstream allowed per {@code rstFramesWindowSeconds}, for
 *     any stream (open, closed or unknown), before the connection is closed with GOAWAY {@code ENHANCE_YOUR_CALM}
 *     (a reset flood: {@link Http2ResetFloodDecoder}); 0 disables
 * @param rstFramesWindowSeconds the window of {@code maxRstFramesPerWindow}, seconds, >= 1
 * @param maxQueuedControlFrames the most control frames we owe the upstream (PING and SETTINGS acknowledgements,
 *     RST_STREAM) that are queued because it does not read them; past this the connection is closed: Envoy's
 *     {@code max_outbound_control_frames} (1000 there; Netty's default 10,000 here); >= 1
 * @param idleTimeout a connection with no stream for this long is closed with GOAWAY {@code NO_ERROR}:
 *     DestinationRule's {@code connectionPool.http.idleTimeout}; zero never
 * @param maxRequestsPerConnection the most streams opened on one connection over its life; once that many were
 *     opened it takes no more and is closed (GOAWAY {@code NO_ERROR}) when they have ended: DestinationRule's
 *     {@code connectionPool.http.maxRequestsPerConnection}, Envoy's {@code max_requests_per_connection}; 0 for no
 *     limit
 */
record Http2UpstreamLimits(int maxConcurrentStreams, int initialStreamWindow, int maxResponseHeadersKb,
    int maxRstFramesPerWindow, int rstFramesWindowSeconds, int maxQueuedControlFrames, Duration idleTimeout,
    int maxRequestsPerConnection) {
  /** The stream window HTTP/2 starts with (RFC 9113 §6.9.2). */
  static final int DEFAULT_WINDOW = 65_535;

  /**
   * Checks the values.
   *
   * @throws IllegalArgumentException naming the value, when one is out of range
   */
  Http2UpstreamLimits {
    requireNonNull(idleTimeout, "idleTimeout");
    if (maxConcurrentStreams < 1) {
      throw new IllegalArgumentException("maxConcurrentStreams: " + maxConcurrentStreams + " (expected: >= 1)");
    }
    if (initialStreamWindow < DEFAULT_WINDOW) {
      throw new IllegalArgumentException("initialStreamWindow: " + initialStreamWindow + " (expected: 65535.."
          + Integer.MAX_VALUE + ")");
    }
    if (maxResponseHeadersKb < 1 || maxResponseHeadersKb > 8192) {
      throw new IllegalArgumentException("maxResponseHeadersKb: " + maxResponseHeadersKb + " (expected: 1..8192)");
    }
    if (maxRstFramesPerWindow < 0 || rstFramesWindowSeconds < 1) {
      throw new IllegalArgumentException("maxRstFramesPerWindow/rstFramesWindowSeconds: " + maxRstFramesPerWindow
          + "/" + rstFramesWindowSeconds + " (expected: >= 0 / >= 1)");
    }
    if (maxQueuedControlFrames < 1) {
      throw new IllegalArgumentException("maxQueuedControlFrames: " + maxQueuedControlFrames + " (expected: >= 1)");
    }
    if (idleTimeout.isNegative()) {
      throw new IllegalArgumentException("idleTimeout: " + idleTimeout + " (expected: >= 0, 0 for never)");
    }
    if (maxRequestsPerConnection < 0) {
      throw new IllegalArgumentException("maxRequestsPerConnection: " + maxRequestsPerConnection
          + " (expected: >= 0, 0 for no limit)");
    }
  }

  /** Limits without a request limit per connection ({@code maxRequestsPerConnection} 0). */
  Http2UpstreamLimits(int maxConcurrentStreams, int initialStreamWindow, int maxResponseHeadersKb,
      int maxRstFramesPerWindow, int rstFramesWindowSeconds, int maxQueuedControlFrames, Duration idleTimeout) {
    this(maxConcurrentStreams, initialStreamWindow, maxResponseHeadersKb, maxRstFramesPerWindow,
        rstFramesWindowSeconds, maxQueuedControlFrames, idleTimeout, 0);
  }

  /**
   * 100 streams per connection, the protocol's 64 KiB stream window, 60 KiB of response headers, 200 resets per 30 s
   * (Netty's server default), 10,000 queued control frames, one hour idle, no request limit per connection.
   */
  static Http2UpstreamLimits defaults() {
    return new Http2UpstreamLimits(100, DEFAULT_WINDOW, 60, 200, 30, 10_000, Duration.ofHours(1));
  }

  /** Returns a copy with {@code idleTimeout}. */
  Http2UpstreamLimits withIdleTimeout(Duration idleTimeout) {
    return new Http2UpstreamLimits(maxConcurrentStreams, initialStreamWindow, maxResponseHeadersKb,
        maxRstFramesPerWindow, rstFramesWindowSeconds, maxQueuedControlFrames, idleTimeout, maxRequestsPerConnection);
  }

  /** Returns a copy with {@code maxRequestsPerConnection} (0 for no limit). */
  Http2UpstreamLimits withMaxRequestsPerConnection(int maxRequestsPerConnection) {
    return new Http2UpstreamLimits(maxConcurrentStreams, initialStreamWindow, maxResponseHeadersKb,
        maxRstFramesPerWindow, rstFramesWindowSeconds, maxQueuedControlFrames, idleTimeout, maxRequestsPerConnection);
  }

  /**
   * Returns how many streams a connection being opened is expected to take: the smaller of ours, the 100 assumed
   * before the upstream's SETTINGS ({@link Http2UpstreamConnection#ASSUMED_MAX_CONCURRENT_STREAMS}) and
   * {@code maxRequestsPerConnection} when set; the pool lets that many requests wait on one connect.
   */
  int streamsPerConnect() {
    int n = Math.min(Http2UpstreamConnection.ASSUMED_MAX_CONCURRENT_STREAMS, maxConcurrentStreams);
    return maxRequestsPerConnection > 0 ? Math.min(n, maxRequestsPerConnection) : n;
  }

  /** Returns the connection-level receive window we ask for, bytes. */
  int connectionWindow() {
    return (int) Math.min(Integer.MAX_VALUE, (long) initialStreamWindow * maxConcurrentStreams);
  }
}
