package io.portcullis.cli;

import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.Client;
import io.etcd.jetcd.options.GetOption;
import io.portcullis.etcd.EtcdCluster;
import io.portcullis.etcd.EtcdConnection;
import io.portcullis.storage.Storage;
import io.portcullis.storage.StoredSecret;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.function.BiConsumer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;

/**
 * {@link ReplicaScenarios} outside Kubernetes: {@code portcullis run --config DIR --storage etcd://...} replicas
 * sharing a real 3-member etcd cluster (Debian's {@code etcd-server}, started on free loopback ports and killed by
 * PID), each reading the same configuration directory, as VMs with the same files would. During the 20
 * issuances one etcd member is killed with {@code kill -9}.
 */
class EtcdReplicasIT extends ReplicaScenarios {
  private EtcdCluster etcd;
  private EtcdConnection connection;
  private Path config;
  private int killed = -1;

  @BeforeEach
  void startEtcd() throws Exception {
    etcd = EtcdCluster.start();
    connection = EtcdConnection.connect(etcd.storage(), EtcdConnection.Options.defaults());
    config = Files.createDirectories(tmp.resolve("config"));
  }

  @AfterEach
  void stopEtcd() {
    if (connection != null) {
      connection.close();
    }
    if (etcd != null) {
      etcd.close();
    }
  }

  @Override
  void write(String name, String yaml) throws Exception {
    Path tmpFile = config.resolve("." + name + ".tmp");
    Files.writeString(tmpFile, yaml);
    Files.move(tmpFile, config.resolve(name + ".yaml"), java.nio.file.StandardCopyOption.ATOMIC_MOVE);
  }

  @Override
  List<String> modeArgs(int i, Path dir) {
    return List.of("--config", config.toString(), "--storage", etcd.storage());
  }

  @Override
  AutoCloseable watchSecrets(BiConsumer<String, byte[]> seen) {
    connection.storage().subscribe(new Storage.Listener() {
      @Override
      public void stored(StoredSecret s) {
        if (s.namespace().equals("istio-system") && s.data().containsKey("tls.crt")) {
          seen.accept(s.name(), s.data().get("tls.crt"));
        }
      }

      @Override
      public void deleted(String key) {}
    });
    return () -> { }; // ends with the connection
  }

  @Override
  Optional<byte[]> storedCertificate(String namespace, String name) throws Exception {
    return connection.storage().read(namespace + "/" + name).map(s -> s.data().get("tls.crt"));
  }

  @Override
  long challengesLeft() throws Exception {
    List<String> endpoints = new java.util.ArrayList<>();
    for (int i = 0; i < 3; i++) {
      if (i != killed) {
        endpoints.add(etcd.endpoint(i));
      }
    }
    try (Client c = Client.builder().endpoints(endpoints.toArray(String[]::new)).build()) {
      ByteSequence prefix = ByteSequence.from("/portcullis/http01/", StandardCharsets.UTF_8);
      return c.getKVClient().get(prefix, GetOption.builder().isPrefix(true).withCountOnly(true).build())
          .get(10, TimeUnit.SECONDS).getCount();
    }
  }

  @Override
  void duringIssuance() throws Exception {
    killed = 0;
    etcd.kill9(0);
    System.out.println("EtcdReplicasIT: etcd member 0 killed with kill -9 during issuance");
  }
}
