package io.portcullis.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.portcullis.Portcullis;
import io.portcullis.testing.Bystander;
import io.portcullis.testing.Gateways;
import io.portcullis.testing.Ports;
import io.portcullis.testing.RawClient;
import io.portcullis.testing.RecordingBackend;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Issue 12, finding 7: HTTP/1.1 framing as RFC 9112 wants it, over raw sockets. A malformed chunked body is 400 and
 * close with nothing forwarded, duplicate Host is 400, pipelined requests are answered in order, oversized header
 * blocks and request lines get 431 and 414; a {@link Bystander} is served throughout.
 */
class Http1FramingIT {
  @TempDir static Path tmp;
  static RecordingBackend backend;
  /** Answers every request twice: a backend out of step with its client. */
  static ServerSocket doubler;
  static Portcullis gateway;
  static int http;
  Bystander bystander;

  @BeforeAll
  static void start() throws Exception {
    backend = new RecordingBackend();
    doubler = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
    Thread t = new Thread(() -> {
      while (!doubler.isClosed()) {
        try (Socket s = doubler.accept()) {
          byte[] head = new byte[4096];
          int n = s.getInputStream().read(head);
          if (n > 0) {
            s.getOutputStream().write(("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfirst"
                + "HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nsecond").getBytes(StandardCharsets.US_ASCII));
            s.getInputStream().read(head); // until the gateway closes it
          }
        } catch (IOException e) {
          // next connection
        }
      }
    }, "doubler");
    t.setDaemon(true);
    t.start();
    http = Ports.free();
    Files.writeString(tmp.resolve("config.yaml"), Gateways.plainGateway(http) + "---\n" + """
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata: {name: rec}
        spec:
          hosts: ["*"]
          gateways: [gw]
          http:
          - match: [{authority: {exact: double.example}}]
            route: [{destination: {host: double.internal, port: {number: 80}}}]
          - match: [{uri: {prefix: /local}}]
            directResponse: {status: 200, body: {string: "local"}}
          - route: [{destination: {host: rec.internal, port: {number: 80}}}]
        ---
        """ + Gateways.staticService("rec", "rec.internal", backend.port()) + "---\n"
        + Gateways.staticService("double", "double.internal", doubler.getLocalPort()));
    gateway = Gateways.start(tmp, tmp.resolve("state"));
    await().atMost(Duration.ofSeconds(10)).until(() -> Ports.listening(http));
  }

  @AfterAll
  static void stop() throws IOException {
    if (gateway != null) {
      gateway.close();
    }
    backend.close();
    doubler.close();
  }

  @BeforeEach
  void bystander() throws IOException {
    bystander = new Bystander(http, "bystander.example", "/bystander", 200);
  }

