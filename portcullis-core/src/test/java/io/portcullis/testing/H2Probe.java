package io.portcullis.testing;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Runs {@code h2probe.py} (a test resource) under Debian's {@code /usr/bin/python3} with {@code python3-h2}: HTTP/2
 * probes over h2c with prior knowledge, or over TLS. See the script for its modes; each returns the events it saw, in
 * order ({@code status 200}, {@code reset 8}, {@code goaway 0}, {@code no goaway}, {@code closed}, {@code timeout},
 * and the mode's own lines such as {@code setting MAX_CONCURRENT_STREAMS 100} or {@code echoed 100 text}).
 */
public final class H2Probe {
  private H2Probe() {}

  /**
   * Runs {@code mode} against 127.0.0.1:{@code port} over h2c and returns the events.
   *
   * @throws IllegalStateException when the script fails (it prints why) or runs past 120 s
   */
  public static List<String> run(String mode, int port, String authority, String path, int n) throws Exception {
    return run(List.of(), mode, port, authority, path, n);
  }

  /**
   * Runs {@code mode} against 127.0.0.1:{@code port} over TLS (ALPN h2, SNI: {@code authority} without its port),
   * trusting only {@code ca}, and returns the events.
   *
   * @throws IllegalStateException when the script fails (it prints why) or runs past 120 s
   */
  public static List<String> runTls(Path ca, String mode, int port, String authority, String path, int n)
      throws Exception {
    return run(List.of("--tls", ca.toString()), mode, port, authority, path, n);
  }

  private static List<String> run(List<String> options, String mode, int port, String authority, String path,
      int n) throws Exception {
    Path script = Path.of(ClassLoader.getSystemResource("h2probe.py").toURI());
    List<String> cmd = new ArrayList<>(List.of("/usr/bin/python3", script.toString()));
    cmd.addAll(options);
    cmd.addAll(List.of(mode, Integer.toString(port), authority, path, Integer.toString(n)));
    Proc.Result r = Proc.run(120, cmd.toArray(String[]::new));
    if (r.exitCode() != 0) {
      throw new IllegalStateException("h2probe " + mode + ": exit " + r.exitCode() + ": " + r.stdout() + r.stderr());
    }
    return new ArrayList<>(r.stdout().lines().toList());
  }
}
