package io.portcullis.testing;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Runs {@code h2probe.py} (a test resource) under Debian's {@code /usr/bin/python3} with {@code python3-h2}: HTTP/2
 * probes over h2c with prior knowledge. See the script for its modes; each returns the events it saw, in order
 * ({@code status 200}, {@code reset 8}, {@code goaway 0}, {@code no goaway}, {@code closed}, {@code timeout}).
 */
public final class H2Probe {
  private H2Probe() {}

  /**
   * Runs {@code mode} against 127.0.0.1:{@code port} and returns the events.
   *
   * @throws IllegalStateException when the script fails (it prints why)
   */
  public static List<String> run(String mode, int port, String authority, String path, int n) throws Exception {
    Path script = Path.of(ClassLoader.getSystemResource("h2probe.py").toURI());
    Proc.Result r = Proc.run(60, "/usr/bin/python3", script.toString(), mode, Integer.toString(port), authority,
        path, Integer.toString(n));
    if (r.exitCode() != 0) {
      throw new IllegalStateException("h2probe " + mode + ": exit " + r.exitCode() + ": " + r.stderr());
    }
    return new ArrayList<>(r.stdout().lines().toList());
  }
}
