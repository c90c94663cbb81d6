package io.portcullis.etcd;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.portcullis.storage.IssuanceLocks;
import io.portcullis.storage.IssuanceLocks.Acquired;
import io.portcullis.storage.IssuanceLocks.Attempt;
import io.portcullis.storage.IssuanceLocks.Held;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** {@link EtcdLocks} and {@link EtcdChallenges} on a real 3-member cluster, three replicas on three connections. */
class EtcdLocksIT {
  private static final Logger log = LoggerFactory.getLogger(EtcdLocksIT.class);
  private static EtcdCluster cluster;
  private static final List<EtcdConnection> connections = new ArrayList<>();
  private static final List<IssuanceLocks> replicas = new ArrayList<>();

  @BeforeAll
  static void start() throws Exception {
    cluster = EtcdCluster.start();
    for (int i = 0; i < 3; i++) {
      EtcdConnection c = EtcdConnection.connect(cluster.storage(), EtcdConnection.Options.defaults());
      connections.add(c);
      replicas.add(c.locks("replica-" + i));
    }
  }

  @AfterAll
  static void stop() {
    replicas.forEach(IssuanceLocks::close);
    connections.forEach(EtcdConnection::close);
    if (cluster != null) {
      cluster.close();
    }
  }

  @Test
  void threeReplicasRacingTakeEachLockOnceAndNotesPassToTheNextHolder() throws Exception {
    List<String> names = new ArrayList<>();
    for (int i = 0; i < 20; i++) {
      names.add("race/cert-" + i);
    }
    Map<String, List<String>> acquiredBy = new ConcurrentHashMap<>();
    Map<String, List<String>> heldSays = new ConcurrentHashMap<>();
    Map<String, IssuanceLocks.Lock> locks = new ConcurrentHashMap<>();
    CountDownLatch go = new CountDownLatch(1);
    List<CompletableFuture<Void>> runs = new ArrayList<>();
    long start = System.nanoTime();
    for (IssuanceLocks replica : replicas) {
      runs.add(CompletableFuture.runAsync(() -> {
        try {
          go.await();
          for (String name : names) {
            Attempt a = replica.tryAcquire(name);
            if (a instanceof Acquired acq) {
              acquiredBy.computeIfAbsent(name, n -> new CopyOnWriteArrayList<>()).add(replica.identity());
              locks.put(name, acq.lock());
              assertThat(acq.notes()).isEmpty();
            } else {
              heldSays.computeIfAbsent(name, n -> new CopyOnWriteArrayList<>()).add(((Held) a).holder());
            }
          }
        } catch (Exception e) {
          throw new IllegalStateException(e);
        }
      }));
    }
    go.countDown();
    CompletableFuture.allOf(runs.toArray(CompletableFuture[]::new)).get(30, TimeUnit.SECONDS);
    log.info("60 racing tryAcquire calls on 20 names took {} ms", (System.nanoTime() - start) / 1_000_000);

    for (String name : names) {
      assertThat(acquiredBy.get(name)).as(name).hasSize(1);
      assertThat(heldSays.get(name)).as(name).hasSize(2).containsOnly(acquiredBy.get(name).get(0));
      assertThat(locks.get(name).held()).isTrue();
    }

    // the holder leaves notes; whoever takes the lock next reads them
    for (String name : names) {
      locks.get(name).note(Map.of("owes", "txt-" + name));
      locks.get(name).release(Map.of("backoff-until", "2030-01-01T00:00:00Z"));
      assertThat(locks.get(name).held()).isFalse();
    }
    for (String name : names) {
      String previous = acquiredBy.get(name).get(0);
      IssuanceLocks next = replicas.stream().filter(r -> !r.identity().equals(previous)).findFirst().orElseThrow();
      Acquired again = (Acquired) next.tryAcquire(name);
      assertThat(again.notes()).isEqualTo(Map.of("backoff-until", "2030-01-01T00:00:00Z"));
      again.lock().release(again.notes());
    }
  }

