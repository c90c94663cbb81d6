package io.portcullis.testing;

import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;

/** A real httpbin (Debian's python3-httpbin) under gunicorn on a free loopback port. */
public final class Httpbin implements AutoCloseable {
  private final Proc proc;
  private final int port;

  private Httpbin(Proc proc, int port) {
    this.proc = proc;
    this.port = port;
  }

  /** Starts it and waits until it accepts connections (at most 20 s). */
  public static Httpbin start() throws IOException {
    int port = Ports.free();
    Path dir = Files.createTempDirectory("httpbin");
    Proc p = Proc.start(List.of("gunicorn", "--workers", "2", "--threads", "4", "-b", "127.0.0.1:" + port,
        "httpbin:app"), dir, Map.of());
    try {
      await().atMost(Duration.ofSeconds(20)).pollInterval(Duration.ofMillis(100))
          .until(() -> Ports.listening(port) || !p.alive());
    } catch (RuntimeException e) {
      p.close();
      throw e;
    }
    if (!p.alive()) {
      throw new IllegalStateException("gunicorn httpbin did not start: " + p.output());
    }
    return new Httpbin(p, port);
  }

  /** Returns its port. */
  public int port() {
    return port;
  }

  @Override
  public void close() {
    proc.close();
  }
}
