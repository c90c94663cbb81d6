package io.portcullis.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.portcullis.Portcullis;
import io.portcullis.testing.Bystander;
import io.portcullis.testing.Gateways;
import io.portcullis.testing.H2Probe;
import io.portcullis.testing.Ports;
import io.portcullis.testing.RecordingBackend;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 12, finding 4: HTTP/2 rapid reset (CVE-2023-44487) must not make the gateway open upstream connections for
 * streams that are reset before they need one; they held the backend's workers until it was restarted. Over h2c with
 * Debian's python3-h2, with a {@link Bystander} (to another backend) served throughout.
 */
class RapidResetIT {
  @TempDir static Path tmp;
  static RecordingBackend target;
  static RecordingBackend other;
  static Portcullis gateway;
  static int http;

  @BeforeAll
  static void start() throws Exception {
    target = new RecordingBackend();
    other = new RecordingBackend();
    http = Ports.free();
    Files.writeString(tmp.resolve("config.yaml"), Gateways.plainGateway(http) + "---\n" + """
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata: {name: rec}
        spec:
          hosts: ["*"]
          gateways: [gw]
          http:
          - match: [{authority: {exact: target.example}}]
            route: [{destination: {host: target.internal, port: {number: 80}}}]
          - route: [{destination: {host: other.internal, port: {number: 80}}}]
        ---
        """ + Gateways.staticService("target", "target.internal", target.port()) + "---\n"
        + Gateways.staticService("other", "other.internal", other.port()));
    gateway = Gateways.start(tmp, tmp.resolve("state"));
    await().atMost(Duration.ofSeconds(10)).until(() -> Ports.listening(http));
  }

  @AfterAll
  static void stop() throws IOException {
    if (gateway != null) {
      gateway.close();
    }
    target.close();
    other.close();
  }

  @Test
  void streamsResetInTheirFirstReadOpenNoUpstreamConnection() throws Exception {
    try (Bystander bystander = new Bystander(http, "bystander.example", "/bystander", 200)) {
      for (int burst = 0; burst < 3; burst++) {
        List<String> events = H2Probe.run("rapid-reset", http, "target.example", "/reset", 200);
        assertThat(events).as("the GET after the burst").contains("status 200");
      }
      // One connection (or two) for the three GETs that followed the bursts; none for the 600 reset streams. A stream
      // whose RST_STREAM falls in the next socket read than its HEADERS is forwarded (it had needed its upstream
      // request by then), on the pooled connection: a handful at most.
      assertThat(target.connections()).as("upstream connections opened").isBetween(1, 3);
      assertThat(target.received().size()).as("requests forwarded").isBetween(3, 3 + 30);
      assertThat(gateway.stats().get("upstream_cx_connect_cancelled")).isGreaterThanOrEqualTo(600 - 30);
      bystander.assertServedThroughout();
    }
  }
}
