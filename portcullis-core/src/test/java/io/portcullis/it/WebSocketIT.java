package io.portcullis.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.ByteBufAllocatorMetric;
import io.netty.buffer.ByteBufAllocatorMetricProvider;
import io.portcullis.IssuanceOptions;
import io.portcullis.Portcullis;
import io.portcullis.admin.AdminToken;
import io.portcullis.proxy.AccessLog;
import io.portcullis.proxy.PathNormalization;
import io.portcullis.proxy.ProxyLimits;
import io.portcullis.proxy.Transport;
import io.portcullis.routing.SafeRegex;
import io.portcullis.testing.Bystander;
import io.portcullis.testing.DevCertificates;
import io.portcullis.testing.DevSecret;
import io.portcullis.testing.Gateways;
import io.portcullis.testing.H2Probe;
import io.portcullis.testing.H2Server;
import io.portcullis.testing.Ports;
import io.portcullis.testing.RawClient;
import io.portcullis.testing.RawWebSocket;
import io.portcullis.testing.RecordingBackend;
import io.portcullis.testing.WebSocketEcho;
import java.io.ByteArrayOutputStream;
import java.io.FileOutputStream;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.WebSocket;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.cert.CertificateFactory;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Random;
import java.util.UUID;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.zip.CRC32;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Issue 13, point 4 (WebSocket) and its tests of point 7: RFC 6455 upgrades over HTTP/1.1, plain and TLS, passed
 * through a VirtualService route to a real echo backend (Debian's python3-websockets, {@link WebSocketEcho}) with the
 * route's header operations and one access-log line (status 101); the stream idle timeout for an idle WebSocket
 * only; a backend's refusal relayed; RFC 8441 extended CONNECT over HTTP/2 (h2c and TLS, python3-h2's
 * {@code h2probe.py websocket}) to the same HTTP/1.1 backend; backpressure for a client that does not read. Clients:
 * {@code java.net.http.WebSocket} and {@link RawWebSocket}. A {@link Bystander} is served throughout.
 */
class WebSocketIT {
  static final ObjectMapper JSON = new ObjectMapper();
  static final Duration STREAM_IDLE = Duration.ofSeconds(2);
  @TempDir static Path tmp;
  static WebSocketEcho echo;
  static RecordingBackend other;
  static Portcullis gateway;
  /** A second gateway, with a short stream idle timeout. */
  static Portcullis idleGateway;
  static Path accessLog;
  static Path ca;
  static int http;
  static int https;
  static int idleHttp;
  Bystander bystander;

  @BeforeAll
  static void start() throws Exception {
    echo = WebSocketEcho.start();
    other = new RecordingBackend();
    http = Ports.free();
    https = Ports.free();
    idleHttp = Ports.free();
    Path config = Files.createDirectories(tmp.resolve("config"));
    ca = DevSecret.write(tmp.resolve("dev"), config.resolve("secret.yaml"));
    String routes = """
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata: {name: ws}
        spec:
          hosts: ["*"]
          gateways: [gw]
          http:
          - match: [{authority: {exact: bystander.example}}]
            route: [{destination: {host: other.internal, port: {number: 80}}}]
          - name: echo
            headers:
              request:
                set: {x-route: echo}
                remove: [x-drop]
              response:
                add: {x-route-response: echo}
            route: [{destination: {host: echo.internal, port: {number: 80}}}]
        ---
        """ + Gateways.staticService("echo", "echo.internal", echo.port()) + "---\n"
        + Gateways.staticService("other", "other.internal", other.port());
    Files.writeString(config.resolve("config.yaml"), """
        apiVersion: networking.istio.io/v1
        kind: Gateway
        metadata: {name: gw}
        spec:
          servers:
          - port: {number: %d, name: http, protocol: HTTP}
            hosts: ["*"]
          - port: {number: %d, name: https, protocol: HTTPS}
            tls: {mode: SIMPLE, credentialName: localhost-credential}
            hosts: ["*"]
        ---
        """.formatted(http, https) + routes);
    Path idleConfig = Files.createDirectories(tmp.resolve("idle-config"));
    Files.writeString(idleConfig.resolve("config.yaml"), Gateways.plainGateway(idleHttp) + "---\n" + routes);
    accessLog = tmp.resolve("access.log");
    Path state = tmp.resolve("state");
    gateway = Portcullis.start(new Portcullis.Options(List.of(config), "istio-system", 0, "127.0.0.1",
        new InetSocketAddress("127.0.0.1", 0), new AccessLog(new FileOutputStream(accessLog.toFile())), 1,
        Transport.AUTO, state, Duration.ofSeconds(1), IssuanceOptions.defaults(), ProxyLimits.defaults(),
        PathNormalization.DEFAULT, SafeRegex.DEFAULT_MAX_PROGRAM_SIZE, AdminToken.defaultFile(state)));
    ProxyLimits d = ProxyLimits.defaults();
    idleGateway = Gateways.start(idleConfig, tmp.resolve("idle-state"), new ProxyLimits(d.listenerFiltersTimeout(),
        d.requestHeadersTimeout(), d.idleTimeout(), STREAM_IDLE, d.maxConnections(), d.maxRequestHeadersKb(),
        d.maxHeadersCount(), d.upstreamIdleTimeout()));
    await().atMost(Duration.ofSeconds(10)).until(() -> Ports.listening(http) && Ports.listening(https)
        && Ports.listening(idleHttp));
  }

