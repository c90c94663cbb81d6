package io.portcullis.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.portcullis.Portcullis;
import io.portcullis.proxy.ProxyLimits;
import io.portcullis.testing.Bystander;
import io.portcullis.testing.DevSecret;
import io.portcullis.testing.Gateways;
import io.portcullis.testing.H2Probe;
import io.portcullis.testing.Ports;
import io.portcullis.testing.RawClient;
import io.portcullis.testing.RecordingBackend;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 12, finding 1 and 4: clients that hold connections without finishing what they started are cut off by the
 * timeouts (short ones here: 1 s for the listener filters, request headers and stream idle, 2 s idle), and a
 * connection over {@code --max-connections} is closed at once; meanwhile a {@link Bystander} on its own connection
 * gets every answer.
 */
class TimeoutsIT {
  static final ProxyLimits LIMITS = new ProxyLimits(Duration.ofMillis(1500), Duration.ofSeconds(1),
      Duration.ofSeconds(2), Duration.ofSeconds(1), 40, 60, 100, Duration.ofSeconds(1));
  @TempDir static Path tmp;
  static RecordingBackend backend;
  static RecordingBackend pooled;
  /** Bound, never accepting: the kernel completes connects, nothing ever answers. */
  static ServerSocket silent;
  /** Sends back every byte it gets: the backend of a PASSTHROUGH server. */
  static ServerSocket echo;
  static int pass;
  static Portcullis gateway;
  static int http;
  static int https;
  Bystander bystander;

  @BeforeAll
  static void start() throws Exception {
    backend = new RecordingBackend();
    pooled = new RecordingBackend();
    silent = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
    echo = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
    Thread echoing = new Thread(() -> {
      while (!echo.isClosed()) {
        try {
          Socket s = echo.accept();
          Thread t = new Thread(() -> {
            try (s) {
              s.getInputStream().transferTo(s.getOutputStream());
            } catch (IOException e) {
              // the relay closed
            }
          });
          t.setDaemon(true);
          t.start();
        } catch (IOException e) {
          return;
        }
      }
    }, "echo");
    echoing.setDaemon(true);
    echoing.start();
    pass = Ports.free();
    http = Ports.free();
    https = Ports.free();
    DevSecret.write(tmp.resolve("dev"), tmp.resolve("secret.yaml"));
    Files.writeString(tmp.resolve("config.yaml"), """
        apiVersion: networking.istio.io/v1
        kind: Gateway
        metadata: {name: gw}
        spec:
          servers:
          - port: {number: %1$d, name: http, protocol: HTTP}
            hosts: ["*"]
          - port: {number: %2$d, name: https, protocol: HTTPS}
            tls: {mode: SIMPLE, credentialName: localhost-credential}
            hosts: ["*"]
          - port: {number: %3$d, name: tls-pass, protocol: TLS}
            tls: {mode: PASSTHROUGH}
            hosts: [pass.example]
        ---
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata: {name: pass}
        spec:
          hosts: [pass.example]
          gateways: [gw]
          tls:
          - match: [{sniHosts: [pass.example]}]
            route: [{destination: {host: echo.internal, port: {number: 80}}}]
        ---
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata: {name: rec}
        spec:
          hosts: ["*"]
          gateways: [gw]
          http:
          - match: [{authority: {exact: pool.example}}]
            route: [{destination: {host: pooled.internal, port: {number: 80}}}]
          - match: [{authority: {exact: silent.example}}]
            route: [{destination: {host: silent.internal, port: {number: 80}}}]
          - route: [{destination: {host: rec.internal, port: {number: 80}}}]
        ---
        """.formatted(http, https, pass) + Gateways.staticService("echo", "echo.internal", echo.getLocalPort())
        + "---\n" + Gateways.staticService("rec", "rec.internal", backend.port()) + "---\n"
        + Gateways.staticService("pooled", "pooled.internal", pooled.port()) + "---\n"
        + Gateways.staticService("silent", "silent.internal", silent.getLocalPort()));
    gateway = Gateways.start(tmp, tmp.resolve("state"), LIMITS);
    await().atMost(Duration.ofSeconds(10)).until(() -> Ports.listening(http) && Ports.listening(https));
  }

