package io.portcullis.it;

import static org.assertj.core.api.Assertions.assertThat;

import io.portcullis.Portcullis;
import io.portcullis.proxy.AccessLog;
import io.portcullis.proxy.Transport;
import io.portcullis.testing.DevSecret;
import io.portcullis.testing.Ports;
import io.portcullis.testing.Proc;
import io.portcullis.testing.RecordingBackend;
import java.net.InetSocketAddress;
import java.net.InetAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** What reaches the upstream: one request per downstream request, forwarding headers set, hop-by-hop ones gone. */
class UpstreamRequestIT {
  @TempDir static Path tmp;
  static RecordingBackend backend;
  static Portcullis gateway;
  static int port;
  static int tlsPort;
  static Path ca;

  @BeforeAll
  static void start() throws Exception {
    backend = new RecordingBackend();
    port = Ports.free();
    tlsPort = Ports.free();
    ca = DevSecret.write(tmp.resolve("dev"), tmp.resolve("secret.yaml"));
    Files.writeString(tmp.resolve("config.yaml"), """
        apiVersion: networking.istio.io/v1
        kind: Gateway
        metadata: {name: gw}
        spec:
          servers:
          - port: {number: %1$d, name: http, protocol: HTTP}
            hosts: ["*"]
          - port: {number: %3$d, name: https, protocol: HTTPS}
            tls: {mode: SIMPLE, credentialName: localhost-credential}
            hosts: ["*"]
        ---
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata: {name: rec}
        spec:
          hosts: ["rec.example.com", "localhost"]
          gateways: [gw]
          http:
          - rewrite: {authority: backend.internal}
            headers:
              request:
                set: {x-set: "1"}
                remove: [x-drop]
              response:
                add: {x-added: "yes"}
            route:
            - destination: {host: rec.default.svc.cluster.local, port: {number: 80}}
        ---
        apiVersion: networking.istio.io/v1
        kind: ServiceEntry
        metadata: {name: rec}
        spec:
          hosts: [rec.default.svc.cluster.local]
          ports: [{number: 80, name: http, protocol: HTTP, targetPort: %2$d}]
          resolution: STATIC
          endpoints: [{address: 127.0.0.1}]
        """.formatted(port, backend.port(), tlsPort));
    gateway = Portcullis.start(new Portcullis.Options(List.of(tmp), "istio-system", 0, "127.0.0.1",
        new InetSocketAddress("127.0.0.1", 0), AccessLog.disabled(), 1,
        // GatewayIT runs on AUTO (epoll): both native transports get tested.
        Transport.IO_URING, tmp.resolve("state"), Duration.ofSeconds(1)));
  }

  @AfterAll
  static void stop() throws Exception {
    if (gateway != null) {
      gateway.close();
    }
    backend.close();
  }

  @Test
  void aMalformedRequestAnswers400AndCloses() throws Exception {
    try (Socket s = new Socket(InetAddress.getLoopbackAddress(), port)) {
      s.setSoTimeout(5000);
      s.getOutputStream().write("GET /path HTTP/1.1\r\nHost: rec.example.com\r\nContent-Length: nope\r\n\r\n"
          .getBytes(StandardCharsets.US_ASCII));
      String answer = new String(s.getInputStream().readAllBytes(), StandardCharsets.US_ASCII);
      assertThat(answer).startsWith("HTTP/1.1 400").containsIgnoringCase("connection: close");
    }
  }

  @ParameterizedTest(name = "{0} {1}")
  @CsvSource({"http, --http1.1, http", "http, --http2-prior-knowledge, http", "https, --http1.1, https",
      "https, --http2, https"})
  void eachRequestReachesUpstreamOnceWithForwardingHeaders(String scheme, String flag, String proto)
      throws Exception {
    int before = backend.received().size();
    String url = scheme.equals("http") ? "http://rec.example.com:" + port + "/path?q=1"
        : "https://localhost:" + tlsPort + "/path?q=1";
    List<String> cmd = new ArrayList<>(List.of("curl", "-sS", "-i", flag, "--cacert", ca.toString(), "--resolve",
        "rec.example.com:" + port + ":127.0.0.1", "-H", "Connection: keep-alive, x-hop", "-H", "x-hop: secret", "-H",
        "x-drop: 1", "-H", "x-forwarded-for: 203.0.113.7"));
    // curl 7.88 fails to reuse an h2c prior-knowledge connection ("Error in the HTTP2 framing layer" before it
    // sends the second request; the server's frames are well-formed), so h2c gets one request per connection.
    int invocations = flag.equals("--http2-prior-knowledge") ? 3 : 1;
    if (invocations == 1) {
      cmd.addAll(List.of(url, url, url));
    } else {
      cmd.add(url);
    }
    for (int i = 0; i < invocations; i++) {
      Proc.Result r = Proc.run(20, cmd.toArray(String[]::new));
      assertThat(r.exitCode()).as(r.stderr()).isZero();
      assertThat(r.stdout()).contains("x-added: yes")
          .contains(flag.startsWith("--http2") ? "HTTP/2 200" : "HTTP/1.1 200");
    }
    List<RecordingBackend.Received> got = backend.received().subList(before, backend.received().size());
    assertThat(got).as("exactly one upstream request per downstream request").hasSize(3);
    assertThat(got).extracting(RecordingBackend.Received::connection).as("one pooled keep-alive connection")
        .containsOnly(got.get(0).connection());
    for (RecordingBackend.Received req : got) {
      assertThat(req.requestLine()).isEqualTo("GET /path?q=1 HTTP/1.1");
      assertThat(req.headers().get("host")).containsExactly("backend.internal");
      assertThat(req.headers().get("x-forwarded-for")).containsExactly("203.0.113.7, 127.0.0.1");
      assertThat(req.headers().get("x-forwarded-proto")).containsExactly(proto);
      assertThat(req.headers().get("x-request-id").get(0)).matches("[0-9a-f-]{36}");
      assertThat(req.headers().get("x-set")).containsExactly("1");
      assertThat(req.headers()).doesNotContainKeys("x-drop", "connection", "keep-alive");
      if (!flag.startsWith("--http2")) {
        // Named by Connection, so hop-by-hop (HTTP/2 has no Connection header: curl drops it there).
        assertThat(req.headers()).doesNotContainKey("x-hop");
      }
      assertThat(req.headers().keySet()).noneMatch(k -> k.startsWith("x-http2-"));
    }
  }
}
