package io.portcullis.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.portcullis.Portcullis;
import io.portcullis.proxy.AccessLog;
import io.portcullis.proxy.Transport;
import io.portcullis.testing.Httpbin;
import io.portcullis.testing.Ports;
import io.portcullis.testing.Proc;
import java.io.FileOutputStream;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The Istio SDS walkthrough end to end: real gunicorn httpbin, real openssl-made certificates, real curl and
 * openssl s_client, the gateway on real loopback ports.
 */
class GatewayIT {
  static final Path MAKE_CERTS = Path.of("..", "examples", "httpbin", "make-certs.sh").toAbsolutePath().normalize();
  static final ObjectMapper JSON = new ObjectMapper();

  @TempDir static Path tmp;
  static Path config;
  static Path accessLog;
  static Httpbin httpbin;
  static Httpbin backup;
  static Portcullis gateway;
  static int https;
  static int http;

  @BeforeAll
  static void start() throws Exception {
    config = Files.createDirectories(tmp.resolve("config"));
    makeCerts("httpbin.example.com", "httpbin-credential", tmp.resolve("certs/httpbin"),
        config.resolve("secret-httpbin.yaml"));
    makeCerts("helloworld-v1.example.com", "helloworld-credential", tmp.resolve("certs/helloworld"),
        config.resolve("secret-helloworld.yaml"));
    httpbin = Httpbin.start();
    backup = Httpbin.start();
    https = Ports.free();
    http = Ports.free();
    Files.writeString(config.resolve("gateway.yaml"), """
        apiVersion: networking.istio.io/v1alpha3
        kind: Gateway
        metadata:
          name: mygateway
        spec:
          selector:
            istio: ingressgateway
          servers:
          - port: {number: %1$d, name: https-httpbin, protocol: HTTPS}
            tls: {mode: SIMPLE, credentialName: httpbin-credential}
            hosts: ["httpbin.example.com"]
          - port: {number: %1$d, name: https-helloworld, protocol: HTTPS}
            tls: {mode: SIMPLE, credentialName: helloworld-credential}
            hosts: ["helloworld-v1.example.com"]
          - port: {number: %2$d, name: http, protocol: HTTP}
            tls: {httpsRedirect: true}
            hosts: ["httpbin.example.com"]
        """.formatted(https, http));
    Files.writeString(config.resolve("virtualservices.yaml"), """
        apiVersion: networking.istio.io/v1alpha3
        kind: VirtualService
        metadata:
          name: httpbin
        spec:
          hosts: ["httpbin.example.com"]
          gateways: [mygateway]
          http:
          - match:
            - uri: {prefix: /status}
            - uri: {prefix: /delay}
            route:
            - destination: {host: httpbin, port: {number: 8000}}
          - name: slow
            match: [{uri: {prefix: /slow/}}]
            rewrite: {uri: /delay/}
            timeout: 500ms
            route:
            - destination: {host: httpbin, port: {number: 8000}}
          - name: backup
            match: [{uri: {prefix: /backup/}}]
            rewrite: {uri: /}
            retries: {attempts: 1}
            route:
            - destination: {host: httpbin-backup, port: {number: 8000}}
        """);
    Files.writeString(config.resolve("helloworld.yaml"), """
        apiVersion: networking.istio.io/v1alpha3
        kind: VirtualService
        metadata:
          name: helloworld-v1
        spec:
          hosts: ["helloworld-v1.example.com"]
          gateways: [mygateway]
          http:
          - match: [{uri: {exact: /hello}}]
            rewrite: {uri: /anything/hello}
            route:
            - destination: {host: helloworld-v1, port: {number: 5000}}
        """);
    Files.writeString(config.resolve("serviceentries.yaml"), """
        apiVersion: networking.istio.io/v1alpha3
        kind: ServiceEntry
        metadata: {name: httpbin}
        spec:
          hosts: [httpbin.default.svc.cluster.local]
          ports: [{number: 8000, name: http, protocol: HTTP}]
          resolution: STATIC
          endpoints: [{address: 127.0.0.1, ports: {http: %1$d}}]
        ---
        apiVersion: networking.istio.io/v1alpha3
        kind: ServiceEntry
        metadata: {name: helloworld-v1}
        spec:
          hosts: [helloworld-v1]
          ports: [{number: 5000, name: http, protocol: HTTP, targetPort: %1$d}]
          resolution: STATIC
          endpoints: [{address: 127.0.0.1}]
        ---
        apiVersion: networking.istio.io/v1alpha3
        kind: ServiceEntry
        metadata: {name: httpbin-backup}
        spec:
          hosts: [httpbin-backup.default.svc.cluster.local]
          ports: [{number: 8000, name: http, protocol: HTTP}]
          resolution: DNS
          endpoints: [{address: localhost, ports: {http: %2$d}}]
        """.formatted(httpbin.port(), backup.port()));
    accessLog = tmp.resolve("access.log");
    gateway = Portcullis.start(new Portcullis.Options(List.of(config), "istio-system", 0, "127.0.0.1",
        new InetSocketAddress("127.0.0.1", 0), new AccessLog(new FileOutputStream(accessLog.toFile())),
        2, Transport.AUTO, tmp.resolve("state"), Duration.ofSeconds(1)));
    assertThat(gateway.ready()).isTrue();
  }

