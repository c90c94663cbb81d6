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
import org.junit.jupiter.params.provider.CsvSource;

/** {@code bin/portcullis} as a user runs it: the packaged jar in a real process, from another directory. */
class LauncherIT {
  @TempDir Path tmp;

  @Test
  void helpDocumentsEveryFlag() throws Exception {
    Proc.Result top = Proc.run(60, Launcher.PATH, "--help");
    assertThat(top.exitCode()).isZero();
    assertThat(top.stdout()).contains("run").contains("--version");
    Proc.Result run = Proc.run(60, Launcher.PATH, "run", "--help");
    assertThat(run.exitCode()).isZero();
    for (String flag : List.of("--config", "--namespace", "--port-offset", "--bind", "--admin", "--access-log",
        "--state", "--admin-token-file", "--max-regex-program-size", "--ingress-class", "--ingress-mode")) {
      assertThat(run.stdout()).as(flag).contains(flag);
    }
    Proc.Result renew = Proc.run(60, Launcher.PATH, "certs", "renew", "--help");
    assertThat(renew.exitCode()).isZero();
    for (String flag : List.of("--force", "--namespace", "--admin", "--state", "--admin-token-file")) {
      assertThat(renew.stdout()).as(flag).contains(flag);
    }
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource(delimiter = '|', value = {
      "--admin=nope|--admin",
      "--port-offset=x|--port-offset",
      "--max-regex-program-size=0|portcullis: --max-regex-program-size: 0 (expected: 1..100000)",
      "--max-regex-program-size=100001|portcullis: --max-regex-program-size: 100001 (expected: 1..100000)",
      "--max-regex-program-size=x|--max-regex-program-size",
      "--ingress-mode=LOOSE|portcullis: --ingress-mode: LOOSE (expected: STRICT, DEFAULT or OFF)",
      "--ingress-class=|portcullis: --ingress-class: empty (expected: a class name, e.g. istio)",
  })
  void badFlagsFailWithOneClearLine(String flag, String said) throws Exception {
    Proc.Result r = Proc.run(60, Launcher.PATH, "run", "--config", tmp.toString(), flag);
    assertThat(r.exitCode()).isNotZero();
    assertThat(r.stderr()).contains(said).doesNotContain("\tat ");
  }

  @Test
  void quickstartIssuesItsBootstrapChainServesItAndCertsListsAndRenewsIt() throws Exception {
    int offset = freeOffset();
    int admin = Ports.free();
    Path xdg = tmp.resolve("xdg");
    Path state = xdg.resolve("portcullis/state");
    try (Proc p = Launcher.run("127.0.0.1:" + admin, tmp, Map.of("XDG_STATE_HOME", xdg.toString()),
        "--port-offset", String.valueOf(offset))) {
      Path root = state.resolve("istio-system_portcullis-quickstart-root.ca.crt");
      await().atMost(Duration.ofSeconds(10)).until(() -> p.output().contains("curl --cacert " + root));
      Proc.Result https = Proc.run(20, "curl", "-sS", "-i", "--cacert", root.toString(),
          "https://localhost:" + (8443 + offset) + "/");
      assertThat(https.stdout()).as(https.stderr()).startsWith("HTTP/2 200").contains("Hello from Portcullis");
      Proc.Result http = Proc.run(20, "curl", "-sS", "http://127.0.0.1:" + (8080 + offset) + "/healthz");
      assertThat(http.stdout()).isEqualTo("ok\n");
      assertThat(Files.getPosixFilePermissions(state.resolve("istio-system_quickstart-localhost.yaml")))
          .extracting(Object::toString).containsExactlyInAnyOrder("OWNER_READ", "OWNER_WRITE");

      // The bootstrap chain verifies with openssl: the served leaf against the root alone.
      Path leaf = tmp.resolve("leaf.pem");
      Proc.Result served = Proc.run(20, "bash", "-c", "openssl s_client -connect 127.0.0.1:" + (8443 + offset)
          + " -servername localhost </dev/null 2>/dev/null | openssl x509 -out " + leaf);
      assertThat(served.exitCode()).as(served.stderr()).isZero();
      Proc.Result verify = Proc.run(20, "openssl", "verify", "-CAfile", root.toString(), leaf.toString());
      assertThat(verify.stdout()).as(verify.stderr()).contains(leaf + ": OK");

      // portcullis certs: the table; portcullis certs renew: a new serial. This JVM's XDG_STATE_HOME is not the
      // gateway's, so renew is told its --state (where the admin token is).
      String adminAddr = "127.0.0.1:" + admin;
      Proc.Result table = Proc.run(60, Launcher.PATH, "certs", "--admin", adminAddr);
      assertThat(table.exitCode()).as(table.stderr()).isZero();
      assertThat(table.stdout().lines().findFirst().orElse("")).startsWith("NAMESPACE").contains("READY", "SECRET",
          "ISSUER", "NOT AFTER", "RENEWAL", "STATUS");
      assertThat(table.stdout()).containsPattern("istio-system +quickstart-localhost +True +quickstart-localhost +"
          + "ClusterIssuer portcullis-quickstart-ca");
      Proc.Result renew = Proc.run(60, Launcher.PATH, "certs", "--admin", adminAddr, "--state",
          state.toString(), "renew", "quickstart-localhost");
      assertThat(renew.stdout()).as(renew.stderr()).contains("renewed (revision 2)");
      Proc.Result again = Proc.run(20, "bash", "-c", "openssl s_client -connect 127.0.0.1:" + (8443 + offset)
          + " -servername localhost </dev/null 2>/dev/null | openssl x509 -noout -serial");
      Proc.Result before = Proc.run(20, "openssl", "x509", "-in", leaf.toString(), "-noout", "-serial");
      assertThat(again.stdout()).startsWith("serial=").isNotEqualTo(before.stdout());
      Proc.Result unknown = Proc.run(60, Launcher.PATH, "certs", "--admin", adminAddr, "--state",
          state.toString(), "renew", "nope");
      assertThat(unknown.exitCode()).isNotZero();
      assertThat(unknown.stderr()).contains("no Certificate istio-system/nope").doesNotContain("\tat ");
    }
  }

  /**
   * Returns N such that 8080+N and 8443+N can be bound now: 8443+N is a port the kernel just handed out for port 0,
   * and 8080+N is checked by binding it (a port used by an outgoing connection does not show as listening).
   */
  static int freeOffset() {
    for (int i = 0; i < 100; i++) {
      int offset = Ports.free() - 8443;
      if (offset > 0 && canBind(8080 + offset)) {
        return offset;
      }
    }
    throw new IllegalStateException("no free port pair");
  }

  static boolean canBind(int port) {
    try (java.net.ServerSocket s = new java.net.ServerSocket()) {
      s.bind(new java.net.InetSocketAddress("127.0.0.1", port));
      return true;
    } catch (java.io.IOException e) {
      return false;
    }
  }
}