  @AfterEach
  void bystanderWasServedThroughout() {
    bystander.assertServedThroughout();
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource(delimiter = '|', value = {
      "non-hex size     | zz\\r\\nhello\\r\\n0\\r\\n\\r\\n",
      "negative size    | -5\\r\\nhello\\r\\n0\\r\\n\\r\\n",
      "0x prefix        | 0x5\\r\\nhello\\r\\n0\\r\\n\\r\\n",
      "overflowing size | fffffffffffffffff\\r\\nhello\\r\\n0\\r\\n\\r\\n",
      "bare LF size     | 5\\nhello\\r\\n0\\r\\n\\r\\n",
      "bare LF after    | 5\\r\\nhello\\n0\\r\\n\\r\\n",
      "no CRLF after    | 5\\r\\nhelloX0\\r\\n\\r\\n"})
  void aMalformedChunkedBodyIs400AndCloseWithNothingForwarded(String name, String body) throws Exception {
    String path = "/chunked/" + name.trim().replace(' ', '-');
    try (RawClient c = RawClient.connect(http)) {
      RawClient.Response r = c.send("POST " + path + " HTTP/1.1\r\nHost: a.example\r\nTransfer-Encoding: chunked"
          + "\r\n\r\n" + body.trim().replace("\\r", "\r").replace("\\n", "\n")).readResponse(Duration.ofSeconds(5));
      assertThat(r).as("a response").isNotNull();
      assertThat(r.status()).isEqualTo(400);
      assertThat(c.closedWithin(Duration.ofSeconds(2))).isTrue();
    }
    assertThat(backend.received()).noneMatch(x -> x.requestLine().contains(path));
    assertThat(gateway.stats().get("downstream_cx_protocol_error")).isGreaterThanOrEqualTo(1);
  }

  @Test
  void aWellFormedChunkedBodyIsStillForwarded() throws Exception {
    try (RawClient c = RawClient.connect(http)) {
      RawClient.Response r = c.send("POST /chunked/good HTTP/1.1\r\nHost: a.example\r\nTransfer-Encoding: chunked"
          + "\r\n\r\n5;ext=1\r\nhello\r\n0\r\n\r\n").readResponse(Duration.ofSeconds(5));
      assertThat(r.status()).isEqualTo(200);
    }
    assertThat(backend.received()).anyMatch(x -> x.requestLine().startsWith("POST /chunked/good "));
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource(delimiter = '|', value = {
      "CL and TE       | Content-Length: 5\\r\\nTransfer-Encoding: chunked\\r\\n\\r\\n0\\r\\n\\r\\n",
      "TE not chunked  | Transfer-Encoding: gzip\\r\\n\\r\\nhello",
      "two CLs         | Content-Length: 5\\r\\nContent-Length: 6\\r\\n\\r\\nhello!",
      "space in name   | X A: b\\r\\n\\r\\n",
      "bare CR         | X-A: a\\rX-B: b\\r\\n\\r\\n"})
  void smugglingHeadsAre400WithNothingForwarded(String name, String rest) throws Exception {
    String path = "/smuggle/" + name.trim().replace(' ', '-');
    try (RawClient c = RawClient.connect(http)) {
      RawClient.Response r = c.send("POST " + path + " HTTP/1.1\r\nHost: a.example\r\n"
          + rest.trim().replace("\\r", "\r").replace("\\n", "\n")).readResponse(Duration.ofSeconds(5));
      assertThat(r).as("a response").isNotNull();
      assertThat(r.status()).isEqualTo(400);
      assertThat(c.closedWithin(Duration.ofSeconds(2))).isTrue();
    }
    assertThat(backend.received()).noneMatch(x -> x.requestLine().contains(path));
  }

  @Test
  void anObsFoldIsUnfoldedToASpaceBeforeForwarding() throws Exception {
    // RFC 9112 §5.2: reject, or replace each obs-fold with SP before forwarding; Netty's decoder does the latter.
    assertThat(RawClient.exchange(http, "GET /obs-fold HTTP/1.1\r\nHost: a.example\r\nX-A: a\r\n b\r\n\r\n")
        .status()).isEqualTo(200);
    assertThat(backend.received()).anySatisfy(x -> {
      assertThat(x.requestLine()).isEqualTo("GET /obs-fold HTTP/1.1");
      assertThat(x.headers().get("x-a")).containsExactly("a b");
    });
  }

  @Test
  void whatABackendSendsAfterItsResponseNeverAnswersTheNextPipelinedRequest() throws Exception {
    try (RawClient c = RawClient.connect(http)) {
      c.send("GET /twice HTTP/1.1\r\nHost: double.example\r\n\r\nGET /pipe/next HTTP/1.1\r\nHost: a.example\r\n\r\n");
      RawClient.Response first = c.readResponse(Duration.ofSeconds(5));
      assertThat(first.status()).isEqualTo(200);
      assertThat(first.body()).isEqualTo("first");
      RawClient.Response next = c.readResponse(Duration.ofSeconds(5));
      assertThat(next).as("the pipelined request's own answer").isNotNull();
      assertThat(next.status()).isEqualTo(200);
      assertThat(next.body()).startsWith("request ");
    }
    assertThat(backend.received()).anyMatch(x -> x.requestLine().equals("GET /pipe/next HTTP/1.1"));
  }

  @Test
  void twoHostHeadersAre400() throws Exception {
    try (RawClient c = RawClient.connect(http)) {
      RawClient.Response r = c.send("GET /two-hosts HTTP/1.1\r\nHost: a.example\r\nHost: b.example\r\n\r\n")
          .readResponse(Duration.ofSeconds(5));
      assertThat(r.status()).isEqualTo(400);
      assertThat(c.closedWithin(Duration.ofSeconds(2))).isTrue();
    }
    assertThat(backend.received()).noneMatch(x -> x.requestLine().contains("/two-hosts"));
  }

  @Test
  void pipelinedRequestsAreAnsweredInOrder() throws Exception {
    try (RawClient c = RawClient.connect(http)) {
      c.send("GET /pipe/1 HTTP/1.1\r\nHost: a.example\r\n\r\n"
          + "GET /local/2 HTTP/1.1\r\nHost: a.example\r\n\r\n"
          + "POST /pipe/3 HTTP/1.1\r\nHost: a.example\r\nContent-Length: 0\r\n\r\n"
          + "GET /pipe/4 HTTP/1.1\r\nHost: a.example\r\nConnection: close\r\n\r\n");
      List<String> bodies = new java.util.ArrayList<>();
      for (int i = 0; i < 4; i++) {
        RawClient.Response r = c.readResponse(Duration.ofSeconds(5));
        assertThat(r).as("response %d", i + 1).isNotNull();
        assertThat(r.status()).isEqualTo(200);
        bodies.add(r.body());
        if (i == 1) {
          assertThat(r.head().toLowerCase(java.util.Locale.ROOT)).as("a local answer has a Date (RFC 9110 §6.6.1)")
              .containsPattern("\r\ndate: \\w{3}, \\d{2} \\w{3} \\d{4} \\d{2}:\\d{2}:\\d{2} gmt\r\n");
        }
      }
      assertThat(bodies.get(1)).isEqualTo("local");
      assertThat(c.closedWithin(Duration.ofSeconds(2))).isTrue();
    }
    List<String> lines = backend.received().stream().map(RecordingBackend.Received::requestLine)
        .filter(l -> l.contains("/pipe/")).toList();
    assertThat(lines).containsExactly("GET /pipe/1 HTTP/1.1", "POST /pipe/3 HTTP/1.1", "GET /pipe/4 HTTP/1.1");
  }

  @Test
  void aHeaderBlockOverTheLimitIs431() throws Exception {
    try (RawClient c = RawClient.connect(http)) {
      RawClient.Response r = c.send("GET /big HTTP/1.1\r\nHost: a.example\r\nX-Big: " + "a".repeat(61 * 1024)
          + "\r\n\r\n").readResponse(Duration.ofSeconds(5));
      assertThat(r.status()).isEqualTo(431);
      assertThat(c.closedWithin(Duration.ofSeconds(2))).isTrue();
    }
    StringBuilder many = new StringBuilder("GET /many HTTP/1.1\r\nHost: a.example\r\n");
    for (int i = 0; i < 100; i++) {
      many.append("X-H").append(i).append(": v\r\n");
    }
    try (RawClient c = RawClient.connect(http)) {
      RawClient.Response r = c.send(many + "\r\n").readResponse(Duration.ofSeconds(5));
      assertThat(r.status()).isEqualTo(431);
    }
    assertThat(backend.received()).noneMatch(x -> x.requestLine().contains("/big") || x.requestLine()
        .contains("/many"));
  }

  @Test
  void aRequestLineOverTheLimitIs414() throws Exception {
    try (RawClient c = RawClient.connect(http)) {
      RawClient.Response r = c.send("GET /" + "a".repeat(9000) + " HTTP/1.1\r\nHost: a.example\r\n\r\n")
          .readResponse(Duration.ofSeconds(5));
      assertThat(r.status()).isEqualTo(414);
      assertThat(c.closedWithin(Duration.ofSeconds(2))).isTrue();
    }
  }
}
