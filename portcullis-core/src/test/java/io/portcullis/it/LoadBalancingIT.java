package io.portcullis.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.portcullis.Portcullis;
import io.portcullis.proxy.AccessLog;
import io.portcullis.proxy.Transport;
import io.portcullis.testing.Gateways;
import io.portcullis.testing.Ports;
import io.portcullis.testing.Proc;
import io.portcullis.testing.StatusBackend;
import java.io.FileOutputStream;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 14, point 2 ({@code loadBalancer}, {@code outlierDetection}) with its tests of point 5: DestinationRules
 * through the real gateway to real backends ({@link StatusBackend}s, three per service), requests by curl. Round
 * robin is even within one request; least request keeps away from a slow backend; consistent hashes stick per header,
 * per cookie (which the gateway sets when the request has none) and per source IP; outlier detection ejects a backend
 * answering 503 and returns it after {@code baseEjectionTime}; with every backend ejected the answer is 503
 * {@code UH}; a retry goes to another backend than the one that failed.
 */
class LoadBalancingIT {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Pattern RESPONSE = Pattern.compile("(?s)(.*?)\\|(\\d{3})\\n");
  @TempDir static Path tmp;
  static Portcullis gateway;
  static Path accessLog;
  static int http;
  static final Map<String, List<StatusBackend>> backends = new LinkedHashMap<>();
  static final Map<String, String> policies = new LinkedHashMap<>();

  @BeforeAll
  static void start() throws Exception {
    policies.put("rr", "loadBalancer: {simple: ROUND_ROBIN}");
    policies.put("lr", "loadBalancer: {simple: LEAST_REQUEST}");
    policies.put("hh", "loadBalancer: {consistentHash: {httpHeaderName: x-user}}"); // ring hash, 1024 points
    policies.put("hc", "loadBalancer: {consistentHash: {httpCookie: {name: sticky, path: /hc, ttl: 60s}, "
        + "maglev: {tableSize: 65537}}}");
    policies.put("hs", "loadBalancer: {consistentHash: {useSourceIp: true}}");
    policies.put("od", "outlierDetection: {consecutive5xxErrors: 2, interval: 50ms, baseEjectionTime: 2s, "
        + "maxEjectionPercent: 100}");
    policies.put("uh", "outlierDetection: {consecutive5xxErrors: 1, interval: 1s, baseEjectionTime: 60s, "
        + "maxEjectionPercent: 100}");
    policies.put("retry", "loadBalancer: {consistentHash: {httpHeaderName: x-user}}");
    policies.put("grow", "loadBalancer: {consistentHash: {httpHeaderName: x-user}}");
    for (String svc : policies.keySet()) {
      List<StatusBackend> bs = new ArrayList<>();
      for (int i = 1; i <= (svc.equals("grow") ? 4 : 3); i++) {
        bs.add(new StatusBackend(svc + "-" + i));
      }
      backends.put(svc, bs);
    }
    http = Ports.free();
    Files.createDirectories(tmp.resolve("config"));
    writeConfig();
    accessLog = tmp.resolve("access.log");
    gateway = Portcullis.start(new Portcullis.Options(List.of(tmp.resolve("config")), "istio-system", 0,
        "127.0.0.1", new InetSocketAddress("127.0.0.1", 0), new AccessLog(new FileOutputStream(accessLog.toFile())),
        1, Transport.AUTO, tmp.resolve("state"), Duration.ofSeconds(1)));
    await().atMost(Duration.ofSeconds(10)).until(() -> Ports.listening(http));
  }

