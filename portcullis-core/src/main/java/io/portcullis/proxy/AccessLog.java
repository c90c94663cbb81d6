package io.portcullis.proxy;

import io.portcullis.internal.JsonStrings;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.LocalDateTime;
import java.time.ZoneOffset;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Writes one JSON object per request with Envoy's access-log field names (as Istio's JSON access log shows them).
 *
 * <p>{@link #log} formats on the calling event loop and hands the line to a writer thread through a bounded queue
 * ({@value #QUEUE} lines); when the writer falls that far behind, lines are dropped and counted rather than blocking
 * an event loop.
 */
public final class AccessLog implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(AccessLog.class);
  static final int QUEUE = 65_536;

  private final OutputStream out;
  private final BlockingQueue<String> queue = new ArrayBlockingQueue<>(QUEUE);
  private final AtomicLong dropped = new AtomicLong();
  private final Thread writer;
  private volatile boolean closed;

  /** Returns a log that discards everything. */
  public static AccessLog disabled() {
    return new AccessLog(null);
  }

  /**
   * Creates a log writing to {@code out} (a file or standard output); null disables logging.
   *
   * @param out closed by {@link #close()} unless it is {@link System#out}
   */
  public AccessLog(OutputStream out) {
    this.out = out;
    if (out == null) {
      writer = null;
      return;
    }
    writer = new Thread(this::drain, "portcullis-access-log");
    writer.setDaemon(true);
    writer.start();
  }

  /** Returns whether lines are written at all. */
  public boolean enabled() {
    return out != null;
  }

  /** Returns how many lines were dropped because the writer fell behind. */
  public long dropped() {
    return dropped.get();
  }

  /**
   * One request, as Envoy logs it. Strings use {@code "-"} for absent values, as Envoy does.
   *
   * @param startTime when the request's first byte arrived
   * @param durationMs total time until the last byte was sent
   * @param upstreamServiceTimeMs time from sending upstream to the first response byte, or -1
   * @param path the request target as the client sent it
   * @param grpcStatus the gRPC status of a gRPC response ({@code grpc-status} of its trailers, or of the gateway's
   *     own reply), logged as {@code grpc_status}; null for other requests
   * @param routedPath the normalised target routing saw ({@code --path-normalization}), logged as
   *     {@code routed_path} only when it differs from {@code path}; null when the request never got that far
   * @param upstreamTransportFailureReason why the upstream connection failed in TLS (Envoy's
   *     {@code %UPSTREAM_TRANSPORT_FAILURE_REASON%}: the certificate check or handshake error, or why the
   *     DestinationRule's {@code tls} material is unusable), logged as {@code upstream_transport_failure_reason}
   *     only when set; null otherwise
   */
  public record Entry(Instant startTime, String method, String path, String protocol, int responseCode,
      String responseFlags, long bytesReceived, long bytesSent, long durationMs, long upstreamServiceTimeMs,
      String upstreamHost, String upstreamCluster, String authority, String xForwardedFor, String userAgent,
      String requestId, String requestedServerName, String downstreamLocalAddress, String downstreamRemoteAddress,
      String routeName, String routedPath, String grpcStatus, String upstreamTransportFailureReason) {
    /** An entry without an upstream transport failure. */
    public Entry(Instant startTime, String method, String path, String protocol, int responseCode,
        String responseFlags, long bytesReceived, long bytesSent, long durationMs, long upstreamServiceTimeMs,
        String upstreamHost, String upstreamCluster, String authority, String xForwardedFor, String userAgent,
        String requestId, String requestedServerName, String downstreamLocalAddress, String downstreamRemoteAddress,
        String routeName, String routedPath, String grpcStatus) {
      this(startTime, method, path, protocol, responseCode, responseFlags, bytesReceived, bytesSent, durationMs,
          upstreamServiceTimeMs, upstreamHost, upstreamCluster, authority, xForwardedFor, userAgent, requestId,
          requestedServerName, downstreamLocalAddress, downstreamRemoteAddress, routeName, routedPath, grpcStatus,
          null);
    }

    /** An entry without a gRPC status. */
    public Entry(Instant startTime, String method, String path, String protocol, int responseCode,
        String responseFlags, long bytesReceived, long bytesSent, long durationMs, long upstreamServiceTimeMs,
        String upstreamHost, String upstreamCluster, String authority, String xForwardedFor, String userAgent,
        String requestId, String requestedServerName, String downstreamLocalAddress, String downstreamRemoteAddress,
        String routeName, String routedPath) {
      this(startTime, method, path, protocol, responseCode, responseFlags, bytesReceived, bytesSent, durationMs,
          upstreamServiceTimeMs, upstreamHost, upstreamCluster, authority, xForwardedFor, userAgent, requestId,
          requestedServerName, downstreamLocalAddress, downstreamRemoteAddress, routeName, routedPath, null, null);
    }
  }

  /** Formats and queues {@code e}. Called on an event loop; never blocks. */
  public void log(Entry e) {
    if (out == null || closed) {
      return;
    }
    if (!queue.offer(format(e))) {
      dropped.incrementAndGet();
    }
  }

  /** Returns the JSON line for {@code e}, without the newline. Strings are escaped per RFC 8259 §7. */
  public static String format(Entry e) {
    StringBuilder b = new StringBuilder(640);
    b.append('{');
    time(b, e.startTime()).append(',');
    str(b, "method", e.method()).append(',');
    str(b, "path", e.path()).append(',');
    str(b, "protocol", e.protocol()).append(',');
    num(b, "response_code", e.responseCode()).append(',');
    str(b, "response_flags", e.responseFlags()).append(',');
    num(b, "bytes_received", e.bytesReceived()).append(',');
    num(b, "bytes_sent", e.bytesSent()).append(',');
    num(b, "duration", e.durationMs()).append(',');
    if (e.upstreamServiceTimeMs() >= 0) {
      num(b, "upstream_service_time", e.upstreamServiceTimeMs()).append(',');
    } else {
      str(b, "upstream_service_time", "-").append(',');
    }
    str(b, "upstream_host", e.upstreamHost()).append(',');
    str(b, "upstream_cluster", e.upstreamCluster()).append(',');
    str(b, "authority", e.authority()).append(',');
    str(b, "x_forwarded_for", e.xForwardedFor()).append(',');
    str(b, "user_agent", e.userAgent()).append(',');
    str(b, "request_id", e.requestId()).append(',');
    str(b, "requested_server_name", e.requestedServerName()).append(',');
    str(b, "downstream_local_address", e.downstreamLocalAddress()).append(',');
    str(b, "downstream_remote_address", e.downstreamRemoteAddress()).append(',');
    str(b, "route_name", e.routeName());
    if (e.routedPath() != null && !e.routedPath().equals(e.path())) {
      b.append(',');
      str(b, "routed_path", e.routedPath());
    }
    if (e.grpcStatus() != null) {
      b.append(',');
      str(b, "grpc_status", e.grpcStatus());
    }
    if (e.upstreamTransportFailureReason() != null) {
      b.append(',');
      str(b, "upstream_transport_failure_reason", e.upstreamTransportFailureReason());
    }
    return b.append('}').toString();
  }

  /** Appends {@code "start_time":"2026-11-21T19:00:00.123Z"}: UTC, millisecond precision, as Envoy's default. */
  private static StringBuilder time(StringBuilder b, Instant t) {
    LocalDateTime d = LocalDateTime.ofEpochSecond(t.getEpochSecond(), t.getNano(), ZoneOffset.UTC);
    b.append("\"start_time\":\"").append(d.getYear()).append('-');
    pad(b, d.getMonthValue(), 2).append('-');
    pad(b, d.getDayOfMonth(), 2).append('T');
    pad(b, d.getHour(), 2).append(':');
    pad(b, d.getMinute(), 2).append(':');
    pad(b, d.getSecond(), 2).append('.');
    return pad(b, d.getNano() / 1_000_000, 3).append("Z\"");
  }

  private static StringBuilder pad(StringBuilder b, int v, int width) {
    for (int p = (width == 3 ? 100 : 10); p > 1 && v < p; p /= 10) {
      b.append('0');
    }
    return b.append(v);
  }

  private static StringBuilder num(StringBuilder b, String name, long value) {
    return b.append('"').append(name).append("\":").append(value);
  }

  /** Appends {@code "name":"value"}, with {@code "-"} for an absent value, as Envoy logs it. */
  private static StringBuilder str(StringBuilder b, String name, String value) {
    b.append('"').append(name).append("\":");
    return JsonStrings.append(b, value == null || value.isEmpty() ? "-" : value);
  }

  private void drain() {
    try {
      while (!closed || !queue.isEmpty()) {
        String line = queue.poll(200, TimeUnit.MILLISECONDS);
        if (line == null) {
          continue;
        }
        StringBuilder b = new StringBuilder(line).append('\n');
        String more;
        while ((more = queue.poll()) != null) {
          b.append(more).append('\n');
        }
        out.write(b.toString().getBytes(StandardCharsets.UTF_8));
        out.flush();
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } catch (IOException e) {
      log.error("access log: write failed; access logging stops", e);
    }
  }

  @Override
  public void close() {
    closed = true;
    if (writer != null) {
      try {
        writer.join(2_000);
        if (out != System.out) {
          out.close();
        } else {
          out.flush();
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      } catch (IOException e) {
        log.warn("access log: close failed", e);
      }
    }
  }
}
