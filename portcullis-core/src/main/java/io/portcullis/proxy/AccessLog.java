package io.portcullis.proxy;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import java.io.IOException;
import java.io.OutputStream;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
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
  private static final JsonFactory JSON = new JsonFactory();

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
   */
  public record Entry(Instant startTime, String method, String path, String protocol, int responseCode,
      String responseFlags, long bytesReceived, long bytesSent, long durationMs, long upstreamServiceTimeMs,
      String upstreamHost, String upstreamCluster, String authority, String xForwardedFor, String userAgent,
      String requestId, String requestedServerName, String downstreamLocalAddress, String downstreamRemoteAddress,
      String routeName) {}

  /** Formats and queues {@code e}. Called on an event loop; never blocks. */
  public void log(Entry e) {
    if (out == null || closed) {
      return;
    }
    if (!queue.offer(format(e))) {
      dropped.incrementAndGet();
    }
  }

  /** Returns the JSON line for {@code e}, without the newline. */
  public static String format(Entry e) {
    StringWriter w = new StringWriter(512);
    try (JsonGenerator g = JSON.createGenerator(w)) {
      g.writeStartObject();
      g.writeStringField("start_time", e.startTime().toString());
      g.writeStringField("method", dash(e.method()));
      g.writeStringField("path", dash(e.path()));
      g.writeStringField("protocol", dash(e.protocol()));
      g.writeNumberField("response_code", e.responseCode());
      g.writeStringField("response_flags", dash(e.responseFlags()));
      g.writeNumberField("bytes_received", e.bytesReceived());
      g.writeNumberField("bytes_sent", e.bytesSent());
      g.writeNumberField("duration", e.durationMs());
      if (e.upstreamServiceTimeMs() >= 0) {
        g.writeNumberField("upstream_service_time", e.upstreamServiceTimeMs());
      } else {
        g.writeStringField("upstream_service_time", "-");
      }
      g.writeStringField("upstream_host", dash(e.upstreamHost()));
      g.writeStringField("upstream_cluster", dash(e.upstreamCluster()));
      g.writeStringField("authority", dash(e.authority()));
      g.writeStringField("x_forwarded_for", dash(e.xForwardedFor()));
      g.writeStringField("user_agent", dash(e.userAgent()));
      g.writeStringField("request_id", dash(e.requestId()));
      g.writeStringField("requested_server_name", dash(e.requestedServerName()));
      g.writeStringField("downstream_local_address", dash(e.downstreamLocalAddress()));
      g.writeStringField("downstream_remote_address", dash(e.downstreamRemoteAddress()));
      g.writeStringField("route_name", dash(e.routeName()));
      g.writeEndObject();
    } catch (IOException ex) {
      throw new IllegalStateException(ex);
    }
    return w.toString();
  }

  private static String dash(String s) {
    return s == null || s.isEmpty() ? "-" : s;
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
