package io.portcullis.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.portcullis.Portcullis;
import io.portcullis.proxy.AccessLog;
import io.portcullis.proxy.Transport;
import io.portcullis.testing.Gateways;
import io.portcullis.testing.H2Server;
import io.portcullis.testing.Ports;
import io.portcullis.testing.Proc;
import java.io.FileOutputStream;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 14: DestinationRule {@code connectionPool} on HTTP/2 upstream connections, through the real gateway (one
 * event loop) to python3-h2 upstreams ({@link H2Server}, ServiceEntry ports with {@code protocol: HTTP2}), each
 * against a cluster without the setting: {@code maxRequestsPerConnection} (a new upstream connection every N
 * requests), {@code idleTimeout} (an unused connection closed with GOAWAY), {@code tcp.maxConnections} with more
 * streams than the upstream's {@code SETTINGS_MAX_CONCURRENT_STREAMS} (the requests wait for one connection) and
 * {@code http1MaxPendingRequests} (those beyond it get 503 {@code UO}), and {@code tcp.connectTimeout} against a
 * listener whose accept queue is full (503 {@code UF} in that time).
 */
class Http2ConnectionPoolIT {
  static final ObjectMapper JSON = new ObjectMapper();
  /** Listeners: {@code ok} answers at once; {@code streams-2} allows 2 streams at once and answers after 500 ms. */
  static final String PERCONN = "ok/perconn";
  static final String PLAIN = "ok/plain";
  static final String IDLE = "ok/idle";
  static final String CAPPED = "streams-2/capped";
  static final String UNCAPPED = "streams-2/uncapped";
  static final String PENDING = "streams-2/pending";
  @TempDir static Path tmp;
  static H2Server h2;
  static ServerSocket blackhole;
  static final List<Socket> fillers = new ArrayList<>();
  static Portcullis gateway;
  static Path accessLog;
  static int port;

