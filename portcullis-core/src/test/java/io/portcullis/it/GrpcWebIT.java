package io.portcullis.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.grpc.CallOptions;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.portcullis.Portcullis;
import io.portcullis.testing.Gateways;
import io.portcullis.testing.GrpcBackend;
import io.portcullis.testing.GrpcClients;
import io.portcullis.testing.GrpcEcho;
import io.portcullis.testing.GrpcWebFrames;
import io.portcullis.testing.Ports;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Issue 13, point 3's last sentence ("gRPC-Web ({@code application/grpc-web}, {@code application/grpc-web-text})
 * translated to gRPC for browser clients, as Envoy's filter does") as point 7 asks it tested, with a plain HTTP/1.1
 * client: {@link java.net.http.HttpClient} POSTs gRPC-Web frames ({@link GrpcWebFrames}; binary, and base64 for
 * {@code -text}) to the gateway's plain port; the gateway speaks gRPC to {@link GrpcBackend} (ServiceEntry port
 * {@code protocol: GRPC}) and answers 200 with a gRPC-Web body: the message frames, then the trailer frame (flag
 * {@code 0x80}) with {@code grpc-status} and the backend's custom trailers. A backend error arrives as
 * {@code grpc-status} in the trailer frame, or in the response headers for a trailers-only answer, as Envoy sends it.
 */
class GrpcWebIT {
  @TempDir static Path tmp;
  static GrpcBackend backend;
  static Portcullis gateway;
  static int http;
  static HttpClient client;

  @BeforeAll
  static void start() throws Exception {
    backend = GrpcBackend.start();
    http = Ports.free();
    Path config = Files.createDirectories(tmp.resolve("config"));
    Files.writeString(config.resolve("config.yaml"), Gateways.plainGateway(http) + """
        ---
        apiVersion: networking.istio.io/v1
        kind: ServiceEntry
        metadata: {name: echo}
        spec:
          hosts: [echo.grpc.internal]
          ports: [{number: 50051, name: grpc, protocol: GRPC, targetPort: %d}]
          resolution: STATIC
          endpoints: [{address: 127.0.0.1}]
        ---
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata: {name: echo}
        spec:
          hosts: ["*"]
          gateways: [gw]
          http:
          - match: [{uri: {prefix: /portcullis.test.Echo/}}]
            route: [{destination: {host: echo.grpc.internal, port: {number: 50051}}}]
        """.formatted(backend.port()));
    gateway = Gateways.start(config, tmp.resolve("state"));
    await().atMost(Duration.ofSeconds(10)).until(() -> gateway.ready() && Ports.listening(http));
    client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
  }

  @AfterAll
  static void stop() {
    if (gateway != null) {
      gateway.close();
    }
    if (backend != null) {
      backend.close();
    }
  }

  /** A gRPC-Web answer: status, headers, and the frames of its body (decoded from base64 for {@code -text}). */
  record WebAnswer(int status, Map<String, List<String>> headers, List<GrpcWebFrames.Frame> frames) {
    Optional<String> header(String name) {
      return Optional.ofNullable(headers.get(name)).map(v -> v.get(0));
    }

    List<byte[]> messages() {
      return frames.stream().filter(f -> !f.trailers()).map(GrpcWebFrames.Frame::payload).toList();
    }

    /** The trailer frame's lines; empty when there is no trailer frame. */
    Map<String, String> trailers() {
      return frames.stream().filter(GrpcWebFrames.Frame::trailers).findFirst().map(GrpcWebFrames.Frame::headers)
          .orElse(Map.of());
    }

    /** {@code grpc-status} from the trailer frame, or from the headers of a trailers-only answer. */
    Optional<String> grpcStatus() {
      return Optional.ofNullable(trailers().get("grpc-status")).or(() -> header("grpc-status"));
    }
  }

