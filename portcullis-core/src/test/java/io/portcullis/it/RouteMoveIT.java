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
import io.portcullis.testing.RecordingBackend;
import io.portcullis.testing.RequestLoop;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 15, point 6: a reload that moves an HTTPRoute from one Gateway to another (both serving port 80) while
 * requests run, then removes the first Gateway: no request fails, and the status follows the route (its parent,
 * each listener's {@code attachedRoutes}) while an unchanged condition keeps its {@code lastTransitionTime}.
 */
class RouteMoveIT {
  private static final ObjectMapper JSON = new ObjectMapper();

  @TempDir Path tmp;

  private static String gateway(String name) {
    return """
        apiVersion: gateway.networking.k8s.io/v1
        kind: Gateway
        metadata: {name: %s, namespace: default}
        spec:
          gatewayClassName: portcullis
          listeners: [{name: http, port: 80, protocol: HTTP}]
        """.formatted(name);
  }

  private static String route(String parent) {
    return """
        apiVersion: gateway.networking.k8s.io/v1
        kind: HTTPRoute
        metadata: {name: shop, namespace: default}
        spec:
          parentRefs: [{name: %s}]
          rules: [{backendRefs: [{name: shop, port: 80}]}]
        """.formatted(parent);
  }

  /** Replaces {@code file} in one rename, so the directory never holds a half-written manifest. */
  private void replace(Path file, String content) throws Exception {
    Path t = Files.writeString(tmp.resolve("next.yaml"), content);
    Files.move(t, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
  }

  private static JsonNode get(Portcullis p, String path) throws Exception {
    return JSON.readTree(Gateways.admin(p, "GET", path));
  }

  private static String parentOf(Portcullis p) throws Exception {
    JsonNode parents = get(p, "/apis/gateway.networking.k8s.io/v1/namespaces/default/httproutes/shop")
        .path("status").path("parents");
    return parents.size() == 1 ? parents.get(0).path("parentRef").path("name").asText() + " "
        + parents.get(0).path("conditions").get(0).path("status").asText() : parents.toString();
  }

  private static int attached(Portcullis p, String gatewayName) throws Exception {
    JsonNode g = get(p, "/apis/gateway.networking.k8s.io/v1/namespaces/default/gateways/" + gatewayName);
    return g.path("status").path("listeners").path(0).path("attachedRoutes").asInt(-1);
  }

  /** Returns the {@code lastTransitionTime} of the first listener's {@code Accepted} condition. */
  private static String listenerAccepted(Portcullis p, String gatewayName) throws Exception {
    JsonNode g = get(p, "/apis/gateway.networking.k8s.io/v1/namespaces/default/gateways/" + gatewayName);
    for (JsonNode c : g.path("status").path("listeners").path(0).path("conditions")) {
      if (c.path("type").asText().equals("Accepted")) {
        return c.path("status").asText().equals("True") ? c.path("lastTransitionTime").asText() : c.toString();
      }
    }
    return "none";
  }

  @Test
  void movingARouteBetweenGatewaysFailsNoRequest() throws Exception {
    try (RecordingBackend backend = new RecordingBackend()) {
      Path config = Files.createDirectories(tmp.resolve("config"));
      Files.writeString(config.resolve("class.yaml"), """
          apiVersion: gateway.networking.k8s.io/v1
          kind: GatewayClass
          metadata: {name: portcullis}
          spec: {controllerName: portcullis.io/gateway-controller}
          ---
          apiVersion: v1
          kind: Service
          metadata: {name: shop, namespace: default}
          spec: {ports: [{name: http, port: 80}]}
          ---
          apiVersion: discovery.k8s.io/v1
          kind: EndpointSlice
          metadata: {name: shop, namespace: default, labels: {kubernetes.io/service-name: shop}}
          addressType: IPv4
          ports: [{name: http, port: %d}]
          endpoints: [{addresses: [127.0.0.1]}]
          """.formatted(backend.port()));
      Files.writeString(config.resolve("gw-a.yaml"), gateway("gw-a"));
      Files.writeString(config.resolve("gw-b.yaml"), gateway("gw-b"));
      Files.writeString(config.resolve("route.yaml"), route("gw-a"));
      int offset = Ports.free() - 80;
      try (Portcullis p = Portcullis.start(new Portcullis.Options(List.of(config), "istio-system", offset,
          "127.0.0.1", new InetSocketAddress("127.0.0.1", 0), AccessLog.disabled(), 1, Transport.AUTO,
          tmp.resolve("state"), Duration.ofSeconds(1)))) {
        await().atMost(Duration.ofSeconds(10)).until(() -> p.ready() && Ports.listening(80 + offset));
        assertThat(parentOf(p)).isEqualTo("gw-a True");
        assertThat(attached(p, "gw-a")).isEqualTo(1);
        assertThat(attached(p, "gw-b")).isZero();
        HttpClient client = HttpClient.newHttpClient();
        HttpRequest req = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + (80 + offset) + "/"))
            .timeout(Duration.ofSeconds(5)).build();
        try (RequestLoop loop = new RequestLoop(() -> client.send(req, HttpResponse.BodyHandlers.discarding())
            .statusCode() == 200)) {
          await().atMost(Duration.ofSeconds(10)).until(() -> loop.ok() >= 50);
          String listenerSince = listenerAccepted(p, "gw-b");
          // the reload comes at a later second than the conditions' time: an unchanged one must keep it
          await().atMost(Duration.ofSeconds(3)).until(() -> java.time.Instant.now().isAfter(
              java.time.Instant.parse(listenerSince).plusSeconds(1)));
          replace(config.resolve("route.yaml"), route("gw-b"));
          await().atMost(Duration.ofSeconds(10)).until(() -> parentOf(p).equals("gw-b True"));
          assertThat(attached(p, "gw-a")).isZero();
          assertThat(attached(p, "gw-b")).isEqualTo(1);
          assertThat(listenerAccepted(p, "gw-b")).isEqualTo(listenerSince);
          int afterMove = loop.ok();
          Files.delete(config.resolve("gw-a.yaml"));
          await().atMost(Duration.ofSeconds(10)).until(() -> get(p,
              "/apis/gateway.networking.k8s.io/v1/namespaces/default/gateways").path("items").size() == 1);
          await().atMost(Duration.ofSeconds(10)).until(() -> loop.ok() >= afterMove + 50);
          loop.close();
          assertThat(loop.failed()).as("failed requests of %d", loop.ok() + loop.failed()).isZero();
          assertThat(loop.ok()).isGreaterThan(100);
        }
      }
    }
  }
}