  @AfterAll
  static void stop() throws IOException {
    if (gateway != null) {
      gateway.close();
    }
    if (accessLog != null && Files.exists(accessLog)) {
      System.out.println("access log:\n" + Files.readString(accessLog)); // kept in the Failsafe report
    }
    if (httpbin != null) {
      httpbin.close();
    }
    if (backup != null) {
      backup.close();
    }
  }

  static void makeCerts(String host, String secret, Path out, Path manifest) throws Exception {
    Proc.Result r = Proc.run(60, "bash", MAKE_CERTS.toString(), "--host", host, "--secret", secret, "--out",
        out.toString(), "--manifest", manifest.toString());
    assertThat(r.exitCode()).as(r.stderr()).isZero();
  }

  static String chain(String name) {
    return tmp.resolve("certs/" + name + "/2_intermediate/certs/ca-chain.cert.pem").toString();
  }

  static Proc.Result curl(String host, String ca, String... args) throws Exception {
    List<String> cmd = new ArrayList<>(List.of("curl", "-sS", "--max-time", "10", "--resolve",
        host + ":" + https + ":127.0.0.1", "--resolve", host + ":" + http + ":127.0.0.1", "--cacert", ca));
    cmd.addAll(List.of(args));
    return Proc.run(20, cmd.toArray(String[]::new));
  }