  @Test
  void noteAfterLosingTheLockFailsAndNeverOverwrites() throws Exception {
    Acquired first = (Acquired) replicas.get(0).tryAcquire("lost/cert");
    first.lock().release(Map.of("n", "1"));
    Acquired second = (Acquired) replicas.get(1).tryAcquire("lost/cert");
    try {
      org.assertj.core.api.Assertions.assertThatIOException()
          .isThrownBy(() -> first.lock().note(Map.of("n", "stale")))
          .withMessageContaining("no longer held");
      assertThat(replicas.get(2).tryAcquire("lost/cert")).isEqualTo(new Held("replica-1", Map.of("n", "1")));
      assertThat(replicas.get(1).tryAcquire("lost/cert")).isInstanceOf(Held.class); // held by itself already
    } finally {
      second.lock().release(Map.of());
    }
  }

  @Test
  void challengesPutGetRemoveAndRemoveAll() throws Exception {
    var mine = connections.get(0).challenges();
    var other = connections.get(1).challenges();
    mine.put("tok-1", "tok-1.thumb", "shop/www");
    mine.put("tok-2", "tok-2.thumb", "shop/www");
    mine.put("tok-3", "tok-3.thumb", "shop/api");

    assertThat(other.get("tok-1")).contains("tok-1.thumb");
    assertThat(other.get("absent")).isEmpty();
    assertThat(other.get("../../locks/x")).isEmpty(); // not a token: never looked up

    other.remove("tok-1");
    assertThat(mine.get("tok-1")).isEmpty();
    other.removeAll("shop/www");
    assertThat(mine.get("tok-2")).isEmpty();
    assertThat(mine.get("tok-3")).contains("tok-3.thumb");
    other.removeAll("shop/api");
    assertThat(mine.get("tok-3")).isEmpty();
  }

  @Test
  void aHolderKilledWithKill9IsReplacedAfterTheTtlAndItsTokensExpire() throws Exception {
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    Process child = new ProcessBuilder(java, "-cp", System.getProperty("java.class.path"),
        LockHolder.class.getName(), cluster.storage(), "doomed", "killed/cert", "doomed-token")
        .redirectError(ProcessBuilder.Redirect.INHERIT).start();
    try {
      BufferedReader out = new BufferedReader(new InputStreamReader(child.getInputStream(), StandardCharsets.UTF_8));
      String line = CompletableFuture.supplyAsync(() -> {
        try {
          for (String l = out.readLine(); l != null; l = out.readLine()) {
            if (l.equals("HELD") || l.equals("NOT ACQUIRED")) {
              return l; // the rest is its log
            }
          }
          return "(exited)";
        } catch (java.io.IOException e) {
          throw new java.io.UncheckedIOException(e);
        }
      }).get(30, TimeUnit.SECONDS);
      assertThat(line).isEqualTo("HELD");
      assertThat(replicas.get(0).tryAcquire("killed/cert")).isEqualTo(new Held("doomed", Map.of("owes", "txt-record")));
      assertThat(connections.get(0).challenges().get("doomed-token")).contains("doomed-token.thumbprint");

      new ProcessBuilder("kill", "-9", Long.toString(child.pid())).start().waitFor();
      assertThat(child.waitFor(5, TimeUnit.SECONDS)).isTrue();
      long killed = System.nanoTime();

      AtomicReference<Acquired> taken = new AtomicReference<>();
      await().atMost(Duration.ofSeconds(ProcessLease.TTL_SECONDS + 10)).pollInterval(Duration.ofMillis(100))
          .until(() -> replicas.get(0).tryAcquire("killed/cert") instanceof Acquired a && taken.compareAndSet(null, a));
      long afterMs = (System.nanoTime() - killed) / 1_000_000;
      log.info("the lock of a holder killed with kill -9 was taken {} ms later", afterMs);
      // held until its lease expired (renewed every TTL/3, so 2/3 of the TTL at least), not released by anyone
      assertThat(afterMs).isBetween(ProcessLease.TTL_SECONDS * 1000 * 2 / 3 - 1000, ProcessLease.TTL_SECONDS * 1000 + 2000);
      assertThat(taken.get().notes()).isEqualTo(Map.of("owes", "txt-record")); // what the dead holder owed
      await().atMost(Duration.ofSeconds(2)).until(() -> connections.get(0).challenges().get("doomed-token").isEmpty());
      taken.get().lock().release(Map.of());
    } finally {
      child.destroyForcibly();
    }
  }
}
