package io.portcullis.testing;

import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.io.StringReader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;

/**
 * A gateway in a child JVM ({@link GatewayMain}) with a heap limit of its own, so a test can tell the gateway's memory
 * from its own: started with the test's class path, stopped by PID (with its descendants) on {@link #close()}.
 */
public final class GatewayProcess implements AutoCloseable {
  private final Proc proc;
  private final Path status;
  private int gcRequests;

  private GatewayProcess(Proc proc, Path status) {
    this.proc = proc;
    this.status = status;
  }

  /**
   * Starts {@code java -Xmx<heap> -XX:+ExitOnOutOfMemoryError GatewayMain config state status} and waits (at most
   * 60 s) until the gateway is ready. A GC log is written to {@code status/gc.log}.
   *
   * @param heap the {@code -Xmx} value, e.g. {@code 256m} (direct memory gets the same limit, the JVM's default)
   * @throws IllegalStateException when the child exits before it is ready
   */
  public static GatewayProcess start(Path config, Path state, Path status, String heap) throws IOException {
    Files.createDirectories(status);
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    String classPath = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
    List<String> cmd = new ArrayList<>(List.of(java, "-Xmx" + heap, "-XX:+ExitOnOutOfMemoryError",
        "-Xlog:gc:file=" + status.resolve("gc.log"), "-cp", classPath, GatewayMain.class.getName(),
        config.toString(), state.toString(), status.toString()));
    Proc p = Proc.start(cmd, status, Map.of());
    GatewayProcess g = new GatewayProcess(p, status);
    try {
      await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(100))
          .until(() -> Files.exists(status.resolve("ready")) || !p.alive());
    } catch (RuntimeException e) {
      g.close();
      throw new IllegalStateException("the gateway child did not get ready: " + p.output(), e);
    }
    if (!p.alive()) {
      throw new IllegalStateException("the gateway child exited: " + p.output());
    }
    return g;
  }

  /** Returns the child's PID. */
  public long pid() {
    return proc.pid();
  }

  /** Returns whether the child is still running. */
  public boolean alive() {
    return proc.alive();
  }

  /** Returns what the child printed so far (its log, and the JVM's OutOfMemoryError report if it had one). */
  public String output() {
    return proc.output();
  }

  /** Returns the child's GC log so far. */
  public String gcLog() throws IOException {
    Path log = status.resolve("gc.log");
    return Files.exists(log) ? Files.readString(log) : "";
  }

  /** Returns the child's latest memory figures ({@link GatewayMain}'s {@code memory.properties}), in bytes. */
  public Properties memory() throws IOException {
    Properties p = new Properties();
    Path file = status.resolve("memory.properties");
    if (Files.exists(file)) {
      p.load(new StringReader(Files.readString(file)));
    }
    return p;
  }

  /** Returns one figure of {@link #memory()}, 0 while the child has not written it. */
  public long memory(String name) throws IOException {
    return Long.parseLong(memory().getProperty(name, "0"));
  }

  /**
   * Asks the child for a full collection and waits (at most 30 s) until it was done; {@code heapAfterRequestedGcMax}
   * then includes its result.
   */
  public void collectGarbage() throws IOException {
    int n = ++gcRequests;
    Files.createFile(status.resolve("gc-request-" + n));
    await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(50))
        .until(() -> memory("gcRequestsServed") >= n || !alive());
  }

  @Override
  public void close() {
    proc.close();
  }
}
