package io.portcullis.proxy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.portcullis.routing.Endpoint;
import io.portcullis.testing.Ports;
import io.portcullis.testing.Proc;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Upstreams that misbehave ({@code h2upstream.py}, Debian's python3-h2): GOAWAY mid-traffic, floods of resets, PINGs
 * and SETTINGS, header blocks over the limit, malformed responses. Each flood closes only the flooding connection,
 * while a stream to a healthy upstream on the same event loop completes.
 */
class Http2UpstreamDefencesIT {
  private static final Duration WAIT = Duration.ofSeconds(60);
  /** Five resets per 30 s and 8 KiB of response headers, so that floods and big heads come quickly. */
  private static final Http2UpstreamLimits LIMITS = new Http2UpstreamLimits(100, Http2UpstreamLimits.DEFAULT_WINDOW,
      8, 5, 30, 10_000, Duration.ofHours(1));

  private H2Client client;
  private H2TestServer healthy;
  private final List<Proc> procs = new ArrayList<>();

  @BeforeEach
  void start() throws Exception {
    client = new H2Client(LIMITS);
    healthy = H2TestServer.plain(null);
  }

  @AfterEach
  void stop() {
    procs.forEach(Proc::close);
    client.close();
    healthy.close();
  }

  private Endpoint upstream(String mode) throws Exception {
    int port = Ports.free();
    Path script = Path.of(ClassLoader.getSystemResource("h2upstream.py").toURI());
    Proc p = Proc.start(List.of("/usr/bin/python3", script.toString(), mode, Integer.toString(port)),
        Files.createTempDirectory("h2upstream"), Map.of());
    procs.add(p);
    await().atMost(WAIT).until(() -> p.output().contains("listening") || !p.alive());
    assertThat(p.alive()).as(p.output()).isTrue();
    return new Endpoint("127.0.0.1", port);
  }

  @Test
  void goAwayMidTrafficDrainsTheConnectionAndRefusedStreamsSucceedElsewhere() throws Exception {
    Endpoint ep = upstream("goaway");
    List<H2Client.Recording> all = client.sendBatch(ep, H2Client.Request.get("/"), 6, true);
    int refused = 0;
    Http2UpstreamConnection second = null;
    for (H2Client.Recording r : all) {
      assertThat(r.ending.get(60, TimeUnit.SECONDS)).isEqualTo("end"); // 0 failures
      assertThat(r.statuses).containsExactly("200");
      if (!r.refusals.isEmpty()) {
        refused++;
        assertThat(r.refusals).containsExactly("reset 0 refused"); // the GOAWAY's error code, NO_ERROR
        second = r.connection;
      }
    }
    // Streams 9, 11 and 13, above the GOAWAY's last stream id 7 (Netty's client streams start at 3).
    assertThat(refused).isEqualTo(3);
    Http2UpstreamConnection secondConnection = second;
    // The drained connection closed once its last stream ended; the retries shared one new connection.
    await().atMost(WAIT).until(() -> client.onLoop(() -> client.pool.connections(ep)).equals(List.of(
        secondConnection)));
    assertThat(all.stream().filter(r -> r.refusals.isEmpty()).map(r -> r.connection).distinct()).hasSize(1)
        .doesNotContain(secondConnection);
    assertThat(client.stats.get(ProxyStats.UPSTREAM_CX_CLOSE_NOTIFY)).isEqualTo(1);
    assertThat(client.stats.get(ProxyStats.UPSTREAM_CX_HTTP2_TOTAL)).isEqualTo(2);
    await().atMost(WAIT).until(() -> procs.get(0).output().contains("client goaway 0"));
  }

  @Test
  void aResetFloodClosesThatConnectionOnly() throws Exception {
    H2Client.Recording bystander = client.send(new Endpoint("127.0.0.1", healthy.port()), null, null,
        H2Client.Request.get("/hold"), true);
    await().atMost(WAIT).until(() -> healthy.requests.get() == 1);
    Endpoint ep = upstream("rst");
    List<H2Client.Recording> flooded = client.sendBatch(ep, H2Client.Request.get("/"), 10, false);
    List<String> endings = new ArrayList<>();
    for (H2Client.Recording r : flooded) {
      endings.add(r.ending.get(60, TimeUnit.SECONDS));
    }
    // Five resets are let through (the limit per window), then the connection is closed and the rest learn why.
    assertThat(endings.stream().filter(e -> e.equals("reset 2"))).hasSize(5);
    assertThat(endings.stream().filter(e -> e.startsWith("closed: upstream " + ep + ": HTTP/2 connection error: "
        + "RST_STREAM flood from the upstream: 6 RST_STREAM frames within 30 s (expected: at most 5)"))).hasSize(5);
    assertThat(client.stats.get(ProxyStats.UPSTREAM_CX_PROTOCOL_ERROR)).isEqualTo(1);
    assertHealthyStreamCompletes(bystander);
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource(delimiter = '|', value = {
      "ping-flood     | Maximum number 10000 of outstanding control frames reached",
      "settings-flood | Maximum number 10000 of outstanding control frames reached",
      "headers-65536  | Header size exceeded max allowed size (10240)",
  })
  void aFloodClosesThatConnectionOnly(String mode, String why) throws Exception {
    H2Client.Recording bystander = client.send(new Endpoint("127.0.0.1", healthy.port()), null, null,
        H2Client.Request.get("/hold"), true);
    await().atMost(WAIT).until(() -> healthy.requests.get() == 1);
    Endpoint ep = upstream(mode);
    H2Client.Recording flooded = client.send(ep, null, null, H2Client.Request.get("/"), true);

    assertThat(flooded.ending.get(60, TimeUnit.SECONDS))
        .startsWith("closed: upstream " + ep + ": HTTP/2 connection error: ").contains(why);
    assertThat(flooded.connection.closeFuture().await(30, TimeUnit.SECONDS)).isTrue();
    assertThat(client.stats.get(ProxyStats.UPSTREAM_CX_PROTOCOL_ERROR)).isEqualTo(1);
    assertHealthyStreamCompletes(bystander);
  }

  @Test
  void anUpstreamThatIsNotHttp2IsAConnectionError() throws Exception {
    Endpoint ep = upstream("http1");
    H2Client.Recording r = client.send(ep, null, null, H2Client.Request.get("/"), true);

    assertThat(r.ending.get(60, TimeUnit.SECONDS)).startsWith("closed: upstream " + ep
        + ": HTTP/2 connection error: First received frame was not SETTINGS.");
    assertThat(client.stats.get(ProxyStats.UPSTREAM_CX_PROTOCOL_ERROR)).isEqualTo(1);
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource(delimiter = '|', value = {
      "no-status         | false | Response is missing mandatory :status pseudo-header field.",
      "status-999        | false | response :status 999 (expected: three digits, 100..599)",
      "status-101        | false | response :status 101 (expected: not 101",
      "connection        | false | Illegal connection-specific header 'connection' encountered.",
      "content-length    | true  | Received amount of data 5 does not match content-length header 10",
      "informational-end | false | response :status 103 with END_STREAM",
      "headers-9000      | false | Header size exceeded max allowed size (8192)",
  })
  void aMalformedResponseIsAProtocolErrorOfItsStreamOnly(String mode, boolean headFirst, String why) throws Exception {
    Endpoint ep = upstream(mode);
    H2Client.Recording r = client.send(ep, null, null, H2Client.Request.get("/"), true);

    String ending = r.ending.get(60, TimeUnit.SECONDS);
    assertThat(ending).startsWith("protocolError: upstream " + ep + " stream 3: ").contains(why);
    // A bad head is never delivered; a body that contradicts its content-length is known only at its end.
    assertThat(r.head != null).isEqualTo(headFirst);
    assertThat(client.stats.get(ProxyStats.UPSTREAM_HTTP2_RX_MESSAGING_ERROR)).isEqualTo(1);

    // The stream was reset; the connection carries on.
    H2Client.Recording again = client.send(ep, null, null, H2Client.Request.get("/"), true);
    assertThat(again.ending.get(60, TimeUnit.SECONDS)).startsWith("protocolError: upstream " + ep + " stream 5: ");
    assertThat(again.connection).isSameAs(r.connection);
    assertThat(client.onLoop(() -> r.connection.isDraining())).isFalse();
  }

  private void assertHealthyStreamCompletes(H2Client.Recording bystander) throws Exception {
    assertThat(bystander.ending).isNotDone();
    healthy.releaseHolds();
    assertThat(bystander.ending.get(30, TimeUnit.SECONDS)).isEqualTo("end");
    assertThat(bystander.bodyBytes()).asString().isEqualTo("held");
  }
}
