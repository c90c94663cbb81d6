package io.portcullis.it;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.portcullis.IssuanceOptions;
import io.portcullis.Portcullis;
import io.portcullis.admin.AdminToken;
import io.portcullis.proxy.AccessLog;
import io.portcullis.proxy.PathNormalization;
import io.portcullis.proxy.ProxyLimits;
import io.portcullis.proxy.Transport;
import io.portcullis.testing.Gateways;
import io.portcullis.testing.Ports;
import io.portcullis.testing.RequestLoop;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Issue 12: regexes that backtrack exponentially in java.util.regex ({@code /((a+)+)+$} took over 30 s of an event
 * loop on a 32-byte path, {@code (a+)+$} 12 s on a 60 KB header) answer at once with RE2/J, and a second client on
 * its own connection to the same (single) event loop is answered meanwhile. The query parameter rows check that
 * the proxy hands routing the raw query string.
 */
class RegexIT {
  /** Far above what RE2 needs (milliseconds), far below what backtracking needs (tens of seconds and more). */
  static final Duration BOUND = Duration.ofSeconds(5);

  @TempDir static Path tmp;
  static Portcullis gateway;
  static int port;

  @BeforeAll
  static void start() throws Exception {
    port = Ports.free();
    Path config = Files.createDirectories(tmp.resolve("config"));
    Files.writeString(config.resolve("gateway.yaml"), Gateways.plainGateway(port) + "---\n" + """
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata: {name: regex}
        spec:
          hosts: ["*"]
          gateways: [gw]
          http:
          - match: [{uri: {regex: "/((a+)+)+$"}}]
            directResponse: {status: 200, body: {string: "uri"}}
          - match: [{headers: {x-probe: {regex: "(a+)+$"}}}]
            directResponse: {status: 201, body: {string: "header"}}
          - match: [{queryParams: {id: {regex: "(a+)+$"}}}]
            directResponse: {status: 202, body: {string: "query"}}
          - directResponse: {status: 418, body: {string: "fallback"}}
        """);
    gateway = Gateways.start(config, tmp.resolve("state")); // one event loop
  }

  /**
   * {@code --max-regex-program-size} end to end: a pattern of over 150 instructions, an ERROR under Envoy's default
   * ({@code ConfigTranslatorTest}), is served under a limit of 200, which {@code /config_dump} shows under
   * {@code limits}; this class's gateway shows the default.
   */
  @Test
  void aRaisedProgramSizeLimitServesALargerPatternAndConfigDumpShowsIt() throws Exception {
    int raisedPort = Ports.free();
    Path config = Files.createDirectories(tmp.resolve("raised"));
    Files.writeString(config.resolve("gateway.yaml"), Gateways.plainGateway(raisedPort) + "---\n" + """
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata: {name: large}
        spec:
          hosts: ["*"]
          gateways: [gw]
          http:
          - match: [{uri: {regex: "/a{150}"}}]
            directResponse: {status: 200, body: {string: "large"}}
          - directResponse: {status: 418, body: {string: "fallback"}}
        """);
    Path state = tmp.resolve("raised-state");
    try (Portcullis raised = Portcullis.start(new Portcullis.Options(List.of(config), "istio-system", 0,
        "127.0.0.1", new InetSocketAddress("127.0.0.1", 0), AccessLog.disabled(), 1, Transport.AUTO, state,
        Duration.ofSeconds(1), IssuanceOptions.defaults(), ProxyLimits.defaults(),
        PathNormalization.DEFAULT, 200, AdminToken.defaultFile(state)))) {
      HttpClient client = HttpClient.newHttpClient();
      HttpResponse<String> r = client.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + raisedPort + "/"
          + "a".repeat(150))).timeout(BOUND).build(), HttpResponse.BodyHandlers.ofString());
      assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
      JsonNode dump = new ObjectMapper().readTree(Gateways.admin(raised, "GET", "/config_dump"));
      assertThat(dump.path("limits").path("max_regex_program_size").asInt()).isEqualTo(200);
      assertThat(dump.path("problems").toString()).doesNotContain("regex");
    }
    JsonNode dump = new ObjectMapper().readTree(Gateways.admin(gateway, "GET", "/config_dump"));
    assertThat(dump.path("limits").path("max_regex_program_size").asInt()).isEqualTo(100);
  }

  @AfterAll
  static void stop() throws Exception {
    if (gateway != null) {
      gateway.close();
    }
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource({
      "32-byte path near miss, /aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!, 0, 418",
      "32-byte path match, /aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa, 0, 200",
      "60 KB header near miss, /x, 60000, 418",
      "60 KB header match, /x, -60000, 201",
      "query parameter near miss, /q?x=1&id=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!, 0, 418",
      "query parameter match, /q?x=1&id=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa, 0, 202",
  })
  void nestedQuantifiersAnswerPromptlyWhileAnotherClientIsServed(String name, String path, int headerLength,
      int status) throws Exception {
    HttpClient evil = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
    HttpClient other = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build(); // its own connection
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path)).timeout(BOUND);
    if (headerLength != 0) {
      b.header("x-probe", "a".repeat(Math.abs(headerLength)) + (headerLength > 0 ? "!" : ""));
    }
    HttpRequest request = b.build();
    HttpRequest ping = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/ping")).timeout(BOUND)
        .build();
    AtomicLong slowestPingNanos = new AtomicLong();
    try (RequestLoop loop = new RequestLoop(() -> {
      long t0 = System.nanoTime();
      boolean ok = other.send(ping, HttpResponse.BodyHandlers.ofString()).statusCode() == 418;
      slowestPingNanos.accumulateAndGet(System.nanoTime() - t0, Math::max);
      return ok;
    })) {
      long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
      int sent = 0;
      // Keep the evil requests coming until the other client has been answered a few times in between.
      while (sent < 10 || (loop.ok() < 10 && System.nanoTime() < deadline)) {
        long t0 = System.nanoTime();
        HttpResponse<String> r = evil.send(request, HttpResponse.BodyHandlers.ofString());
        Duration took = Duration.ofNanos(System.nanoTime() - t0);
        assertThat(r.statusCode()).as("status of %s", name).isEqualTo(status);
        assertThat(took).as("time for %s", name).isLessThan(BOUND);
        sent++;
      }
      assertThat(loop.ok()).as("answers to the other client").isGreaterThanOrEqualTo(10);
      assertThat(loop.failed()).as("failed or slower than %s", BOUND).isZero();
    }
    assertThat(Duration.ofNanos(slowestPingNanos.get())).isLessThan(BOUND);
  }
}