  /** POSTs {@code message} as one gRPC-Web frame to {@code method} with {@code contentType}, plus {@code headers}. */
  static WebAnswer post(String method, String contentType, byte[] message, String... headers) throws Exception {
    boolean text = contentType.startsWith("application/grpc-web-text");
    byte[] frame = GrpcWebFrames.frame(GrpcWebFrames.DATA, message);
    byte[] body = text ? GrpcWebFrames.encodeText(frame).getBytes(StandardCharsets.US_ASCII) : frame;
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + http + "/" + GrpcEcho.SERVICE
            + "/" + method)).timeout(Duration.ofSeconds(20))
        .header("content-type", contentType).header("accept", contentType).header("x-grpc-web", "1")
        .header("x-user-agent", "grpc-web-javascript/0.1")
        .POST(HttpRequest.BodyPublishers.ofByteArray(body));
    for (int i = 0; i + 1 < headers.length; i += 2) {
      b.header(headers[i], headers[i + 1]);
    }
    // The request timeout ends at the response headers: the whole exchange is bounded here.
    CompletableFuture<HttpResponse<byte[]>> sent = client.sendAsync(b.build(), HttpResponse.BodyHandlers.ofByteArray());
    HttpResponse<byte[]> r;
    try {
      r = sent.get(10, TimeUnit.SECONDS);
    } catch (TimeoutException e) {
      sent.cancel(true);
      throw new AssertionError("no complete answer to POST " + method + " (" + contentType + ") within 10 s", e);
    }
    String type = r.headers().firstValue("content-type").orElse("");
    byte[] raw = r.body();
    byte[] frames = type.startsWith("application/grpc-web-text")
        ? GrpcWebFrames.decodeText(new String(raw, StandardCharsets.US_ASCII)) : raw;
    List<GrpcWebFrames.Frame> parsed = r.statusCode() == 200 && type.startsWith("application/grpc-web")
        ? GrpcWebFrames.parse(frames) : List.of();
    return new WebAnswer(r.statusCode(), r.headers().map(), parsed);
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource({"application/grpc-web", "application/grpc-web+proto", "application/grpc-web-text",
      "application/grpc-web-text+proto"})
  void aUnaryCallAnswersTheMessageThenATrailerFrame(String contentType) throws Exception {
    String id = UUID.randomUUID().toString();
    byte[] message = GrpcEcho.payload(3000, 4);
    WebAnswer a = post("Unary", contentType, message, "x-test-id", id, "x-trailer-value", "web-" + id);
    assertThat(a.status()).as("%s", a).isEqualTo(200);
    assertThat(a.header("content-type")).get(org.assertj.core.api.InstanceOfAssertFactories.STRING)
        .startsWith(contentType.startsWith("application/grpc-web-text") ? "application/grpc-web-text"
            : "application/grpc-web");
    assertThat(a.frames()).as("frames").isNotEmpty();
    assertThat(a.frames().get(a.frames().size() - 1).trailers()).as("the last frame is the trailer frame").isTrue();
    assertThat(a.messages()).singleElement().isEqualTo(message);
    assertThat(a.trailers()).containsEntry("grpc-status", "0").containsEntry("x-trailer", "web-" + id);
    assertThat(a.header("x-backend")).contains("grpc");
    GrpcBackend.Call seen = backend.call(id);
    assertThat(seen.method()).isEqualTo("portcullis.test.Echo/Unary");
    assertThat(seen.status().isOk()).isTrue();
  }

  /** A server stream over gRPC-Web (what browsers can do): one frame per message, then the trailer frame. */
  @ParameterizedTest(name = "{0}")
  @CsvSource({"application/grpc-web+proto", "application/grpc-web-text"})
  void aServerStreamAnswersEveryMessageThenATrailerFrame(String contentType) throws Exception {
    WebAnswer a = post("ServerStream", contentType, GrpcEcho.streamRequest(5, 1000));
    assertThat(a.status()).as("%s", a).isEqualTo(200);
    assertThat(a.messages()).hasSize(5);
    for (int i = 0; i < 5; i++) {
      GrpcIT.assertPattern(i, a.messages().get(i), 1000);
    }
    assertThat(a.trailers()).containsEntry("grpc-status", "0").containsEntry("x-trailer", GrpcEcho.TRAILER_VALUE);
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource({"application/grpc-web+proto", "application/grpc-web-text"})
  void aBackendErrorArrivesAsGrpcStatus(String contentType) throws Exception {
    String message = Base64.getEncoder().encodeToString("no such echo".getBytes(StandardCharsets.UTF_8));
    WebAnswer a = post("Unary", contentType, new byte[] {1}, "x-fail-status", "5", "x-fail-message-bin", message);
    assertThat(a.status()).as("%s", a).isEqualTo(200);
    assertThat(a.grpcStatus()).as("%s", a).contains("5");
    assertThat(Optional.ofNullable(a.trailers().get("grpc-message")).or(() -> a.header("grpc-message")))
        .contains("no such echo");
    assertThat(a.messages()).isEmpty();
  }

  /** The fixture of the tests above: the same calls as plain gRPC, straight to the backend. */
  @Test
  void directToBackendTheSameCallsOverGrpc() throws Exception {
    ManagedChannel ch = GrpcClients.plaintext(backend.port(), "echo.grpc.internal");
    try {
      GrpcClients.Captured c = GrpcClients.capturing(ch, GrpcClients.metadata("x-trailer-value", "web-direct"));
      byte[] message = GrpcEcho.payload(3000, 4);
      assertThat(GrpcClients.unary(c.channel(), GrpcEcho.UNARY, CallOptions.DEFAULT, message)).isEqualTo(message);
      assertThat(c.trailers().get().get(GrpcEcho.TRAILER)).isEqualTo("web-direct");
      assertThat(GrpcClients.serverStream(ch, GrpcClients.deadline(Duration.ofSeconds(10)), 5, 1000)).hasSize(5);
      Metadata fail = GrpcClients.metadata("x-fail-status", "5");
      fail.put(GrpcEcho.FAIL_MESSAGE, "no such echo".getBytes(StandardCharsets.UTF_8));
      StatusRuntimeException e = GrpcIT.failure(() -> GrpcClients.unary(GrpcClients.capturing(ch, fail).channel(),
          GrpcEcho.UNARY, CallOptions.DEFAULT, new byte[] {1}));
      assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.NOT_FOUND);
      assertThat(e.getStatus().getDescription()).isEqualTo("no such echo");
    } finally {
      GrpcClients.close(ch);
    }
  }
}
