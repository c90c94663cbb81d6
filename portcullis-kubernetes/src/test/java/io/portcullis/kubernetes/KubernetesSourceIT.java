package io.portcullis.kubernetes;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.server.mock.EnableKubernetesMockClient;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import io.portcullis.Portcullis;
import io.portcullis.proxy.AccessLog;
import io.portcullis.proxy.Transport;
import io.portcullis.testing.Ports;
import io.portcullis.testing.Proc;
import io.portcullis.testing.RecordingBackend;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 16, point 1: the gateway reads its configuration from a Kubernetes API server: fabric8's mock server in CRUD
 * mode, since no real API server can run here. Objects created, edited and deleted through the client are served,
 * re-served and withdrawn within 1 s; with the API server gone, the last configuration keeps serving.
 */
@EnableKubernetesMockClient(crud = true)
class KubernetesSourceIT {
  KubernetesMockServer server;
  KubernetesClient client;
  @TempDir Path tmp;
  Portcullis gateway;
  RecordingBackend v1;
  RecordingBackend v2;

  @AfterEach
  void stop() throws Exception {
    if (gateway != null) {
      gateway.close();
    }
    for (RecordingBackend b : new RecordingBackend[] {v1, v2}) {
      if (b != null) {
        b.close();
      }
    }
  }

  private void apply(String yaml) {
    MockApi.apply(client, yaml);
  }

  private static String service(String name, int port) {
    return """
        apiVersion: v1
        kind: Service
        metadata: {name: %1$s, namespace: shop}
        spec: {ports: [{name: http, port: 80}]}
        ---
        apiVersion: discovery.k8s.io/v1
        kind: EndpointSlice
        metadata: {name: %1$s-1, namespace: shop, labels: {kubernetes.io/service-name: %1$s}}
        addressType: IPv4
        ports: [{name: http, port: %2$d}]
        endpoints: [{addresses: [127.0.0.1]}]
        """.formatted(name, port);
  }

  private static String route(String service) {
    return """
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata: {name: shop, namespace: shop}
        spec:
          hosts: [shop.k8s.test]
          gateways: [istio-system/web]
          http: [{route: [{destination: {host: %s.shop.svc.cluster.local, port: {number: 80}}}]}]
        """.formatted(service);
  }

  private static int status(int port) throws Exception {
    Proc.Result r = Proc.run(10, "curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "5",
        "-H", "Host: shop.k8s.test", "http://127.0.0.1:" + port + "/");
    return Integer.parseInt(r.stdout().trim());
  }

