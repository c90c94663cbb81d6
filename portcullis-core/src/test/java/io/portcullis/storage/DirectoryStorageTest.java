package io.portcullis.storage;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DirectoryStorageTest {
  @TempDir Path tmp;

  static StoredSecret secret(String name, String crt) {
    return new StoredSecret("istio-system", name, "kubernetes.io/tls", Map.of("cert-manager.io/issuer-name", "ca"),
        Map.of("tls.crt", crt.getBytes(StandardCharsets.UTF_8), "tls.key", new byte[] {0, 1, 2, (byte) 255}));
  }

  @Test
  void storesOneSecretManifestPerFileWithMode0600AndReadsItBack() throws Exception {
    DirectoryStorage s = new DirectoryStorage(tmp.resolve("state"));
    s.put(secret("web", "first"));
    s.put(secret("web", "second")); // replaced, not appended
    s.put(secret("api", "x"));

    Path file = tmp.resolve("state/istio-system_web.yaml");
    assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(file))).isEqualTo("rw-------");
    assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(tmp.resolve("state"))))
        .isEqualTo("rwx------");
    assertThat(Files.readString(file)).contains("kind: \"Secret\"").contains("type: \"kubernetes.io/tls\"")
        .contains("cert-manager.io/issuer-name");
    try (var files = Files.list(tmp.resolve("state"))) {
      assertThat(files.map(p -> p.getFileName().toString()).sorted().toList())
          .containsExactly("istio-system_api.yaml", "istio-system_web.yaml"); // no temporary file left behind
    }

    Storage.Loaded loaded = new DirectoryStorage(tmp.resolve("state")).load();
    assertThat(loaded.problems()).isEmpty();
    assertThat(loaded.secrets()).containsOnlyKeys("istio-system/web", "istio-system/api");
    StoredSecret web = loaded.secrets().get("istio-system/web");
    assertThat(new String(web.data().get("tls.crt"), StandardCharsets.UTF_8)).isEqualTo("second");
    assertThat(web.data().get("tls.key")).containsExactly(0, 1, 2, 255);
    assertThat(web.annotations()).containsEntry("cert-manager.io/issuer-name", "ca");
    assertThat(web.toString()).doesNotContain("second");
  }

  @Test
  void aCorruptFileIsReportedAndTheOthersStillLoad() throws Exception {
    DirectoryStorage s = new DirectoryStorage(tmp);
    s.put(secret("good", "ok"));
    Files.writeString(tmp.resolve("istio-system_bad.yaml"), "apiVersion: v1\nkind: Secret\nmetadata: {name: bad, "
        + "namespace: istio-system}\ndata: {tls.crt: '%%% not base64'}\n");
    Files.writeString(tmp.resolve("istio-system_torn.yaml"), "apiVersion: v1\nkind: Sec: [");
    Files.writeString(tmp.resolve("istio-system_other.yaml"), "apiVersion: v1\nkind: Secret\nmetadata: {name: "
        + "elsewhere, namespace: istio-system}\n");

    Storage.Loaded loaded = s.load();
    assertThat(loaded.secrets()).containsOnlyKeys("istio-system/good");
    assertThat(loaded.problems()).hasSize(3);
    assertThat(String.join("\n", loaded.problems()))
        .contains("istio-system_bad.yaml: data.tls.crt: not base64")
        .contains("istio-system_torn.yaml")
        .contains("istio-system_other.yaml: holds Secret istio-system/elsewhere");
  }

  @Test
  void refusesNamesThatAreNotDns1123() {
    DirectoryStorage s = new DirectoryStorage(tmp);
    assertThatThrownBy(() -> s.put(secret("../escape", "x"))).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("not a DNS-1123 name");
  }

  @Test
  void aMissingDirectoryLoadsAsEmpty() {
    assertThat(new DirectoryStorage(tmp.resolve("none")).load().secrets()).isEmpty();
  }
}