  @AfterAll
  static void stop() throws IOException {
    if (gateway != null) {
      gateway.close();
    }
    backend.close();
    pooled.close();
    silent.close();
    echo.close();
  }

  @BeforeEach
  void bystander() throws IOException {
    bystander = new Bystander(http, "bystander.example", "/bystander", 200);
  }

  @AfterEach
  void bystanderWasServedThroughout() {
    bystander.assertServedThroughout();
  }

  @Test
  void connectionsThatNeverSendAClientHelloOrARequestLineAreClosedAfterTheListenerFiltersTimeout() throws Exception {
    List<RawClient> silent = new ArrayList<>();
    try {
      for (int i = 0; i < 15; i++) {
        silent.add(RawClient.connect(https));
        silent.add(RawClient.connect(http));
      }
      long start = System.nanoTime();
      for (RawClient c : silent) {
        assertThat(c.closedWithin(Duration.ofSeconds(5))).isTrue();
      }
      assertThat(Duration.ofNanos(System.nanoTime() - start)).isGreaterThan(Duration.ofMillis(1000));
    } finally {
      for (RawClient c : silent) {
        c.close();
      }
    }
    assertThat(gateway.stats().get("listener." + https + ".downstream_pre_cx_timeout")).isGreaterThanOrEqualTo(15);
    assertThat(gateway.stats().get("listener." + http + ".downstream_pre_cx_timeout")).isGreaterThanOrEqualTo(15);
  }

