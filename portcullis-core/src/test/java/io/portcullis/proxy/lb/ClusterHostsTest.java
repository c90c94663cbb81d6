package io.portcullis.proxy.lb;

import static org.assertj.core.api.Assertions.assertThat;

import io.portcullis.routing.Cluster;
import io.portcullis.routing.Endpoint;
import io.portcullis.routing.TrafficPolicy;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.ObjLongConsumer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class ClusterHostsTest {
  private static final String P = "cluster.outbound|80||svc.default.svc.cluster.local.outlier_detection.";
  private final Map<String, AtomicLong> counters = new ConcurrentHashMap<>();
  private final ObjLongConsumer<String> stats = (n, d) -> counters.computeIfAbsent(n, k -> new AtomicLong())
      .addAndGet(d);

  private static Cluster cluster(int endpoints, TrafficPolicy.OutlierDetection od) {
    List<Endpoint> eps = new ArrayList<>();
    for (int i = 0; i < endpoints; i++) {
      eps.add(new Endpoint("10.0.0." + (i + 1), 8080));
    }
    return new Cluster(Cluster.outboundName("svc.default.svc.cluster.local", 80), "svc.default.svc.cluster.local",
        80, eps, Cluster.Protocol.HTTP1, "", new TrafficPolicy(TrafficPolicy.UpstreamTls.DISABLED,
        TrafficPolicy.ConnectionPool.DEFAULT, TrafficPolicy.LoadBalancer.DEFAULT, Optional.ofNullable(od)));
  }

  private static TrafficPolicy.OutlierDetection od(int c5xx, int gateway, int maxPercent, int minHealth) {
    return new TrafficPolicy.OutlierDetection(c5xx, gateway, Duration.ofSeconds(1), Duration.ofSeconds(30),
        maxPercent, minHealth);
  }

  private long counter(String name) {
    AtomicLong v = counters.get(P + name);
    return v == null ? 0 : v.get();
  }

  @Test
  void consecutive5xxEjectUntilTheBaseEjectionTimeTimesTheEjectionsHasPassed() {
    ClusterHosts ch = ClusterHosts.of(cluster(3, od(3, 0, 100, 0)), stats);
    Host bad = ch.hosts().get(0);
    ch.report(bad, 500);
    ch.report(bad, 503);
    ch.report(bad, 200); // a success starts the count again
    ch.report(bad, 500);
    ch.report(bad, 502);
    assertThat(ch.healthy(System.nanoTime()).hosts()).contains(bad);
    ch.report(bad, 504);
    assertThat(bad.ejected()).isTrue();
    assertThat(ch.healthy(System.nanoTime()).hosts()).hasSize(2).doesNotContain(bad);
    assertThat(counter("ejections_active")).isEqualTo(1);
    assertThat(counter("ejections_enforced_total")).isEqualTo(1);
    assertThat(counter("ejections_enforced_consecutive_5xx")).isEqualTo(1);

    long ejectedAt = bad.ejectedAtNanos;
    ch.review(ejectedAt + Duration.ofSeconds(29).toNanos());
    assertThat(bad.ejected()).isTrue();
    ch.review(ejectedAt + Duration.ofSeconds(30).toNanos());
    assertThat(bad.ejected()).isFalse();
    assertThat(ch.healthy(System.nanoTime()).hosts()).hasSize(3);
    assertThat(counter("ejections_active")).isZero();

    for (int i = 0; i < 3; i++) {
      ch.report(bad, 500);
    }
    long again = bad.ejectedAtNanos;
    ch.review(again + Duration.ofSeconds(59).toNanos());
    assertThat(bad.ejected()).as("second ejection: 2 x base").isTrue();
    ch.review(again + Duration.ofSeconds(60).toNanos());
    assertThat(bad.ejected()).isFalse();
    assertThat(bad.ejections()).isEqualTo(2);
    assertThat(counter("ejections_enforced_total")).isEqualTo(2);
  }

  @Test
  void consecutiveGatewayErrorsCountOnly502To504() {
    ClusterHosts ch = ClusterHosts.of(cluster(2, od(0, 2, 100, 0)), stats);
    Host h = ch.hosts().get(1);
    ch.report(h, 503);
    ch.report(h, 500); // a 5xx that is not a gateway error resets the gateway count
    ch.report(h, 502);
    assertThat(h.ejected()).isFalse();
    ch.report(h, 504);
    assertThat(h.ejected()).isTrue();
    assertThat(counter("ejections_enforced_consecutive_gateway_failure")).isEqualTo(1);
  }

  @ParameterizedTest
  @CsvSource({"10,0", "33,0", "34,1", "66,1", "67,2", "100,3"})
  void maxEjectionPercentCapsTheEjectedHosts(int maxPercent, int ejectable) {
    ClusterHosts ch = ClusterHosts.of(cluster(3, od(1, 0, maxPercent, 0)), stats);
    for (Host h : ch.hosts()) {
      ch.report(h, 503);
    }
    assertThat(ch.hosts().stream().filter(Host::ejected).count()).isEqualTo(ejectable);
    assertThat(counter("ejections_overflow")).isEqualTo(3 - ejectable);
    assertThat(ch.healthy(System.nanoTime()).size()).isEqualTo(3 - ejectable);
  }

  @Test
  void belowMinHealthPercentEveryHostIsUsedAndWithoutItAllEjectedLeavesNone() {
    ClusterHosts panic = ClusterHosts.of(cluster(3, od(1, 0, 100, 50)), stats);
    panic.report(panic.hosts().get(0), 503);
    assertThat(panic.healthy(System.nanoTime()).size()).isEqualTo(2); // 66 % healthy >= 50 %
    panic.report(panic.hosts().get(1), 503);
    HealthyHosts all = panic.healthy(System.nanoTime());
    assertThat(all.panic()).isTrue();
    assertThat(all.size()).isEqualTo(3);

    ClusterHosts none = ClusterHosts.of(cluster(2, od(1, 0, 100, 0)), (n, d) -> { });
    none.hosts().forEach(h -> none.report(h, 503));
    assertThat(none.healthy(System.nanoTime()).size()).isZero();
  }

  @Test
  void aNewConfigurationKeepsTheHostsOfTheEndpointsItKeeps() {
    Cluster three = cluster(3, od(1, 0, 100, 0));
    ClusterHosts ch = ClusterHosts.of(three, stats);
    Host first = ch.hosts().get(0);
    Host third = ch.hosts().get(2);
    ch.report(first, 503);
    ch.report(third, 503);
    first.requestStarted();
    assertThat(counter("ejections_active")).isEqualTo(2);

    ClusterHosts two = ch.successor(cluster(2, od(1, 0, 100, 0)), stats); // 10.0.0.3 gone
    assertThat(two.hosts().get(0)).isSameAs(first);
    assertThat(first.ejected()).isTrue();
    assertThat(first.active()).isEqualTo(1);
    assertThat(counter("ejections_active")).isEqualTo(1);
    assertThat(two.healthy(System.nanoTime()).hosts()).extracting(Host::endpoint)
        .containsExactly(new Endpoint("10.0.0.2", 8080));
    ch.report(ch.hosts().get(1), 503); // a late report to the old configuration is dropped
    assertThat(ch.hosts().get(1).ejected()).isFalse();

    ClusterHosts off = two.successor(cluster(2, null), stats); // outlier detection removed: all returned
    assertThat(first.ejected()).isFalse();
    assertThat(off.healthy(System.nanoTime()).size()).isEqualTo(2);
    assertThat(counter("ejections_active")).isZero();
  }

  @Test
  void theRegistryKeepsHostsForAnEqualClusterAndSucceedsAChangedOne() {
    ClusterRegistry r = new ClusterRegistry(stats);
    ClusterHosts a = r.hosts(cluster(2, od(1, 0, 100, 0)));
    assertThat(r.hosts(cluster(2, od(1, 0, 100, 0)))).isSameAs(a);
    ClusterHosts b = r.hosts(cluster(3, od(1, 0, 100, 0)));
    assertThat(b).isNotSameAs(a);
    assertThat(b.hosts().get(0)).isSameAs(a.hosts().get(0));
  }
}