  @BeforeAll
  static void start() throws Exception {
    h2 = H2Server.start(PERCONN, PLAIN, IDLE, CAPPED, UNCAPPED, PENDING);
    blackhole = blackhole();
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
        """);
    int hole = blackhole.getLocalPort();
    String[][] clusters = { // name, upstream port, the DestinationRule's connectionPool or null
        {"perconn", String.valueOf(h2.port(PERCONN)), "http: {maxRequestsPerConnection: 2}"},
        {"plain", String.valueOf(h2.port(PLAIN)), null},
        {"idle", String.valueOf(h2.port(IDLE)), "http: {idleTimeout: 1s}"},
        {"capped", String.valueOf(h2.port(CAPPED)), "tcp: {maxConnections: 1}"},
        {"uncapped", String.valueOf(h2.port(UNCAPPED)), null},
        {"pending", String.valueOf(h2.port(PENDING)), "tcp: {maxConnections: 1}, http: {http1MaxPendingRequests: 1}"},
        {"timeout", String.valueOf(hole), "tcp: {connectTimeout: 300ms}"},
        {"notimeout", String.valueOf(hole), null}};
    for (String[] c : clusters) {
      config.append("""
            - match: [{uri: {prefix: /%1$s/}}]
              retries: {attempts: 0}
              route: [{destination: {host: %1$s.internal, port: {number: 80}}}]
          """.formatted(c[0]));
    }
    for (String[] c : clusters) {
      config.append("---\n").append(Gateways.staticService(c[0], c[0] + ".internal", Integer.parseInt(c[1]),
          "HTTP2"));
      if (c[2] != null) {
        config.append("""
            ---
            apiVersion: networking.istio.io/v1
            kind: DestinationRule
            metadata: {name: %1$s}
            spec:
              host: %1$s.internal
              trafficPolicy: {connectionPool: {%2$s}}
            """.formatted(c[0], c[2]));
      }
    }
    Path dir = Files.createDirectories(tmp.resolve("config"));
    Files.writeString(dir.resolve("config.yaml"), config.toString());
    accessLog = tmp.resolve("access.log");
    gateway = Portcullis.start(new Portcullis.Options(List.of(dir), "default", 0, "127.0.0.1",
        new InetSocketAddress("127.0.0.1", 0), new AccessLog(new FileOutputStream(accessLog.toFile())), 1,
        Transport.AUTO, tmp.resolve("state"), Duration.ofSeconds(1)));
    await().atMost(Duration.ofSeconds(10)).until(() -> gateway.ready() && Ports.listening(port));
    JsonNode problems = JSON.readTree(Gateways.admin(gateway, "GET", "/config_dump")).path("problems");
    System.out.println("problems: " + problems);
    assertThat(problems.toString()).as("no DestinationRule left out").doesNotContain("\"ERROR\"")
        .as("every connectionPool field used here is applied").doesNotContain("connectionPool");
  }

  @AfterAll
  static void stop() throws IOException {
    if (gateway != null) {
      gateway.close();
    }
    for (Socket s : fillers) {
      s.close();
    }
    if (blackhole != null) {
      blackhole.close();
    }
    if (h2 != null) {
      System.out.println("h2server.py:\n" + h2.output()); // kept in the Failsafe report
      h2.close();
    }
  }

  @Test
  void maxRequestsPerConnectionOpensANewUpstreamConnectionEveryTwoRequests() throws Exception {
    long maxRequests = gateway.stats().get("upstream_cx_max_requests");
    assertThat(curl("/perconn/1", "/perconn/2", "/perconn/3", "/perconn/4", "/perconn/5", "/perconn/6"))
        .containsOnly(200);
    assertThat(curl("/plain/1", "/plain/2", "/plain/3", "/plain/4", "/plain/5", "/plain/6")).containsOnly(200);

    assertThat(h2.count(PERCONN, "connection accepted")).as("upstream connections for 6 requests").isEqualTo(3);
    // each is closed gracefully (GOAWAY NO_ERROR, then the socket) once its second stream ended
    await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(h2.count(PERCONN,
        "connection closed by peer after goaway 0")).isEqualTo(3));
    assertThat(gateway.stats().get("upstream_cx_max_requests") - maxRequests).isEqualTo(3);
    assertThat(h2.count(PLAIN, "connection accepted")).as("without the setting").isEqualTo(1);
  }

  @Test
  void idleTimeoutClosesAnUnusedUpstreamConnectionWithGoaway() throws Exception {
    long idleTimeouts = gateway.stats().get("upstream_cx_idle_timeout");
    assertThat(curl("/idle/1", "/plain/idle")).containsOnly(200);

    await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(h2.count(IDLE,
        "connection closed by peer after goaway 0")).isEqualTo(1));
    assertThat(gateway.stats().get("upstream_cx_idle_timeout") - idleTimeouts).isEqualTo(1);
    assertThat(h2.count(PLAIN, "goaway received")).as("the gateway's default idle timeout is an hour").isZero();
  }

  /**
   * Six streams at once to an upstream that takes two per connection: with {@code maxConnections: 1} the four over
   * its limit wait for the one connection the cluster has ({@code upstream_cx_overflow}) and are all served on it,
   * two at a time; without the setting more connections are opened.
   */
  @Test
  void maxConnectionsMakesStreamsOverTheUpstreamsLimitWaitForTheOneConnection() throws Exception {
    assertThat(curl("/capped/warm", "/uncapped/warm")).containsOnly(200); // connected, the upstream's SETTINGS known
    long overflows = gateway.stats().get("upstream_cx_overflow");

    Proc.Result capped = h2load(6, "/capped/burst");
    assertThat(capped.stdout()).contains("6 succeeded, 0 failed").contains("6 2xx");
    assertThat(h2.count(CAPPED, "connection accepted")).as("upstream connections").isEqualTo(1);
    assertThat(h2.count(CAPPED, "peak streams 2")).as("the connection was full").isEqualTo(1);
    assertThat(h2.count(CAPPED, "peak streams 3") + h2.count(CAPPED, "refused stream")).isZero();
    assertThat(gateway.stats().get("upstream_cx_overflow") - overflows).as("requests that waited").isEqualTo(4);

    Proc.Result uncapped = h2load(6, "/uncapped/burst");
    assertThat(uncapped.stdout()).contains("6 succeeded, 0 failed").contains("6 2xx");
    assertThat(h2.count(UNCAPPED, "connection accepted")).as("without the setting").isGreaterThan(1);
    assertThat(gateway.stats().get("upstream_cx_overflow") - overflows).isEqualTo(4);
  }

  /**
   * Five streams at once with {@code maxConnections: 1} and {@code http1MaxPendingRequests: 1} to an upstream that
   * takes two: two are served, one waits and is served next, two are refused at once with 503 {@code UO}.
   */
  @Test
  void http1MaxPendingRequestsRefusesTheWaitersBeyondItWith503Uo() throws Exception {
    assertThat(curl("/pending/warm")).containsOnly(200);
    long overflows = gateway.stats().get("upstream_rq_pending_overflow");

    Proc.Result r = h2load(5, "/pending/burst");
    assertThat(r.stdout()).contains("3 2xx, 0 3xx, 0 4xx, 2 5xx");
    assertThat(gateway.stats().get("upstream_rq_pending_overflow") - overflows).isEqualTo(2);
    assertThat(h2.count(PENDING, "connection accepted")).isEqualTo(1);
    List<JsonNode> lines = await().atMost(Duration.ofSeconds(5)).until(() -> accessLines("/pending/burst"),
        l -> l.size() == 5);
    assertThat(lines).filteredOn(l -> l.path("response_code").asInt() == 503).hasSize(2)
        .allSatisfy(l -> assertThat(l.path("response_flags").asText()).isEqualTo("UO"));
  }

  /**
   * A listener that takes no more connections (its accept queue is full: SYNs are dropped): with
   * {@code connectTimeout: 300ms} the request fails with 503 {@code UF} at once, counted as a connect timeout;
   * without it the connect still waits 2 s later (the default is 10 s).
   */
  @Test
  void connectTimeoutFailsTheRequestWith503UfInThatTime() throws Exception {
    long timeouts = gateway.stats().get("upstream_cx_connect_timeout");
    long fails = gateway.stats().get("upstream_cx_connect_fail");
    long start = System.nanoTime();
    assertThat(curl("/timeout/x")).containsExactly(503);
    assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(3));
    assertThat(gateway.stats().get("upstream_cx_connect_timeout") - timeouts).isEqualTo(1);
    assertThat(gateway.stats().get("upstream_cx_connect_fail") - fails).isEqualTo(1);
    JsonNode line = await().atMost(Duration.ofSeconds(5)).until(() -> accessLines("/timeout/x"), l -> l.size() == 1)
        .get(0);
    assertThat(line.path("response_code").asInt()).isEqualTo(503);
    assertThat(line.path("response_flags").asText()).isEqualTo("UF");

    Proc.Result control = Proc.run(20, "curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "2",
        "http://127.0.0.1:" + port + "/notimeout/x");
    assertThat(control.stdout()).as("no answer within 2 s without the setting").isEqualTo("000");
    assertThat(gateway.stats().get("upstream_cx_connect_timeout") - timeouts).isEqualTo(1);
  }

  /**
   * A loopback listener with a backlog of 1 filled by connections nobody accepts: Linux drops the SYNs of further
   * connects (the accept queue is full), which then hang until their connect timeout.
   */
  private static ServerSocket blackhole() throws IOException {
    ServerSocket s = new ServerSocket(Ports.free(), 1, InetAddress.getLoopbackAddress());
    for (int i = 0; i < 8; i++) {
      Socket c = new Socket();
      try {
        c.connect(s.getLocalSocketAddress(), 300);
        fillers.add(c);
      } catch (SocketTimeoutException e) {
        return s; // c is closed: the queue is full
      }
    }
    s.close();
    throw new IllegalStateException("the accept queue of a backlog-1 listener never filled");
  }

  /** Runs one curl for {@code paths}, in turn on one connection (HTTP/1.1); returns the statuses. */
  private static List<Integer> curl(String... paths) throws Exception {
    List<String> cmd = new ArrayList<>(List.of("curl", "-sS", "--max-time", "10", "-o", "/dev/null", "-w",
        "|%{http_code}\\n"));
    for (String p : paths) {
      cmd.add("http://127.0.0.1:" + port + p);
    }
    Proc.Result r = Proc.run(60, cmd.toArray(String[]::new));
    List<Integer> statuses = new ArrayList<>();
    Matcher m = Pattern.compile("\\|(\\d{3})\n").matcher(r.stdout());
    while (m.find()) {
      statuses.add(Integer.parseInt(m.group(1)));
    }
    assertThat(statuses).as(r.stdout() + r.stderr()).hasSize(paths.length);
    return statuses;
  }

  /** {@code h2load -n N -c1 -mN} over h2c (prior knowledge): N streams at once on one client connection. */
  private static Proc.Result h2load(int n, String path) throws Exception {
    Proc.Result r = Proc.run(60, "h2load", "-n" + n, "-c1", "-m" + n, "http://127.0.0.1:" + port + path);
    System.out.println("h2load " + path + ":\n" + r.stdout());
    return r;
  }

  private static List<JsonNode> accessLines(String path) throws IOException {
    List<JsonNode> out = new ArrayList<>();
    for (String l : Files.readAllLines(accessLog)) {
      JsonNode n = JSON.readTree(l);
      if (n.path("path").asText().equals(path)) {
        out.add(n);
      }
    }
    return out;
  }
}
