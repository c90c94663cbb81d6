package io.portcullis.it;

import static org.assertj.core.api.Assertions.assertThat;

import io.portcullis.Portcullis;
import io.portcullis.proxy.AccessLog;
import io.portcullis.proxy.Transport;
import io.portcullis.testing.CapturingBackend;
import io.portcullis.testing.H2Server;
import io.portcullis.testing.Ports;
import io.portcullis.testing.Proc;
import java.io.ByteArrayOutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Istio VirtualService {@code mirror} / {@code mirrors} / {@code mirrorPercentage} end to end, with curl and real
 * backends: the mirror gets a copy (method, rewritten path, headers, {@code -shadow} authority, body), the client
 * gets the primary's response whatever the mirror does (refuses connections, never answers), and a share of 0 sends
 * nothing.
 */
class MirroringIT {
  private static final String PRIMARY_CLUSTER = "outbound|80||primary.default.svc.cluster.local";
  private static final String MIRROR_CLUSTER = "outbound|80||mirror.default.svc.cluster.local";
  private static final String DEAD_CLUSTER = "outbound|80||dead.default.svc.cluster.local";
  private static final String SILENT_CLUSTER = "outbound|80||silent.default.svc.cluster.local";

  @TempDir static Path tmp;
  static CapturingBackend primary;
  static CapturingBackend mirror;
  static CapturingBackend silent;
  static H2Server h2;
  static Portcullis gateway;
  static int port;
  static final ByteArrayOutputStream accessLog = new ByteArrayOutputStream();

  @BeforeAll
  static void start() throws Exception {
    primary = new CapturingBackend("primary");
    mirror = new CapturingBackend("mirror");
    silent = CapturingBackend.silent("silent");
    h2 = H2Server.start("ok");
    int dead = Ports.free(); // nothing listens: connections are refused
    port = Ports.free();
    StringBuilder yaml = new StringBuilder("""
        apiVersion: networking.istio.io/v1
        kind: Gateway
        metadata: {name: gw}
        spec:
          servers:
          - port: {number: %d, name: http, protocol: HTTP}
            hosts: ["*"]
        ---
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata: {name: mirrored}
        spec:
          hosts: [mirror.example.com]
          gateways: [gw]
          http:
          - match: [{uri: {prefix: /api}}]
            rewrite: {uri: /v1}
            headers:
              request:
                set: {x-set: "1"}
            route:
            - destination: {host: primary, port: {number: 80}}
            mirror: {host: mirror, port: {number: 80}}
          - route:
            - destination: {host: primary, port: {number: 80}}
            mirror: {host: mirror, port: {number: 80}}
        ---
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata: {name: two-mirrors}
        spec:
          hosts: [two.example.com]
          gateways: [gw]
          http:
          - route:
            - destination: {host: primary, port: {number: 80}}
            mirrors:
            - destination: {host: dead, port: {number: 80}}
            - destination: {host: mirror, port: {number: 80}}
              percentage: {value: 100}
        ---
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata: {name: dead-mirror}
        spec:
          hosts: [dead.example.com]
          gateways: [gw]
          http:
          - route:
            - destination: {host: primary, port: {number: 80}}
            mirror: {host: dead, port: {number: 80}}
        ---
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata: {name: silent-mirror}
        spec:
          hosts: [silent.example.com]
          gateways: [gw]
          http:
          - timeout: 1s
            route:
            - destination: {host: primary, port: {number: 80}}
            mirror: {host: silent, port: {number: 80}}
        ---
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata: {name: h2-mirror}
        spec:
          hosts: [h2.example.com]
          gateways: [gw]
          http:
          - route:
            - destination: {host: primary, port: {number: 80}}
            mirror: {host: h2up, port: {number: 80}}
        ---
        apiVersion: networking.istio.io/v1
        kind: ServiceEntry
        metadata: {name: h2up}
        spec:
          hosts: [h2up.default.svc.cluster.local]
          ports: [{number: 80, name: http2, protocol: HTTP2, targetPort: %d}]
          resolution: STATIC
          endpoints: [{address: 127.0.0.1}]
        ---
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata: {name: never}
        spec:
          hosts: [never.example.com]
          gateways: [gw]
          http:
          - match: [{uri: {prefix: /mirrors}}]
            route:
            - destination: {host: primary, port: {number: 80}}
            mirrors:
            - destination: {host: mirror, port: {number: 80}}
              percentage: {value: 0}
          - route:
            - destination: {host: primary, port: {number: 80}}
            mirror: {host: mirror, port: {number: 80}}
            mirrorPercentage: {value: 0.0}
        """.formatted(port, h2.port("ok")));
    for (String[] svc : new String[][] {{"primary", "" + primary.port()}, {"mirror", "" + mirror.port()},
        {"dead", "" + dead}, {"silent", "" + silent.port()}}) {
      yaml.append("""
          ---
          apiVersion: networking.istio.io/v1
          kind: ServiceEntry
          metadata: {name: %1$s}
          spec:
            hosts: [%1$s.default.svc.cluster.local]
            ports: [{number: 80, name: http, protocol: HTTP, targetPort: %2$s}]
            resolution: STATIC
            endpoints: [{address: 127.0.0.1}]
          """.formatted(svc[0], svc[1]));
    }
    Files.writeString(tmp.resolve("config.yaml"), yaml);
    gateway = Portcullis.start(new Portcullis.Options(List.of(tmp), "istio-system", 0, "127.0.0.1",
        new InetSocketAddress("127.0.0.1", 0), new AccessLog(accessLog), 1, Transport.AUTO, tmp.resolve("state"),
        Duration.ofSeconds(1)));
  }

