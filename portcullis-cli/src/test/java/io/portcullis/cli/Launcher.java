package io.portcullis.cli;

import static org.awaitility.Awaitility.await;

import io.portcullis.testing.Proc;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.awaitility.core.ConditionTimeoutException;

/** {@code bin/portcullis} for the CLI's ITs: the launcher a user runs, and a {@code portcullis run} started with it. */
final class Launcher {
  /** {@code bin/portcullis}, absolute. */
  static final String PATH = Path.of("..", "bin", "portcullis").toAbsolutePath().normalize().toString();

  private Launcher() {}

  /**
   * Starts {@code portcullis run ARGS --admin ADMIN} in {@code workDir} with {@code env} added to this JVM's, and
   * returns once its admin server's {@code /ready} says {@code LIVE}: every listener bound.
   *
   * @param admin {@code host:port} of the admin server
   * @throws AssertionError with the process's output when it exits first or is not ready within 60 s (it is then
   *     stopped)
   */
  static Proc run(String admin, Path workDir, Map<String, String> env, String... args) throws IOException {
    List<String> command = new ArrayList<>(List.of(PATH, "run"));
    command.addAll(List.of(args));
    command.addAll(List.of("--admin", admin));
    Proc p = Proc.start(command, workDir, env);
    try {
      await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(200)).until(() -> !p.alive()
          || Proc.run(5, "curl", "-s", "http://" + admin + "/ready").stdout().equals("LIVE\n"));
      if (!p.alive()) {
        throw new AssertionError("portcullis run exited before it was ready:\n" + p.output());
      }
      return p;
    } catch (ConditionTimeoutException e) {
      p.close();
      throw new AssertionError("not ready after 60 s:\n" + p.output(), e);
    } catch (RuntimeException | Error e) {
      p.close();
      throw e;
    }
  }
}
