package io.portcullis.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.portcullis.certs.DefaultIssuer;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

class RunCommandTest {
  private static RunCommand parse(String... args) {
    RunCommand run = new RunCommand();
    new CommandLine(run).parseArgs(args);
    return run;
  }

  @Test
  void theDefaultIssuerFlagsAreCertManagersWithItsDefaults() {
    assertThat(parse().defaultIssuer()).isEqualTo(new DefaultIssuer("", "Issuer", "cert-manager.io"));
    assertThat(parse("--default-issuer-name", "letsencrypt", "--default-issuer-kind", "ClusterIssuer")
        .defaultIssuer()).isEqualTo(new DefaultIssuer("letsencrypt", "ClusterIssuer", "cert-manager.io"));
  }

  @Test
  void anUnservedKindOrGroupIsRefusedNamingTheFlag() {
    assertThatThrownBy(() -> parse("--default-issuer-kind", "VaultIssuer").defaultIssuer())
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("--default-issuer-kind: VaultIssuer (expected: Issuer or ClusterIssuer)");
    assertThatThrownBy(() -> parse("--default-issuer-group", "awspca.cert-manager.io").defaultIssuer())
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageStartingWith("--default-issuer-group: awspca.cert-manager.io (expected: cert-manager.io");
  }
}
