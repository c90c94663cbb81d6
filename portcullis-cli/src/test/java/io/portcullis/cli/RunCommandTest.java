package io.portcullis.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.portcullis.certs.DefaultIssuer;
import java.util.List;
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

  @Test
  void thePublishFlagsMakeTheIngressStatusSource() {
    assertThat(parse().ingressStatus()).isEqualTo(io.portcullis.config.ingress.IngressStatusSource.NONE);
    assertThat(parse("--publish-address", "10.0.0.7,lb.example.com", "--publish-service", "istio-system/gw")
        .ingressStatus()).isEqualTo(new io.portcullis.config.ingress.IngressStatusSource(List.of("10.0.0.7",
        "lb.example.com"), java.util.Optional.of("istio-system/gw")));
    assertThatThrownBy(() -> parse("--publish-service", "gw").ingressStatus())
        .hasMessage("--publish-service: gw (expected: NAMESPACE/NAME)");
  }
}
