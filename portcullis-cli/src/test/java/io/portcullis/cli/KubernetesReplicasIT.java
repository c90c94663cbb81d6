package io.portcullis.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.Watcher;
import io.fabric8.kubernetes.client.WatcherException;
import io.fabric8.kubernetes.client.server.mock.EnableKubernetesMockClient;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import java.util.Optional;
import java.util.function.BiConsumer;

/**
 * {@link ReplicaScenarios} on the Kubernetes API: {@code portcullis run --kubernetes} replicas against one fabric8
 * mock API server in CRUD mode (no real API server can run here). Secrets as storage, a Lease per Certificate,
 * HTTP-01 key authorizations in ConfigMaps, status written by the Lease-elected leader only.
 */
@EnableKubernetesMockClient(crud = true)
class KubernetesReplicasIT extends ReplicaScenarios {
  private static final String NS = "portcullis-system";
  KubernetesMockServer server;
  KubernetesClient client;

  @Override
  void write(String name, String yaml) {
    for (String doc : yaml.split("---\n")) {
      client.resource(client.getKubernetesSerialization().unmarshal(doc, GenericKubernetesResource.class))
          .createOr(r -> r.update());
    }
  }

  @Override
  List<String> modeArgs(int i, Path dir) throws Exception {
    Path kubeconfig = Kubeconfigs.write(client, dir.resolve("kubeconfig"));
    return List.of("--kubernetes", "--kubeconfig", kubeconfig.toString());
  }

  @Override
  AutoCloseable watchSecrets(BiConsumer<String, byte[]> seen) {
    return client.secrets().inNamespace("istio-system").watch(new Watcher<>() {
      @Override
      public void eventReceived(Action action, Secret s) {
        if (action != Action.DELETED && s.getData() != null && s.getData().containsKey("tls.crt")) {
          seen.accept(s.getMetadata().getName(), Base64.getDecoder().decode(s.getData().get("tls.crt")));
        }
      }

      @Override
      public void onClose(WatcherException cause) {}
    });
  }

  @Override
  Optional<byte[]> storedCertificate(String namespace, String name) {
    Secret s = client.secrets().inNamespace(namespace).withName(name).get();
    return s == null || s.getData() == null || !s.getData().containsKey("tls.crt") ? Optional.empty()
        : Optional.of(Base64.getDecoder().decode(s.getData().get("tls.crt")));
  }

  @Override
  long challengesLeft() {
    return client.configMaps().inNamespace(NS).list().getItems().size();
  }

  @Override
  void afterIssuance() {
    // status: written by the one replica the Lease portcullis-status elects; every Certificate Ready
    await().atMost(Duration.ofSeconds(10)).until(() -> client.genericKubernetesResources("cert-manager.io/v1",
        "Certificate").inNamespace("istio-system").list().getItems().stream().allMatch(c -> String.valueOf(
        c.getAdditionalProperties().get("status")).contains("type=Ready, status=True")));
    assertThat(replicas.stream().filter(p -> p.output().contains("this replica leads")).count()).isEqualTo(1);
    assertThat(client.leases().inNamespace(NS).withName("portcullis-status").get().getSpec().getHolderIdentity())
        .startsWith("replica-");
  }
}
