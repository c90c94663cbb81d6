package io.portcullis.etcd;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatIOException;

import io.etcd.jetcd.Client;
import io.portcullis.storage.StoredSecret;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * {@code etcds://} with a CA file and a client certificate (etcd's {@code --client-cert-auth}), and etcd's own
 * authentication (user and password), on a real one-member cluster; certificates made by {@code openssl}.
 */
class EtcdTlsIT {
  private static Path pki;
  private static EtcdCluster cluster;
  private static EtcdConnection.Options tls;

  @BeforeAll
  static void start() throws Exception {
    pki = Files.createTempDirectory("portcullis-etcd-pki-");
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "2",
        "-subj", "/CN=etcd test CA", "-keyout", "ca.key", "-out", "ca.pem");
    issue("server", "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth");
    issue("client", "extendedKeyUsage=clientAuth");
    cluster = EtcdCluster.start(1, "https", List.of(
        "--cert-file", pki.resolve("server.pem").toString(), "--key-file", pki.resolve("server.key").toString(),
        "--trusted-ca-file", pki.resolve("ca.pem").toString(), "--client-cert-auth"));
    tls = EtcdConnection.Options.defaults().withTimeout(Duration.ofSeconds(3)).withCaFile(pki.resolve("ca.pem"))
        .withClientCertificate(pki.resolve("client.pem"), pki.resolve("client.key"));
  }

  private static void issue(String name, String extensions) throws Exception {
    Files.writeString(pki.resolve(name + ".ext"), extensions + "\n");
    openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-subj", "/CN=" + name,
        "-keyout", name + ".key", "-out", name + ".csr");
    openssl("x509", "-req", "-in", name + ".csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
        "-days", "2", "-extfile", name + ".ext", "-out", name + ".pem");
  }

  private static void openssl(String... args) throws Exception {
    List<String> command = new java.util.ArrayList<>(List.of("openssl"));
    command.addAll(List.of(args));
    Process p = new ProcessBuilder(command).directory(pki.toFile()).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes());
    assertThat(p.waitFor()).as("openssl %s: %s", String.join(" ", args), out).isZero();
  }

  @AfterAll
  static void stop() throws IOException {
    if (cluster != null) {
      cluster.close();
    }
    try (var all = Files.walk(pki)) {
      all.sorted(java.util.Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
    }
  }

  @Test
  void clientCertificateThenUserAndPassword() throws Exception {
    StoredSecret s = new StoredSecret("tls", "www", "kubernetes.io/tls", Map.of(), Map.of("tls.crt", new byte[] {1}));
    try (EtcdConnection c = EtcdConnection.connect(cluster.storage(), tls)) {
      c.storage().put(s);
      assertThat(c.storage().read("tls/www")).isPresent();

      // etcd's authentication on: a root user (etcd's built-in root role), then auth enable
      Client admin = c.client();
      admin.getAuthClient().userAdd(EtcdKeys.bytes("root"), EtcdKeys.bytes("r00t-pw")).get();
      admin.getAuthClient().userGrantRole(EtcdKeys.bytes("root"), EtcdKeys.bytes("root")).get();
      admin.getAuthClient().authEnable().get();
    }
    try (EtcdConnection c = EtcdConnection.connect(cluster.storage(), tls.withUser("root", "r00t-pw"))) {
      assertThat(c.storage().read("tls/www")).isPresent();
    }
    long t = System.nanoTime();
    assertThatIOException()
        .isThrownBy(() -> EtcdConnection.connect(cluster.storage(), tls.withUser("root", "wrong")).close())
        .withMessageContaining(cluster.endpoint(0))
        .withMessageContaining("UNAUTHENTICATED")
        .satisfies(e -> org.slf4j.LoggerFactory.getLogger(EtcdTlsIT.class).info("wrong password, after {} ms: {}",
            (System.nanoTime() - t) / 1_000_000, e.getMessage()));
  }

  @Test
  void noClientCertificateIsAnIoExceptionNamingTheEndpoint() {
    long t = System.nanoTime();
    assertThatIOException()
        .isThrownBy(() -> EtcdConnection.connect(cluster.storage(), EtcdConnection.Options.defaults()
            .withTimeout(Duration.ofSeconds(2)).withCaFile(pki.resolve("ca.pem"))).close())
        .withMessageContaining(cluster.endpoint(0)).withMessageContaining("connect");
    assertThat((System.nanoTime() - t) / 1_000_000).isLessThan(3_000);
  }

  @Test
  void anUnreadableTlsFileIsNamed() {
    assertThatIOException()
        .isThrownBy(() -> EtcdConnection.connect(cluster.storage(),
            EtcdConnection.Options.defaults().withCaFile(pki.resolve("absent.pem"))))
        .withMessageContaining("absent.pem: cannot be read");
  }
}
