package io.portcullis.kubernetes;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.server.mock.EnableKubernetesMockClient;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import io.portcullis.Portcullis;
import io.portcullis.proxy.AccessLog;
import io.portcullis.proxy.Transport;
import io.portcullis.testing.Gateways;
import io.portcullis.testing.Ports;
import io.portcullis.testing.Proc;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 16, point 2: issued certificates are Kubernetes Secrets with cert-manager's layout, where cert-manager
 * would write them; a gateway started again on the same API server loads them and issues nothing anew. fabric8's
 * mock API server in CRUD mode (no real API server can run here).
 */
@EnableKubernetesMockClient(crud = true)
class SecretStorageIT {
  KubernetesMockServer server;
  KubernetesClient client;
  @TempDir Path tmp;

  private void apply(String yaml) {
    MockApi.apply(client, yaml);
  }

  private Portcullis start() throws Exception {
    return Portcullis.start(new Portcullis.Options(List.of(), "istio-system", 0, "127.0.0.1",
        new InetSocketAddress("127.0.0.1", 0), AccessLog.disabled(), 1, Transport.AUTO, tmp.resolve("state"),
        Duration.ofSeconds(1)), new KubernetesConfigSource(client, List.of(), Duration.ofMillis(50),
        Duration.ofSeconds(10)), new SecretStorage(client, List.of()));
  }

  private JsonNode certificateStatus(String name) {
    GenericKubernetesResource c = client.genericKubernetesResources("cert-manager.io/v1", "Certificate")
        .inNamespace("istio-system").withName(name).get();
    return new com.fasterxml.jackson.databind.ObjectMapper().valueToTree(c).path("status");
  }

  private Secret secret(String name) {
    return client.secrets().inNamespace("istio-system").withName(name).get();
  }

  @Test
  void issuedCertificatesAreSecretsAsCertManagerWritesThemAndAreNotIssuedAgainAfterARestart() throws Exception {
    int https = Ports.free();
    apply("""
        apiVersion: cert-manager.io/v1
        kind: ClusterIssuer
        metadata: {name: selfsigned}
        spec: {selfSigned: {}}
        ---
        apiVersion: cert-manager.io/v1
        kind: Certificate
        metadata: {name: root, namespace: istio-system}
        spec: {isCA: true, commonName: SecretStorageIT root, secretName: root-ca,
               issuerRef: {name: selfsigned, kind: ClusterIssuer}}
        ---
        apiVersion: cert-manager.io/v1
        kind: ClusterIssuer
        metadata: {name: ca}
        spec: {ca: {secretName: root-ca}}
        ---
        apiVersion: cert-manager.io/v1
        kind: Certificate
        metadata: {name: web, namespace: istio-system}
        spec: {secretName: web-tls, dnsNames: [web.k8s.test], issuerRef: {name: ca, kind: ClusterIssuer}}
        ---
        apiVersion: networking.istio.io/v1
        kind: Gateway
        metadata: {name: web, namespace: istio-system}
        spec:
          servers:
          - port: {number: %d, name: https, protocol: HTTPS}
            hosts: [web.k8s.test]
            tls: {mode: SIMPLE, credentialName: web-tls}
        ---
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata: {name: web, namespace: istio-system}
        spec:
          hosts: [web.k8s.test]
          gateways: [web]
          http: [{directResponse: {status: 200, body: {string: "from a Secret in the API\\n"}}}]
        """.formatted(https));
    String serial;
    try (Portcullis p = start(); StatusWriter status = new StatusWriter(client, p::objectStatuses,
        p.certificates()::statuses, Duration.ofMillis(200))) {
      await().atMost(Duration.ofSeconds(20)).until(() -> secret("web-tls") != null);
      Secret web = secret("web-tls");
      assertThat(web.getType()).isEqualTo("kubernetes.io/tls");
      assertThat(web.getData()).containsOnlyKeys("tls.crt", "tls.key", "ca.crt");
      assertThat(web.getMetadata().getAnnotations()).containsEntry("cert-manager.io/certificate-name", "web")
          .containsEntry("cert-manager.io/issuer-name", "ca").containsEntry("cert-manager.io/issuer-kind",
              "ClusterIssuer").containsEntry("cert-manager.io/alt-names", "web.k8s.test");
      assertThat(web.getMetadata().getLabels()).containsEntry("controller.cert-manager.io/fao", "true");
      Path root = tmp.resolve("root.pem");
      Files.write(root, Base64.getDecoder().decode(secret("root-ca").getData().get("ca.crt")));
      await().atMost(Duration.ofSeconds(5)).until(() -> Gateways.curl(https, "web.k8s.test", root).exitCode() == 0);
      Proc.Result r = Gateways.curl(https, "web.k8s.test", root);
      assertThat(r.stdout()).isEqualTo("from a Secret in the API\n");
      serial = Gateways.servedSerial(https, "web.k8s.test");
      assertThat(Gateways.status(p, "web").orElseThrow().serial()).contains(serial);

      // Certificate.status as cert-manager writes it
      await().atMost(Duration.ofSeconds(5)).until(() -> certificateStatus("web").path("revision").asInt() == 1);
      JsonNode st = certificateStatus("web");
      assertThat(st.path("conditions").get(0).path("type").asText()).isEqualTo("Ready");
      assertThat(st.path("conditions").get(0).path("status").asText()).isEqualTo("True");
      assertThat(st.path("conditions").get(0).path("reason").asText()).isEqualTo("Ready");
      assertThat(st.path("notAfter").asText()).matches("\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\dZ");
      assertThat(st.path("renewalTime").asText()).isNotEmpty();
      // and the Events cert-manager records for it
      await().atMost(Duration.ofSeconds(5)).until(() -> client.v1().events().inNamespace("istio-system").list()
          .getItems().stream().anyMatch(e -> e.getReason().equals("Issued")
              && e.getInvolvedObject().getName().equals("web")));
      assertThat(client.v1().events().inNamespace("istio-system").list().getItems()).filteredOn(e -> e
          .getInvolvedObject().getName().equals("web")).allSatisfy(e -> {
            assertThat(e.getInvolvedObject().getKind()).isEqualTo("Certificate");
            assertThat(e.getType()).isEqualTo("Normal");
            assertThat(e.getSource().getComponent()).isEqualTo("portcullis");
          });
    }
    assertThat(tmp.resolve("state")).satisfiesAnyOf(d -> assertThat(d).doesNotExist(),
        d -> assertThat(Files.list(d).filter(f -> f.getFileName().toString().endsWith(".yaml"))).isEmpty());

    String resourceVersion = secret("web-tls").getMetadata().getResourceVersion();
    try (Portcullis p = start()) {
      await().atMost(Duration.ofSeconds(10)).until(() -> Gateways.ready(p, "web", "root"));
      assertThat(Gateways.servedSerial(https, "web.k8s.test")).isEqualTo(serial);
      assertThat(Gateways.status(p, "web").orElseThrow().revision()).isEqualTo(1);
    }
    assertThat(secret("web-tls").getMetadata().getResourceVersion()).isEqualTo(resourceVersion);
  }
}