  @Test
  void objectsCreatedEditedAndDeletedInTheApiAreServedWithinASecond() throws Exception {
    v1 = new RecordingBackend();
    v2 = new RecordingBackend();
    int port = Ports.free();
    apply(service("v1", v1.port()) + "---\n" + service("v2", v2.port()));
    apply("""
        apiVersion: networking.istio.io/v1
        kind: Gateway
        metadata: {name: web, namespace: istio-system}
        spec:
          servers: [{port: {number: %d, name: http, protocol: HTTP}, hosts: ["*"]}]
        """.formatted(port));
    apply(route("v1"));
    gateway = Portcullis.start(new Portcullis.Options(List.of(), "istio-system", 0, "127.0.0.1",
        new InetSocketAddress("127.0.0.1", 0), AccessLog.disabled(), 1, Transport.AUTO, tmp.resolve("state"),
        Duration.ofSeconds(1)), new KubernetesConfigSource(client, List.of(), Duration.ofMillis(50),
        Duration.ofSeconds(10)));
    assertThat(status(port)).isEqualTo(200);
    assertThat(v1.received()).hasSize(1);

    long t0 = System.nanoTime();
    apply(route("v2"));
    await().atMost(Duration.ofSeconds(1)).pollInterval(Duration.ofMillis(20)).until(() -> {
      status(port);
      return !v2.received().isEmpty();
    });
    long edited = (System.nanoTime() - t0) / 1_000_000;

    t0 = System.nanoTime();
    client.genericKubernetesResources("networking.istio.io/v1", "VirtualService").inNamespace("shop")
        .withName("shop").delete();
    await().atMost(Duration.ofSeconds(1)).pollInterval(Duration.ofMillis(20)).until(() -> status(port) == 404);
    long deleted = (System.nanoTime() - t0) / 1_000_000;
    System.out.printf("edit served after %d ms, delete after %d ms%n", edited, deleted);

    // the API server gone: the last configuration keeps serving (a 404 for the deleted route, the Gateway's port)
    apply(route("v1"));
    await().atMost(Duration.ofSeconds(1)).pollInterval(Duration.ofMillis(20)).until(() -> status(port) == 200);
    assertThat(io.portcullis.testing.Gateways.admin(gateway, "GET", "/ready")).isEqualTo("LIVE\n");
    server.destroy();
    // /ready stays 200 (the gateway serves) and says what it is not following
    await().atMost(Duration.ofSeconds(10)).until(() -> io.portcullis.testing.Gateways.admin(gateway, "GET",
        "/ready").contains("not watching"));
    assertThat(io.portcullis.testing.Gateways.admin(gateway, "GET", "/ready")).startsWith("LIVE\nsource: not "
        + "watching ").contains("VirtualService", client.getMasterUrl().toString(),
        "serving the last configuration read");
    v1.clear();
    assertThat(status(port)).isEqualTo(200);
    assertThat(v1.received()).hasSize(1);
  }

  @Test
  void anUnreachableApiServerAtStartIsAnErrorNamingItAndTheGatewayDoesNotStart() throws Exception {
    int closed = Ports.free();
    try (KubernetesClient unreachable = new io.fabric8.kubernetes.client.KubernetesClientBuilder().withConfig(
        new io.fabric8.kubernetes.client.ConfigBuilder().withMasterUrl("https://127.0.0.1:" + closed)
            .withTrustCerts(true).withRequestRetryBackoffLimit(0).build()).build()) {
      KubernetesConfigSource source = new KubernetesConfigSource(unreachable, List.of(), Duration.ofMillis(50),
          Duration.ofSeconds(2));
      org.assertj.core.api.Assertions.assertThatThrownBy(() -> Portcullis.start(new Portcullis.Options(List.of(),
          "istio-system", 0, "127.0.0.1", new InetSocketAddress("127.0.0.1", 0), AccessLog.disabled(), 1,
          Transport.AUTO, tmp.resolve("state"), Duration.ofSeconds(1)), source))
          .isInstanceOf(java.io.IOException.class)
          .hasMessageContaining("https://127.0.0.1:" + closed)
          .hasMessageContaining("did not list every kind within 2 s");
    }
  }

  private com.fasterxml.jackson.databind.JsonNode status(String apiVersion, String kind, String ns, String name) {
    var op = client.genericKubernetesResources(apiVersion, kind);
    GenericKubernetesResource o = ns == null ? op.withName(name).get() : op.inNamespace(ns).withName(name).get();
    return new com.fasterxml.jackson.databind.ObjectMapper().valueToTree(o).path("status");
  }

