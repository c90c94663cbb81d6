package io.portcullis.testing;

import static org.awaitility.Awaitility.await;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * HTTP/2 upstreams: {@code h2server.py} (a test resource) under Debian's {@code /usr/bin/python3} with
 * {@code python3-h2}, one listener per mode on a free loopback port, h2c with prior knowledge or, with a certificate,
 * h2 over TLS. Modes (see the script): {@code ok}, {@code goaway-after-N}, {@code rst-flood}, {@code ping-flood},
 * {@code settings-flood}, {@code big-headers}, {@code no-status}, {@code status-999}, {@code connection-header},
 * {@code websocket}, {@code streams-N}; {@code MODE/LABEL} is a listener of {@code MODE} told apart by its label
 * (its lines, and {@link #port} and {@link #count}, name it {@code MODE/LABEL}). It prints one line per event of note
 * ({@code MODE: connection closed by peer}); stopped by PID on {@link #close()}.
 */
public final class H2Server implements AutoCloseable {
  private final Proc proc;
  private final Map<String, Integer> ports;

  private H2Server(Proc proc, Map<String, Integer> ports) {
    this.proc = proc;
    this.ports = ports;
  }

  /** Starts h2c listeners for {@code modes} and waits until each listens (at most 20 s). */
  public static H2Server start(String... modes) throws Exception {
    return start(Optional.empty(), modes);
  }

  /**
   * Starts listeners for {@code modes}, over TLS (ALPN h2) with {@code credential}'s chain and key when present, and
   * waits until each listens (at most 20 s).
   */
  public static H2Server start(Optional<DevCertificates.DevCredential> credential, String... modes)
      throws Exception {
    Path script = Path.of(ClassLoader.getSystemResource("h2server.py").toURI());
    List<String> cmd = new ArrayList<>(List.of("/usr/bin/python3", script.toString()));
    credential.ifPresent(c -> cmd.addAll(List.of("--tls", c.certificateChain().toString(),
        c.privateKey().toString())));
    Map<String, Integer> ports = new LinkedHashMap<>();
    for (String m : modes) {
      ports.put(m, Ports.free());
      cmd.add(m + "=" + ports.get(m));
    }
    Proc p = Proc.start(cmd, script.getParent(), Map.of());
    try {
      await().atMost(Duration.ofSeconds(20)).pollInterval(Duration.ofMillis(50)).until(() -> !p.alive()
          || ports.entrySet().stream().allMatch(e -> p.output().contains("listening " + e.getKey() + " "
          + e.getValue())));
    } catch (RuntimeException e) {
      p.close();
      throw e;
    }
    if (!p.alive()) {
      throw new IllegalStateException("h2server.py did not start: " + p.output());
    }
    return new H2Server(p, ports);
  }

  /** Returns the port of {@code mode}'s listener. */
  public int port(String mode) {
    Integer p = ports.get(mode);
    if (p == null) {
      throw new IllegalArgumentException("no listener for mode " + mode + " (have: " + ports.keySet() + ")");
    }
    return p;
  }

  /** Returns what it printed so far. */
  public String output() {
    return proc.output();
  }

  /** Returns how many lines it printed so far that start with {@code mode + ": " + event}. */
  public long count(String mode, String event) {
    return output().lines().filter(l -> l.startsWith(mode + ": " + event)).count();
  }

  @Override
  public void close() {
    proc.close();
  }
}
