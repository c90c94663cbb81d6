package io.portcullis.etcd;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.portcullis.storage.IssuanceLocks;
import io.portcullis.storage.IssuanceLocks.Acquired;
import io.portcullis.storage.StoredSecret;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** The Raft leader of a real 3-member cluster killed with {@code kill -9} in the middle of a run of puts and locks. */
class EtcdMemberLossIT {
  private static final Logger log = LoggerFactory.getLogger(EtcdMemberLossIT.class);
  private EtcdCluster cluster;
  private final List<EtcdConnection> connections = new ArrayList<>();

  @BeforeEach
  void start() throws Exception {
    cluster = EtcdCluster.start();
    for (int i = 0; i < 2; i++) {
      connections.add(EtcdConnection.connect(cluster.storage(), EtcdConnection.Options.defaults()));
    }
  }

  @AfterEach
  void stop() {
    connections.forEach(EtcdConnection::close);
    if (cluster != null) {
      cluster.close();
    }
  }

  @Test
  void everythingKeepsWorkingOnTheOtherTwo() throws Exception {
    EtcdConnection writer = connections.get(0);
    EtcdConnection watcher = connections.get(1);
    IssuanceLocks locks = writer.locks("writer");
    IssuanceLocks rivals = watcher.locks("rival");
    Map<String, String> seen = new ConcurrentHashMap<>();
    watcher.storage().load();
    watcher.storage().subscribe(EtcdStorageIT.listener(seen, new CopyOnWriteArrayList<>()));
    // the writer's lock lives through the loss, on the process lease kept alive by the surviving members
    Acquired longLived = (Acquired) locks.tryAcquire("loss/long-lived");

    int rounds = 60;
    int killAt = 20;
    long worst = 0;
    long start = System.nanoTime();
    for (int i = 0; i < rounds; i++) {
      if (i == killAt) {
        int leader = cluster.leader(0);
        log.info("kill -9 of the leader, member m{} (PID {})", leader, cluster.pid(leader));
        cluster.kill9(leader);
      }
      long t = System.nanoTime();
      String name = "cert-" + i;
      writer.storage().put(EtcdStorageIT.secret("loss", name, "C" + i));
      assertThat(watcher.storage().read("loss/" + name)).isPresent();
      Acquired a = (Acquired) locks.tryAcquire("loss/" + name);
      assertThat(rivals.tryAcquire("loss/" + name)).isEqualTo(new IssuanceLocks.Held("writer", Map.of()));
      a.lock().release(Map.of("round", Integer.toString(i)));
      assertThat(((Acquired) rivals.tryAcquire("loss/" + name)).notes()).containsEntry("round", Integer.toString(i));
      worst = Math.max(worst, System.nanoTime() - t);
    }
    log.info("{} rounds (put, read, 2 acquires, release) with the leader killed at round {}: {} ms, slowest round"
        + " {} ms", rounds, killAt, (System.nanoTime() - start) / 1_000_000, worst / 1_000_000);

    await().atMost(Duration.ofSeconds(10)).until(() -> seen.size() == rounds);
    for (int i = 0; i < rounds; i++) {
      assertThat(seen).containsEntry("loss/cert-" + i, "C" + i);
    }
    assertThat(longLived.lock().held()).isTrue();
    assertThat(rivals.tryAcquire("loss/long-lived")).isEqualTo(new IssuanceLocks.Held("writer", Map.of()));
  }

  @Test
  void noMemberLeftIsAnIoExceptionNamingTheEndpointsWithinTheTimeout() throws Exception {
    EtcdConnection c = EtcdConnection.connect(cluster.storage(),
        EtcdConnection.Options.defaults().withTimeout(Duration.ofSeconds(2)));
    connections.add(c);
    for (int i = 0; i < 3; i++) {
      cluster.kill9(i);
    }
    long t = System.nanoTime();
    org.assertj.core.api.Assertions.assertThatIOException()
        .isThrownBy(() -> c.storage().put(new StoredSecret("gone", "x", "Opaque", Map.of(), Map.of())))
        .withMessageContaining(cluster.endpoint(0).substring("http://".length()))
        .withMessageContaining("Put /portcullis/secrets/gone/x");
    long ms = (System.nanoTime() - t) / 1_000_000;
    log.info("a put with every member dead failed after {} ms", ms);
    assertThat(ms).isBetween(1_900L, 3_000L);
    assertThat(c.storage().load().problems()).singleElement().asString().contains("Range /portcullis/secrets/");
  }
}
