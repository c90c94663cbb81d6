package io.portcullis.kubernetes;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.SecretBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.server.mock.EnableKubernetesMockClient;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import io.portcullis.storage.StoredSecret;
import java.util.Map;
import io.fabric8.mockwebserver.http.RecordedRequest;
import org.junit.jupiter.api.Test;

/**
 * {@link SecretStorage#put} when another writer changes the Secret between its read and its write, scripted on
 * fabric8's mock API server in expectation mode (no real API server can run here): the update with the read
 * {@code resourceVersion} is refused with 409, and the write is made again on the fresh object, keeping what the
 * other writer changed.
 */
@EnableKubernetesMockClient
class SecretStorageConflictTest {
  private static final String PATH = "/api/v1/namespaces/shop/secrets/web-tls";
  KubernetesMockServer server;
  KubernetesClient client;

  private static Secret secret(String resourceVersion, Map<String, String> annotations) {
    return new SecretBuilder().withNewMetadata().withNamespace("shop").withName("web-tls")
        .withResourceVersion(resourceVersion).withAnnotations(annotations).endMetadata()
        .withType("kubernetes.io/tls").withData(Map.of("tls.crt", "AQ==", "tls.key", "Ag==")).build();
  }

  @Test
  void a409IsWrittenAgainOnTheFreshObjectKeepingTheOtherWritersChange() throws Exception {
    Secret v1 = secret("1", Map.of("cert-manager.io/certificate-name", "web"));
    Secret v2 = secret("2", Map.of("cert-manager.io/certificate-name", "web", "team", "payments"));
    server.expect().get().withPath(PATH).andReturn(200, v1).once();
    server.expect().put().withPath(PATH).andReturn(409, "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"status\":"
        + "\"Failure\",\"reason\":\"Conflict\",\"code\":409}").once();
    server.expect().get().withPath(PATH).andReturn(200, v2).once();
    server.expect().put().withPath(PATH).andReturn(200, v2).once();
    new SecretStorage(client, java.util.List.of()).put(new StoredSecret("shop", "web-tls", "kubernetes.io/tls",
        Map.of("cert-manager.io/certificate-name", "web", "portcullis.io/revision", "2"),
        Map.of("tls.crt", new byte[] {3}, "tls.key", new byte[] {4})));
    RecordedRequest first = null;
    RecordedRequest second = null;
    for (int i = 0; i < 4; i++) {
      RecordedRequest r = server.takeRequest();
      if (r.getMethod().equals("PUT")) {
        if (first == null) {
          first = r;
        } else {
          second = r;
        }
      }
    }
    assertThat(first).isNotNull();
    assertThat(second).as("the write made again after the 409").isNotNull();
    Secret written = client.getKubernetesSerialization().unmarshal(second.getUtf8Body(), Secret.class);
    assertThat(written.getMetadata().getResourceVersion()).isEqualTo("2");
    assertThat(written.getMetadata().getAnnotations()).containsEntry("team", "payments")
        .containsEntry("portcullis.io/revision", "2");
    assertThat(written.getData()).containsEntry("tls.crt", "Aw==");
  }
}
