package io.portcullis.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.portcullis.Portcullis;
import io.portcullis.proxy.AccessLog;
import io.portcullis.proxy.Transport;
import io.portcullis.testing.Gateways;
import io.portcullis.testing.H2Server;
import io.portcullis.testing.Ports;
import io.portcullis.testing.Proc;
import io.portcullis.testing.RecordingBackend;
import io.portcullis.testing.StatusBackend;
import java.io.FileOutputStream;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * DestinationRule {@code connectionPool} through the real gateway to real backends: {@code http2MaxRequests}
 * (503 {@code UO} over it), {@code maxRetries} (retries beyond it are not made), {@code maxRequestsPerConnection}
 * and {@code idleTimeout} of the upstream connections, {@code tcp.maxConnections} with
 * {@code http1MaxPendingRequests} (requests wait for the connection; beyond the pending limit 503 {@code UO}),
 * {@code tcp.connectTimeout} (an upstream whose accept queue is full never answers the SYN), {@code tcpKeepalive}
 * (the kernel's keepalive timer on the upstream socket, as {@code ss} shows it) and {@code useClientProtocol}, each
 * against a cluster without the setting.
 */
class ConnectionPoolIT {
  @TempDir
  static Path tmp;
  static Portcullis gateway;
  static Path accessLog;
  static int port;
  static RecordingBackend limited;
  static RecordingBackend unlimited;
  static RecordingBackend idle;
  static StatusBackend slow;
  static StatusBackend failing;
  static StatusBackend queued;
  static RecordingBackend keepalive;
  /** Its DestinationRule is rewritten by a test (its own file): connections under the old setting must go. */
  static RecordingBackend changing;
  static Path configDir;
  static H2Server both;
  /** Listens with a backlog of 1 and never accepts: once two connections fill its queue, SYNs go unanswered. */
  static java.net.ServerSocket blackhole;
  static final List<java.net.Socket> fillers = new ArrayList<>();
  /** Accepts connections and never writes a byte: a TLS handshake to it never completes. */
  static java.net.ServerSocket silent;
  static final List<java.net.Socket> accepted = java.util.Collections.synchronizedList(new ArrayList<>());

  @BeforeAll
  static void start() throws Exception {
    limited = new RecordingBackend();
    unlimited = new RecordingBackend();
    idle = new RecordingBackend();
    slow = new StatusBackend("slow").delayMillis(1500);
    failing = new StatusBackend("failing").status(503).delayMillis(1000);
    queued = new StatusBackend("queued").delayMillis(1000);
    keepalive = new RecordingBackend();
    changing = new RecordingBackend();
    both = H2Server.start("both");
    blackhole = new java.net.ServerSocket(0, 1, java.net.InetAddress.getByName("127.0.0.1"));
    for (int i = 0; i < 2; i++) {
      fillers.add(new java.net.Socket("127.0.0.1", blackhole.getLocalPort()));
    }
    silent = new java.net.ServerSocket(0, 50, java.net.InetAddress.getByName("127.0.0.1"));
    Thread acceptor = new Thread(() -> {
      try {
        while (true) {
          accepted.add(silent.accept());
        }
      } catch (java.io.IOException closed) {
        // the test is over
      }
    }, "silent-acceptor");
    acceptor.setDaemon(true);
    acceptor.start();
    port = Ports.free();
    StringBuilder config = new StringBuilder(Gateways.plainGateway(port)).append("""
        ---
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata: {name: pool}
        spec:
          hosts: ["*"]
          gateways: [gw]
          http:
          - match: [{uri: {prefix: /limited}}]
            route: [{destination: {host: limited.svc, port: {number: 80}}}]
          - match: [{uri: {prefix: /unlimited}}]
            route: [{destination: {host: unlimited.svc, port: {number: 80}}}]
          - match: [{uri: {prefix: /idle}}]
            route: [{destination: {host: idle.svc, port: {number: 80}}}]
          - match: [{uri: {prefix: /slow}}]
            route: [{destination: {host: slow.svc, port: {number: 80}}}]
          - match: [{uri: {prefix: /failing}}]
            retries: {attempts: 2, retryOn: 5xx}
            route: [{destination: {host: failing.svc, port: {number: 80}}}]
          - match: [{uri: {prefix: /queued}}]
            route: [{destination: {host: queued.svc, port: {number: 80}}}]
          - match: [{uri: {prefix: /silent}}]
            route: [{destination: {host: silent.svc, port: {number: 80}}}]
          - match: [{uri: {prefix: /blackhole}}]
            route: [{destination: {host: blackhole.svc, port: {number: 80}}}]
          - match: [{uri: {prefix: /changing}}]
            route: [{destination: {host: changing.svc, port: {number: 80}}}]
          - match: [{uri: {prefix: /keepalive}}]
            route: [{destination: {host: keepalive.svc, port: {number: 80}}}]
          - match: [{uri: {prefix: /both-default}}]
            route: [{destination: {host: both-default.svc, port: {number: 80}}}]
          - match: [{uri: {prefix: /both}}]
            route: [{destination: {host: both.svc, port: {number: 80}}}]
        """);
    for (Object[] s : new Object[][] {{"limited", limited.port(), "http: {maxRequestsPerConnection: 2}"},
        {"unlimited", unlimited.port(), null}, {"idle", idle.port(), "http: {idleTimeout: 1s}"},
        {"slow", slow.port(), "http: {http2MaxRequests: 1}"}, {"failing", failing.port(), "http: {maxRetries: 1}"},
        {"queued", queued.port(), "tcp: {maxConnections: 1}, http: {http1MaxPendingRequests: 1}"},
        {"blackhole", blackhole.getLocalPort(), "tcp: {connectTimeout: 500ms}"},
        {"silent", silent.getLocalPort(), "tcp: {connectTimeout: 500ms}}, tls: {mode: SIMPLE, insecureSkipVerify: true"},
        {"keepalive", keepalive.port(), "tcp: {tcpKeepalive: {time: 7s, interval: 3s, probes: 4}}"},
        {"both", both.port("both"), "http: {useClientProtocol: true}"}, {"both-default", both.port("both"), null},
        {"changing", changing.port(), null}}) {
      config.append("---\n").append(Gateways.staticService((String) s[0], s[0] + ".svc", (Integer) s[1]));
      if (s[2] != null) {
        config.append("""
            ---
            apiVersion: networking.istio.io/v1
            kind: DestinationRule
            metadata: {name: %s}
            spec:
              host: %s.svc
              trafficPolicy: {connectionPool: {%s}}
            """.formatted(s[0], s[0], s[2]));
      }
    }
    Path dir = Files.createDirectories(tmp.resolve("config"));
    configDir = dir;
    Files.writeString(dir.resolve("config.yaml"), config.toString());
    Files.writeString(dir.resolve("changing.yaml"), changingRule("maxRequestsPerConnection: 100"));
    accessLog = tmp.resolve("access.log");
    gateway = Portcullis.start(new Portcullis.Options(List.of(dir), "default", 0, "127.0.0.1",
        new InetSocketAddress("127.0.0.1", 0), new AccessLog(new FileOutputStream(accessLog.toFile())), 1,
        Transport.AUTO, tmp.resolve("state"), Duration.ofSeconds(1)));
    await().atMost(Duration.ofSeconds(10)).until(() -> gateway.ready() && Ports.listening(port));
    assertThat(new com.fasterxml.jackson.databind.ObjectMapper().readTree(Gateways.admin(gateway, "GET",
        "/config_dump")).path("problems").toString()).as("every connectionPool field used here is applied")
        .doesNotContain("connectionPool");
  }

  @AfterAll
  static void stop() throws Exception {
    if (gateway != null) {
      gateway.close();
    }
    for (AutoCloseable c : List.of(limited, unlimited, idle, slow, failing, queued, keepalive, both, blackhole,
        changing)) {
      c.close();
    }
    silent.close();
    for (java.net.Socket f : fillers) {
      f.close();
    }
    for (java.net.Socket a : accepted) {
      a.close();
    }
  }

  /** Runs one curl with {@code urls} (paths), sequential on one connection or in parallel; returns the statuses. */
  private static List<Integer> curl(boolean parallel, String... paths) throws Exception {
    List<String> cmd = new ArrayList<>(List.of("curl", "-sS", "--max-time", "30", "-w", "|%{http_code}\\n"));
    if (parallel) {
      cmd.addAll(List.of("-Z", "--parallel-immediate", "--parallel-max", String.valueOf(paths.length)));
    }
    for (String p : paths) {
      cmd.add("http://127.0.0.1:" + port + p);
    }
    Proc.Result r = Proc.run(60, cmd.toArray(String[]::new));
    assertThat(r.exitCode()).as(r.stderr()).isZero();
    List<Integer> statuses = new ArrayList<>();
    java.util.regex.Matcher m = java.util.regex.Pattern.compile("\\|(\\d{3})\n").matcher(r.stdout());
    while (m.find()) {
      statuses.add(Integer.parseInt(m.group(1)));
    }
    assertThat(statuses).as(r.stdout()).hasSize(paths.length);
    return statuses;
  }

  @Test
  void maxRequestsPerConnectionOpensAFreshUpstreamConnectionAfterThatMany() throws Exception {
    assertThat(curl(false, "/limited/1", "/limited/2", "/limited/3", "/limited/4")).containsOnly(200);
    assertThat(curl(false, "/unlimited/1", "/unlimited/2", "/unlimited/3", "/unlimited/4")).containsOnly(200);

    assertThat(limited.connections()).as("2 requests per upstream connection").isEqualTo(2);
    assertThat(unlimited.connections()).as("keep-alive without the setting").isEqualTo(1);
  }

  @Test
  void idleTimeoutClosesAnUnusedUpstreamConnection() throws Exception {
    assertThat(curl(false, "/idle/1", "/unlimited/idle")).containsOnly(200);
    await().atMost(Duration.ofSeconds(10)).until(() -> idle.openConnections() == 0);
    assertThat(unlimited.openConnections()).as("the gateway's default idle timeout is an hour").isEqualTo(1);
  }

  @Test
  void http2MaxRequestsAnswersTheRequestOverItWith503Uo() throws Exception {
    List<Integer> statuses = curl(true, "/slow/a", "/slow/b");

    assertThat(statuses).containsExactlyInAnyOrder(200, 503);
    assertThat(slow.requests()).as("the refused request never reached the backend").isEqualTo(1);
    await().atMost(Duration.ofSeconds(5)).until(() -> Files.readString(accessLog).contains("/slow/b")
        && Files.readString(accessLog).contains("/slow/a"));
    assertThat(Files.readAllLines(accessLog)).filteredOn(l -> l.contains("\"/slow/"))
        .anySatisfy(l -> assertThat(l).contains("\"response_code\":503").contains("\"response_flags\":\"UO\""));
  }

  @Test
  void maxRetriesLimitsTheRetriesInFlightForTheWholeCluster() throws Exception {
    // Both requests fail at about the same time; only one may hold the cluster's single retry slot, so one is
    // retried twice (3 attempts) and the other answered after its first: 4 requests reach the backend, not 6.
    List<Integer> statuses = curl(true, "/failing/a", "/failing/b");

    assertThat(statuses).containsOnly(503);
    assertThat(failing.requests()).isEqualTo(4);
    assertThat(gateway.stats().get("upstream_rq_retry_overflow")).isEqualTo(1);
  }

  @Test
  void maxConnectionsMakesRequestsWaitAndPendingOverflowAnswers503Uo() throws Exception {
    long cxOverflow = gateway.stats().get("upstream_cx_overflow");
    long pendingOverflow = gateway.stats().get("upstream_rq_pending_overflow");
    // One connection to the backend (1 s per request): the first request has it, the second waits for it (the one
    // pending request allowed), the third finds the queue full.
    List<Integer> statuses = curl(true, "/queued/a", "/queued/b", "/queued/c");

    assertThat(statuses).containsExactlyInAnyOrder(200, 200, 503);
    assertThat(queued.requests()).as("the refused request never reached the backend").isEqualTo(2);
    assertThat(gateway.stats().get("upstream_cx_overflow") - cxOverflow).as("requests that met the limit")
        .isEqualTo(2);
    assertThat(gateway.stats().get("upstream_rq_pending_overflow") - pendingOverflow).isEqualTo(1);
    await().atMost(Duration.ofSeconds(5)).until(() -> Files.readString(accessLog).contains("/queued/c")
        || Files.readString(accessLog).contains("/queued/b"));
    assertThat(Files.readAllLines(accessLog)).filteredOn(l -> l.contains("\"/queued/"))
        .anySatisfy(l -> assertThat(l).contains("\"response_code\":503").contains("\"response_flags\":\"UO\""));
  }

  @Test
  void connectTimeoutGivesUpOnAnUpstreamThatNeverAnswers() throws Exception {
    long timeouts = gateway.stats().get("upstream_cx_connect_timeout");
    long start = System.nanoTime();
    Proc.Result r = Proc.run(30, "curl", "-sS", "--max-time", "20", "-w", "|%{http_code}",
        "http://127.0.0.1:" + port + "/blackhole");
    long tookMs = (System.nanoTime() - start) / 1_000_000;

    assertThat(r.stdout()).endsWith("|503").contains("reset reason: connection timeout");
    assertThat(tookMs).as("500 ms, not the default 10 s").isLessThan(5000);
    // Istio's default retry policy (2 retries on connect-failure) makes three attempts, each timed out at 500 ms
    assertThat(gateway.stats().get("upstream_cx_connect_timeout") - timeouts).isEqualTo(3);
  }

  @Test
  void connectTimeoutBoundsTheTlsHandshakeToo() throws Exception {
    // As Envoy's connect_timeout: the connection is up once TLS is. The upstream accepts and never answers.
    long start = System.nanoTime();
    Proc.Result r = Proc.run(30, "curl", "-sS", "--max-time", "25", "-w", "|%{http_code}",
        "http://127.0.0.1:" + port + "/silent");
    long tookMs = (System.nanoTime() - start) / 1_000_000;

    assertThat(r.stdout()).endsWith("|503");
    assertThat(tookMs).as("three attempts of 500 ms, not Netty's 10 s handshake timeout each").isLessThan(8000);
    assertThat(accepted).as("the TCP connects succeeded").isNotEmpty();
  }

  private static String changingRule(String http) {
    return """
        apiVersion: networking.istio.io/v1
        kind: DestinationRule
        metadata: {name: changing}
        spec:
          host: changing.svc
          trafficPolicy: {connectionPool: {http: {%s}}}
        """.formatted(http);
  }

  @Test
  void connectionsMadeUnderAChangedSettingAreClosed() throws Exception {
    assertThat(curl(false, "/changing/1")).containsOnly(200);
    assertThat(changing.openConnections()).as("pooled after the request").isEqualTo(1);
    long before = gateway.generation();

    Files.writeString(configDir.resolve("changing.yaml"), changingRule("maxRequestsPerConnection: 50"));

    await().atMost(Duration.ofSeconds(10)).until(() -> gateway.generation() > before);
    await("the connection made under the old setting is closed").atMost(Duration.ofSeconds(10))
        .until(() -> changing.openConnections() == 0);
    assertThat(curl(false, "/changing/2")).containsOnly(200);
    assertThat(changing.connections()).as("a new one under the new setting").isEqualTo(2);
  }

  @Test
  void tcpKeepaliveArmsTheKernelsKeepaliveTimerOnUpstreamSockets() throws Exception {
    assertThat(curl(false, "/keepalive/1", "/unlimited/keepalive")).containsOnly(200);

    assertThat(upstreamSocket(keepalive.port())).as("TCP_KEEPIDLE 7 s")
        .containsPattern("timer:\\(keepalive,[0-7]\\.");
    assertThat(upstreamSocket(unlimited.port())).as("no keepalive without the setting")
        .contains(":" + unlimited.port())
        .doesNotContain("keepalive");
  }

  /** Returns what {@code ss} shows (with timers) of the gateway's established connection to {@code backendPort}. */
  private static String upstreamSocket(int backendPort) throws Exception {
    Proc.Result r = Proc.run(10, "ss", "-tno", "state", "established", "dst", "127.0.0.1:" + backendPort);
    assertThat(r.exitCode()).as(r.stderr()).isZero();
    return r.stdout();
  }

  @Test
  void useClientProtocolSpeaksToTheUpstreamAsTheClientSpoke() throws Exception {
    assertThat(curlBody("--http2-prior-knowledge", "/both/a")).isEqualTo("h2 GET /both/a\n");
    assertThat(curlBody("--http1.1", "/both/b")).isEqualTo("h1 GET /both/b\n");
    assertThat(curlBody("--http2-prior-knowledge", "/both-default/c")).as("the port's protocol without the setting")
        .isEqualTo("h1 GET /both-default/c\n");
  }

  private static String curlBody(String protocol, String path) throws Exception {
    Proc.Result r = Proc.run(30, "curl", "-sS", "--max-time", "20", protocol, "http://127.0.0.1:" + port + path);
    assertThat(r.exitCode()).as(r.stderr()).isZero();
    return r.stdout();
  }
}
