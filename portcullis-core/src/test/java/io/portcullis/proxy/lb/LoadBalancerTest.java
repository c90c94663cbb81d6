package io.portcullis.proxy.lb;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.portcullis.routing.Endpoint;
import io.portcullis.routing.TrafficPolicy.LoadBalancer.ConsistentHash;
import io.portcullis.routing.TrafficPolicy.LoadBalancer.Simple;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class LoadBalancerTest {
  private static final long WARM = Long.MIN_VALUE / 2;

  private static List<Host> hosts(int n) {
    List<Host> hs = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      hs.add(new Host(new Endpoint("10.0.0." + (i + 1), 8080), WARM));
    }
    return hs;
  }

  private static LoadBalancer simple(Simple s) {
    return LoadBalancer.of(new io.portcullis.routing.TrafficPolicy.LoadBalancer(s, Optional.empty(), Duration.ZERO));
  }

  private static LoadBalancer hashing(ConsistentHash.Algorithm a, long size) {
    return LoadBalancer.of(new io.portcullis.routing.TrafficPolicy.LoadBalancer(Simple.ROUND_ROBIN,
        Optional.of(new ConsistentHash(ConsistentHash.Key.HEADER, "x-user", "", Duration.ZERO, a, size)),
        Duration.ZERO));
  }

  private static Map<Host, Integer> counts(LoadBalancer lb, HealthyHosts hs, int picks) {
    Map<Host, Integer> c = new HashMap<>();
    for (int i = 0; i < picks; i++) {
      c.merge(lb.pick(hs, 0, false, System.nanoTime()), 1, Integer::sum);
    }
    return c;
  }

  @Test
  void roundRobinTakesTurns() {
    HealthyHosts hs = new HealthyHosts(hosts(3), false);
    LoadBalancer lb = simple(Simple.ROUND_ROBIN);
    assertThat(counts(lb, hs, 3001).values()).allSatisfy(n -> assertThat(n).isBetween(1000, 1001));
    Host a = lb.pick(hs, 0, false, 0);
    assertThat(lb.pick(hs, 0, false, 0)).isNotEqualTo(a);
  }

  @Test
  void randomSpreadsEvenly() {
    HealthyHosts hs = new HealthyHosts(hosts(3), false);
    assertThat(counts(simple(Simple.RANDOM), hs, 30_000).values())
        .hasSize(3).allSatisfy(n -> assertThat(n).isBetween(9_000, 11_000)); // 12 standard deviations
  }

  @Test
  void leastRequestAvoidsTheBusyHost() {
    List<Host> h = hosts(3);
    for (int i = 0; i < 10; i++) {
      h.get(0).requestStarted();
    }
    h.get(1).requestStarted();
    Map<Host, Integer> c = counts(simple(Simple.LEAST_REQUEST), new HealthyHosts(h, false), 3000);
    assertThat(c.get(h.get(0))).isNull(); // it loses every pair it is in: two distinct hosts are compared
    assertThat(c.get(h.get(2))).isGreaterThan(c.get(h.get(1))); // wins both its pairs, host 1 only the one vs 0
  }

  @ParameterizedTest
  @CsvSource({"ROUND_ROBIN", "LEAST_REQUEST"})
  void aWarmingHostGetsALowerShare(Simple s) {
    List<Host> h = hosts(2);
    long now = System.nanoTime();
    h.add(new Host(new Endpoint("10.0.0.9", 8080), now)); // just added, a 100 s warm-up: 10 % weight
    LoadBalancer lb = LoadBalancer.of(new io.portcullis.routing.TrafficPolicy.LoadBalancer(s, Optional.empty(),
        Duration.ofSeconds(100)));
    HealthyHosts hs = new HealthyHosts(h, false);
    Map<Host, Integer> c = new HashMap<>();
    for (int i = 0; i < 2100; i++) {
      c.merge(lb.pick(hs, 0, false, now), 1, Integer::sum);
    }
    assertThat(c.getOrDefault(h.get(2), 0)).isBetween(1, 2100 / 5);
    assertThat(c.get(h.get(0))).isGreaterThan(700);
    // once warm, an equal share again
    Map<Host, Integer> later = new HashMap<>();
    for (int i = 0; i < 3000; i++) {
      later.merge(lb.pick(hs, 0, false, now + Duration.ofSeconds(101).toNanos()), 1, Integer::sum);
    }
    assertThat(later.get(h.get(2))).isGreaterThan(700);
  }

  @ParameterizedTest
  @CsvSource({"RING_HASH,1024,1.5", "MAGLEV,65537,1.5", "RING_HASH,8192,1.3", "MAGLEV,5003,1.5"})
  void addingAHostMovesAboutOneNthOfTheKeysMostlyToIt(ConsistentHash.Algorithm a, long size, double tolerance) {
    List<Host> ten = hosts(10);
    List<Host> eleven = new ArrayList<>(ten);
    eleven.add(new Host(new Endpoint("10.0.1.1", 8080), WARM));
    HealthyHosts before = new HealthyHosts(ten, false);
    HealthyHosts after = new HealthyHosts(eleven, false);
    LoadBalancer lb = hashing(a, size);
    int keys = 20_000;
    int moved = 0;
    int toNew = 0;
    Map<Host, Integer> spread = new HashMap<>();
    for (int k = 0; k < keys; k++) {
      long hash = XxHash64.hash("user-" + k);
      Host b = lb.pick(before, hash, true, 0);
      Host x = lb.pick(after, hash, true, 0);
      spread.merge(b, 1, Integer::sum);
      if (b != x) {
        moved++;
        toNew += x == eleven.get(10) ? 1 : 0;
      }
    }
    assertThat((double) moved / keys).isBetween(0.3 / 11, tolerance / 11);
    if (a == ConsistentHash.Algorithm.RING_HASH) {
      assertThat(toNew).isEqualTo(moved); // the others keep their points: a key moves only to the new host
    } else {
      assertThat(toNew).isGreaterThan(moved * 8 / 10); // Maglev's small disruption among the others
    }
    assertThat(spread.values()).hasSize(10).allSatisfy(n -> assertThat(n).isBetween(keys / 10 / 2, keys / 10 * 2));
  }

  @ParameterizedTest
  @CsvSource({"RING_HASH,1024", "MAGLEV,65537"})
  void theSameKeyGoesToTheSameHostOnEveryLoopAndOnlyAnEjectedHostsKeysMove(ConsistentHash.Algorithm a, long size) {
    List<Host> h = hosts(5);
    HealthyHosts all = new HealthyHosts(h, false);
    HealthyHosts fourLeft = new HealthyHosts(h.subList(1, 5), false);
    LoadBalancer loop1 = hashing(a, size);
    LoadBalancer loop2 = hashing(a, size);
    int movedOthers = 0;
    for (int k = 0; k < 5000; k++) {
      long hash = XxHash64.hash("k" + k);
      Host x = loop1.pick(all, hash, true, 0);
      assertThat(loop2.pick(new HealthyHosts(h, false), hash, true, 0)).isSameAs(x);
      Host y = loop1.pick(fourLeft, hash, true, 0);
      if (x != h.get(0) && x != y) {
        movedOthers++;
      }
    }
    if (a == ConsistentHash.Algorithm.RING_HASH) {
      assertThat(movedOthers).isZero(); // the ejected host's points are skipped, nothing else moves
    } else {
      assertThat(movedOthers).isLessThan(5000 / 10); // Maglev rebuilds its table: a little more moves
    }
  }

  @ParameterizedTest
  @CsvSource({"RING_HASH,1024", "MAGLEV,65537"})
  void aRequestWithoutAKeyGoesToARandomHost(ConsistentHash.Algorithm a, long size) {
    assertThat(counts(hashing(a, size), new HealthyHosts(hosts(3), false), 3000).values()).hasSize(3)
        .allSatisfy(n -> assertThat(n).isBetween(700, 1300));
  }

  @Test
  void passthroughHasNoEndpointsToBalance() {
    assertThatThrownBy(() -> simple(Simple.PASSTHROUGH)).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("PASSTHROUGH");
  }
}
