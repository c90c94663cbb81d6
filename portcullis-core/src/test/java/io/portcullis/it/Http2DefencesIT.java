package io.portcullis.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.portcullis.Portcullis;
import io.portcullis.proxy.ProxyLimits;
import io.portcullis.testing.Bystander;
import io.portcullis.testing.Gateways;
import io.portcullis.testing.H2Probe;
import io.portcullis.testing.H2Server;
import io.portcullis.testing.Ports;
import io.portcullis.testing.RecordingBackend;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Issue 13, point 5 (defences kept on the new HTTP/2 path) and its tests of point 7, downstream: MadeYouReset
 * (CVE-2025-8671), RST_STREAM floods for closed streams, CONTINUATION floods, oversized header lists, PING / SETTINGS floods from a client that never
 * reads, {@code SETTINGS_MAX_CONCURRENT_STREAMS} advertised and enforced, the stream idle timeout on one stream of a
 * connection, and the normalised path for an HTTP/2 {@code :path}. Each probe is Debian's python3-h2 (or raw frames
 * through it), {@code h2probe.py}; each test asserts the refusal and that a {@link Bystander} on its own connection
 * is served throughout. Rapid reset (CVE-2023-44487) is {@link RapidResetIT}'s.
 */
class Http2DefencesIT {
  static final Duration STREAM_IDLE = Duration.ofSeconds(3);
  static final int MAX_REQUEST_HEADERS_KB = 60;
  @TempDir static Path tmp;
  /** Reads request bodies before it answers: a stream whose body is held back stays open. */
  static RecordingBackend target;
  static RecordingBackend other;
  static Portcullis gateway;
  static int http;
  Bystander bystander;