  /** Writes the gateway's configuration: per service a route, a ServiceEntry of its backends, a DestinationRule. */
  static void writeConfig() throws IOException {
    StringBuilder config = new StringBuilder(Gateways.plainGateway(http)).append("""
        ---
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata: {name: lb}
        spec:
          hosts: ["*"]
          gateways: [gw]
          http:
        """);
    StringBuilder rest = new StringBuilder();
    for (Map.Entry<String, String> p : policies.entrySet()) {
      String svc = p.getKey();
      StringBuilder eps = new StringBuilder();
      for (StatusBackend b : backends.get(svc)) {
        eps.append(eps.isEmpty() ? "" : ", ").append("{address: 127.0.0.1, ports: {http: ").append(b.port())
            .append("}}");
      }
      config.append("""
            - match: [{uri: {prefix: /%1$s/}}]
              route: [{destination: {host: %1$s.internal, port: {number: 80}}}]
          %2$s
          """.formatted(svc, svc.equals("retry") ? "    retries: {attempts: 2, retryOn: 5xx}" : ""));
      rest.append("""
          ---
          apiVersion: networking.istio.io/v1
          kind: ServiceEntry
          metadata: {name: %1$s}
          spec:
            hosts: [%1$s.internal]
            ports: [{number: 80, name: http, protocol: HTTP}]
            resolution: STATIC
            endpoints: [%2$s]
          ---
          apiVersion: networking.istio.io/v1
          kind: DestinationRule
          metadata: {name: %1$s}
          spec:
            host: %1$s.internal
            trafficPolicy:
              %3$s
          """.formatted(svc, eps, p.getValue()));
    }
    Path tmpFile = tmp.resolve("config.yaml.new");
    Files.writeString(tmpFile, config.toString().replaceAll("\n\\s*\n", "\n") + rest);
    Files.move(tmpFile, tmp.resolve("config").resolve("config.yaml"), java.nio.file.StandardCopyOption.REPLACE_EXISTING,
        java.nio.file.StandardCopyOption.ATOMIC_MOVE);
  }

  @AfterAll
  static void stop() throws IOException {
    if (gateway != null) {
      gateway.close();
    }
    for (List<StatusBackend> bs : backends.values()) {
      for (StatusBackend b : bs) {
        b.close();
      }
    }
  }

  /** A response as curl saw it: the body (trimmed) and the status. */
  record Response(String body, int status) {}

  /** {@code n} requests to {@code path} by one curl (one connection), {@code extra} curl options first. */
  static List<Response> curl(int n, String path, String... extra) throws Exception {
    List<String> cmd = new ArrayList<>(List.of("curl", "-sS", "--max-time", "30", "-w", "|%{http_code}\\n"));
    cmd.addAll(List.of(extra));
    for (int i = 0; i < n; i++) {
      cmd.add("http://127.0.0.1:" + http + path);
    }
    Proc.Result r = Proc.run(60, cmd.toArray(String[]::new));
    assertThat(r.exitCode()).as(r.stderr()).isZero();
    List<Response> out = new ArrayList<>();
    Matcher m = RESPONSE.matcher(r.stdout());
    while (m.find()) {
      out.add(new Response(m.group(1).trim(), Integer.parseInt(m.group(2))));
    }
    assertThat(out).as(r.stdout()).hasSize(n);
    return out;
  }

  static List<Integer> counts(String svc) {
    return backends.get(svc).stream().map(StatusBackend::requests).toList();
  }

  static long stat(String svc, String name) {
    return gateway.stats().get("cluster.outbound|80||" + svc + ".internal.outlier_detection." + name);
  }

  /** The {@code /config_dump} entry of {@code backend} among the endpoints of {@code svc}'s cluster. */
  static JsonNode endpoint(String svc, StatusBackend backend) throws Exception {
    for (JsonNode c : JSON.readTree(Gateways.admin(gateway, "GET", "/config_dump")).path("cluster_health")) {
      if (c.path("name").asText().equals("outbound|80||" + svc + ".internal")) {
        for (JsonNode e : c.path("endpoints")) {
          if (e.path("address").asText().equals("127.0.0.1:" + backend.port())) {
            return e;
          }
        }
      }
    }
    throw new AssertionError("no /config_dump endpoint for " + backend.name());
  }

  @Test
  void roundRobinIsEvenWithinOneAcrossThreeBackends() throws Exception {
    assertThat(curl(31, "/rr/x")).allSatisfy(r -> assertThat(r.status()).isEqualTo(200));
    List<Integer> c = counts("rr");
    assertThat(c.stream().mapToInt(Integer::intValue).sum()).isEqualTo(31);
    assertThat(c).allSatisfy(n -> assertThat(n).isBetween(10, 11));
  }

