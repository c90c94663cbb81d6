package io.portcullis.it;

import static org.assertj.core.api.Assertions.assertThat;

import io.portcullis.Portcullis;
import io.portcullis.proxy.ProxyLimits;
import io.portcullis.testing.BodyBackend;
import io.portcullis.testing.Gateways;
import io.portcullis.testing.Ports;
import io.portcullis.testing.Proc;
import io.portcullis.testing.RawClient;
import io.portcullis.testing.ScriptedBackend;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The proxy core end to end (issue 13's rewrite: {@code Exchange}, {@code Forwarding}, the two downstreams and the two
 * kinds of upstream call): request bodies across retries and connect failures, HTTP/2 flow control over many
 * requests on one connection, the framing of what goes upstream and comes back, malformed upstream responses, the
 * end of a WebSocket tunnel, and exchanges that must end so that idle connections are closed.
 */
class ProxyCoreIT {
  @TempDir static Path tmp;
  static BodyBackend body;
  static BodyBackend retrying;
  static ScriptedBackend scripted;
  static ScriptedBackend webSocket;
  static ScriptedBackend silent;
  static ScriptedBackend truncating;
  static Portcullis gateway;
  static int port;

  @BeforeAll
  static void start() throws Exception {
    body = new BodyBackend();
    retrying = new BodyBackend();
    scripted = new ScriptedBackend(ProxyCoreIT::misbehave);
    webSocket = new ScriptedBackend(ProxyCoreIT::upgradeThenEnd);
    silent = new ScriptedBackend(s -> s.getInputStream().readAllBytes()); // reads, never answers
    truncating = new ScriptedBackend(s -> { // a response head, 3 of its 10 bytes, and the connection closes
      ScriptedBackend.head(s.getInputStream());
      s.getOutputStream().write("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc".getBytes(StandardCharsets.US_ASCII));
      s.getOutputStream().flush();
    });
    port = Ports.free();
    Files.writeString(tmp.resolve("config.yaml"), Gateways.plainGateway(port) + """
        ---
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata: {name: body}
        spec:
          hosts: [body.test]
          gateways: [gw]
          http:
          - route: [{destination: {host: body.svc, port: {number: 80}}}]
        ---
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata: {name: mixed}
        spec:
          hosts: [mixed.test]
          gateways: [gw]
          http:
          - match: [{uri: {prefix: /forward}}]
            route: [{destination: {host: body.svc, port: {number: 80}}}]
        ---
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata: {name: flaky}
        spec:
          hosts: [flaky.test]
          gateways: [gw]
          http:
          - route: [{destination: {host: flaky.svc, port: {number: 80}}}]
        ---
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata: {name: retry}
        spec:
          hosts: [retry.test]
          gateways: [gw]
          http:
          - retries: {attempts: 1, retryOn: 5xx}
            headers: {request: {add: {x-added: "1"}}}
            route: [{destination: {host: retrying.svc, port: {number: 80}}}]
        ---
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata: {name: replay}
        spec:
          hosts: [replay.test]
          gateways: [gw]
          http:
          - retries: {attempts: 1, retryOn: 5xx}
            route: [{destination: {host: replay.svc, port: {number: 80}}}]
        ---
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata: {name: scripted}
        spec:
          hosts: [bad.test]
          gateways: [gw]
          http:
          - route: [{destination: {host: scripted.svc, port: {number: 80}}}]
        ---
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata: {name: ws}
        spec:
          hosts: [ws.test]
          gateways: [gw]
          http:
          - match: [{uri: {exact: /ok}}]
            directResponse: {status: 200, body: {string: "ok"}}
          - route: [{destination: {host: ws.svc, port: {number: 80}}}]
        ---
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata: {name: slow}
        spec:
          hosts: [slow.test]
          gateways: [gw]
          http:
          - timeout: 1s
            route: [{destination: {host: silent.svc, port: {number: 80}}}]
        ---
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata: {name: truncated}
        spec:
          hosts: [truncated.test]
          gateways: [gw]
          http:
          - route: [{destination: {host: truncating.svc, port: {number: 80}}}]
        ---
        apiVersion: networking.istio.io/v1
        kind: ServiceEntry
        metadata: {name: flaky}
        spec:
          hosts: [flaky.svc]
          ports: [{number: 80, name: http, protocol: HTTP, targetPort: %1$d}]
          resolution: STATIC
          # nothing listens on 127.0.0.2 at that port: every other attempt is a connect failure, retried
          endpoints: [{address: 127.0.0.1}, {address: 127.0.0.2}]
        ---
        apiVersion: networking.istio.io/v1
        kind: ServiceEntry
        metadata: {name: replay}
        spec:
          hosts: [replay.svc]
          ports: [{number: 80, name: http, protocol: HTTP, targetPort: %2$d}]
          resolution: STATIC
          # round-robin starts at the second: 127.0.0.1 (retrying, which answers 503), then 127.0.0.2
          endpoints: [{address: 127.0.0.2}, {address: 127.0.0.1}]
        ---
        """.formatted(body.port(), retrying.port())
        + Gateways.staticService("body", "body.svc", body.port()) + "---\n"
        + Gateways.staticService("retrying", "retrying.svc", retrying.port()) + "---\n"
        + Gateways.staticService("scripted", "scripted.svc", scripted.port()) + "---\n"
        + Gateways.staticService("ws", "ws.svc", webSocket.port()) + "---\n"
        + Gateways.staticService("silent", "silent.svc", silent.port()) + "---\n"
        + Gateways.staticService("truncating", "truncating.svc", truncating.port()));
    ProxyLimits d = ProxyLimits.defaults();
    // A short connection idle timeout: an exchange that never ends keeps its connection from ever idling out.
    gateway = Gateways.start(tmp, tmp.resolve("state"), new ProxyLimits(d.listenerFiltersTimeout(),
        d.requestHeadersTimeout(), Duration.ofSeconds(2), d.streamIdleTimeout(), d.maxConnections(),
        d.maxRequestHeadersKb(), d.maxHeadersCount(), d.upstreamIdleTimeout()));
  }