  @Test
  void gatewayApiStatusIsWrittenBackToTheApiServer() throws Exception {
    v1 = new RecordingBackend();
    int port = Ports.free();
    apply(service("v1", v1.port()));
    apply("""
        apiVersion: gateway.networking.k8s.io/v1
        kind: GatewayClass
        metadata: {name: portcullis}
        spec: {controllerName: portcullis.io/gateway-controller}
        """);
    apply("""
        apiVersion: gateway.networking.k8s.io/v1
        kind: Gateway
        metadata: {name: edge, namespace: shop}
        spec:
          gatewayClassName: portcullis
          listeners: [{name: http, port: %d, protocol: HTTP}]
        """.formatted(port));
    apply("""
        apiVersion: gateway.networking.k8s.io/v1
        kind: HTTPRoute
        metadata: {name: shop, namespace: shop}
        spec:
          parentRefs: [{name: edge}]
          hostnames: [shop.k8s.test]
          rules: [{backendRefs: [{name: v1, port: 80}]}]
        """);
    gateway = Portcullis.start(new Portcullis.Options(List.of(), "istio-system", 0, "127.0.0.1",
        new InetSocketAddress("127.0.0.1", 0), AccessLog.disabled(), 1, Transport.AUTO, tmp.resolve("state"),
        Duration.ofSeconds(1)), new KubernetesConfigSource(client, List.of(), Duration.ofMillis(50),
        Duration.ofSeconds(10)));
    try (StatusWriter writer = new StatusWriter(client, gateway::objectStatuses, gateway.certificates()::statuses,
        Duration.ofMillis(200))) {
      assertThat(status(port)).isEqualTo(200);
      await().atMost(Duration.ofSeconds(5)).until(() -> status("gateway.networking.k8s.io/v1", "HTTPRoute", "shop",
          "shop").path("parents").size() == 1);
      var route = status("gateway.networking.k8s.io/v1", "HTTPRoute", "shop", "shop").path("parents").get(0);
      assertThat(route.path("controllerName").asText()).isEqualTo("portcullis.io/gateway-controller");
      assertThat(route.path("conditions").toString()).contains("\"type\":\"Accepted\",\"status\":\"True\"");
      await().atMost(Duration.ofSeconds(5)).until(() -> status("gateway.networking.k8s.io/v1", "Gateway", "shop",
          "edge").path("listeners").size() == 1);
      var gw = status("gateway.networking.k8s.io/v1", "Gateway", "shop", "edge");
      assertThat(gw.path("listeners").get(0).path("attachedRoutes").asInt()).isEqualTo(1);
      assertThat(gw.path("conditions").toString()).contains("\"type\":\"Programmed\",\"status\":\"True\"");
      await().atMost(Duration.ofSeconds(5)).until(() -> status("gateway.networking.k8s.io/v1", "GatewayClass", null,
          "portcullis").path("conditions").toString().contains("\"type\":\"Accepted\",\"status\":\"True\""));
      // the status written does not feed back into another write: the objects' statuses stay as written
      String written = gw.toString();
      Thread.sleep(1000);
      assertThat(status("gateway.networking.k8s.io/v1", "Gateway", "shop", "edge").toString()).isEqualTo(written);
    }
  }

  @Test
  void aKindTheApiServerDoesNotServeIsNotWatchedAndDoesNotHoldUpTheStart() throws Exception {
    // an API server in expectation mode answers 404 to everything it was not told: as for a CRD not installed
    KubernetesMockServer bare = new KubernetesMockServer(false);
    bare.init();
    try (KubernetesClient c = bare.createClient()) {
      List<WatchedKind> kinds = WatchedKind.ALL.stream().filter(k -> k.kind().equals("TLSRoute")
          || k.kind().equals("ReferenceGrant")).toList();
      java.util.List<io.portcullis.config.Snapshot> snapshots = new java.util.concurrent.CopyOnWriteArrayList<>();
      long t0 = System.nanoTime();
      try (KubernetesConfigSource source = new KubernetesConfigSource(c, List.of(), kinds, Duration.ofMillis(50),
          Duration.ofSeconds(20))) {
        source.start(snapshots::add);
        // before the 404 was recognised through fabric8's CompletionException, this waited the 20 s and failed
        assertThat((System.nanoTime() - t0) / 1_000_000).isLessThan(10_000);
        assertThat(snapshots).singleElement().satisfies(s -> assertThat(s.resources()).isEmpty());
        assertThat(source.degraded()).isEmpty(); // a kind not served is not a watch that is down
      }
    } finally {
      bare.destroy();
    }
  }
}