  @Test
  void requestHeadersSentOneByteAtATimeGet408AndTheRequestIsNeverForwarded() throws Exception {
    try (RawClient c = RawClient.connect(http)) {
      c.send("GET /slowloris HTTP/1.1\r\nHost: a.example\r\n");
      Thread dribble = new Thread(() -> {
        try {
          for (int i = 0; i < 30; i++) {
            c.send("x");
            Thread.sleep(200);
          }
        } catch (Exception e) {
          // closed by the gateway: the point
        }
      });
      dribble.start();
      long start = System.nanoTime();
      RawClient.Response r = c.readResponse(Duration.ofSeconds(5));
      assertThat(r).isNotNull();
      assertThat(r.status()).isEqualTo(408);
      assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(4));
      assertThat(c.closedWithin(Duration.ofSeconds(2))).isTrue();
      dribble.join();
    }
    assertThat(backend.received()).noneMatch(r -> r.requestLine().contains("/slowloris"));
    assertThat(gateway.stats().get("downstream_rq_header_timeout")).isGreaterThanOrEqualTo(1);
  }

  @Test
  void anIdleKeepAliveConnectionIsClosedAfterTheIdleTimeout() throws Exception {
    try (RawClient c = RawClient.connect(http)) {
      assertThat(c.send("GET /idle HTTP/1.1\r\nHost: a.example\r\n\r\n").readResponse(Duration.ofSeconds(5)).status())
          .isEqualTo(200);
      long start = System.nanoTime();
      assertThat(c.closedWithin(Duration.ofSeconds(6))).isTrue();
      assertThat(Duration.ofNanos(System.nanoTime() - start)).isGreaterThan(Duration.ofMillis(1500));
    }
    assertThat(gateway.stats().get("downstream_cx_idle_timeout")).isGreaterThanOrEqualTo(1);
  }

  @Test
  void anIdleHttp2ConnectionGetsAGoawayAfterTheIdleTimeout() throws Exception {
    assertThat(H2Probe.run("idle", http, "a.example", "/h2-idle", 6)).containsExactly("status 200", "goaway 0");
  }

  @Test
  void aRequestBodyThatStopsComingIsEndedByTheStreamIdleTimeout() throws Exception {
    try (RawClient c = RawClient.connect(http)) {
      c.send("POST /slow-body HTTP/1.1\r\nHost: silent.example\r\nContent-Length: 100\r\n\r\n0123456789");
      RawClient.Response r = c.readResponse(Duration.ofSeconds(5));
      assertThat(r).isNotNull();
      assertThat(r.status()).isEqualTo(408);
      assertThat(c.closedWithin(Duration.ofSeconds(2))).isTrue();
    }
    assertThat(H2Probe.run("slow-body", http, "silent.example", "/h2-slow-body", 5)).first().isIn("status 408",
        "reset 8");
    assertThat(gateway.stats().get("downstream_rq_idle_timeout")).isGreaterThanOrEqualTo(2);
  }

  @Test
  void aConnectionBeyondMaxConnectionsIsClosedAtOnceWhileTheOpenOnesAreServed() throws Exception {
    List<RawClient> open = new ArrayList<>();
    try {
      // The bystander holds one of the 40.
      for (int i = 0; i < LIMITS.maxConnections() - 1; i++) {
        open.add(RawClient.connect(http));
      }
      await().atMost(Duration.ofSeconds(1)).until(() -> openConnections() >= LIMITS.maxConnections());
      // Closed at once: well before the listener filters timeout would close a silent connection.
      try (RawClient over = RawClient.connect(http)) {
        assertThat(over.closedWithin(Duration.ofMillis(1000))).isTrue();
      }
      // Meanwhile the bystander, one of the 40, is served (checked after each test).
    } finally {
      for (RawClient c : open) {
        c.close();
      }
    }
    assertThat(gateway.stats().get("listener." + http + ".downstream_cx_overflow")).isGreaterThanOrEqualTo(1);
    await().atMost(Duration.ofSeconds(3)).until(() -> openConnections() < LIMITS.maxConnections());
    try (RawClient after = RawClient.connect(http)) {
      assertThat(after.send("GET /after HTTP/1.1\r\nHost: a.example\r\n\r\n").readResponse(Duration.ofSeconds(5))
          .status()).isEqualTo(200);
    }
  }

  @Test
  void aPooledUpstreamConnectionIsClosedAfterTheUpstreamIdleTimeout() throws Exception {
    assertThat(RawClient.exchange(http, "GET /pooled HTTP/1.1\r\nHost: pool.example\r\n\r\n")
        .status()).isEqualTo(200);
    await().atMost(Duration.ofSeconds(3)).until(() -> pooled.openConnections() == 1);
    await().atMost(Duration.ofSeconds(4)).until(() -> pooled.openConnections() == 0);
    assertThat(gateway.stats().get("upstream_cx_idle_timeout")).isGreaterThanOrEqualTo(1);
  }

  @Test
  void aPassthroughRelayIsClosedOnlyWhenNoByteMovedForTheIdleTimeout() throws Exception {
    byte[] hello = RawClient.clientHello("pass.example");
    try (RawClient c = RawClient.connect(pass)) {
      c.send(hello);
      assertThat(c.readBytes(hello.length, Duration.ofSeconds(5))).isEqualTo(hello);
      long end = System.nanoTime() + Duration.ofMillis(3500).toNanos(); // longer than the 2 s idle timeout
      while (System.nanoTime() < end) {
        Thread.sleep(400);
        assertThat(new String(c.send("still here").readBytes(10, Duration.ofSeconds(2)))).isEqualTo("still here");
      }
      long quiet = System.nanoTime();
      assertThat(c.closedWithin(Duration.ofSeconds(5))).isTrue();
      assertThat(Duration.ofNanos(System.nanoTime() - quiet)).isGreaterThan(Duration.ofMillis(1500));
    }
  }

  private static int openConnections() throws Exception {
    String dump = Gateways.admin(gateway, "GET", "/config_dump");
    int i = dump.indexOf("\"port\" : " + http + ",");
    int j = dump.indexOf("\"open_connections\" : ", i) + "\"open_connections\" : ".length();
    return Integer.parseInt(dump.substring(j, dump.indexOf(',', j)).trim());
  }
}
