package io.portcullis.etcd;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.etcd.jetcd.options.CompactOption;
import io.portcullis.storage.Storage;
import io.portcullis.storage.StoredSecret;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** {@link EtcdStorage} on a real 3-member cluster, each client on its own connection (as replicas are). */
class EtcdStorageIT {
  private static EtcdCluster cluster;
  private static EtcdConnection a;
  private static EtcdConnection b;

  @BeforeAll
  static void start() throws Exception {
    cluster = EtcdCluster.start();
    a = EtcdConnection.connect(cluster.storage(), EtcdConnection.Options.defaults());
    b = EtcdConnection.connect(List.of(java.net.URI.create(cluster.endpoint(2))), EtcdConnection.Options.defaults());
  }

  @AfterAll
  static void stop() {
    if (a != null) {
      a.close();
    }
    if (b != null) {
      b.close();
    }
    if (cluster != null) {
      cluster.close();
    }
  }

  static StoredSecret secret(String ns, String name, String cert) {
    return new StoredSecret(ns, name, "kubernetes.io/tls",
        Map.of("cert-manager.io/certificate-name", name, "cert-manager.io/issuer-name", "letsencrypt"),
        Map.of("tls.crt", cert.getBytes(StandardCharsets.UTF_8), "tls.key", new byte[] {0, 1, 2, (byte) 0xff}));
  }

  static void assertSame(StoredSecret actual, StoredSecret expected) {
    assertThat(actual.key()).isEqualTo(expected.key());
    assertThat(actual.type()).isEqualTo(expected.type());
    assertThat(actual.annotations()).isEqualTo(expected.annotations());
    assertThat(actual.data().keySet()).isEqualTo(expected.data().keySet());
    expected.data().forEach((k, v) -> assertThat(actual.data().get(k)).as(k).isEqualTo(v));
  }

  @Test
  void roundTripThroughAnotherClient() throws Exception {
    StoredSecret s = secret("shop", "www-tls", "CERT-1");
    a.storage().put(s);

    assertSame(b.storage().read("shop/www-tls").orElseThrow(), s);
    Storage.Loaded loaded = b.storage().load();
    assertThat(loaded.problems()).isEmpty();
    assertSame(loaded.secrets().get("shop/www-tls"), s);
    assertThat(b.storage().read("shop/absent")).isEmpty();

    StoredSecret next = secret("shop", "www-tls", "CERT-2");
    b.storage().put(next);
    assertSame(a.storage().read("shop/www-tls").orElseThrow(), next); // linearizable: no stale read
  }

  @Test
  void loadNamesACorruptEntryAndKeepsTheOthers() throws Exception {
    a.storage().put(secret("corrupt", "good", "GOOD"));
    a.client().getKVClient().put(EtcdKeys.bytes("/portcullis/secrets/corrupt/bad"), EtcdKeys.bytes("{not json")).get();

    try {
      Storage.Loaded loaded = b.storage().load();
      assertThat(loaded.secrets()).containsKey("corrupt/good").doesNotContainKey("corrupt/bad");
      assertThat(loaded.problems()).singleElement().asString()
          .contains("/portcullis/secrets/corrupt/bad", "not JSON");
    } finally {
      a.client().getKVClient().delete(EtcdKeys.bytes("/portcullis/secrets/corrupt/bad")).get();
    }
  }

  @Test
  void subscribeSeesAnotherClientsPutAndDelete() throws Exception {
    Map<String, String> seen = new ConcurrentHashMap<>();
    List<String> deleted = new CopyOnWriteArrayList<>();
    b.storage().load();
    b.storage().subscribe(listener(seen, deleted));

    a.storage().put(secret("watch", "one", "W1"));
    await().atMost(Duration.ofSeconds(5)).until(() -> "W1".equals(seen.get("watch/one")));
    a.client().getKVClient().delete(EtcdKeys.bytes(EtcdKeys.secret("watch/one"))).get();
    await().atMost(Duration.ofSeconds(5)).until(() -> deleted.contains("watch/one"));
  }

  @Test
  void aWatchCompactedAwayListsAgainAndMissesNothing() throws Exception {
    EtcdConnection c = EtcdConnection.connect(cluster.storage(), EtcdConnection.Options.defaults());
    try {
      c.storage().load(); // the subscription starts from this revision...
      a.storage().put(secret("compact", "x", "X"));
      a.storage().put(secret("compact", "y", "Y"));
      long now = a.client().getKVClient().get(EtcdKeys.bytes("/")).get().getHeader().getRevision();
      a.client().getKVClient().compact(now, CompactOption.builder().withCompactPhysical(true).build()).get();

      Map<String, String> seen = new ConcurrentHashMap<>();
      c.storage().subscribe(listener(seen, new CopyOnWriteArrayList<>())); // ...which is compacted away
      await().atMost(Duration.ofSeconds(10)).until(() -> "X".equals(seen.get("compact/x"))
          && "Y".equals(seen.get("compact/y")));
      a.storage().put(secret("compact", "z", "Z")); // and it watches again after the re-list
      await().atMost(Duration.ofSeconds(5)).until(() -> "Z".equals(seen.get("compact/z")));
    } finally {
      c.close();
    }
  }

  static Storage.Listener listener(Map<String, String> seen, List<String> deleted) {
    return new Storage.Listener() {
      @Override
      public void stored(StoredSecret secret) {
        seen.put(secret.key(), new String(secret.data().get("tls.crt"), StandardCharsets.UTF_8));
      }

      @Override
      public void deleted(String key) {
        seen.remove(key);
        deleted.add(key);
      }
    };
  }
}
