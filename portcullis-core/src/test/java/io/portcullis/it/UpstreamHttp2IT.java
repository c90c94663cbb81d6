package io.portcullis.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.portcullis.Portcullis;
import io.portcullis.proxy.AccessLog;
import io.portcullis.proxy.Transport;
import io.portcullis.testing.Bystander;
import io.portcullis.testing.Gateways;
import io.portcullis.testing.H2Server;
import io.portcullis.testing.Ports;
import io.portcullis.testing.Proc;
import java.io.FileOutputStream;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Issue 13, point 2 (HTTP/2 upstreams) and the upstream half of point 5, with their tests of point 7: ServiceEntry
 * ports with {@code protocol: HTTP2} make the gateway speak h2c with prior knowledge to python3-h2 servers
 * ({@link H2Server}) that drain (GOAWAY mid-traffic: no request may fail), misbehave (RST_STREAM, PING or SETTINGS
 * floods, a 1 MiB response header list: that connection is dropped, the request gets 502 or 503) or answer
 * malformed responses (no {@code :status}, {@code :status 999}, a {@code connection} header: 502 with Envoy's
 * {@code UPE} flag, never relayed). A {@link Bystander} to a healthy HTTP/2 upstream is served throughout.
 */
class UpstreamHttp2IT {
  static final ObjectMapper JSON = new ObjectMapper();
  static final String GOAWAY = "goaway-after-50";
  static final List<String> MODES = List.of("ok", GOAWAY, "rst-flood", "ping-flood", "settings-flood",
      "big-headers", "no-status", "status-999", "connection-header");
  @TempDir static Path tmp;
  static H2Server h2;
  static Portcullis gateway;
  static Path accessLog;
  static int http;

  @BeforeAll
  static void start() throws Exception {
    h2 = H2Server.start(MODES.toArray(String[]::new));
    http = Ports.free();
    StringBuilder routes = new StringBuilder("""
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata: {name: h2}
        spec:
          hosts: ["*"]
          gateways: [gw]
          http:
          - match: [{authority: {exact: bystander.example}}]
            route: [{destination: {host: ok.internal, port: {number: 80}}}]
        """);
    StringBuilder services = new StringBuilder();
    for (String mode : MODES) {
      routes.append("""
            - match: [{uri: {prefix: /%1$s/}}]
              route: [{destination: {host: %1$s.internal, port: {number: 80}}}]
          """.formatted(mode));
      services.append("---\n").append(Gateways.staticService(mode, mode + ".internal", h2.port(mode), "HTTP2"));
    }
    Files.writeString(tmp.resolve("config.yaml"), Gateways.plainGateway(http) + "---\n" + routes + services);
    accessLog = tmp.resolve("access.log");
    gateway = Portcullis.start(new Portcullis.Options(List.of(tmp), "istio-system", 0, "127.0.0.1",
        new InetSocketAddress("127.0.0.1", 0), new AccessLog(new FileOutputStream(accessLog.toFile())), 1,
        Transport.AUTO, tmp.resolve("state"), Duration.ofSeconds(1)));
    await().atMost(Duration.ofSeconds(10)).until(() -> Ports.listening(http));
  }

  @AfterAll
  static void stop() throws IOException {
    if (gateway != null) {
      gateway.close();
    }
    if (h2 != null) {
      System.out.println("h2server.py:\n" + h2.output()); // kept in the Failsafe report
      h2.close();
    }
  }

  /** Not the gateway: each upstream, asked directly by curl (nghttp2), so that a failure below is the gateway's. */
  @Test
  void theUpstreamsBehaveAsTheirModesSay() throws Exception {
    assertThat(curl(h2.port("ok"), "/ok/direct")).isEqualTo("200");
    assertThat(curl(h2.port("status-999"), "/direct")).isEqualTo("999");
    for (String mode : List.of("no-status", "connection-header", "big-headers", "rst-flood")) {
      assertThat(curl(h2.port(mode), "/direct")).as(mode + ": curl refuses the answer").isEqualTo("000");
    }
    // h2load retries nothing: what the draining upstream did not answer fails, which the gateway must absorb.
    Proc.Result direct = Proc.run(60, "h2load", "-n400", "-c1", "-m8", "http://127.0.0.1:" + h2.port(GOAWAY) + "/");
    assertThat(direct.stdout()).contains("50 succeeded");
    assertThat(h2.count(GOAWAY, "goaway last=99")).isGreaterThanOrEqualTo(1);
  }