  @AfterAll
  static void stop() throws IOException {
    for (Portcullis p : new Portcullis[] {gateway, idleGateway}) {
      if (p != null) {
        p.close();
      }
    }
    if (accessLog != null && Files.exists(accessLog)) {
      System.out.println("access log:\n" + Files.readString(accessLog)); // kept in the Failsafe report
    }
    if (echo != null) {
      System.out.println("wsecho.py:\n" + echo.output());
      echo.close();
    }
    other.close();
  }

  @BeforeEach
  void bystander() throws IOException {
    bystander = new Bystander(http, "bystander.example", "/bystander", 200);
  }

  @AfterEach
  void bystanderWasServedThroughout() {
    bystander.assertServedThroughout();
  }

  /** Not the gateway: the fixtures themselves, so that a failure below is the gateway's. */
  @Test
  void theFixturesWorkAgainstTheBackendsDirectly() throws Exception {
    Collector direct = open(HttpClient.newHttpClient(), "ws://127.0.0.1:" + echo.port() + "/direct?x=1");
    direct.ws.sendText("hello", true).get(10, TimeUnit.SECONDS);
    assertThat(direct.next()).isEqualTo("hello");
    direct.ws.sendBinary(ByteBuffer.wrap(new byte[] {0, 1, 2}), true).get(10, TimeUnit.SECONDS);
    assertThat((byte[]) direct.next()).containsExactly(0, 1, 2);
    direct.ws.sendText("?headers", true).get(10, TimeUnit.SECONDS);
    JsonNode seen = JSON.readTree((String) direct.next());
    assertThat(seen.get("path").asText()).isEqualTo("/direct?x=1");
    assertThat(header(seen, "x-keep")).containsExactly("1");
    direct.ws.sendClose(WebSocket.NORMAL_CLOSURE, "").get(10, TimeUnit.SECONDS);
    assertThat(direct.closed.get(10, TimeUnit.SECONDS)).isEqualTo("close 1000");
    try (RawWebSocket raw = RawWebSocket.connect(echo.port(), 0)) {
      RawClient.Response r = raw.upgrade("127.0.0.1", "/raw");
      assertThat(r.status()).isEqualTo(101);
      assertThat(r.head()).containsIgnoringCase("\r\nX-Backend: wsecho\r\n");
      raw.send(RawWebSocket.TEXT, "raw".getBytes(StandardCharsets.UTF_8));
      assertThat(raw.read(Duration.ofSeconds(10)).text()).isEqualTo("raw");
    }
    try (RawWebSocket raw = RawWebSocket.connect(echo.port(), 0)) {
      RawClient.Response r = raw.upgrade("127.0.0.1", "/refuse/426");
      assertThat(r.status()).isEqualTo(426);
      assertThat(r.body()).isEqualTo("refused by the backend\n");
    }
    assertThat(RawClient.exchange(echo.port(), "GET /plain HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n").body())
        .isEqualTo("plain /plain\n");
    // The HTTP/2 extended CONNECT client, against an RFC 8441 server (h2server.py websocket), h2c and TLS.
    DevCertificates.DevCredential dev = DevCertificates.ensure(tmp.resolve("dev"));
    try (H2Server h2c = H2Server.start("websocket");
        H2Server tls = H2Server.start(Optional.of(dev), "websocket")) {
      assertThat(H2Probe.run("websocket", h2c.port("websocket"), "ws.example", "/h2c", 100))
          .contains("connect-protocol 1", "status 200", "echoed 100 text", "echoed binary 1048576", "close 1000");
      assertThat(H2Probe.runTls(ca, "websocket", tls.port("websocket"), "localhost:" + tls.port("websocket"),
          "/tls", 100)).contains("connect-protocol 1", "status 200", "echoed 100 text", "echoed binary 1048576",
          "close 1000");
    }
    // A client that does not read stalls the sender with no gateway in between (socket buffers and the backend's
    // own queue stop it well short of the whole transfer).
    assertThat(sentBeforeStall(echo.port(), 64)).isLessThan(64L << 20);
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource({"ws", "wss"})
  void textAndBinaryMessagesAreEchoedThroughAnHttp11Upgrade(String scheme) throws Exception {
    Collector c = open(scheme, "/echo");
    c.ws.sendText("hello through the gateway", true).get(10, TimeUnit.SECONDS);
    assertThat(c.next()).isEqualTo("hello through the gateway");
    byte[] binary = new byte[300];
    new Random(1).nextBytes(binary);
    c.ws.sendBinary(ByteBuffer.wrap(binary), true).get(10, TimeUnit.SECONDS);
    assertThat((byte[]) c.next()).isEqualTo(binary);
    c.ws.sendClose(WebSocket.NORMAL_CLOSURE, "done").get(10, TimeUnit.SECONDS);
    assertThat(c.closed.get(10, TimeUnit.SECONDS)).isEqualTo("close 1000");
  }

  @Test
  void aThousandMessagesInARowAreEchoedInOrder() throws Exception {
    Collector c = open("ws", "/thousand");
    for (int i = 0; i < 1000; i++) {
      c.ws.sendText("message " + i, true).get(10, TimeUnit.SECONDS);
    }
    for (int i = 0; i < 1000; i++) {
      assertThat(c.next()).isEqualTo("message " + i);
    }
    c.ws.sendClose(WebSocket.NORMAL_CLOSURE, "").get(10, TimeUnit.SECONDS);
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource({"ws", "wss"})
  void aOneMebibyteMessageIsEchoedWhole(String scheme) throws Exception {
    Collector c = open(scheme, "/big");
    byte[] big = new byte[1 << 20];
    new Random(2).nextBytes(big);
    c.ws.sendBinary(ByteBuffer.wrap(big), true).get(30, TimeUnit.SECONDS);
    assertThat((byte[]) c.next(Duration.ofSeconds(30))).isEqualTo(big);
    c.ws.sendClose(WebSocket.NORMAL_CLOSURE, "").get(10, TimeUnit.SECONDS);
  }

  @Test
  void theRoutesRequestHeaderOpsReachTheBackendOnTheUpgradeRequest() throws Exception {
    Collector c = open("ws", "/headers?q=1");
    c.ws.sendText("?headers", true).get(10, TimeUnit.SECONDS);
    JsonNode seen = JSON.readTree((String) c.next());
    assertThat(seen.get("path").asText()).isEqualTo("/headers?q=1");
    assertThat(header(seen, "x-route")).as("headers.request.set").containsExactly("echo");
    assertThat(header(seen, "x-drop")).as("headers.request.remove").isEmpty();
    assertThat(header(seen, "x-keep")).containsExactly("1");
    assertThat(header(seen, "upgrade")).as("the Upgrade header kept for the upgrade request")
        .containsExactly("websocket");
    assertThat(String.join(",", header(seen, "connection")).toLowerCase()).contains("upgrade");
    c.ws.sendClose(WebSocket.NORMAL_CLOSURE, "").get(10, TimeUnit.SECONDS);
  }

  @Test
  void theRoutesResponseHeaderOpsApplyToThe101() throws Exception {
    try (RawWebSocket raw = RawWebSocket.connect(http, 0)) {
      RawClient.Response r = raw.upgrade("ws.example", "/raw-101");
      assertThat(r).isNotNull();
      assertThat(r.status()).isEqualTo(101);
      String head = r.head().toLowerCase();
      assertThat(head).contains("\r\nupgrade: websocket\r\n").contains("\r\nx-backend: wsecho\r\n")
          .contains("\r\nx-route-response: echo\r\n").contains("\r\nsec-websocket-accept: ");
      raw.send(RawWebSocket.TEXT, "after the 101".getBytes(StandardCharsets.UTF_8));
      assertThat(raw.read(Duration.ofSeconds(10)).text()).isEqualTo("after the 101");
    }
  }

  @Test
  void theAccessLogHasOneLineForTheUpgradeWithStatus101() throws Exception {
    String path = "/logged-" + UUID.randomUUID();
    Collector c = open("ws", path);
    c.ws.sendText("logged", true).get(10, TimeUnit.SECONDS);
    assertThat(c.next()).isEqualTo("logged");
    c.ws.sendClose(WebSocket.NORMAL_CLOSURE, "").get(10, TimeUnit.SECONDS);
    assertThat(c.closed.get(10, TimeUnit.SECONDS)).isEqualTo("close 1000");
    List<JsonNode> lines = await().atMost(Duration.ofSeconds(10)).until(() -> Files.readAllLines(accessLog).stream()
        .map(WebSocketIT::json).filter(n -> n.path("path").asText().equals(path)).toList(), l -> !l.isEmpty());
    assertThat(lines).hasSize(1);
    JsonNode line = lines.get(0);
    assertThat(line.get("method").asText()).isEqualTo("GET");
    assertThat(line.get("response_code").asInt()).isEqualTo(101);
    assertThat(line.get("protocol").asText()).isEqualTo("HTTP/1.1");
    assertThat(line.get("route_name").asText()).isEqualTo("echo");
    assertThat(line.get("upstream_host").asText()).isEqualTo("127.0.0.1:" + echo.port());
  }

  @Test
  void anIdleWebSocketIsClosedAfterTheStreamIdleTimeoutWhileAnActiveOneIsNot() throws Exception {
    HttpClient client = HttpClient.newHttpClient();
    Collector idle = open(client, "ws://localhost:" + idleHttp + "/idle");
    Collector active = open(client, "ws://localhost:" + idleHttp + "/active");
    long start = System.nanoTime();
    Duration activeFor = STREAM_IDLE.multipliedBy(3);
    int sent = 0;
    while (Duration.ofNanos(System.nanoTime() - start).compareTo(activeFor) < 0 || !idle.closed.isDone()) {
      assertThat(Duration.ofNanos(System.nanoTime() - start)).as("the idle one is closed within 10 s")
          .isLessThan(Duration.ofSeconds(10));
      active.ws.sendText("still here " + sent, true).get(10, TimeUnit.SECONDS);
      assertThat(active.next()).isEqualTo("still here " + sent);
      sent++;
      Thread.sleep(250); // the active client's pace, not a wait for a condition: one message every 250 ms
    }
    long closedAfter = (idle.closedAt.get() == 0 ? System.nanoTime() : idle.closedAt.get()) - start;
    assertThat(Duration.ofNanos(closedAfter)).as("the idle one lived about the stream idle timeout")
        .isGreaterThan(STREAM_IDLE.minusMillis(500));
    assertThat(active.closed).as("the active one, " + sent + " messages over 3 stream idle timeouts").isNotDone();
    active.ws.sendClose(WebSocket.NORMAL_CLOSURE, "").get(10, TimeUnit.SECONDS);
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource({"403", "426"})
  void aBackendThatRefusesTheUpgradeHasItsAnswerRelayed(int status) throws Exception {
    try (RawWebSocket raw = RawWebSocket.connect(http, 0)) {
      RawClient.Response r = raw.upgrade("ws.example", "/refuse/" + status);
      assertThat(r).isNotNull();
      assertThat(r.status()).isEqualTo(status);
      assertThat(r.head().toLowerCase()).contains("\r\nx-refused-by: wsecho\r\n");
      assertThat(r.body()).isEqualTo("refused by the backend\n");
    }
  }

  @Test
  void aPlainRequestOnTheSameRouteIsStillServed() throws Exception {
    RawClient.Response r = RawClient.exchange(http, "GET /plain HTTP/1.1\r\nHost: ws.example\r\n\r\n");
    assertThat(r).isNotNull();
    assertThat(r.status()).isEqualTo(200);
    assertThat(r.body()).as("the backend got no Upgrade header").isEqualTo("plain /plain\n");
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource({"h2c", "tls"})
  void extendedConnectOverHttp2IsEchoedByTheHttp11Backend(String transport) throws Exception {
    List<String> events = transport.equals("tls")
        ? H2Probe.runTls(ca, "websocket", https, "localhost:" + https, "/h2-" + transport + "?q=1", 100)
        : H2Probe.run("websocket", http, "ws.example", "/h2-" + transport + "?q=1", 100);
    assertThat(events).as("SETTINGS_ENABLE_CONNECT_PROTOCOL").first().isEqualTo("connect-protocol 1");
    assertThat(events).contains("status 200", "echoed 100 text", "echoed binary 1048576", "close 1000");
    JsonNode seen = JSON.readTree(events.stream().filter(e -> e.startsWith("headers ")).findFirst().orElseThrow()
        .substring("headers ".length()));
    assertThat(seen.get("path").asText()).isEqualTo("/h2-" + transport + "?q=1");
    assertThat(header(seen, "upgrade")).as("an HTTP/1.1 upgrade upstream").containsExactly("websocket");
    assertThat(header(seen, "sec-websocket-version")).containsExactly("13");
    assertThat(header(seen, "x-route")).as("headers.request.set").containsExactly("echo");
    String path = "/h2-" + transport + "?q=1";
    List<JsonNode> lines = await().atMost(Duration.ofSeconds(10)).until(() -> Files.readAllLines(accessLog).stream()
        .map(WebSocketIT::json).filter(n -> n.path("path").asText().equals(path)).toList(), l -> !l.isEmpty());
    assertThat(lines).hasSize(1);
    assertThat(lines.get(0).get("protocol").asText()).isEqualTo("HTTP/2");
    assertThat(lines.get(0).get("response_code").asInt()).as("200 to the CONNECT (the backend's 101)").isIn(200, 101);
  }

  /**
   * A client that sends without reading the echoes: the gateway must stop reading from it once the echoes it cannot
   * deliver back up (the backend stops reading too), not buffer them. The sender stalls short of the whole transfer,
   * the gateway's buffer memory does not grow by more than a few MiB, a bystander is served meanwhile, and once the
   * client reads, every byte arrives intact.
   */
  @Test
  void aClientThatSendsWithoutReadingStallsInsteadOfGrowingTheGatewaysMemory() throws Exception {
    long total = 64L << 20;
    try (RawWebSocket raw = RawWebSocket.connect(http, 64 * 1024)) {
      assertThat(raw.upgrade("ws.example", "/backpressure").status()).isEqualTo(101);
      long before = nettyBufferMemory();
      Transfer t = new Transfer(raw, total);
      t.startWriting();
      long stalledAt = awaitStall(t.sent);
      long during = nettyBufferMemory();
      System.out.println("through the gateway: the sender stalled after " + stalledAt + " bytes; buffer memory "
          + before + " -> " + during + " bytes");
      assertThat(stalledAt).as("bytes sent before the sender stalled").isLessThan(total);
      assertThat(during - before).as("the gateway's buffer memory growth while stalled").isLessThan(16L << 20);
      bystander.awaitMore(3, Duration.ofSeconds(5));
      assertThat(bystander.failed()).as("bystander failures while stalled").isZero();
      t.startReading();
      t.await(Duration.ofSeconds(120));
      assertThat(t.received.get()).isEqualTo(total);
      assertThat(t.receivedCrc.getValue()).isEqualTo(t.sentCrc.getValue());
    }
  }

  /** Sends {@code mib} MiB to {@code port} without reading; returns how much went out before the sender stalled. */
  private static long sentBeforeStall(int port, int mib) throws Exception {
    try (RawWebSocket raw = RawWebSocket.connect(port, 64 * 1024)) {
      assertThat(raw.upgrade("127.0.0.1", "/stall").status()).isEqualTo(101);
      Transfer t = new Transfer(raw, (long) mib << 20);
      t.startWriting();
      long stalledAt = awaitStall(t.sent);
      System.out.println("port " + port + ": the sender stalled after " + stalledAt + " bytes");
      t.startReading();
      t.await(Duration.ofSeconds(120));
      return stalledAt;
    }
  }

  /** Waits until {@code sent} stops growing for a poll interval (1 s), at most 60 s; returns its value then. */
  private static long awaitStall(AtomicLong sent) {
    long[] last = {-1};
    await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofSeconds(1)).until(() -> {
      long now = sent.get();
      boolean same = now == last[0] && now > 0;
      last[0] = now;
      return same;
    });
    return last[0];
  }

  /** 64 KiB binary messages out on one thread, their echoes in on another once reading starts; CRCs of both. */
  private static final class Transfer {
    final RawWebSocket raw;
    final long total;
    final AtomicLong sent = new AtomicLong();
    final AtomicLong received = new AtomicLong();
    final CRC32 sentCrc = new CRC32();
    final CRC32 receivedCrc = new CRC32();
    final AtomicReference<Throwable> failure = new AtomicReference<>();
    final Thread writer;
    final Thread reader;

    Transfer(RawWebSocket raw, long total) {
      this.raw = raw;
      this.total = total;
      writer = new Thread(() -> {
        Random random = new Random(3);
        byte[] chunk = new byte[64 * 1024];
        try {
          while (sent.get() < total) {
            random.nextBytes(chunk);
            synchronized (sentCrc) {
              sentCrc.update(chunk);
            }
            raw.send(RawWebSocket.BINARY, chunk);
            sent.addAndGet(chunk.length);
          }
        } catch (Throwable e) {
          failure.compareAndSet(null, e);
        }
      }, "ws-writer");
      reader = new Thread(() -> {
        try {
          while (received.get() < total) {
            RawWebSocket.Message m = raw.read(Duration.ofSeconds(30));
            if (m.opcode() != RawWebSocket.BINARY) {
              throw new AssertionError("opcode " + m.opcode() + " after " + received.get() + " bytes");
            }
            receivedCrc.update(m.payload());
            received.addAndGet(m.payload().length);
          }
        } catch (Throwable e) {
          failure.compareAndSet(null, e);
        }
      }, "ws-reader");
      writer.setDaemon(true);
      reader.setDaemon(true);
    }

    void startWriting() {
      writer.start();
    }

    void startReading() {
      reader.start();
    }

    void await(Duration timeout) throws InterruptedException {
      long deadline = System.nanoTime() + timeout.toNanos();
      writer.join(Math.max(1, (deadline - System.nanoTime()) / 1_000_000));
      reader.join(Math.max(1, (deadline - System.nanoTime()) / 1_000_000));
      if (failure.get() != null) {
        throw new AssertionError("after " + sent.get() + " bytes sent and " + received.get() + " received",
            failure.get());
      }
      assertThat(writer.isAlive() || reader.isAlive()).as("the transfer finished within " + timeout).isFalse();
    }
  }

  /** The bytes Netty's default allocator holds (direct and heap), where it says; the gateway's buffers live there. */
  private static long nettyBufferMemory() {
    if (ByteBufAllocator.DEFAULT instanceof ByteBufAllocatorMetricProvider p) {
      ByteBufAllocatorMetric m = p.metric();
      return m.usedDirectMemory() + m.usedHeapMemory();
    }
    return io.netty.util.internal.PlatformDependent.usedDirectMemory();
  }

  private Collector open(String scheme, String path) throws Exception {
    return open(client(), scheme + "://localhost:" + (scheme.equals("wss") ? https : http) + path);
  }

  private static Collector open(HttpClient client, String uri) throws Exception {
    Collector c = new Collector();
    c.ws = client.newWebSocketBuilder().connectTimeout(Duration.ofSeconds(10)).header("x-keep", "1")
        .header("x-drop", "please").buildAsync(URI.create(uri), c).get(20, TimeUnit.SECONDS);
    return c;
  }

  private static HttpClient client() throws Exception {
    KeyStore ks = KeyStore.getInstance(KeyStore.getDefaultType());
    ks.load(null, null);
    try (var in = Files.newInputStream(ca)) {
      ks.setCertificateEntry("ca", CertificateFactory.getInstance("X.509").generateCertificate(in));
    }
    TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
    tmf.init(ks);
    SSLContext ssl = SSLContext.getInstance("TLS");
    ssl.init(null, tmf.getTrustManagers(), null);
    return HttpClient.newBuilder().sslContext(ssl).build();
  }

  /** The values of header {@code name} (any case) in the echo backend's {@code ?headers} answer. */
  private static List<String> header(JsonNode seen, String name) {
    List<String> values = new ArrayList<>();
    for (JsonNode h : seen.get("headers")) {
      if (h.get(0).asText().equalsIgnoreCase(name)) {
        values.add(h.get(1).asText());
      }
    }
    return values;
  }

  private static JsonNode json(String s) {
    try {
      return JSON.readTree(s);
    } catch (IOException e) {
      throw new IllegalStateException(s, e);
    }
  }

  /** A {@code java.net.http.WebSocket} listener that queues whole messages (String or byte[]) and the close. */
  private static final class Collector implements WebSocket.Listener {
    final BlockingQueue<Object> messages = new LinkedBlockingQueue<>();
    final CompletableFuture<String> closed = new CompletableFuture<>();
    final AtomicLong closedAt = new AtomicLong();
    WebSocket ws;
    private StringBuilder text = new StringBuilder();
    private ByteArrayOutputStream binary = new ByteArrayOutputStream();

    @Override
    public void onOpen(WebSocket webSocket) {
      webSocket.request(1);
    }

    @Override
    public CompletionStage<?> onText(WebSocket webSocket, CharSequence data, boolean last) {
      text.append(data);
      if (last) {
        messages.add(text.toString());
        text = new StringBuilder();
      }
      webSocket.request(1);
      return null;
    }

    @Override
    public CompletionStage<?> onBinary(WebSocket webSocket, ByteBuffer data, boolean last) {
      byte[] b = new byte[data.remaining()];
      data.get(b);
      binary.write(b, 0, b.length);
      if (last) {
        messages.add(binary.toByteArray());
        binary = new ByteArrayOutputStream();
      }
      webSocket.request(1);
      return null;
    }

    @Override
    public CompletionStage<?> onClose(WebSocket webSocket, int statusCode, String reason) {
      closedAt.compareAndSet(0, System.nanoTime());
      closed.complete("close " + statusCode);
      return null;
    }

    @Override
    public void onError(WebSocket webSocket, Throwable error) {
      closedAt.compareAndSet(0, System.nanoTime());
      closed.complete("error " + error);
    }

    Object next() throws InterruptedException {
      return next(Duration.ofSeconds(10));
    }

    Object next(Duration timeout) throws InterruptedException {
      Object m = messages.poll(timeout.toMillis(), TimeUnit.MILLISECONDS);
      if (m == null) {
        throw new AssertionError("no message within " + timeout + "; "
            + (closed.isDone() ? closed.join() : "still open"));
      }
      return m;
    }
  }
}
