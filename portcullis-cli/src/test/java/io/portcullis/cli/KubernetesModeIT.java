package io.portcullis.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.server.mock.EnableKubernetesMockClient;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import io.portcullis.testing.Ports;
import io.portcullis.testing.Proc;
import io.portcullis.testing.RecordingBackend;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code portcullis run --kubernetes --kubeconfig FILE}, a real process, against fabric8's mock API server in CRUD
 * mode (no real API server can run here): what is in the API is served, and a route created while it runs too.
 */
@EnableKubernetesMockClient(crud = true)
class KubernetesModeIT {
  KubernetesMockServer server;
  KubernetesClient client;
  @TempDir Path tmp;

  private void apply(String yaml) {
    for (String doc : yaml.split("---\n")) {
      client.resource(client.getKubernetesSerialization().unmarshal(doc, GenericKubernetesResource.class))
          .createOr(r -> r.update());
    }
  }

  private static String status(int port, String host) throws Exception {
    return Proc.run(10, "curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "5", "-H", "Host: "
        + host, "http://127.0.0.1:" + port + "/").stdout().trim();
  }

  @Test
  void theGatewayServesWhatTheApiServerHolds() throws Exception {
    try (RecordingBackend backend = new RecordingBackend()) {
      int port = Ports.free();
      apply("""
          apiVersion: v1
          kind: Service
          metadata: {name: web, namespace: shop}
          spec: {ports: [{name: http, port: 80}]}
          ---
          apiVersion: discovery.k8s.io/v1
          kind: EndpointSlice
          metadata: {name: web-1, namespace: shop, labels: {kubernetes.io/service-name: web}}
          addressType: IPv4
          ports: [{name: http, port: %d}]
          endpoints: [{addresses: [127.0.0.1]}]
          ---
          apiVersion: networking.istio.io/v1
          kind: Gateway
          metadata: {name: web, namespace: istio-system}
          spec:
            servers: [{port: {number: %d, name: http, protocol: HTTP}, hosts: ["*"]}]
          ---
          apiVersion: networking.istio.io/v1
          kind: VirtualService
          metadata: {name: shop, namespace: shop}
          spec:
            hosts: [shop.k8s.test]
            gateways: [istio-system/web]
            http: [{route: [{destination: {host: web.shop.svc.cluster.local}}]}]
          """.formatted(backend.port(), port));
      Path kubeconfig = Kubeconfigs.write(client, tmp.resolve("kubeconfig"));
      String admin = "127.0.0.1:" + Ports.free();
      try (Proc p = Launcher.run(admin, tmp, Map.of(), "--kubernetes", "--kubeconfig", kubeconfig.toString(),
          "--state", tmp.resolve("state").toString(), "--bind", "127.0.0.1")) {
        assertThat(status(port, "shop.k8s.test")).isEqualTo("200");
        assertThat(backend.received()).hasSize(1);
        assertThat(status(port, "cart.k8s.test")).isEqualTo("404");
        apply("""
            apiVersion: networking.istio.io/v1
            kind: VirtualService
            metadata: {name: cart, namespace: shop}
            spec:
              hosts: [cart.k8s.test]
              gateways: [istio-system/web]
              http: [{route: [{destination: {host: web.shop.svc.cluster.local}}]}]
            """);
        await().atMost(Duration.ofSeconds(5)).until(() -> status(port, "cart.k8s.test").equals("200"));
        assertThat(p.output()).contains("kubernetes: watching");
      }
    }
  }
}
