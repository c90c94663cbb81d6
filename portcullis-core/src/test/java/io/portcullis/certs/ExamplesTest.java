package io.portcullis.certs;

import static org.assertj.core.api.Assertions.assertThat;

import io.portcullis.config.ConfigTranslator;
import io.portcullis.config.GatewayConfig;
import io.portcullis.config.ManifestReader;
import io.portcullis.config.Problem;
import io.portcullis.config.Resource;
import io.portcullis.config.Snapshot;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The bundled examples translate without an ERROR or a WARNING, and ask for the Certificates they say they do. */
class ExamplesTest {
  static Snapshot read(String example) throws Exception {
    List<Resource> resources = new ArrayList<>();
    try (Stream<Path> files = Files.list(Path.of("..", "examples", example))) {
      for (Path f : files.filter(ManifestReader::isManifest).sorted().toList()) {
        resources.addAll(new ManifestReader().read(f));
      }
    }
    return new Snapshot(resources, List.of(), 1);
  }

  @ParameterizedTest
  @ValueSource(strings = {"quickstart", "letsencrypt", "httpbin"})
  void translatesCleanly(String example) throws Exception {
    Snapshot s = read(example);
    GatewayConfig g = new ConfigTranslator("istio-system", 0).translate(s);
    CertManagerConfig c = new CertManagerTranslator("istio-system", "istio-system").translate(s, g);
    List<Problem> problems = new ArrayList<>(g.problems());
    problems.addAll(c.problems());
    assertThat(problems).filteredOn(p -> p.severity() != Problem.Severity.INFO).isEmpty();
    assertThat(g.listeners()).isNotEmpty();
    switch (example) {
      case "quickstart" -> assertThat(c.certificates()).containsOnlyKeys("istio-system/portcullis-quickstart-root",
          "istio-system/quickstart-localhost");
      case "letsencrypt" -> {
        assertThat(c.issuers()).containsOnlyKeys("ClusterIssuer/letsencrypt-staging", "ClusterIssuer/letsencrypt-prod");
        assertThat(((IssuerConfig.Acme) c.issuers().get("ClusterIssuer/letsencrypt-prod")).server())
            .isEqualTo("https://acme-v02.api.letsencrypt.org/directory");
        assertThat(c.certificates().get("istio-system/www-example-com").dnsNames())
            .containsExactly("www.example.com", "mobile.example.com");
      }
      default -> assertThat(c.certificates()).isEmpty();
    }
  }
}
