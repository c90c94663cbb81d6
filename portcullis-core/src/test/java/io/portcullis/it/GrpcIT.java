package io.portcullis.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.grpc.CallOptions;
import io.grpc.Channel;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.portcullis.Portcullis;
import io.portcullis.proxy.AccessLog;
import io.portcullis.proxy.Transport;
import io.portcullis.testing.DevSecret;
import io.portcullis.testing.GrpcBackend;
import io.portcullis.testing.GrpcClients;
import io.portcullis.testing.GrpcEcho;
import io.portcullis.testing.Ports;
import io.portcullis.testing.Proc;
import java.io.FileOutputStream;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Issue 13, point 3 (gRPC end to end) as point 7 asks it tested: a grpc-java client and a grpc-java backend
 * ({@link GrpcBackend}, ServiceEntry port {@code protocol: GRPC}) with the gateway between them, over TLS (h2 by ALPN)
 * and over h2c on the plain port. All four call kinds with backpressure; headers and trailers ({@code grpc-status},
 * {@code grpc-message}, custom ASCII and {@code -bin} trailers); {@code grpc-timeout} forwarded and capped by the
 * route's {@code timeout}; 4 MiB messages; the errors the gateway makes itself sent as gRPC does them (HTTP 200 with
 * {@code grpc-status} per gRPC's "HTTP to gRPC Status Code Mapping", as Envoy answers a gRPC request: 12 for no
 * route, 14 for an unreachable upstream, 4 for a timeout); VirtualService {@code retries.retryOn} gRPC conditions;
 * {@code grpc_status} in the access log. The slow consumer under {@code -Xmx256m} is {@link GrpcSlowConsumerIT}.
 *
 * <p>Each parameterised test also runs with {@link Via#BACKEND}, the client straight at the backend, which proves the
 * fixture: when a gateway variant fails and the backend one passes, the gateway is at fault.
 */
class GrpcIT {
  static final ObjectMapper JSON = new ObjectMapper();
  static final int MIB = 1024 * 1024;
  /** How grpc-java describes a status it derived from a non-200 HTTP status (not from {@code grpc-status}). */
  static final String FROM_HTTP_STATUS = "HTTP status code";

  @TempDir static Path tmp;
  static GrpcBackend backend;
  static Portcullis gateway;
  static Path accessLog;
  static Path ca;
  static int http;
  static int https;
  static ManagedChannel direct;
  static ManagedChannel tls;
  static ManagedChannel h2c;

  /** Where a test's calls go. */
  enum Via {
    /** Straight to the backend: the fixture's own check. */
    BACKEND("echo.grpc.internal"),
    /** Through the gateway's HTTPS port, h2 by ALPN, trusting the development CA. */
    GATEWAY_TLS("localhost"),
    /** Through the gateway's plain port, h2c with prior knowledge. */
    GATEWAY_H2C("grpc.example");

    final String authority;

    Via(String authority) {
      this.authority = authority;
    }

    Channel channel() {
      return switch (this) {
        case BACKEND -> direct;
        case GATEWAY_TLS -> tls;
        case GATEWAY_H2C -> h2c;
      };
    }
  }

  @BeforeAll
  static void start() throws Exception {
    backend = GrpcBackend.start();
    http = Ports.free();
    https = Ports.free();
    int closed = Ports.free(); // nothing listens there: the unreachable upstream
    Path config = Files.createDirectories(tmp.resolve("config"));
    ca = DevSecret.write(tmp.resolve("dev"), config.resolve("secret.yaml"));
    StringBuilder retryRoutes = new StringBuilder();
    for (String condition : List.of("cancelled", "deadline-exceeded", "internal", "resource-exhausted",
        "unavailable")) {
      retryRoutes.append("""
            - name: retry-%1$s
              match: [{headers: {x-route: {exact: retry-%1$s}}}]
              retries: {attempts: 3, retryOn: %1$s}
              route: [{destination: {host: echo.grpc.internal, port: {number: 50051}}}]
          """.formatted(condition));
    }
    Files.writeString(config.resolve("config.yaml"), """
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
        ---
        apiVersion: networking.istio.io/v1
        kind: ServiceEntry
        metadata: {name: echo}
        spec:
          hosts: [echo.grpc.internal]
          ports: [{number: 50051, name: grpc, protocol: GRPC, targetPort: %3$d}]
          resolution: STATIC
          endpoints: [{address: 127.0.0.1}]
        ---
        apiVersion: networking.istio.io/v1
        kind: ServiceEntry
        metadata: {name: unreachable}
        spec:
          hosts: [unreachable.grpc.internal]
          ports: [{number: 50051, name: grpc, protocol: GRPC, targetPort: %4$d}]
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
          - name: unreachable
            match: [{headers: {x-route: {exact: unreachable}}}]
            route: [{destination: {host: unreachable.grpc.internal, port: {number: 50051}}}]
          - name: timeout
            match: [{headers: {x-route: {exact: timeout}}}]
            timeout: 1s
            route: [{destination: {host: echo.grpc.internal, port: {number: 50051}}}]
        %5$s  - name: echo
            match: [{uri: {prefix: /portcullis.test.Echo/}}]
            route: [{destination: {host: echo.grpc.internal, port: {number: 50051}}}]
        """.formatted(http, https, backend.port(), closed, retryRoutes));
    accessLog = tmp.resolve("access.log");
    gateway = Portcullis.start(new Portcullis.Options(List.of(config), "istio-system", 0, "127.0.0.1",
        new InetSocketAddress("127.0.0.1", 0), new AccessLog(new FileOutputStream(accessLog.toFile())), 1,
        Transport.AUTO, tmp.resolve("state"), Duration.ofSeconds(1)));
    await().atMost(Duration.ofSeconds(10)).until(() -> gateway.ready() && Ports.listening(http)
        && Ports.listening(https));
    direct = GrpcClients.plaintext(backend.port(), Via.BACKEND.authority);
    tls = GrpcClients.tls(https, ca, Via.GATEWAY_TLS.authority);
    h2c = GrpcClients.plaintext(http, Via.GATEWAY_H2C.authority);
    for (ManagedChannel c : List.of(direct, tls, h2c)) {
      GrpcClients.connect(c, Duration.ofSeconds(10));
    }
  }

  @AfterAll
  static void stop() throws IOException {
    GrpcClients.closeAll(direct, tls, h2c);
    if (gateway != null) {
      gateway.close();
    }
    if (accessLog != null && Files.exists(accessLog)) {
      System.out.println("access log:\n" + Files.readString(accessLog)); // kept in the Failsafe report
    }
    if (backend != null) {
      backend.close();
    }
  }

  static String testId() {
    return UUID.randomUUID().toString();
  }

  @ParameterizedTest
  @EnumSource(Via.class)
  void unaryCarriesTheMessageHeadersAndTrailers(Via via) {
    String id = testId();
    GrpcClients.Captured c = GrpcClients.capturing(via.channel(), GrpcClients.metadata("x-test-id", id,
        "x-custom", "hello", "x-trailer-value", "unary-" + id));
    byte[] request = GrpcEcho.payload(1000, 1);
    assertThat(GrpcClients.unary(c.channel(), GrpcEcho.UNARY, CallOptions.DEFAULT, request)).isEqualTo(request);
    assertThat(c.headers().get().get(GrpcEcho.BACKEND)).isEqualTo("grpc");
    assertThat(c.trailers().get().get(GrpcEcho.TRAILER)).isEqualTo("unary-" + id);
    assertThat(c.trailers().get().get(GrpcEcho.TRAILER_BIN_KEY)).isEqualTo(GrpcEcho.TRAILER_BIN);
    GrpcBackend.Call seen = backend.call(id);
    assertThat(seen.method()).isEqualTo("portcullis.test.Echo/Unary");
    assertThat(seen.authority()).as("the client's :authority, forwarded as Envoy does").isEqualTo(via.authority);
    assertThat(seen.headers().get(GrpcEcho.ascii("x-custom"))).isEqualTo("hello");
    assertThat(seen.status().isOk()).isTrue();
  }

  @ParameterizedTest
  @EnumSource(Via.class)
  void serverStreamingDeliversEveryMessageInOrder(Via via) {
    String id = testId();
    GrpcClients.Captured c = GrpcClients.capturing(via.channel(), GrpcClients.metadata("x-test-id", id));
    List<byte[]> got = GrpcClients.serverStream(c.channel(), GrpcClients.deadline(Duration.ofSeconds(30)), 200,
        16 * 1024);
    assertThat(got).hasSize(200);
    for (int i = 0; i < got.size(); i++) {
      assertPattern(i, got.get(i), 16 * 1024);
    }
    assertThat(c.headers().get().get(GrpcEcho.BACKEND)).isEqualTo("grpc");
    assertThat(c.trailers().get().get(GrpcEcho.TRAILER)).isEqualTo(GrpcEcho.TRAILER_VALUE);
    assertThat(backend.call(id).messagesSent()).isEqualTo(200);
  }

  @ParameterizedTest
  @EnumSource(Via.class)
  void clientStreamingDeliversEveryByte(Via via) throws Exception {
    String id = testId();
    Channel ch = GrpcClients.capturing(via.channel(), GrpcClients.metadata("x-test-id", id)).channel();
    assertThat(GrpcClients.clientStream(ch, 256, 64 * 1024)).isEqualTo(256L * 64 * 1024);
    assertThat(backend.call(id).messagesReceived()).isEqualTo(256);
  }

  @ParameterizedTest
  @EnumSource(Via.class)
  void bidiStreamingAnswersEachMessageBeforeTheNextIsSent(Via via) throws Exception {
    String id = testId();
    Channel ch = GrpcClients.capturing(via.channel(), GrpcClients.metadata("x-test-id", id)).channel();
    List<byte[]> got = GrpcClients.pingPong(ch, 50, 2048);
    assertThat(got).hasSize(50);
    for (int i = 0; i < got.size(); i++) {
      assertThat(got.get(i)).as("answer %d", i).isEqualTo(GrpcEcho.payload(2048, i));
    }
    assertThat(backend.call(id).status().isOk()).isTrue();
  }

  @ParameterizedTest
  @EnumSource(Via.class)
  void aBackendStatusAndMessagePassThroughUnchanged(Via via) {
    String id = testId();
    // On the wire percent-encoded (gRPC over HTTP/2 spec, "grpc-message"): passed on, not decoded or re-encoded.
    String message = "no echo named \"ü/%20\" here";
    Metadata extra = GrpcClients.metadata("x-test-id", id, "x-fail-status", "5");
    extra.put(GrpcEcho.FAIL_MESSAGE, message.getBytes(java.nio.charset.StandardCharsets.UTF_8));
    GrpcClients.Captured c = GrpcClients.capturing(via.channel(), extra);
    StatusRuntimeException e = failure(() -> GrpcClients.unary(c.channel(), GrpcEcho.UNARY,
        CallOptions.DEFAULT, new byte[] {1}));
    assertThat(e.getStatus().getCode()).as("%s", e.getStatus()).isEqualTo(Status.Code.NOT_FOUND);
    assertThat(e.getStatus().getDescription()).isEqualTo(message);
    assertThat(c.trailers().get().get(GrpcEcho.TRAILER)).isEqualTo(GrpcEcho.TRAILER_VALUE);
  }

  @ParameterizedTest
  @EnumSource(Via.class)
  void aClientDeadlineReachesTheBackendAsGrpcTimeout(Via via) {
    String id = testId();
    Channel ch = GrpcClients.capturing(via.channel(), GrpcClients.metadata("x-test-id", id)).channel();
    GrpcClients.warmUp(via.channel()); // so the 500 ms are not spent opening the path to the backend
    StatusRuntimeException e = failure(() -> GrpcClients.unary(ch,
        GrpcEcho.SLEEP, GrpcClients.deadline(Duration.ofMillis(500)), GrpcEcho.encodeLong(5000)));
    assertThat(e.getStatus().getCode()).as("%s", e.getStatus()).isEqualTo(Status.Code.DEADLINE_EXCEEDED);
    GrpcBackend.Call seen = await().atMost(Duration.ofSeconds(5)).until(() -> backend.calls(id).stream()
        .findFirst().orElse(null), c -> c != null);
    assertThat(seen.deadline()).as("grpc-timeout forwarded").isPresent();
    assertThat(seen.deadline().get()).isPositive().isLessThanOrEqualTo(Duration.ofMillis(500));
    // The stream ends at the backend too: reset by the client (through the gateway) or by its own deadline.
    await().atMost(Duration.ofSeconds(5)).until(seen::cancelled);
  }

  @ParameterizedTest
  @EnumSource(Via.class)
  void fourMiBMessagesPassBothWays(Via via) {
    String id = testId();
    Channel ch = GrpcClients.capturing(via.channel(), GrpcClients.metadata("x-test-id", id)).channel();
    byte[] request = GrpcEcho.payload(4 * MIB, 9);
    assertThat(GrpcClients.unary(ch, GrpcEcho.UNARY, CallOptions.DEFAULT, request)).isEqualTo(request);
    List<byte[]> streamed = GrpcClients.serverStream(ch, GrpcClients.deadline(Duration.ofSeconds(30)), 3, 4 * MIB);
    assertThat(streamed).hasSize(3);
    for (int i = 0; i < 3; i++) {
      assertPattern(i, streamed.get(i), 4 * MIB);
    }
    assertThat(backend.calls(id)).hasSize(2);
  }

  /** Istio {@code HTTPRoute.timeout} caps a longer {@code grpc-timeout} (Envoy's {@code max_grpc_timeout}). */
  @ParameterizedTest
  @EnumSource(value = Via.class, names = {"GATEWAY_TLS", "GATEWAY_H2C"})
  void aRouteTimeoutCapsALongerClientDeadline(Via via) {
    String id = testId();
    Channel ch = GrpcClients.capturing(via.channel(), GrpcClients.metadata("x-test-id", id, "x-route", "timeout"))
        .channel();
    GrpcClients.warmUp(via.channel());
    long start = System.nanoTime();
    StatusRuntimeException e = failure(() -> GrpcClients.unary(ch,
        GrpcEcho.SLEEP, GrpcClients.deadline(Duration.ofSeconds(30)), GrpcEcho.encodeLong(5000)));
    assertThat(e.getStatus().getCode()).as("%s", e.getStatus()).isEqualTo(Status.Code.DEADLINE_EXCEEDED);
    assertThat(String.valueOf(e.getStatus().getDescription())).doesNotContain(FROM_HTTP_STATUS);
    // Not the client's own 30 s deadline, nor the backend's 5 s answer: the route's 1 s (a generous bound).
    assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofMillis(4500));
    GrpcBackend.Call seen = backend.call(id);
    assertThat(seen.deadline()).as("grpc-timeout capped by the route").isPresent();
    assertThat(seen.deadline().get()).isPositive().isLessThanOrEqualTo(Duration.ofSeconds(1));
  }

  /**
   * Errors the gateway makes for a gRPC request are gRPC answers, not HTTP ones: grpc-java derives a status from a
   * non-200 answer's HTTP status with a description naming it, so an answer without {@value #FROM_HTTP_STATUS} came
   * as HTTP 200 with {@code grpc-status}. {@link #gatewayMadeErrorsAreHttp200WithGrpcStatusOnTheWire} checks the
   * frames.
   */
  @ParameterizedTest(name = "{0}")
  @CsvSource({
      "no route,             portcullis.test.Nowhere, Unary, '',          UNIMPLEMENTED",
      "unreachable upstream, portcullis.test.Echo,    Unary, unreachable, UNAVAILABLE",
      "route timeout,        portcullis.test.Echo,    Sleep, timeout,     DEADLINE_EXCEEDED"})
  void gatewayMadeErrorsAreGrpcStatuses(String what, String service, String method, String route,
      Status.Code expected) {
    Metadata extra = route.isEmpty() ? new Metadata() : GrpcClients.metadata("x-route", route);
    GrpcClients.Captured c = GrpcClients.capturing(tls, extra);
    StatusRuntimeException e = failure(() -> GrpcClients.unary(
        c.channel(), GrpcEcho.method(service, method, io.grpc.MethodDescriptor.MethodType.UNARY),
        GrpcClients.deadline(Duration.ofSeconds(30)), GrpcEcho.encodeLong(5000)));
    assertThat(e.getStatus().getCode()).as("%s: %s", what, e.getStatus()).isEqualTo(expected);
    assertThat(String.valueOf(e.getStatus().getDescription())).as(what).doesNotContain(FROM_HTTP_STATUS);
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource({
      "no route,             /portcullis.test.Nowhere/Unary, '',          12",
      "unreachable upstream, /portcullis.test.Echo/Unary,    unreachable, 14",
      "route timeout,        /portcullis.test.Echo/Sleep,    timeout,     4"})
  void gatewayMadeErrorsAreHttp200WithGrpcStatusOnTheWire(String what, String path, String route, int grpcStatus)
      throws Exception {
    String head = curlGrpc(http, path, route.isEmpty() ? List.of() : List.of("x-route: " + route));
    assertThat(head).as(what).startsWith("HTTP/2 200").containsPattern("(?im)^content-type: application/grpc")
        .containsPattern("(?im)^grpc-status: " + grpcStatus + "\\s*$");
  }

  /** The fixture of the test above: curl shows a gRPC answer's status line and {@code grpc-status}. */
  @Test
  void directToBackendCurlShowsGrpcStatusOnTheWire() throws Exception {
    assertThat(curlGrpc(backend.port(), "/portcullis.test.Nowhere/Unary", List.of())).startsWith("HTTP/2 200")
        .containsPattern("(?im)^grpc-status: 12\\s*$");
    assertThat(curlGrpc(backend.port(), "/portcullis.test.Echo/Unary", List.of("x-fail-status: 4")))
        .startsWith("HTTP/2 200").containsPattern("(?im)^grpc-status: 4\\s*$");
  }

  /**
   * Istio {@code HTTPRetry.retryOn} with Envoy's gRPC conditions ({@code x-envoy-retry-grpc-on}): the backend fails
   * the first two calls with the condition's status, the third succeeds; with {@code attempts: 3} the client sees
   * OK and the backend three calls.
   */
  @ParameterizedTest(name = "retryOn {0}")
  @CsvSource({"cancelled, 1", "deadline-exceeded, 4", "internal, 13", "resource-exhausted, 8", "unavailable, 14"})
  void grpcRetryOnConditionsRetryUntilTheBackendAnswers(String condition, int status) {
    String id = testId();
    Channel ch = GrpcClients.capturing(tls, GrpcClients.metadata("x-test-id", id, "x-route", "retry-" + condition,
        "x-fail-until", "2", "x-fail-until-status", Integer.toString(status), "x-fail-key", id)).channel();
    assertThat(GrpcClients.unary(ch, GrpcEcho.UNARY, CallOptions.DEFAULT, new byte[] {42}))
        .isEqualTo(new byte[] {42});
    assertThat(backend.failCounter(id)).isEqualTo(3);
    assertThat(backend.calls(id)).hasSize(3);
  }

  /** A status the route's {@code retryOn} does not name is answered at once, not retried. */
  @Test
  void aStatusOutsideRetryOnIsNotRetried() {
    String id = testId();
    Channel ch = GrpcClients.capturing(tls, GrpcClients.metadata("x-test-id", id, "x-route", "retry-unavailable",
        "x-fail-until", "2", "x-fail-until-status", "13", "x-fail-key", id)).channel();
    StatusRuntimeException e = failure(() -> GrpcClients.unary(ch, GrpcEcho.UNARY,
        CallOptions.DEFAULT, new byte[] {42}));
    assertThat(e.getStatus().getCode()).as("%s", e.getStatus()).isEqualTo(Status.Code.INTERNAL);
    assertThat(backend.failCounter(id)).isEqualTo(1);
  }

  /** The fixture of the retry tests: the first K calls of a key fail with the status asked for, then calls pass. */
  @Test
  void directToBackendFailUntilFailsTheFirstCallsOfItsKeyOnly() {
    String id = testId();
    Channel ch = GrpcClients.capturing(direct, GrpcClients.metadata("x-fail-until", "2", "x-fail-until-status", "8",
        "x-fail-key", id)).channel();
    for (int i = 0; i < 2; i++) {
      StatusRuntimeException e = failure(() -> GrpcClients.unary(ch, GrpcEcho.UNARY,
          CallOptions.DEFAULT, new byte[] {1}));
      assertThat(e.getStatus().getCode()).as("%s", e.getStatus()).isEqualTo(Status.Code.RESOURCE_EXHAUSTED);
    }
    assertThat(GrpcClients.unary(ch, GrpcEcho.UNARY, CallOptions.DEFAULT, new byte[] {1})).isEqualTo(new byte[] {1});
    assertThat(backend.failCounter(id)).isEqualTo(3);
  }

  /** Envoy's {@code %GRPC_STATUS_NUMBER%}, logged as {@code grpc_status}: from the trailers, or trailers-only. */
  @ParameterizedTest(name = "{0}")
  @CsvSource({"OK, '', 0", "NOT_FOUND, 5, 5"})
  void theAccessLogHasTheGrpcStatus(String what, String failStatus, String logged) {
    String requestId = "grpc-" + what + "-" + testId();
    Metadata extra = GrpcClients.metadata("x-request-id", requestId);
    if (!failStatus.isEmpty()) {
      extra.put(GrpcEcho.FAIL_STATUS, failStatus);
    }
    Channel ch = GrpcClients.capturing(tls, extra).channel();
    try {
      GrpcClients.unary(ch, GrpcEcho.UNARY, CallOptions.DEFAULT, new byte[] {7});
    } catch (StatusRuntimeException e) {
      assertThat(e.getStatus().getCode()).as("%s", e.getStatus()).isEqualTo(Status.Code.valueOf(what));
    }
    JsonNode line = await().atMost(Duration.ofSeconds(5)).until(() -> Files.readAllLines(accessLog).stream()
        .map(GrpcIT::json).filter(n -> n.path("request_id").asText().equals(requestId)).findFirst()
        .orElse(null), n -> n != null);
    assertThat(line.path("grpc_status").asText()).as(line.toString()).isEqualTo(logged);
    assertThat(line.get("response_code").asInt()).isEqualTo(200);
    assertThat(line.get("path").asText()).isEqualTo("/portcullis.test.Echo/Unary");
    assertThat(line.get("protocol").asText()).isEqualTo("HTTP/2");
    assertThat(line.get("upstream_cluster").asText()).isEqualTo("outbound|50051||echo.grpc.internal");
  }

  /** The TLS client of the gateway tests, checked against a TLS backend with the same certificate. */
  @Test
  void directToATlsBackendTheTlsClientIsServed() throws Exception {
    Path dev = tmp.resolve("dev");
    try (GrpcBackend secure = GrpcBackend.startTls(dev.resolve("tls.crt"), dev.resolve("tls.key"))) {
      ManagedChannel ch = GrpcClients.tls(secure.port(), ca, "localhost");
      try {
        assertThat(GrpcClients.unary(ch, GrpcEcho.UNARY, CallOptions.DEFAULT, new byte[] {5}))
            .isEqualTo(new byte[] {5});
        assertThat(secure.calls()).singleElement().extracting(GrpcBackend.Call::authority).isEqualTo("localhost");
      } finally {
        GrpcClients.close(ch);
      }
    }
  }

  /** Returns what {@code call} threw, which must be a {@link StatusRuntimeException}. */
  static StatusRuntimeException failure(org.assertj.core.api.ThrowableAssert.ThrowingCallable call) {
    Throwable t = catchThrowable(call);
    assertThat(t).as("the call's failure").isInstanceOf(StatusRuntimeException.class);
    return (StatusRuntimeException) t;
  }

  static void assertPattern(int i, byte[] message, int size) {
    assertThat(message).as("message %d", i).hasSize(size);
    byte[] expected = new byte[size];
    for (int j = 0; j < size; j++) {
      expected[j] = GrpcEcho.patternByte(i, j);
    }
    assertThat(message).as("message %d", i).isEqualTo(expected);
  }

  /**
   * POSTs one gRPC frame (an 8-byte message: 5000 as a long) to {@code path} with curl over h2c prior knowledge and
   * returns the response headers and trailers as curl prints them.
   */
  static String curlGrpc(int port, String path, List<String> headers) throws Exception {
    Path frame = Files.createTempFile(tmp, "frame", ".bin");
    byte[] message = GrpcEcho.encodeLong(5000);
    Files.write(frame, ByteBuffer.allocate(5 + message.length).put((byte) 0).putInt(message.length).put(message)
        .array());
    Path head = Files.createTempFile(tmp, "head", ".txt");
    List<String> cmd = new ArrayList<>(List.of("curl", "-sS", "--max-time", "10", "--http2-prior-knowledge",
        "-D", head.toString(), "-o", "/dev/null", "-H", "content-type: application/grpc", "-H", "te: trailers",
        "--data-binary", "@" + frame));
    for (String h : headers) {
      cmd.add("-H");
      cmd.add(h);
    }
    cmd.add("http://127.0.0.1:" + port + path);
    Proc.Result r = Proc.run(20, cmd.toArray(String[]::new));
    String out = Files.readString(head);
    assertThat(r.exitCode()).as("curl: " + r.stderr() + "\n" + out).isZero();
    return out.toLowerCase(Locale.ROOT).replace("http/2", "HTTP/2");
  }

  static JsonNode json(String s) {
    try {
      return JSON.readTree(s);
    } catch (IOException e) {
      throw new IllegalStateException(s, e);
    }
  }
}