  @AfterAll
  static void stop() throws Exception {
    if (gateway != null) {
      gateway.close();
    }
    primary.close();
    mirror.close();
    silent.close();
    h2.close();
  }

  @BeforeEach
  void clear() {
    primary.clear();
    mirror.clear();
    silent.clear();
  }

  private static Proc.Result curl(String host, String path, String... extra) throws Exception {
    List<String> cmd = new ArrayList<>(List.of("curl", "-sS", "-i", "--max-time", "10", "--resolve",
        host + ":" + port + ":127.0.0.1"));
    cmd.addAll(Arrays.asList(extra));
    cmd.add("http://" + host + ":" + port + path);
    Proc.Result r = Proc.run(20, cmd.toArray(String[]::new));
    assertThat(r.exitCode()).as(r.stderr()).isZero();
    return r;
  }

  private static long stat(String name) {
    return gateway.stats().get(name);
  }

  private static void awaitStat(String name, long atLeast, Duration timeout) throws InterruptedException {
    long end = System.nanoTime() + timeout.toNanos();
    while (stat(name) < atLeast && System.nanoTime() < end) {
      Thread.sleep(20);
    }
    assertThat(stat(name)).as(name).isGreaterThanOrEqualTo(atLeast);
  }

  @ParameterizedTest(name = "{0}")
  @ValueSource(strings = {"--http1.1", "--http2-prior-knowledge"})
  void theMirrorGetsACopyAfterRewritesAndTheClientThePrimarysResponse(String flag) throws Exception {
    Proc.Result r = curl("mirror.example.com", "/api/items?q=1", flag, "-H", "x-client: c1");
    assertThat(r.stdout()).contains(" 200").containsIgnoringCase("x-backend: primary").endsWith("primary\n");
    List<CapturingBackend.Received> copies = mirror.await(1, Duration.ofSeconds(5));
    assertThat(copies).hasSize(1);
    CapturingBackend.Received copy = copies.get(0);
    CapturingBackend.Received original = primary.received().get(0);
    assertThat(original.requestLine()).isEqualTo("GET /v1/items?q=1 HTTP/1.1");
    assertThat(copy.requestLine()).isEqualTo(original.requestLine());
    assertThat(original.header("host")).isEqualTo("mirror.example.com:" + port);
    assertThat(copy.header("host")).isEqualTo("mirror.example.com-shadow:" + port); // Envoy's shadow host
    assertThat(copy.header("x-set")).isEqualTo("1");
    assertThat(copy.header("x-client")).isEqualTo("c1");
    assertThat(copy.header("x-envoy-original-path")).isEqualTo("/api/items?q=1");
    assertThat(copy.header("x-forwarded-for")).isEqualTo("127.0.0.1");
    assertThat(copy.header("x-request-id")).isEqualTo(original.header("x-request-id"));
    Thread.sleep(200);
    assertThat(mirror.received()).as("one copy per request").hasSize(1);
  }