  static String code(String host, String url) throws Exception {
    return curl(host, chain("httpbin"), "-o", "/dev/null", "-w", "%{http_code}", url).stdout();
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource({"--http2, HTTP/2 418", "--http1.1, HTTP/1.1 418"})
  void seedWalkthroughAnswersTheTeapot(String flag, String statusLine) throws Exception {
    Proc.Result r = curl("httpbin.example.com", chain("httpbin"), flag, "-i",
        "https://httpbin.example.com:" + https + "/status/418");
    assertThat(r.exitCode()).as(r.stderr()).isZero();
    assertThat(r.stdout()).startsWith(statusLine).contains("-=[ teapot ]=-");
  }

  @ParameterizedTest(name = "SNI {0}")
  @CsvSource({"httpbin.example.com", "helloworld-v1.example.com"})
  void eachHostIsServedItsOwnCertificate(String host) throws Exception {
    Proc.Result r = Proc.run(20, "openssl", "s_client", "-connect", "127.0.0.1:" + https, "-servername", host,
        "-verify_return_error", "-CAfile", chain(host.startsWith("httpbin") ? "httpbin" : "helloworld"));
    assertThat(r.stdout()).contains("CN = " + host).contains("Verify return code: 0 (ok)");
  }

  @Test
  void anUncoveredSniFailsTheHandshake() throws Exception {
    Proc.Result r = Proc.run(20, "openssl", "s_client", "-connect", "127.0.0.1:" + https, "-servername",
        "unknown.example.com");
    assertThat(r.exitCode()).isNotZero();
    assertThat(r.stdout()).contains("no peer certificate available").doesNotContain("CN = httpbin.example.com")
        .doesNotContain("CN = helloworld-v1.example.com");
  }

  /** RFC 9155: no handshake is signed with SHA-1; a TLS 1.2 client that accepts nothing better is refused. */
  @ParameterizedTest(name = "-sigalgs {0}")
  @CsvSource({"ECDSA+SHA1:RSA+SHA1, false", "RSA+SHA1, false", "ECDSA+SHA256:RSA+SHA256, true",
      "ECDSA+SHA1:ECDSA+SHA384, true"})
  void aTls12ClientThatAcceptsOnlySha1SignaturesIsRefused(String sigalgs, boolean served) throws Exception {
    Proc.Result r = Proc.run(20, "openssl", "s_client", "-connect", "127.0.0.1:" + https, "-servername",
        "httpbin.example.com", "-tls1_2", "-sigalgs", sigalgs, "-cipher", "DEFAULT:@SECLEVEL=0",
        "-CAfile", chain("httpbin"));
    if (served) {
      assertThat(r.stdout()).contains("CN = httpbin.example.com").contains("Verify return code: 0 (ok)")
          .doesNotContain("SHA1");
    } else {
      assertThat(r.exitCode()).isNotZero();
      assertThat(r.stdout()).contains("no peer certificate available");
    }
  }

  @Test
  void secondHostRoutesByExactPathWithRewrite() throws Exception {
    Proc.Result r = curl("helloworld-v1.example.com", chain("helloworld"), "-i",
        "https://helloworld-v1.example.com:" + https + "/hello");
    assertThat(r.stdout()).startsWith("HTTP/2 200").contains("https://helloworld-v1.example.com:" + https
        + "/anything/hello");
    assertThat(curl("helloworld-v1.example.com", chain("helloworld"), "-o", "/dev/null", "-w", "%{http_code}",
        "https://helloworld-v1.example.com:" + https + "/hello/more").stdout()).isEqualTo("404");
  }

  @Test
  void envoyStatusCodes() throws Exception {
    String base = "https://httpbin.example.com:" + https;
    assertThat(code("httpbin.example.com", base + "/headers")).as("no route: NR").isEqualTo("404");
    assertThat(code("httpbin.example.com", base + "/slow/0")).as("within timeout").isEqualTo("200");
    assertThat(code("httpbin.example.com", base + "/slow/2")).as("timeout: UT").isEqualTo("504");
    Proc.Result redirect = curl("httpbin.example.com", chain("httpbin"), "-i",
        "http://httpbin.example.com:" + http + "/status/200?x=1");
    assertThat(redirect.stdout()).startsWith("HTTP/1.1 301")
        .containsIgnoringCase("location: https://httpbin.example.com/status/200?x=1");
    assertThat(code("httpbin.example.com", base + "/backup/status/200")).as("backup up").isEqualTo("200");
    backup.close();
    assertThat(code("httpbin.example.com", base + "/backup/status/200")).as("backend stopped: UF").isEqualTo("503");
    await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> assertThat(Files.readString(accessLog))
        .contains("\"response_flags\":\"UF\"").contains("\"response_flags\":\"UT\"")
        .contains("\"response_flags\":\"NR\""));
  }

  @Test
  void accessLogLinesCarryEnvoysFields() throws Exception {
    Proc.Result r = curl("httpbin.example.com", chain("httpbin"), "-H", "x-request-id: it-418", "-A", "it-agent",
        "https://httpbin.example.com:" + https + "/status/418");
    assertThat(r.exitCode()).isZero();
    JsonNode line = await().atMost(Duration.ofSeconds(5)).until(() -> Files.readAllLines(accessLog).stream()
        .map(GatewayIT::json).filter(n -> n.path("request_id").asText().equals("it-418")).findFirst()
        .orElse(null), n -> n != null);
    for (String field : List.of("start_time", "method", "path", "protocol", "response_code", "response_flags",
        "bytes_received", "bytes_sent", "duration", "upstream_service_time", "upstream_host", "upstream_cluster",
        "authority", "x_forwarded_for", "user_agent", "request_id", "requested_server_name",
        "downstream_local_address", "downstream_remote_address", "route_name")) {
      assertThat(line.has(field)).as(field).isTrue();
    }
    assertThat(line.get("method").asText()).isEqualTo("GET");
    assertThat(line.get("path").asText()).isEqualTo("/status/418");
    assertThat(line.get("protocol").asText()).isEqualTo("HTTP/2");
    assertThat(line.get("response_code").asInt()).isEqualTo(418);
    assertThat(line.get("response_flags").asText()).isEqualTo("-");
    assertThat(line.get("bytes_sent").asLong()).isPositive();
    assertThat(line.get("upstream_cluster").asText()).isEqualTo("outbound|8000||httpbin.default.svc.cluster.local");
    assertThat(line.get("upstream_host").asText()).isEqualTo("127.0.0.1:" + httpbin.port());
    assertThat(line.get("authority").asText()).isEqualTo("httpbin.example.com:" + https);
    assertThat(line.get("user_agent").asText()).isEqualTo("it-agent");
    assertThat(line.get("requested_server_name").asText()).isEqualTo("httpbin.example.com");
    assertThat(line.get("downstream_local_address").asText()).isEqualTo("127.0.0.1:" + https);
    assertThat(line.get("downstream_remote_address").asText()).startsWith("127.0.0.1:");
    assertThat(line.get("route_name").asText()).isEqualTo("default/httpbin.0");
  }

