package io.portcullis.config.core;

import static org.assertj.core.api.Assertions.assertThat;

import io.portcullis.config.ConfigTranslator;
import io.portcullis.config.GatewayConfig;
import io.portcullis.config.ManifestReader;
import io.portcullis.config.Problem;
import io.portcullis.config.Resource;
import io.portcullis.config.Snapshot;
import io.portcullis.routing.Cluster;
import io.portcullis.routing.HttpRoute;
import io.portcullis.routing.RouteAction;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** examples/lamia (seed 000) translates without errors and each route's subset reaches its own endpoint. */
class LamiaExampleTest {
  @ParameterizedTest
  @CsvSource({
      "canary, outbound|9191|version2|shop-service.vamp-demo.svc.cluster.local, 127.0.0.1:9192",
      "shop, outbound|9191|version1|shop-service.vamp-demo.svc.cluster.local, 127.0.0.1:9191",
  })
  void eachSubsetGoesToItsVersionsEndpoint(String route, String cluster, String endpoint) throws Exception {
    Path dir = Path.of("..", "examples", "lamia");
    List<Resource> resources = new ArrayList<>();
    try (Stream<Path> files = Files.list(dir)) {
      for (Path f : files.filter(p -> p.toString().endsWith(".yaml")).sorted().toList()) {
        resources.addAll(new ManifestReader().read(f));
      }
    }
    GatewayConfig c = new ConfigTranslator("istio-system", 10000).translate(new Snapshot(resources, List.of(), 1));
    assertThat(c.problems()).noneMatch(p -> p.severity() == Problem.Severity.ERROR);
    assertThat(c.problems()).noneMatch(p -> p.message().contains("not used by the gateway"));
    HttpRoute r = c.listeners().get(443).routes().find("shop.democluster.net").orElseThrow().routes().stream()
        .filter(x -> x.name().equals(route)).findFirst().orElseThrow();
    Cluster cl = ((RouteAction.Forward) r.action()).destinations().get(0).cluster();
    assertThat(cl.name()).isEqualTo(cluster);
    assertThat(cl.endpoints()).extracting(Object::toString).containsExactly(endpoint);
  }
}