  @BeforeAll
  static void start() throws Exception {
    target = RecordingBackend.readingBodies();
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
          - match: [{authority: {exact: bystander.example}}]
            route: [{destination: {host: other.internal, port: {number: 80}}}]
          - match: [{uri: {prefix: /status/418}}]
            directResponse: {status: 403, body: {string: "denied"}}
          - route: [{destination: {host: target.internal, port: {number: 80}}}]
        ---
        """ + Gateways.staticService("target", "target.internal", target.port()) + "---\n"
        + Gateways.staticService("other", "other.internal", other.port()));
    ProxyLimits d = ProxyLimits.defaults();
    gateway = Gateways.start(tmp, tmp.resolve("state"), new ProxyLimits(d.listenerFiltersTimeout(),
        d.requestHeadersTimeout(), d.idleTimeout(), STREAM_IDLE, d.maxConnections(), MAX_REQUEST_HEADERS_KB,
        d.maxHeadersCount(), d.upstreamIdleTimeout()));
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

  @BeforeEach
  void bystander() throws IOException {
    target.clear();
    bystander = new Bystander(http, "bystander.example", "/bystander", 200);
  }

  @AfterEach
  void bystanderWasServedThroughout() {
    bystander.assertServedThroughout();
  }

  /**
   * Not the gateway: the probes against python3-h2's own server ({@code h2server.py ok}), so that what they report
   * below is the gateway's doing. python3-h2 closes the connection on each of these attacks.
   */
  @Test
  void theProbesReportAServersAnswers() throws Exception {
    try (H2Server h2 = H2Server.start("ok")) {
      int port = h2.port("ok");
      assertThat(probe("settings", port, "a.example", "/", 0)).contains("setting MAX_CONCURRENT_STREAMS 100");
      assertThat(probe("request", port, "a.example", "/", 0)).containsExactly("status 200");
      assertThat(probe("made-you-reset-window", port, "a.example", "/", 50)).contains("closed");
      assertThat(probe("made-you-reset-data", port, "a.example", "/", 50)).contains("closed");
      // python3-h2 ignores resets of a closed stream without limit: the connection stays open and serves.
      assertThat(probe("closed-stream-resets", port, "a.example", "/", 1000)).containsExactly("status 200",
          "after status 200");
      List<String> flood = probe("continuation-flood", port, "a.example", "/", 10 * 1024);
      assertThat(flood).contains("closed");
      assertThat(sentKib(flood)).isLessThan(10 * 1024);
      assertThat(probe("big-headers", port, "a.example", "/", 2 * 1024)).containsAnyOf("closed", "reset 1");
      // python3-h2 answers the stream over its limit with a connection error.
      assertThat(probe("max-streams", port, "a.example", "/", 0)).startsWith("max 100").contains("closed");
      assertThat(probe("idle-stream", port, "a.example", "/", 1)).containsExactly("neighbour status 200",
          "idle timeout", "after status 200");
    }
    try (H2Server h2 = H2Server.start("early")) {
      // python3-h2's server sends nothing once a request it answered early ends.
      assertThat(probe("early-answer", h2.port("early"), "a.example", "/", 1)).containsExactly("status 200",
          "response ended", "quiet");
    }
  }

  /**
   * MadeYouReset (CVE-2025-8671): frames that make the server reset the streams itself (no RST_STREAM from the
   * client, so rapid-reset accounting that counts only the client's resets misses them), a thousand in one write.
   * The connection ends in GOAWAY ENHANCE_YOUR_CALM (11) or is closed, and few of the streams reach the upstream.
   */
  @ParameterizedTest(name = "{0}")
  @CsvSource({"made-you-reset-window", "made-you-reset-data"})
  void madeYouResetEndsTheConnectionWithFewUpstreamRequests(String mode) throws Exception {
    List<String> events = probe(mode, http, "target.example", "/made-you-reset", 1000);
    assertThat(events).as("the connection's end").containsAnyOf("goaway 11", "closed");
    assertThat(events).noneMatch(e -> e.startsWith("status "));
    System.out.println(mode + ": " + forwarded("/made-you-reset") + " of 1000 streams forwarded");
    assertThat(forwarded("/made-you-reset")).as("streams that reached the upstream, of 1000").isLessThan(250);
  }

  /**
   * A thousand RST_STREAM frames, in one write, for a stream that has ended: RFC 9113 §5.1 has the server ignore
   * each, and Netty's decoder drops them before its own reset limit (which counts resets of open streams) sees them.
   * They count all the same: past 200 in 30 s the connection ends in GOAWAY ENHANCE_YOUR_CALM (11) or is closed,
   * and no request is served on it after.
   */
  @Test
  void resetsOfAClosedStreamCountTowardsTheResetLimit() throws Exception {
    List<String> events = probe("closed-stream-resets", http, "target.example", "/closed-stream", 1000);
    assertThat(events).as("the GET, then the connection's end").first().isEqualTo("status 200");
    assertThat(events).containsAnyOf("goaway 11", "closed");
    assertThat(events).noneMatch(e -> e.startsWith("after "));
  }

  /** HEADERS without END_HEADERS, then CONTINUATION frames without end: closed long before 10 MiB is taken in. */
  @Test
  void aContinuationFloodIsCutOffBeforeMegabytesAreBuffered() throws Exception {
    List<String> events = probe("continuation-flood", http, "target.example", "/", 10 * 1024);
    assertThat(events).as("the connection's end").containsAnyOf("closed", "goaway 1", "goaway 11", "goaway 6");
    assertThat(sentKib(events)).as("KiB the client got to send of 10 MiB").isLessThan(4 * 1024);
    assertThat(forwarded("/continuation")).isZero();
  }

  /** A header list over --max-request-headers-kb: 431 or a reset (or the connection closed), never forwarded. */
  @ParameterizedTest(name = "{0} KiB")
  @CsvSource({"72", "1024"})
  void anOversizedHeaderListIsRefusedAndNeverForwarded(int kib) throws Exception {
    List<String> events = probe("big-headers", http, "target.example", "/big-headers", kib);
    assertThat(events).isNotEmpty();
    assertThat(events.get(0)).matches("status 431|reset \\d+|goaway \\d+|closed");
    assertThat(forwarded("/big-headers")).isZero();
  }

  /**
   * A client that floods PINGs (or SETTINGS, each owed an ACK) and never reads what the server writes back: the
   * queue of unsent answers is bounded and the connection closed.
   */
  @ParameterizedTest(name = "{0}")
  @CsvSource({"ping-flood", "settings-flood"})
  void aControlFrameFloodFromAClientThatNeverReadsIsClosed(String mode) throws Exception {
    List<String> events = probe(mode, http, "target.example", "/", 1_000_000);
    assertThat(events).as("sent N, then the connection's fate").last().isEqualTo("closed");
  }

  /** SETTINGS_MAX_CONCURRENT_STREAMS is in the server's first SETTINGS frame, and finite (docs/security.md: 100). */
  @Test
  void maxConcurrentStreamsIsAdvertised() throws Exception {
    List<String> settings = probe("settings", http, "target.example", "/", 0);
    String line = settings.stream().filter(s -> s.startsWith("setting MAX_CONCURRENT_STREAMS ")).findFirst()
        .orElseThrow(() -> new AssertionError("no SETTINGS_MAX_CONCURRENT_STREAMS in " + settings));
    assertThat(Long.parseLong(line.substring(line.lastIndexOf(' ') + 1))).isBetween(1L, 1000L);
  }

  /**
   * The streams the limit allows, held open (their request bodies held back), and one more: the extra gets
   * RST_STREAM REFUSED_STREAM (7) or the connection a GOAWAY, and the first ones are all served once their bodies
   * come.
   */
  @Test
  void maxConcurrentStreamsIsEnforcedAndTheStreamsWithinItAreServed() throws Exception {
    List<String> events = probe("max-streams", http, "target.example", "/held", 100);
    assertThat(events.get(0)).as("the advertised limit").matches("max \\d+");
    int max = Integer.parseInt(events.get(0).substring(4));
    assertThat(events).as("the extra stream's fate").containsAnyOf("extra reset 7", "goaway 1", "goaway 11");
    assertThat(events).as("the streams within the limit").contains("served " + max + " of " + max);
    assertThat(forwarded("/held?extra")).as("the extra stream was never forwarded").isZero();
  }

  /** One stream whose request body stops: ended by the stream idle timeout; its neighbours on the connection live. */
  @Test
  void theStreamIdleTimeoutEndsOneStreamAndNotItsConnection() throws Exception {
    List<String> events = probe("idle-stream", http, "target.example", "/idle-stream", 10);
    assertThat(events).hasSize(3);
    assertThat(events.get(0)).isEqualTo("neighbour status 200");
    assertThat(events.get(1)).isIn("idle status 408", "idle reset 8", "idle reset 0");
    assertThat(events.get(2)).isEqualTo("after status 200");
  }

  /**
   * A POST answered before its body came (the 403 here, a 404, a gRPC error): when the client ends the stream after
   * the response, the gateway sends a PING. curl 7.88 (Debian bookworm's) otherwise misses the close of a stream
   * its own END_STREAM closed and hangs until its timeout: 10 of 200 such curl runs on a loaded machine did, none
   * with the PING. The stream is not reset: the client's END_STREAM closed it.
   */
  @Test
  void aClientEndingARequestAnsweredEarlyGetsAPing() throws Exception {
    assertThat(probe("early-answer", http, "target.example", "/status/418", 5)).containsExactly("status 403",
        "response ended", "ping");
    assertThat(forwarded("/status/418")).isZero();
  }

  /** As PathNormalizationIT for HTTP/1.1: routing and the upstream request see the normalised :path. */
  @ParameterizedTest(name = "{0} -> {1} {2}")
  @CsvSource({
      "/a/../b,            200, GET /b HTTP/1.1",
      "/a/./b/%63,         200, GET /a/b/c HTTP/1.1",
      "/x/../status/418,   403, -",
      "/status/%34%31%38,  403, -",
      "/status/./418,      403, -"})
  void theNormalisedPathAppliesOnHttp2(String path, int status, String upstreamLine) throws Exception {
    assertThat(probe("request", http, "target.example", path, 0)).containsExactly("status " + status);
    if (upstreamLine.equals("-")) {
      assertThat(target.received()).noneMatch(r -> r.requestLine().contains("418"));
    } else {
      assertThat(target.received()).anyMatch(r -> r.requestLine().equals(upstreamLine));
    }
  }

  /** Runs {@code mode} of h2probe.py and prints its events (kept in the Failsafe report). */
  private static List<String> probe(String mode, int port, String authority, String path, int n) throws Exception {
    List<String> events = H2Probe.run(mode, port, authority, path, n);
    System.out.println("h2probe " + mode + " " + path + " " + n + ": " + events);
    return events;
  }

  private static long forwarded(String path) {
    return target.received().stream().filter(r -> r.requestLine().contains(" " + path + " ")).count();
  }

  private static int sentKib(List<String> events) {
    String sent = events.stream().filter(e -> e.startsWith("sent ") && e.endsWith(" KiB")).findFirst()
        .orElseThrow(() -> new AssertionError("no 'sent K KiB' in " + events));
    return Integer.parseInt(sent.split(" ")[1]);
  }
}