  @ParameterizedTest(name = "{0} {1}")
  @CsvSource({"--http1.1, ''", "--http1.1, 'Transfer-Encoding: chunked'", "--http2-prior-knowledge, ''"})
  void aBodyIsMirroredWhole(String flag, String header) throws Exception {
    byte[] body = new byte[40_000];
    new Random(7).nextBytes(body);
    Path file = tmp.resolve("body.bin");
    Files.write(file, body);
    List<String> args = new ArrayList<>(List.of(flag, "--data-binary", "@" + file, "-H",
        "content-type: application/octet-stream"));
    if (!header.isEmpty()) {
      args.addAll(List.of("-H", header));
    }
    Proc.Result r = curl("mirror.example.com", "/upload", args.toArray(String[]::new));
    assertThat(r.stdout()).contains(" 200").endsWith("primary\n");
    List<CapturingBackend.Received> copies = mirror.await(1, Duration.ofSeconds(5));
    assertThat(copies).hasSize(1);
    assertThat(copies.get(0).requestLine()).isEqualTo("POST /upload HTTP/1.1");
    assertThat(copies.get(0).body()).isEqualTo(body);
    assertThat(primary.received().get(0).body()).isEqualTo(body);
  }

  @Test
  void aBodyOverTheLimitIsNotMirroredAndTheRequestStillGoesThrough() throws Exception {
    long before = stat("cluster." + MIRROR_CLUSTER + ".mirror_rq_body_too_large");
    byte[] body = new byte[200_000];
    new Random(8).nextBytes(body);
    Path file = tmp.resolve("big.bin");
    Files.write(file, body);
    for (String te : new String[] {"Content-Type: application/octet-stream", "Transfer-Encoding: chunked"}) {
      Proc.Result r = curl("mirror.example.com", "/upload", "--http1.1", "--data-binary", "@" + file, "-H", te);
      assertThat(r.stdout()).contains(" 200").endsWith("primary\n");
    }
    assertThat(primary.received()).hasSize(2).allSatisfy(x -> assertThat(x.body()).isEqualTo(body));
    assertThat(stat("cluster." + MIRROR_CLUSTER + ".mirror_rq_body_too_large")).isEqualTo(before + 2);
    Thread.sleep(300);
    assertThat(mirror.received()).isEmpty();
  }

  @Test
  void aMirrorThatRefusesConnectionsChangesNothing() throws Exception {
    long before = stat("cluster." + DEAD_CLUSTER + ".mirror_rq_failed");
    for (int i = 0; i < 5; i++) {
      Proc.Result r = curl("dead.example.com", "/status/" + i, "--http1.1");
      assertThat(r.stdout()).startsWith("HTTP/1.1 200").endsWith("primary\n");
    }
    assertThat(primary.received()).hasSize(5);
    awaitStat("cluster." + DEAD_CLUSTER + ".mirror_rq_failed", before + 5, Duration.ofSeconds(5));
  }