  @Test
  void requestsToAnHttp2UpstreamAreMultiplexedOnOneConnection() throws Exception {
    try (Bystander bystander = bystander()) {
      long before = h2.count("ok", "connection accepted");
      Proc.Result r = h2load(400, "/ok/multiplexed");
      assertThat(r.stdout()).as(r.stdout()).contains("400 succeeded, 0 failed, 0 errored, 0 timeout")
          .contains("400 2xx");
      // One event loop, fewer concurrent streams (32) than the upstream's SETTINGS_MAX_CONCURRENT_STREAMS (100):
      // one connection, which the bystander may have opened already (two if the pool raced its first connect).
      assertThat(h2.count("ok", "connection accepted") - before).as("upstream connections opened for 400 requests")
          .isBetween(0L, 2L);
      bystander.assertServedThroughout();
    }
  }

  /**
   * The upstream sends GOAWAY after each connection's 50th stream, with that stream as the last it will answer,
   * while 8 streams on each of 4 client connections keep coming: the gateway finishes what the upstream answers,
   * retries what it did not process on a new connection, and no request fails.
   */
  @Test
  void aGoawayMidTrafficFailsNoRequest() throws Exception {
    try (Bystander bystander = bystander()) {
      long goaways = h2.count(GOAWAY, "goaway last=");
      Proc.Result r = h2load(2000, "/" + GOAWAY + "/drain");
      assertThat(r.stdout()).as(r.stdout()).contains("2000 succeeded, 0 failed, 0 errored, 0 timeout")
          .contains("2000 2xx, 0 3xx, 0 4xx, 0 5xx");
      assertThat(h2.count(GOAWAY, "goaway last=") - goaways).as("GOAWAYs the upstream sent")
          .isGreaterThanOrEqualTo(5);
      bystander.assertServedThroughout();
    }
  }

  /**
   * An upstream that floods RST_STREAM, PING or SETTINGS frames, or answers with a 1 MiB header list: the gateway
   * drops that connection, and the request gets 502 or 503.
   */
  @ParameterizedTest(name = "{0}")
  @CsvSource({"rst-flood", "ping-flood", "settings-flood", "big-headers"})
  void aMisbehavingUpstreamIsDisconnectedAndItsRequestFails(String mode) throws Exception {
    try (Bystander bystander = bystander()) {
      long closedBefore = h2.count(mode, "connection closed by peer");
      assertThat(curl(http, "/" + mode + "/x")).isIn("502", "503");
      await().atMost(Duration.ofSeconds(15)).untilAsserted(() -> assertThat(h2.count(mode,
          "connection closed by peer") - closedBefore).as("upstream connections the gateway dropped")
          .isGreaterThanOrEqualTo(1));
      bystander.assertServedThroughout();
    }
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource({"no-status", "status-999", "connection-header"})
  void aMalformedUpstreamResponseIs502WithUpe(String mode) throws Exception {
    try (Bystander bystander = bystander()) {
      String path = "/" + mode + "/malformed-" + UUID.randomUUID();
      assertThat(curl(http, path)).isEqualTo("502");
      JsonNode line = await().atMost(Duration.ofSeconds(5)).until(() -> Files.readAllLines(accessLog).stream()
          .map(UpstreamHttp2IT::json).filter(n -> n.path("path").asText().equals(path)).findFirst().orElse(null),
          n -> n != null);
      assertThat(line.get("response_code").asInt()).isEqualTo(502);
      assertThat(line.get("response_flags").asText()).isEqualTo("UPE");
      bystander.assertServedThroughout();
    }
  }

  /** A bystander on its own HTTP/1.1 connection to the healthy HTTP/2 upstream ({@code ok}), through the gateway. */
  private static Bystander bystander() throws IOException {
    return new Bystander(http, "bystander.example", "/bystander", 200);
  }

  /** {@code h2load -n N -c4 -m8} over h2c (prior knowledge) to the gateway. */
  private static Proc.Result h2load(int n, String path) throws Exception {
    Proc.Result r = Proc.run(120, "h2load", "-n" + n, "-c4", "-m8", "http://127.0.0.1:" + http + path);
    System.out.println("h2load " + path + ":\n" + r.stdout());
    return r;
  }

  /** One curl GET over h2c (prior knowledge); returns the status code curl printed ({@code 000}: no response). */
  private static String curl(int port, String path) throws Exception {
    return Proc.run(40, "curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "30",
        "--http2-prior-knowledge", "http://127.0.0.1:" + port + path).stdout();
  }

  private static JsonNode json(String s) {
    try {
      return JSON.readTree(s);
    } catch (IOException e) {
      throw new IllegalStateException(s, e);
    }
  }
}