  @Test
  void leastRequestPrefersTheFastBackendsWhenOneIsSlow() throws Exception {
    List<StatusBackend> bs = backends.get("lr");
    bs.get(0).delayMillis(500);
    // 60 requests, 6 at a time: the slow backend keeps its requests in flight, so it loses most pairs
    List<Response> rs = curl(60, "/lr/x", "--parallel", "--parallel-max", "6", "--parallel-immediate");
    assertThat(rs).allSatisfy(r -> assertThat(r.status()).isEqualTo(200));
    List<Integer> c = counts("lr");
    assertThat(c.get(0)).as("slow backend's share of " + c).isLessThan(c.get(1)).isLessThan(c.get(2))
        .isLessThan(60 / 6);
  }

  @Test
  void aHeaderHashSticksPerValue() throws Exception {
    Set<String> used = new HashSet<>();
    for (int u = 0; u < 12; u++) {
      List<Response> rs = curl(5, "/hh/x", "-H", "x-user: user-" + u);
      assertThat(rs).extracting(Response::body).as("user-" + u).containsOnly(rs.get(0).body());
      used.add(rs.get(0).body());
    }
    assertThat(used).as("12 users over 3 backends").hasSizeGreaterThan(1);
  }

  @Test
  void aCookieHashSetsTheCookieWhenAbsentAndSticksToIt() throws Exception {
    Set<String> used = new HashSet<>();
    for (int client = 0; client < 8; client++) {
      Path jar = tmp.resolve("jar-" + client);
      Proc.Result first = Proc.run(30, "curl", "-sS", "-D", "-", "-c", jar.toString(),
          "http://127.0.0.1:" + http + "/hc/first");
      assertThat(first.stdout()).as(first.stdout()).containsPattern(
          "(?i)set-cookie: sticky=\"[0-9a-f]{16}\"; Max-Age=60; Path=/hc; HttpOnly");
      String firstBackend = first.stdout().substring(first.stdout().indexOf("\r\n\r\n") + 4).trim();
      List<Response> rs = curl(5, "/hc/again", "-b", jar.toString(), "-D", tmp.resolve("h-" + client).toString());
      assertThat(rs).extracting(Response::body).containsOnly(firstBackend);
      assertThat(Files.readString(tmp.resolve("h-" + client))).as("no new cookie once sent")
          .doesNotContainIgnoringCase("set-cookie");
      // over HTTP/2 a client sends each cookie in a field of its own (RFC 9113 §8.2.3): all of them are read
      String cookie = first.stdout().replaceAll("(?s).*(?i:set-cookie): (sticky=\"[0-9a-f]{16}\").*", "$1");
      List<Response> h2 = curl(1, "/hc/h2", "--http2-prior-knowledge", "-H", "cookie: other=1", "-H",
          "cookie: " + cookie, "-D", tmp.resolve("h2-" + client).toString());
      assertThat(h2).extracting(Response::body).containsOnly(firstBackend);
      assertThat(Files.readString(tmp.resolve("h2-" + client))).startsWith("HTTP/2 200")
          .doesNotContainIgnoringCase("set-cookie");
      used.add(firstBackend);
    }
    assertThat(used).as("8 clients (8 connections, 8 cookies) over 3 backends").hasSizeGreaterThan(1);
  }

  @Test
  void aSourceIpHashSticksPerClientAddress() throws Exception {
    Map<String, String> byIp = new HashMap<>();
    for (int i = 1; i <= 10; i++) {
      String ip = "127.0.0." + i;
      List<Response> rs = curl(4, "/hs/x", "--interface", ip);
      assertThat(rs).extracting(Response::body).as(ip).containsOnly(rs.get(0).body());
      byIp.put(ip, rs.get(0).body());
    }
    assertThat(new HashSet<>(byIp.values())).as("10 client addresses over 3 backends: " + byIp).hasSizeGreaterThan(1);
  }

