package io.portcullis.kubernetes;

import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.client.KubernetesClient;

/** What the tests do to fabric8's mock API server as {@code kubectl apply} would. */
final class MockApi {
  private MockApi() {}

  /** Creates or updates each object of {@code yaml} (documents separated by {@code ---} lines). */
  static void apply(KubernetesClient client, String yaml) {
    for (String doc : yaml.split("(?m)^---\\n")) {
      if (!doc.isBlank()) {
        client.resource(client.getKubernetesSerialization().unmarshal(doc, GenericKubernetesResource.class))
            .createOr(r -> r.update());
      }
    }
  }
}
