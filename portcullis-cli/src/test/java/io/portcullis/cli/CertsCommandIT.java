package io.portcullis.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.portcullis.testing.Ports;
import io.portcullis.testing.Proc;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code portcullis certs renew} against a {@code portcullis run} in another process: the same {@code --state} finds
 * the admin token that {@code run} created, a second renewal within a minute needs {@code --force}, and a missing or
 * wrong token fails with one line naming the file.
 */
class CertsCommandIT {
  @TempDir Path tmp;

  @Test
  void certsWithTheSameStateRenewsOnceThenNeedsForceAndAWrongTokenIsRefused() throws Exception {
    Path config = Files.createDirectories(tmp.resolve("config"));
    Files.writeString(config.resolve("certs.yaml"), """
        apiVersion: cert-manager.io/v1
        kind: ClusterIssuer
        metadata: {name: selfsigned}
        spec: {selfSigned: {}}
        ---
        apiVersion: cert-manager.io/v1
        kind: Certificate
        metadata: {name: app, namespace: istio-system}
        spec:
          secretName: app-credential
          dnsNames: [app.example.test]
          issuerRef: {name: selfsigned, kind: ClusterIssuer}
        """);
    Path state = tmp.resolve("state");
    String admin = "127.0.0.1:" + Ports.free();
    // XDG_STATE_HOME elsewhere: only --state can lead certs to the token.
    try (Proc p = Launcher.run(admin, tmp, Map.of("XDG_STATE_HOME", tmp.resolve("elsewhere").toString()),
        "--config", config.toString(), "--state", state.toString())) {
      Path token = state.resolve("admin-token");
      assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(token))).isEqualTo("rw-------");

      Proc.Result renewed = Proc.run(60, Launcher.PATH, "certs", "--state", state.toString(), "--admin", admin, "renew",
          "app");
      assertThat(renewed.exitCode()).as(renewed.stderr()).isZero();
      assertThat(renewed.stdout()).isEqualTo("Certificate istio-system/app: renewed (revision 2)\n");

      Proc.Result again = Proc.run(60, Launcher.PATH, "certs", "--state", state.toString(), "--admin", admin, "renew",
          "app");
      assertThat(again.exitCode()).isNotZero();
      assertThat(again.stderr()).contains("renewed less than 60 s ago").contains("--force").contains("(HTTP 429)")
          .doesNotContain("\tat ");

      // The options are inherited: after the NAME too.
      Proc.Result forced = Proc.run(60, Launcher.PATH, "certs", "renew", "app", "--state", state.toString(), "--admin",
          admin, "--force");
      assertThat(forced.exitCode()).as(forced.stderr()).isZero();
      assertThat(forced.stdout()).contains("renewed (revision 3)");

      Path wrong = tmp.resolve("wrong-token");
      Files.writeString(wrong, "not-the-token\n");
      Proc.Result refused = Proc.run(60, Launcher.PATH, "certs", "--admin-token-file", wrong.toString(), "--admin",
          admin, "renew", "app", "--force");
      assertThat(refused.exitCode()).isNotZero();
      assertThat(refused.stderr()).contains("the admin token does not match").contains("(HTTP 401)")
          .contains("sent the token in " + wrong).doesNotContain(Files.readString(token).strip());
      Proc.Result missing = Proc.run(60, Launcher.PATH, "certs", "--state", tmp.resolve("nope").toString(), "--admin",
          admin, "renew", "app");
      assertThat(missing.exitCode()).isNotZero();
      assertThat(missing.stderr()).contains(tmp.resolve("nope/admin-token") + ": no such file")
          .doesNotContain("\tat ");

      // Listing needs no token.
      Proc.Result table = Proc.run(60, Launcher.PATH, "certs", "--admin", admin, "--admin-token-file",
          wrong.toString());
      assertThat(table.exitCode()).as(table.stderr()).isZero();
      assertThat(table.stdout()).containsPattern("istio-system +app +True");
      assertThat(p.output()).doesNotContain(Files.readString(token).strip());
    }
  }
}