  @Test
  void outlierDetectionEjectsABackendAnswering503AndReturnsItAfterTheBaseEjectionTime() throws Exception {
    StatusBackend bad = backends.get("od").get(0);
    bad.status(503);
    await().atMost(Duration.ofSeconds(20)).pollInterval(Duration.ofMillis(50)).until(() -> {
      curl(1, "/od/x");
      return stat("od", "ejections_active") == 1;
    });
    long ejectedAt = System.nanoTime();
    int before = bad.requests();
    assertThat(curl(20, "/od/x")).allSatisfy(r -> assertThat(r.status()).isEqualTo(200));
    assertThat(bad.requests()).as("no request to the ejected backend").isEqualTo(before);
    assertThat(stat("od", "ejections_enforced_total")).isEqualTo(1);
    assertThat(endpoint("od", bad).path("health_flags").asText()).isEqualTo("/failed_outlier_check");
    assertThat(endpoint("od", bad).path("ejections").asInt()).isEqualTo(1);
    assertThat(endpoint("od", backends.get("od").get(1)).path("health_flags").asText()).isEqualTo("healthy");

    bad.status(200);
    await().atMost(Duration.ofSeconds(20)).pollInterval(Duration.ofMillis(100)).until(() -> {
      curl(3, "/od/x");
      return bad.requests() > before;
    });
    assertThat(Duration.ofNanos(System.nanoTime() - ejectedAt)).as("returned after baseEjectionTime")
        .isGreaterThanOrEqualTo(Duration.ofMillis(1500)); // 2 s after the ejection, seen a little after it
    assertThat(stat("od", "ejections_active")).isZero();
    assertThat(endpoint("od", bad).path("health_flags").asText()).isEqualTo("healthy");
  }

  @Test
  void withEveryBackendEjectedTheAnswerIs503NoHealthyUpstream() throws Exception {
    backends.get("uh").forEach(b -> b.status(503));
    List<Response> first = curl(3, "/uh/x");
    assertThat(first).extracting(Response::status).containsOnly(503); // the backends' own 503s eject each
    assertThat(stat("uh", "ejections_active")).isEqualTo(3);
    int answered = counts("uh").stream().mapToInt(Integer::intValue).sum();
    List<Response> rs = curl(5, "/uh/none");
    assertThat(rs).allSatisfy(r -> {
      assertThat(r.status()).isEqualTo(503);
      assertThat(r.body()).isEqualTo("no healthy upstream");
    });
    assertThat(counts("uh").stream().mapToInt(Integer::intValue).sum()).isEqualTo(answered);
    assertThat(gateway.stats().get("cluster.outbound|80||uh.internal.upstream_cx_none_healthy")).isEqualTo(5);
    await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(Files.readAllLines(accessLog))
        .filteredOn(l -> l.contains("/uh/none")).hasSize(5)
        .allSatisfy(l -> assertThat(l).contains("\"response_flags\":\"UH\"")));
  }

  @Test
  void aRetryGoesToAnotherBackendThanTheOneThatFailed() throws Exception {
    StatusBackend bad = backends.get("retry").get(0);
    bad.status(503);
    for (int u = 0; u < 15; u++) {
      assertThat(curl(1, "/retry/x", "-H", "x-user: user-" + u)).as("user-" + u)
          .allSatisfy(r -> assertThat(r.status()).isEqualTo(200));
    }
    assertThat(bad.requests()).as("the users hashed to the failing backend").isPositive();
  }

  @Test
  void addingABackendMovesAboutOneFifthOfTheHashKeysAllToIt() throws Exception {
    Map<String, String> before = new HashMap<>();
    for (int u = 0; u < 40; u++) {
      before.put("user-" + u, curl(1, "/grow/x", "-H", "x-user: user-" + u).get(0).body());
    }
    StatusBackend added = new StatusBackend("grow-5");
    backends.get("grow").add(added);
    writeConfig(); // a configuration change: the other clusters are unchanged and keep their state
    await().atMost(Duration.ofSeconds(20)).pollInterval(Duration.ofMillis(100))
        .until(() -> endpointCount("grow") == 5);
    int moved = 0;
    for (int u = 0; u < 40; u++) {
      String now = curl(1, "/grow/x", "-H", "x-user: user-" + u).get(0).body();
      if (!now.equals(before.get("user-" + u))) {
        moved++;
        assertThat(now).as("user-" + u + " moved from " + before.get("user-" + u)).isEqualTo("grow-5");
      }
    }
    assertThat(moved).as("keys moved of 40 (1/5 expected)").isLessThanOrEqualTo(40 * 2 / 5);
    assertThat(added.requests()).isEqualTo(moved);
  }

  static int endpointCount(String svc) throws Exception {
    for (JsonNode c : JSON.readTree(Gateways.admin(gateway, "GET", "/config_dump")).path("cluster_health")) {
      if (c.path("name").asText().equals("outbound|80||" + svc + ".internal")) {
        return c.path("endpoints").size();
      }
    }
    return 0;
  }
}