  @AfterAll
  static void stop() throws Exception {
    if (gateway != null) {
      gateway.close();
    }
    body.close();
    retrying.close();
    scripted.close();
    webSocket.close();
    silent.close();
    truncating.close();
  }

  /** {@code bad.test}'s upstream: malformed responses by path; {@code /ok} answered well on the same connection. */
  private static void misbehave(Socket s) throws Exception {
    InputStream in = s.getInputStream();
    OutputStream out = s.getOutputStream();
    String head;
    while ((head = ScriptedBackend.head(in)) != null) {
      String answer;
      if (head.startsWith("GET /bad-head ")) {
        answer = "HTTP/1.1 2x0 OK\r\nContent-Length: 2\r\n\r\nok"; // Netty's decoder: status 999, failed
      } else if (head.startsWith("GET /switch ")) { // a 101 to a request that asked for no upgrade
        answer = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\nraw bytes";
      } else if (head.startsWith("GET /bad-chunk ")) {
        answer = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\nzz\r\n";
      } else {
        answer = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
      }
      out.write(answer.getBytes(StandardCharsets.US_ASCII));
      out.flush();
    }
  }

  /** {@code ws.test}'s upstream: accepts the upgrade, sends 1,000 bytes into the tunnel and closes it. */
  private static void upgradeThenEnd(Socket s) throws Exception {
    ScriptedBackend.head(s.getInputStream());
    OutputStream out = s.getOutputStream();
    out.write(("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        + "Sec-WebSocket-Accept: x\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
    out.write(new byte[1000]);
    out.flush();
  }

  private static byte[] randomBody(int n) {
    byte[] b = new byte[n];
    new Random(n).nextBytes(b);
    return b;
  }

  private static List<String> h2core(String mode, String authority, String path, int n) throws Exception {
    Path script = Path.of(ClassLoader.getSystemResource("h2core.py").toURI());
    Proc.Result r = Proc.run(60, "/usr/bin/python3", script.toString(), mode, Integer.toString(port), authority,
        path, Integer.toString(n));
    assertThat(r.exitCode()).as(r.stderr()).isZero();
    return r.stdout().lines().toList();
  }

  private static Proc.Result curl(String... args) throws Exception {
    List<String> cmd = new ArrayList<>(List.of("curl", "-sS", "--max-time", "10"));
    cmd.addAll(List.of(args));
    return Proc.run(30, cmd.toArray(String[]::new));
  }

  @ParameterizedTest(name = "Connection: {0}")
  @CsvSource({"content-length, false", "'keep-alive, Content-Length', false", "transfer-encoding, true"})
  void aConnectionHeaderCannotUnframeTheBodyGoingUpstream(String connection, boolean chunked) throws Exception {
    // Were the named framing field stripped as hop-by-hop, the body would go upstream unframed and be read there as
    // the next request on the connection: a smuggled request (RFC 9110 §7.6.1 names fields to drop, never framing).
    String smuggled = "GET /smuggled HTTP/1.1\r\nHost: body.test\r\n\r\n";
    String path = "/framing-" + connection.hashCode();
    String framing = chunked ? "Transfer-Encoding: chunked\r\n\r\n" + Integer.toHexString(smuggled.length())
        + "\r\n" + smuggled + "\r\n0\r\n\r\n" : "Content-Length: " + smuggled.length() + "\r\n\r\n" + smuggled;
    RawClient.Response r = RawClient.exchange(port, "POST " + path + " HTTP/1.1\r\nHost: body.test\r\nConnection: "
        + connection + "\r\n" + framing);

    assertThat(r).isNotNull();
    assertThat(r.status()).isEqualTo(200);
    assertThat(r.body()).isEqualTo(BodyBackend.digest(smuggled.getBytes(StandardCharsets.US_ASCII)) + "\n");
    assertThat(body.received()).filteredOn(x -> x.requestLine().contains(path)).singleElement()
        .satisfies(x -> assertThat(new String(x.body(), StandardCharsets.US_ASCII)).isEqualTo(smuggled));
    assertThat(body.received()).noneMatch(x -> x.requestLine().contains("/smuggled"));
  }

  @Test
  void aBodyThatOutgrowsTheReplayBufferWhileARetryWaitsReachesTheRetryWhole() throws Exception {
    // The first attempt (127.0.0.1) is answered 503 after 60,000 of 200,000 bytes; the retry goes to 127.0.0.2,
    // whose accept queue is full, so its connect waits for a SYN retransmit (about a second). The rest of the body
    // arrives meanwhile and outgrows the replay buffer: it must reach the retry behind the first 60,000, whole.
    byte[] b = randomBody(200_000);
    retrying.rejectFirst(1, 60_000);
    try (BodyBackend held = BodyBackend.held("127.0.0.2", retrying.port()); RawClient c = RawClient.connect(port)) {
      c.send("POST /replay HTTP/1.1\r\nHost: replay.test\r\nContent-Length: " + b.length + "\r\n\r\n");
      c.send(java.util.Arrays.copyOfRange(b, 0, 60_000));
      assertThat(retrying.awaitRejected()).isTrue();
      c.send(java.util.Arrays.copyOfRange(b, 60_000, b.length));
      held.release(); // the retry's connect completes at its SYN retransmit, still a second away
      RawClient.Response r = c.readResponse(Duration.ofSeconds(15));

      assertThat(r).isNotNull();
      if (r.status() == 200) {
        assertThat(r.body()).isEqualTo(BodyBackend.digest(b) + "\n");
        assertThat(held.received()).singleElement().satisfies(x -> assertThat(x.body()).isEqualTo(b));
      } else {
        // only if the gateway read the rest before it handled the 503: then no retry, and that is right too
        assertThat(r.status()).as(r.head()).isEqualTo(503);
      }
    }
  }

  @Test
  void retriedRequestsCarryTheHeadTheFirstAttemptHad() throws Exception {
    for (String protocol : List.of("--http1.1", "--http2-prior-knowledge")) {
      retrying.clear();
      retrying.rejectFirst(1, 0);
      Proc.Result r = curl(protocol, "-H", "x-forwarded-for: 203.0.113.7", "http://retry.test:" + port + "/again",
          "--resolve", "retry.test:" + port + ":127.0.0.1");

      assertThat(r.exitCode()).as(r.stderr()).isZero();
      assertThat(retrying.received()).singleElement().satisfies(x -> {
        assertThat(x.headers().get("x-forwarded-for")).as(protocol).containsExactly("203.0.113.7, 127.0.0.1");
        assertThat(x.headers().get("x-added")).as(protocol).containsExactly("1");
      });
    }
  }

  @Test
  void anHttp2BodyIsNotStalledByARetryAfterAConnectFailure() throws Exception {
    // Half the attempts fail to connect and are retried; the client has sent a full stream window by then, which
    // the retry must return to it, else the stream stalls with 64 KiB unacknowledged.
    byte[] b = randomBody(256 * 1024);
    Path file = tmp.resolve("flaky-body");
    Files.write(file, b);
    for (int i = 0; i < 2; i++) { // round-robin: one of two requests starts on the endpoint that refuses
      Proc.Result r = curl("--http2-prior-knowledge", "--data-binary", "@" + file, "http://flaky.test:" + port
          + "/upload", "--resolve", "flaky.test:" + port + ":127.0.0.1");

      assertThat(r.exitCode()).as("request %d: %s", i, r.stderr()).isZero();
      assertThat(r.stdout()).isEqualTo(BodyBackend.digest(b) + "\n");
    }
  }

  @Test
  void manyHttp2RequestsWithBodiesAnsweredLocallyLeaveTheConnectionWindowOpen() throws Exception {
    // 2,000 POSTs of 64 KiB that 404 (their bodies never read, the stream reset with NO_ERROR once answered),
    // interleaved with 2,000 that go upstream, on ONE connection: request bytes not returned to the connection's
    // window would stall it, and DATA already in flight for a stream the gateway reset must be ignored (RFC 9113
    // §5.1), not answered with a RST_STREAM each, which Netty's MadeYouReset limit (200 in 30 s) counts.
    Path file = tmp.resolve("64k");
    Files.write(file, randomBody(64 * 1024));
    Proc.Result r = Proc.run(120, "h2load", "-n", "4000", "-c", "1", "-m", "10", "-d", file.toString(),
        "-H", ":authority: mixed.test", "http://127.0.0.1:" + port + "/missing",
        "http://127.0.0.1:" + port + "/forward");

    assertThat(r.exitCode()).as(r.stdout() + r.stderr()).isZero();
    assertThat(r.stdout()).contains("4000 done, 2000 succeeded, 2000 failed, 0 errored, 0 timeout")
        .contains("status codes: 2000 2xx, 0 3xx, 2000 4xx, 0 5xx");
  }

  @Test
  void aGrpcWebErrorTheGatewayMakesIsAFramedHttp11Response() throws Exception {
    // gRPC's trailers-only reply (here 504 → DEADLINE_EXCEEDED) over a keep-alive HTTP/1.1 connection, a browser's
    // gRPC-Web: without a length or chunked framing the client can only wait for a close that never comes.
    try (RawClient c = RawClient.connect(port)) {
      c.send("POST /pkg.Service/Method HTTP/1.1\r\nHost: slow.test\r\nContent-Type: application/grpc-web+proto\r\n"
          + "Content-Length: 5\r\n\r\n\0\0\0\0\0");
      RawClient.Response r = c.readResponse(Duration.ofSeconds(10));

      assertThat(r).isNotNull();
      assertThat(r.head()).startsWith("HTTP/1.1 200").containsIgnoringCase("grpc-status: 4\r\n")
          .containsIgnoringCase("content-length: 0\r\n");
      c.send("GET /ok HTTP/1.1\r\nHost: ws.test\r\n\r\n");
      assertThat(c.readResponse(Duration.ofSeconds(10))).as("the next request on the connection").isNotNull()
          .satisfies(next -> assertThat(next.body()).isEqualTo("ok"));
    }
  }

  @Test
  void aMalformedUpstreamResponseHeadIs502() throws Exception {
    Proc.Result r = curl("--http1.1", "-i", "http://bad.test:" + port + "/bad-head", "--resolve",
        "bad.test:" + port + ":127.0.0.1");

    assertThat(r.exitCode()).as(r.stderr()).isZero();
    assertThat(r.stdout()).startsWith("HTTP/1.1 502");
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource({"--http1.1", "--http2-prior-knowledge"})
  void aSwitchingProtocolsNobodyAskedForIs502(String protocol) throws Exception {
    // RFC 9110 §15.2.2: a server sends 101 only to a request with Upgrade. Relayed, it turned an ordinary request
    // into a byte tunnel (over HTTP/2: a 200 whose body is the upstream's raw bytes).
    Proc.Result r = curl(protocol, "-i", "http://bad.test:" + port + "/switch", "--resolve",
        "bad.test:" + port + ":127.0.0.1");

    assertThat(r.exitCode()).as(r.stderr()).isZero();
    assertThat(r.stdout()).startsWith(protocol.equals("--http1.1") ? "HTTP/1.1 502" : "HTTP/2 502");
  }

  @Test
  void aMalformedUpstreamBodyAbortsTheResponseAndTheConnectionIsNotReused() throws Exception {
    Proc.Result bad = curl("--http1.1", "http://bad.test:" + port + "/bad-chunk", "--resolve",
        "bad.test:" + port + ":127.0.0.1");
    Proc.Result next = curl("--http1.1", "http://bad.test:" + port + "/ok", "--resolve",
        "bad.test:" + port + ":127.0.0.1");

    assertThat(next.exitCode()).as("the next request, not on the poisoned connection: " + next.stderr()).isZero();
    assertThat(next.stdout()).isEqualTo("ok");
    assertThat(bad.exitCode()).as("a truncated body is not passed off as complete").isNotZero().isNotEqualTo(28);
  }

  @Test
  void clientBytesAfterTheUpstreamEndedATunnelAreDroppedAndTheConnectionLives() throws Exception {
    // The upstream ends the tunnel while the client's closed window holds its last bytes back (and so the end of
    // the stream); DATA the client sends meanwhile has nowhere to go and must not break the HTTP/2 connection.
    List<String> events = h2core("tunnel-late-data", "ws.test", "/chat", 2);

    assertThat(events).as("the tunnel's answer, then the GET's on the same connection")
        .containsExactly("status 200", "status 200");
  }

  @Test
  void anHttp2HostThatDisagreesWithTheAuthorityIs400AndTheConnectionStillIdlesOut() throws Exception {
    // RFC 9113 §8.3.1: malformed. Converting it for an HTTP/1.1 upstream fails, so it must be refused up front; an
    // exchange left hanging would also keep the connection from its idle timeout.
    List<String> events = h2core("host-conflict", "body.test", "/conflict", 10);

    assertThat(events).containsExactly("status 400", "goaway 0");
  }

  @Test
  void aMalformedRequestLineIs400WithoutAReferenceCountError() throws Exception {
    // Netty makes a malformed request line a full request: one buffer that the exchange and the body path each
    // released, which threw IllegalReferenceCountException into the pipeline (logged at debug, then closed).
    ch.qos.logback.classic.Logger log = (ch.qos.logback.classic.Logger) org.slf4j.LoggerFactory.getLogger(
        "io.portcullis.proxy.ProxyHandler");
    ch.qos.logback.core.read.ListAppender<ch.qos.logback.classic.spi.ILoggingEvent> seen =
        new ch.qos.logback.core.read.ListAppender<>();
    seen.start();
    ch.qos.logback.classic.Level was = log.getLevel();
    log.setLevel(ch.qos.logback.classic.Level.DEBUG);
    log.addAppender(seen);
    try (RawClient c = RawClient.connect(port)) {
      c.send("GET /x HTTP/1.1 extra\r\nHost: body.test\r\n\r\n");
      RawClient.Response r = c.readResponse(Duration.ofSeconds(10));

      assertThat(r).isNotNull();
      assertThat(r.status()).isEqualTo(400);
      assertThat(c.closedWithin(Duration.ofSeconds(10))).isTrue();
    } finally {
      log.detachAppender(seen);
      log.setLevel(was);
    }
    synchronized (seen) {
      assertThat(seen.list).extracting(e -> e.getFormattedMessage()).noneMatch(m -> m.contains("ReferenceCount"));
    }
  }

  @Test
  void responsesCutShortUpstreamDoNotCostTheClientItsHttp2Connection() throws Exception {
    // Each response breaks off upstream after its head (UC), so each stream is reset downstream. Those resets are
    // the gateway's, not the client's doing: they must not count towards Netty's MadeYouReset limit (200 resets
    // in 30 s), which would close the connection and every healthy stream on it.
    Proc.Result r = Proc.run(120, "h2load", "-n", "300", "-c", "1", "-m", "1", "-H", ":authority: truncated.test",
        "http://127.0.0.1:" + port + "/cut");

    assertThat(r.stdout()).as(r.stdout() + r.stderr()).contains("300 total, 300 started, 300 done");
  }
}