  @Test
  void aMirrorThatNeverAnswersDelaysNothingAndTimesOut() throws Exception {
    long before = stat("cluster." + SILENT_CLUSTER + ".mirror_rq_timeout");
    long t0 = System.nanoTime();
    Proc.Result r = curl("silent.example.com", "/slow", "--http1.1", "-w", "\\n%{time_total}");
    long ms = (System.nanoTime() - t0) / 1_000_000;
    assertThat(r.stdout()).startsWith("HTTP/1.1 200").contains("primary\n");
    double curlSeconds = Double.parseDouble(r.stdout().substring(r.stdout().lastIndexOf('\n') + 1).trim());
    assertThat(curlSeconds).as("the response does not wait for the mirror (route timeout 1 s)").isLessThan(0.5);
    assertThat(silent.await(1, Duration.ofSeconds(5))).as("the mirror got the request").hasSize(1);
    assertThat(stat("cluster." + SILENT_CLUSTER + ".mirror_rq_timeout")).isEqualTo(before);
    awaitStat("cluster." + SILENT_CLUSTER + ".mirror_rq_timeout", before + 1, Duration.ofSeconds(5));
    assertThat(ms).isLessThan(5000);
  }

  @Test
  void eachOfSeveralMirrorsGetsItsOwnCopy() throws Exception {
    long failed = stat("cluster." + DEAD_CLUSTER + ".mirror_rq_failed");
    Proc.Result r = curl("two.example.com", "/two", "--http1.1", "-H", "x-forwarded-for: 203.0.113.7");
    assertThat(r.stdout()).startsWith("HTTP/1.1 200").endsWith("primary\n");
    List<CapturingBackend.Received> copies = mirror.await(1, Duration.ofSeconds(5));
    assertThat(copies).hasSize(1);
    assertThat(copies.get(0).header("host")).isEqualTo("two.example.com-shadow:" + port);
    assertThat(copies.get(0).header("x-forwarded-for")).isEqualTo("203.0.113.7, 127.0.0.1");
    awaitStat("cluster." + DEAD_CLUSTER + ".mirror_rq_failed", failed + 1, Duration.ofSeconds(5));
  }

  @ParameterizedTest(name = "{0}")
  @ValueSource(strings = {"--http1.1", "--http2-prior-knowledge"})
  void anHttp2MirrorIsAnsweredAndItsResponseDiscarded(String flag) throws Exception {
    String cluster = "cluster.outbound|80||h2up.default.svc.cluster.local.";
    long completed = stat(cluster + "mirror_rq_completed");
    long failed = stat(cluster + "mirror_rq_failed");
    for (int i = 0; i < 3; i++) {
      Proc.Result r = curl("h2.example.com", "/h2/" + i, flag, "--data-binary", "x".repeat(5000));
      assertThat(r.stdout()).contains(" 200").endsWith("primary\n");
    }
    assertThat(primary.received()).hasSize(3).allSatisfy(x -> assertThat(x.body()).hasSize(5000));
    awaitStat(cluster + "mirror_rq_completed", completed + 3, Duration.ofSeconds(5));
    assertThat(stat(cluster + "mirror_rq_failed")).isEqualTo(failed);
  }

  @ParameterizedTest(name = "{0}")
  @ValueSource(strings = {"/mirrors", "/mirror"})
  void aShareOfZeroMirrorsNothing(String path) throws Exception {
    long total = stat("cluster." + MIRROR_CLUSTER + ".mirror_rq_total");
    for (int i = 0; i < 20; i++) {
      assertThat(curl("never.example.com", path, "--http1.1").stdout()).startsWith("HTTP/1.1 200");
    }
    assertThat(primary.received()).hasSize(20);
    Thread.sleep(300);
    assertThat(mirror.received()).isEmpty();
    assertThat(stat("cluster." + MIRROR_CLUSTER + ".mirror_rq_total")).isEqualTo(total);
  }

  @Test
  void theAccessLogHasTheOriginalRequestOnly() throws Exception {
    String marker = "/logged-" + System.nanoTime();
    curl("mirror.example.com", marker, "--http1.1");
    assertThat(mirror.await(1, Duration.ofSeconds(5))).hasSize(1);
    Thread.sleep(500); // the log's writer thread
    String log = accessLog.toString(StandardCharsets.UTF_8);
    List<String> lines = log.lines().filter(l -> l.contains(marker)).toList();
    assertThat(lines).hasSize(1);
    assertThat(lines.get(0)).contains(PRIMARY_CLUSTER).doesNotContain("-shadow").doesNotContain(MIRROR_CLUSTER);
  }
}
