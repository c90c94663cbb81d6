package io.portcullis.cli;

import io.fabric8.kubernetes.client.KubernetesClient;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** Kubeconfig files for {@code portcullis run --kubernetes --kubeconfig FILE} against fabric8's mock API server. */
final class Kubeconfigs {
  private Kubeconfigs() {}

  /** Writes {@code file}: the mock server {@code client} talks to, its TLS not verified, a token user. */
  static Path write(KubernetesClient client, Path file) throws IOException {
    Files.writeString(file, """
        apiVersion: v1
        kind: Config
        clusters: [{name: mock, cluster: {server: "%s", insecure-skip-tls-verify: true}}]
        users: [{name: test, user: {token: test-token}}]
        contexts: [{name: mock, context: {cluster: mock, user: test}}]
        current-context: mock
        """.formatted(client.getMasterUrl()));
    return file;
  }
}
