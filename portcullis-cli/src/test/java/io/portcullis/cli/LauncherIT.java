package io.portcullis.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.portcullis.testing.Ports;
import io.portcullis.testing.Proc;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** {@code bin/portcullis} as a user runs it: the packaged jar in a real process, from another directory. */
class LauncherIT {
  static final Path LAUNCHER = Path.of("..", "bin", "portcullis").toAbsolutePath().normalize();

  @TempDir Path tmp;

  @Test
  void helpDocumentsEveryFlag() throws Exception {
    Proc.Result top = Proc.run(60, LAUNCHER.toString(), "--help");
    assertThat(top.exitCode()).isZero();
    assertThat(top.stdout()).contains("run").contains("--version");
    Proc.Result run = Proc.run(60, LAUNCHER.toString(), "run", "--help");
    assertThat(run.exitCode()).isZero();
    for (String flag : List.of("--config", "--namespace", "--port-offset", "--bind", "--admin", "--access-log")) {
      assertThat(run.stdout()).as(flag).contains(flag);
    }
  }

  @ParameterizedTest
  @ValueSource(strings = {"--admin=nope", "--port-offset=x"})
  void badFlagsFailWithOneClearLine(String flag) throws Exception {
    Proc.Result r = Proc.run(60, LAUNCHER.toString(), "run", "--config", tmp.toString(), flag);
    assertThat(r.exitCode()).isNotZero();
    assertThat(r.stderr()).containsAnyOf("--admin", "--port-offset").doesNotContain("\tat ");
  }

  @Test
  void quickstartServesHttpsWithADevelopmentCertificate() throws Exception {
    int offset = freeOffset();
    int admin = Ports.free();
    Path state = tmp.resolve("state");
    try (Proc p = Proc.start(List.of(LAUNCHER.toString(), "run", "--port-offset", String.valueOf(offset),
        "--admin", "127.0.0.1:" + admin), tmp, Map.of("XDG_STATE_HOME", state.toString()))) {
      await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(200)).until(() -> !p.alive()
          || Proc.run(5, "curl", "-s", "http://127.0.0.1:" + admin + "/ready").stdout().equals("LIVE\n"));
      assertThat(p.alive()).as(p.output()).isTrue();
      Path ca = state.resolve("portcullis/dev/ca.crt");
      assertThat(p.output()).contains("curl --cacert " + ca);
      Proc.Result https = Proc.run(20, "curl", "-sS", "-i", "--cacert", ca.toString(),
          "https://localhost:" + (8443 + offset) + "/");
      assertThat(https.stdout()).as(https.stderr()).startsWith("HTTP/2 200").contains("Hello from Portcullis");
      Proc.Result http = Proc.run(20, "curl", "-sS", "http://127.0.0.1:" + (8080 + offset) + "/healthz");
      assertThat(http.stdout()).isEqualTo("ok\n");
      assertThat(Files.getPosixFilePermissions(state.resolve("portcullis/dev/tls.key")))
          .extracting(Object::toString).containsExactlyInAnyOrder("OWNER_READ", "OWNER_WRITE");
    }
  }

  /** Returns N such that 8080+N and 8443+N are free. */
  static int freeOffset() {
    for (int i = 0; i < 100; i++) {
      int offset = 20_000 + (int) (Math.random() * 30_000);
      if (!Ports.listening(8080 + offset) && !Ports.listening(8443 + offset)) {
        return offset;
      }
    }
    throw new IllegalStateException("no free port pair");
  }
}
