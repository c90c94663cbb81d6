package io.portcullis.kubernetes;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.api.model.SecretBuilder;
import io.fabric8.kubernetes.api.model.coordination.v1.Lease;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.server.mock.EnableKubernetesMockClient;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import io.portcullis.storage.IssuanceLocks;
import java.time.Clock;
import java.time.Duration;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;

/**
 * {@link LeaseLocks} and {@link ConfigMapChallenges} on fabric8's mock API server in CRUD mode (no real API server can run here), which refuses a write carrying a stale
 * {@code resourceVersion} with 409 as the API server does.
 */
@EnableKubernetesMockClient(crud = true)
class LeaseLocksIT {
  private static final String NS = "portcullis-system";
  KubernetesMockServer server;
  KubernetesClient client;

  private LeaseLocks locks(String identity, Clock clock) {
    return new LeaseLocks(client, NS, identity, Duration.ofSeconds(15), clock);
  }

  @Test
  void theMockRefusesAStaleResourceVersionAsTheApiServerDoes() {
    client.resource(new SecretBuilder().withMetadata(new ObjectMetaBuilder().withNamespace("a").withName("s")
        .build()).build()).create();
    var stale = client.secrets().inNamespace("a").withName("s").get();
    client.resource(new SecretBuilder(stale).withStringData(Map.of("k", "1")).build()).update();
    assertThatThrownBy(() -> client.resource(new SecretBuilder(stale).withStringData(Map.of("k", "2")).build())
        .update()).isInstanceOfSatisfying(KubernetesClientException.class, e -> assertThat(e.getCode())
        .isEqualTo(409));
  }

  @Test
  void threeReplicasRacingForTwentyLeasesTakeEachOnceAndTheNotesPassToTheNextHolder() throws Exception {
    List<LeaseLocks> replicas = List.of(locks("replica-0", Clock.systemUTC()), locks("replica-1",
        Clock.systemUTC()), locks("replica-2", Clock.systemUTC()));
    ExecutorService pool = Executors.newFixedThreadPool(3);
    try {
      for (int i = 0; i < 20; i++) {
        String name = "istio-system/c" + i;
        List<Future<IssuanceLocks.Attempt>> attempts = new ArrayList<>();
        for (LeaseLocks r : replicas) {
          attempts.add(pool.submit((Callable<IssuanceLocks.Attempt>) () -> r.tryAcquire(name)));
        }
        List<IssuanceLocks.Acquired> won = new ArrayList<>();
        List<IssuanceLocks.Held> lost = new ArrayList<>();
        for (Future<IssuanceLocks.Attempt> a : attempts) {
          if (a.get() instanceof IssuanceLocks.Acquired acq) {
            won.add(acq);
          } else {
            lost.add((IssuanceLocks.Held) a.get());
          }
        }
        assertThat(won).as(name).hasSize(1);
        assertThat(lost).hasSize(2);
        Lease lease = client.leases().inNamespace(NS).withName(LeaseLocks.leaseName(name)).get();
        assertThat(lost).allSatisfy(h -> assertThat(h.holder()).isEqualTo(lease.getSpec().getHolderIdentity()));
        won.get(0).lock().release(Map.of("failures", "1", "message", "order: rate limited"));
      }
      // released: the next replica takes it at once and reads what the last one left
      IssuanceLocks.Attempt next = replicas.get(1).tryAcquire("istio-system/c0");
      assertThat(next).isInstanceOfSatisfying(IssuanceLocks.Acquired.class, a -> assertThat(a.notes())
          .containsEntry("failures", "1").containsEntry("message", "order: rate limited"));
      // a held Lease is not taken; notes written while holding are seen by the others
      ((IssuanceLocks.Acquired) next).lock().note(Map.of("ordering", "replica-1"));
      assertThat(replicas.get(2).tryAcquire("istio-system/c0")).isInstanceOfSatisfying(IssuanceLocks.Held.class,
          h -> assertThat(h.notes()).containsEntry("ordering", "replica-1"));
    } finally {
      pool.shutdownNow();
      replicas.forEach(LeaseLocks::close);
    }
  }

  @Test
  void aLeaseNotRenewedForItsDurationIsTakenOverAndItsHolderLearnsItLostIt() throws Exception {
    LeaseLocks dead = locks("replica-a", Clock.systemUTC());
    IssuanceLocks.Acquired a = (IssuanceLocks.Acquired) dead.tryAcquire("istio-system/web");
    a.lock().note(Map.of("ordering", "replica-a"));
    // replica-b's clock is 20 s ahead: the Lease's renewTime is older than its 15 s, as after replica-a died
    LeaseLocks later = locks("replica-b", Clock.offset(Clock.system(ZoneOffset.UTC), Duration.ofSeconds(20)));
    try {
      IssuanceLocks.Attempt b = later.tryAcquire("istio-system/web");
      assertThat(b).isInstanceOfSatisfying(IssuanceLocks.Acquired.class, acq -> assertThat(acq.notes())
          .containsEntry("ordering", "replica-a"));
      Lease lease = client.leases().inNamespace(NS).withName(LeaseLocks.leaseName("istio-system/web")).get();
      assertThat(lease.getSpec().getHolderIdentity()).isEqualTo("replica-b");
      assertThat(lease.getSpec().getLeaseTransitions()).isEqualTo(1);
      // the old holder's notes cannot overwrite the new holder's
      assertThatThrownBy(() -> a.lock().note(Map.of("ordering", "replica-a, again")))
          .hasMessageContaining("no longer held");
    } finally {
      dead.close();
      later.close();
    }
  }

  @Test
  void sharedChallengesAreReadByAnyReplicaAndADeadOwnersAreRemovedTogether() throws Exception {
    ConfigMapChallenges one = new ConfigMapChallenges(client, NS);
    ConfigMapChallenges other = new ConfigMapChallenges(client, NS);
    one.put("tokenAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "tokenAAA.thumb", "istio-system/web");
    one.put("tokenBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB", "tokenBBB.thumb", "istio-system/web");
    one.put("tokenCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCC", "tokenCCC.thumb", "istio-system/api");
    assertThat(other.get("tokenAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")).contains("tokenAAA.thumb");
    assertThat(other.get("tokenZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZ")).isEmpty();
    other.removeAll("istio-system/web");
    assertThat(other.get("tokenAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")).isEmpty();
    assertThat(other.get("tokenBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB")).isEmpty();
    assertThat(other.get("tokenCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCC")).contains("tokenCCC.thumb");
    one.remove("tokenCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCC");
    assertThat(client.configMaps().inNamespace(NS).list().getItems()).isEmpty();
  }
}
