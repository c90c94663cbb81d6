package io.portcullis.testing;

import static org.awaitility.Awaitility.await;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;

/**
 * A real WebSocket echo backend: {@code wsecho.py} (a test resource) under Debian's {@code /usr/bin/python3} with
 * {@code python3-websockets}, HTTP/1.1 upgrades on a free loopback port. It echoes every message, answers the text
 * message {@code ?headers} with the upgrade request it got as JSON ({@code {"path": ..., "headers": [[name, value],
 * ...]}}), puts {@code X-Backend: wsecho} on its 101, refuses {@code /refuse/CODE} with that status, and answers a
 * request without {@code Upgrade} with 200 {@code plain PATH}. No keepalive pings. Stopped by PID on {@link #close()}.
 */
public final class WebSocketEcho implements AutoCloseable {
  private final Proc proc;
  private final int port;

  private WebSocketEcho(Proc proc, int port) {
    this.proc = proc;
    this.port = port;
  }

  /** Starts it and waits until it listens (at most 20 s). */
  public static WebSocketEcho start() throws Exception {
    int port = Ports.free();
    Path script = Path.of(ClassLoader.getSystemResource("wsecho.py").toURI());
    Proc p = Proc.start(List.of("/usr/bin/python3", script.toString(), Integer.toString(port)), script.getParent(),
        Map.of());
    try {
      await().atMost(Duration.ofSeconds(20)).pollInterval(Duration.ofMillis(50))
          .until(() -> p.output().contains("listening " + port) || !p.alive());
    } catch (RuntimeException e) {
      p.close();
      throw e;
    }
    if (!p.alive()) {
      throw new IllegalStateException("wsecho.py did not start (is python3-websockets installed?): " + p.output());
    }
    return new WebSocketEcho(p, port);
  }

  /** Returns its port. */
  public int port() {
    return port;
  }

  /** Returns what it printed so far. */
  public String output() {
    return proc.output();
  }

  @Override
  public void close() {
    proc.close();
  }
}
