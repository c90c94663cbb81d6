package io.portcullis.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.grpc.CallOptions;
import io.grpc.ManagedChannel;
import io.portcullis.Portcullis;
import io.portcullis.proxy.AccessLog;
import io.portcullis.proxy.Transport;
import io.portcullis.testing.GrpcBackend;
import io.portcullis.testing.GrpcClients;
import io.portcullis.testing.GrpcEcho;
import io.portcullis.testing.H2Server;
import io.portcullis.testing.Ports;
import io.portcullis.testing.RecordingBackend;
import io.portcullis.testing.RequestLoop;
import java.io.FileOutputStream;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Issue 14, point 1, end to end: Kubernetes Services with EndpointSlices as route destinations, with real backends
 * on free ports behind Service port 80 (mapped through {@code targetPort} and the slices' ports), through the gateway
 * in this JVM. Routing by port number and by port name; readiness; an endpoint added and removed under a request
 * loop with no failed request and no new downstream connection; legacy Endpoints; DestinationRule subsets by the
 * Pods' labels; ExternalName; 503 UH without a ready endpoint (and NC for an unknown host); a {@code grpc-} port or
 * {@code appProtocol: grpc} spoken over HTTP/2 to a gRPC backend.
 */
class ServiceDiscoveryIT {
  private static final ObjectMapper JSON = new ObjectMapper();

  @TempDir Path tmp;
  private Path config;
  private Path accessLog;
  private Portcullis gateway;
  private int port;
  private final HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();

  @AfterEach
  void stop() throws Exception {
    if (gateway != null) {
      gateway.close();
    }
    if (accessLog != null && Files.exists(accessLog)) {
      System.out.println("access log:\n" + Files.readString(accessLog)); // kept in the Failsafe report
    }
  }

  /** Starts the gateway on the Gateway, a VirtualService routing {@code routes} and {@code manifests}. */
  private void start(String routes, String manifests) throws Exception {
    config = Files.createDirectories(tmp.resolve("config"));
    port = Ports.free();
    Files.writeString(config.resolve("gateway.yaml"), """
        apiVersion: networking.istio.io/v1
        kind: Gateway
        metadata: {name: gw, namespace: istio-system}
        spec:
          servers:
          - port: {number: %d, name: http, protocol: HTTP}
            hosts: ["*"]
        ---
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata: {name: vs, namespace: shop}
        spec:
          hosts: ["*"]
          gateways: [istio-system/gw]
          http:
        %s""".formatted(port, routes));
    Files.writeString(config.resolve("services.yaml"), manifests);
    accessLog = tmp.resolve("access.log");
    gateway = Portcullis.start(new Portcullis.Options(List.of(config), "istio-system", 0, "127.0.0.1",
        new InetSocketAddress("127.0.0.1", 0), new AccessLog(new FileOutputStream(accessLog.toFile())), 1,
        Transport.AUTO, tmp.resolve("state"), Duration.ofSeconds(1)));
    await().atMost(Duration.ofSeconds(10)).until(() -> gateway.ready() && Ports.listening(port));
  }

  private static String route(String prefix, String destination) {
    return """
          - match: [{uri: {prefix: %s}}]
            route: [{destination: %s}]
        """.formatted(prefix, destination);
  }

  private static String slice(String name, String service, String ports, String endpoints) {
    return """
        apiVersion: discovery.k8s.io/v1
        kind: EndpointSlice
        metadata:
          name: %s
          namespace: shop
          labels: {kubernetes.io/service-name: %s}
        addressType: IPv4
        ports: %s
        endpoints: %s
        """.formatted(name, service, ports, endpoints);
  }

  private HttpResponse<String> get(String path) throws Exception {
    return client.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
        .timeout(Duration.ofSeconds(20)).build(), HttpResponse.BodyHandlers.ofString());
  }

  private List<JsonNode> accessLines() throws Exception {
    return Files.readAllLines(accessLog, StandardCharsets.UTF_8).stream().map(ServiceDiscoveryIT::json).toList();
  }

  private static JsonNode json(String s) {
    try {
      return JSON.readTree(s);
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  @Test
  void servicePortsByNumberAndByNameReachTheirBackends() throws Exception {
    try (RecordingBackend web = new RecordingBackend(); RecordingBackend metrics = new RecordingBackend()) {
      start(route("/web", "{host: shop, port: {number: 80}}")
          + route("/metrics", "{host: shop.shop, port: {number: 9090}}"), """
          apiVersion: v1
          kind: Service
          metadata: {name: shop, namespace: shop}
          spec:
            ports:
            - {name: http, port: 80, targetPort: web}
            - {name: metrics, port: 9090, targetPort: %d}
          ---
          """.formatted(metrics.port()) + slice("shop-1", "shop", "[{name: http, port: %d}]".formatted(web.port()),
          "[{addresses: [127.0.0.1]}]"));
      for (int i = 0; i < 3; i++) {
        assertThat(get("/web/" + i).statusCode()).isEqualTo(200);
        assertThat(get("/metrics/" + i).statusCode()).isEqualTo(200);
      }
      assertThat(web.received()).extracting(RecordingBackend.Received::requestLine).as("by the slice's port name")
          .containsExactly("GET /web/0 HTTP/1.1", "GET /web/1 HTTP/1.1", "GET /web/2 HTTP/1.1");
      assertThat(metrics.received()).extracting(RecordingBackend.Received::requestLine).as("by targetPort")
          .containsExactly("GET /metrics/0 HTTP/1.1", "GET /metrics/1 HTTP/1.1", "GET /metrics/2 HTTP/1.1");
      await().atMost(Duration.ofSeconds(5)).until(() -> accessLines().size() == 6);
      assertThat(accessLines()).extracting(l -> l.get("upstream_cluster").asText()).contains(
          "outbound|80||shop.shop.svc.cluster.local", "outbound|9090||shop.shop.svc.cluster.local");
    }
  }

  @Test
  void anEndpointThatIsNotReadyGetsNoTraffic() throws Exception {
    try (RecordingBackend ready = new RecordingBackend(); RecordingBackend notReady = new RecordingBackend()) {
      start(route("/", "{host: shop, port: {number: 80}}"), """
          apiVersion: v1
          kind: Service
          metadata: {name: shop, namespace: shop}
          spec:
            ports: [{name: http, port: 80, targetPort: 8080}]
          ---
          """ + slice("shop-a", "shop", "[{name: http, port: %d}]".formatted(ready.port()),
          "[{addresses: [127.0.0.1], conditions: {ready: true}}]") + "---\n"
          + slice("shop-b", "shop", "[{name: http, port: %d}]".formatted(notReady.port()),
          "[{addresses: [127.0.0.1], conditions: {ready: false}}]"));
      for (int i = 0; i < 10; i++) {
        assertThat(get("/" + i).statusCode()).isEqualTo(200);
      }
      assertThat(ready.received()).hasSize(10);
      assertThat(notReady.received()).isEmpty();
    }
  }

  @Test
  void legacyEndpointsServeOnlyTheirReadyAddresses() throws Exception {
    try (RecordingBackend ready = new RecordingBackend(); RecordingBackend notReady = new RecordingBackend()) {
      start(route("/", "{host: shop, port: {number: 80}}"), """
          apiVersion: v1
          kind: Service
          metadata: {name: shop, namespace: shop}
          spec:
            ports: [{name: http, port: 80, targetPort: 8080}]
          ---
          apiVersion: v1
          kind: Endpoints
          metadata: {name: shop, namespace: shop}
          subsets:
          - addresses: [{ip: 127.0.0.1}]
            ports: [{name: http, port: %d}]
          - notReadyAddresses: [{ip: 127.0.0.1}]
            ports: [{name: http, port: %d}]
          """.formatted(ready.port(), notReady.port()));
      for (int i = 0; i < 6; i++) {
        assertThat(get("/" + i).statusCode()).isEqualTo(200);
      }
      assertThat(ready.received()).hasSize(6);
      assertThat(notReady.received()).isEmpty();
    }
  }

  @Test
  void destinationRuleSubsetsSelectEndpointsByTheirPodsLabels() throws Exception {
    try (RecordingBackend v1 = new RecordingBackend(); RecordingBackend v2 = new RecordingBackend()) {
      StringBuilder manifests = new StringBuilder("""
          apiVersion: v1
          kind: Service
          metadata: {name: shop, namespace: shop}
          spec:
            ports: [{name: http, port: 80, targetPort: web}]
          ---
          apiVersion: networking.istio.io/v1
          kind: DestinationRule
          metadata: {name: shop, namespace: shop}
          spec:
            host: shop
            subsets:
            - {name: v1, labels: {version: v1}}
            - {name: v2, labels: {version: v2}}
          """);
      for (String version : List.of("v1", "v2")) {
        int backend = version.equals("v1") ? v1.port() : v2.port();
        manifests.append("""
            ---
            apiVersion: v1
            kind: Pod
            metadata: {name: shop-%1$s, namespace: shop, labels: {app: shop, version: %1$s}}
            spec: {containers: [{name: shop, image: shop, ports: [{name: web, containerPort: %2$d}]}]}
            status: {podIP: 127.0.0.1}
            ---
            """.formatted(version, backend)).append(slice("shop-" + version, "shop",
            "[{name: http, port: %d}]".formatted(backend),
            "[{addresses: [127.0.0.1], targetRef: {kind: Pod, name: shop-%s}}]".formatted(version)));
      }
      start(route("/v1", "{host: shop, port: {number: 80}, subset: v1}")
          + route("/v2", "{host: shop, port: {number: 80}, subset: v2}"), manifests.toString());
      for (int i = 0; i < 3; i++) {
        assertThat(get("/v1/" + i).statusCode()).isEqualTo(200);
        assertThat(get("/v2/" + i).statusCode()).isEqualTo(200);
      }
      assertThat(v1.received()).extracting(RecordingBackend.Received::requestLine)
          .allMatch(l -> l.startsWith("GET /v1/")).hasSize(3);
      assertThat(v2.received()).extracting(RecordingBackend.Received::requestLine)
          .allMatch(l -> l.startsWith("GET /v2/")).hasSize(3);
    }
  }

  @Test
  void anEndpointAddedAndRemovedUnderLoadFailsNoRequestAndKeepsTheDownstreamConnection() throws Exception {
    try (RecordingBackend first = new RecordingBackend(); RecordingBackend second = new RecordingBackend()) {
      String service = """
          apiVersion: v1
          kind: Service
          metadata: {name: shop, namespace: shop}
          spec:
            ports: [{name: http, port: 80, targetPort: 8080}]
          ---
          """;
      start(route("/", "{host: shop, port: {number: 80}}"), service + slice("shop-a", "shop",
          "[{name: http, port: %d}]".formatted(first.port()), "[{addresses: [127.0.0.1]}]"));
      Path added = config.resolve("added.yaml");
      try (RequestLoop loop = new RequestLoop(() -> get("/loop").statusCode() == 200)) {
        await().atMost(Duration.ofSeconds(10)).until(() -> loop.ok() >= 20);
        long before = gateway.generation();
        Files.writeString(added, slice("shop-b", "shop", "[{name: http, port: %d}]".formatted(second.port()),
            "[{addresses: [127.0.0.1]}]"));
        await().atMost(Duration.ofSeconds(10)).until(() -> gateway.generation() > before);
        await().atMost(Duration.ofSeconds(10)).until(() -> second.received().size() >= 10);
        long withSecond = gateway.generation();
        Files.writeString(added, slice("shop-b", "shop", "[{name: http, port: %d}]".formatted(second.port()),
            "[{addresses: [127.0.0.1], conditions: {ready: false}}]"));
        await().atMost(Duration.ofSeconds(10)).until(() -> gateway.generation() > withSecond);
        int secondAfterRemoval = second.received().size();
        int okAfterRemoval = loop.ok();
        await().atMost(Duration.ofSeconds(10)).until(() -> loop.ok() >= okAfterRemoval + 20);
        assertThat(second.received()).as("the removed endpoint's pooled connections take no new request")
            .hasSizeLessThanOrEqualTo(secondAfterRemoval + 1); // at most the one in flight at the swap
        await("the removed endpoint's connections are closed, not left idle").atMost(Duration.ofSeconds(10))
            .until(() -> second.openConnections() == 0);
        assertThat(first.openConnections()).as("the remaining endpoint's are kept").isPositive();
        loop.close();
        assertThat(loop.failed()).isZero();
      }
      List<JsonNode> lines = accessLines();
      Set<String> downstreams = new HashSet<>();
      lines.forEach(l -> downstreams.add(l.get("downstream_remote_address").asText()));
      assertThat(downstreams).as("one keep-alive downstream connection throughout").hasSize(1);
    }
  }

  @Test
  void anExternalNameServiceIsLookedUpInDns() throws Exception {
    try (RecordingBackend backend = new RecordingBackend()) {
      start(route("/", "{host: external, port: {number: %d}}".formatted(backend.port())), """
          apiVersion: v1
          kind: Service
          metadata: {name: external, namespace: shop}
          spec:
            type: ExternalName
            externalName: localhost
            ports: [{name: http, port: %d}]
          """.formatted(backend.port()));
      assertThat(get("/x").statusCode()).isEqualTo(200);
      assertThat(backend.received()).extracting(RecordingBackend.Received::requestLine)
          .containsExactly("GET /x HTTP/1.1");
    }
  }

  @ParameterizedTest
  @CsvSource({
      "/none, UH", // a known Service whose only endpoint is not ready
      "/unknown, NC", // a host nothing declares
  })
  void withoutAReadyEndpointTheAnswerIs503Uh(String path, String flag) throws Exception {
    try (RecordingBackend backend = new RecordingBackend()) {
      start(route("/none", "{host: shop, port: {number: 80}}") + route("/unknown", "{host: nothing, port: {number: "
          + "80}}"), """
          apiVersion: v1
          kind: Service
          metadata: {name: shop, namespace: shop}
          spec:
            ports: [{name: http, port: 80, targetPort: 8080}]
          ---
          """ + slice("shop-a", "shop", "[{name: http, port: %d}]".formatted(backend.port()),
          "[{addresses: [127.0.0.1], conditions: {ready: false}}]"));
      HttpResponse<String> r = get(path);
      assertThat(r.statusCode()).isEqualTo(503);
      assertThat(r.body()).isEqualTo("no healthy upstream");
      await().atMost(Duration.ofSeconds(5)).until(() -> accessLines().size() == 1);
      assertThat(accessLines().get(0).get("response_flags").asText()).isEqualTo(flag);
      assertThat(backend.received()).isEmpty();
    }
  }

  @ParameterizedTest
  @CsvSource(nullValues = "null", value = {
      "grpc-echo, null",
      "echo, grpc",
      "h2, kubernetes.io/h2c",
      "http2-echo, null",
  })
  void aGrpcOrHttp2PortIsSpokenToOverHttp2(String portName, String appProtocol) throws Exception {
    try (GrpcBackend backend = GrpcBackend.start()) {
      start(route("/" + GrpcEcho.SERVICE + "/", "{host: echo, port: {number: 80}}"), """
          apiVersion: v1
          kind: Service
          metadata: {name: echo, namespace: shop}
          spec:
            ports: [{name: %s, port: 80, targetPort: 50051%s}]
          ---
          """.formatted(portName, appProtocol == null ? "" : ", appProtocol: " + appProtocol)
          + slice("echo-1", "echo", "[{name: %s, port: %d}]".formatted(portName, backend.port()),
          "[{addresses: [127.0.0.1]}]"));
      ManagedChannel channel = GrpcClients.plaintext(port, "echo.example");
      try {
        byte[] request = "hello".getBytes(StandardCharsets.UTF_8);
        assertThat(GrpcClients.unary(channel, GrpcEcho.UNARY, CallOptions.DEFAULT, request)).isEqualTo(request);
      } finally {
        GrpcClients.closeAll(channel);
      }
      assertThat(backend.calls()).hasSize(1);
    }
  }

  /** An HTTP/2 endpoint that leaves the configuration: its connection is drained (GOAWAY), not left open idle. */
  @Test
  void anHttp2EndpointThatLeavesIsDrained() throws Exception {
    try (H2Server h2 = H2Server.start("ok")) {
      String service = """
          apiVersion: v1
          kind: Service
          metadata: {name: h2, namespace: shop}
          spec:
            ports: [{name: http2-web, port: 80, targetPort: 8080}]
          ---
          """;
      String ready = "[{name: http2-web, port: %d}]".formatted(h2.port("ok"));
      start(route("/", "{host: h2, port: {number: 80}}"), service + slice("h2-1", "h2", ready,
          "[{addresses: [127.0.0.1]}]"));
      assertThat(get("/first").body()).isEqualTo("h2 GET /first\n");
      long before = gateway.generation();
      Files.writeString(config.resolve("services.yaml"), service + slice("h2-1", "h2", ready,
          "[{addresses: [127.0.0.1], conditions: {ready: false}}]"));
      await().atMost(Duration.ofSeconds(10)).until(() -> gateway.generation() > before);
      await("the removed endpoint's connection is closed").atMost(Duration.ofSeconds(10))
          .until(() -> h2.count("ok", "connection closed by peer") >= 1);
      assertThat(h2.output()).contains("ok: goaway received 0");
    }
  }
}