  static JsonNode json(String s) {
    try {
      return JSON.readTree(s);
    } catch (IOException e) {
      throw new IllegalStateException(s, e);
    }
  }

  @Test
  void adminServerAnswers() throws Exception {
    String admin = "http://127.0.0.1:" + gateway.adminAddress().getPort();
    assertThat(Proc.run(10, "curl", "-sS", admin + "/ready").stdout()).isEqualTo("LIVE\n");
    assertThat(Proc.run(10, "curl", "-sS", admin + "/admin/ping").stdout()).isEqualTo("pong\n");
    String dump = Proc.run(10, "curl", "-sS", admin + "/config_dump").stdout();
    JsonNode root = JSON.readTree(dump);
    JsonNode listener = null;
    for (JsonNode l : root.get("listeners")) {
      if (l.get("port").asInt() == https) {
        listener = l;
      }
    }
    assertThat(listener).isNotNull();
    JsonNode cert = listener.get("servers").get(0).get("tls").get("certificate");
    assertThat(cert.get("subject_alt_names").get(0).asText()).isEqualTo("httpbin.example.com");
    assertThat(cert.get("serial_number").asText()).isNotEmpty();
    assertThat(cert.get("days_until_expiration").asLong()).isGreaterThan(800);
    assertThat(dump).doesNotContain("PRIVATE KEY").doesNotContain("BEGIN");
  }

  @Test
  void secretEditedOnDiskIsServedOnTheNextHandshake() throws Exception {
    Path newCerts = tmp.resolve("certs/httpbin-new");
    Path staged = tmp.resolve("secret-httpbin-new.yaml");
    makeCerts("httpbin.example.com", "httpbin-credential", newCerts, staged);
    String oldChain = chain("httpbin");
    String newChain = newCerts.resolve("2_intermediate/certs/ca-chain.cert.pem").toString();
    Path live = config.resolve("secret-httpbin.yaml");
    Path backupOfOld = tmp.resolve("secret-httpbin-old.yaml");
    Files.copy(live, backupOfOld, StandardCopyOption.REPLACE_EXISTING);
    String url = "https://httpbin.example.com:" + https + "/status/418";
    try {
      Files.move(staged, live, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
      await().atMost(Duration.ofSeconds(5)).pollInterval(Duration.ofMillis(100)).untilAsserted(() ->
          assertThat(curl("httpbin.example.com", newChain, "-o", "/dev/null", "-w", "%{http_code}", url).stdout())
              .isEqualTo("418"));
      Proc.Result old = curl("httpbin.example.com", oldChain, url);
      assertThat(old.exitCode()).as("the old trust anchor no longer verifies").isEqualTo(60);
    } finally {
      Files.copy(backupOfOld, live, StandardCopyOption.REPLACE_EXISTING);
      await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> assertThat(curl("httpbin.example.com", oldChain,
          "-o", "/dev/null", "-w", "%{http_code}", url).stdout()).isEqualTo("418"));
    }
  }

  @Test
  void aBrokenFileLeavesThePreviousConfigServing() throws Exception {
    Path file = config.resolve("helloworld.yaml");
    String good = Files.readString(file);
    String url = "https://helloworld-v1.example.com:" + https + "/hello";
    long before = gateway.generation();
    try {
      Files.writeString(file, "apiVersion: networking.istio.io/v1alpha3\nkind: VirtualService\nmetadata: [oops\n");
      await().atMost(Duration.ofSeconds(5)).until(() -> gateway.generation() > before);
      assertThat(curl("helloworld-v1.example.com", chain("helloworld"), "-o", "/dev/null", "-w", "%{http_code}", url)
          .stdout()).isEqualTo("200");
      String dump = Proc.run(10, "curl", "-sS", "http://127.0.0.1:" + gateway.adminAddress().getPort()
          + "/config_dump").stdout();
      assertThat(dump).contains("helloworld.yaml").contains("keeping its last good version");
    } finally {
      Files.writeString(file, good);
    }
  }
}
