package io.portcullis.proxy.lb;

import static org.assertj.core.api.Assertions.assertThat;

import io.portcullis.routing.Cluster;
import io.portcullis.routing.Endpoint;
import io.portcullis.routing.TrafficPolicy;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class BalancersTest {
  private static Cluster cluster(TrafficPolicy.LoadBalancer lb, TrafficPolicy.OutlierDetection od) {
    return new Cluster("outbound|80||svc.test", "svc.test", 80, List.of(new Endpoint("10.0.0.1", 80),
        new Endpoint("10.0.0.2", 80), new Endpoint("10.0.0.3", 80)), Cluster.Protocol.HTTP1, "",
        new TrafficPolicy(TrafficPolicy.UpstreamTls.DISABLED, TrafficPolicy.ConnectionPool.DEFAULT, lb,
            Optional.ofNullable(od)));
  }

  private static TrafficPolicy.LoadBalancer hash() {
    return new TrafficPolicy.LoadBalancer(TrafficPolicy.LoadBalancer.Simple.ROUND_ROBIN, Optional.of(
        new TrafficPolicy.LoadBalancer.ConsistentHash(TrafficPolicy.LoadBalancer.ConsistentHash.Key.HEADER, "x", "",
            Duration.ZERO, TrafficPolicy.LoadBalancer.ConsistentHash.Algorithm.RING_HASH, 1024)), Duration.ZERO);
  }

  @ParameterizedTest
  @CsvSource({"ROUND_ROBIN", "LEAST_REQUEST", "RANDOM", "PASSTHROUGH"})
  void aRetryPrefersAnotherHostThanThePreviousAttempts(TrafficPolicy.LoadBalancer.Simple simple) {
    Balancers b = new Balancers(new ClusterRegistry((n, d) -> { }));
    Cluster c = cluster(new TrafficPolicy.LoadBalancer(simple, Optional.empty(), Duration.ZERO), null);
    for (int i = 0; i < 200; i++) {
      Host first = b.pick(c, 0, false, null);
      assertThat(b.pick(c, 0, false, first)).isNotSameAs(first);
    }
  }

  @Test
  void aHashedRequestSticksButItsRetryGoesElsewhere() {
    Balancers b = new Balancers(new ClusterRegistry((n, d) -> { }));
    Cluster c = cluster(hash(), null);
    long key = XxHash64.hash("alice");
    Host first = b.pick(c, key, true, null);
    for (int i = 0; i < 50; i++) {
      assertThat(b.pick(c, key, true, null)).isSameAs(first);
      assertThat(b.pick(c, key, true, first)).isNotSameAs(first);
    }
  }

  @Test
  void everyHostEjectedLeavesNoneToPickAndEveryLoopSeesTheSameHealth() {
    ClusterRegistry registry = new ClusterRegistry((n, d) -> { });
    Balancers loop1 = new Balancers(registry);
    Balancers loop2 = new Balancers(registry);
    Cluster c = cluster(TrafficPolicy.LoadBalancer.DEFAULT, new TrafficPolicy.OutlierDetection(1, 0,
        Duration.ofSeconds(10), Duration.ofSeconds(30), 100, 0));
    Host h = loop1.pick(c, 0, false, null);
    loop1.hosts(c).report(h, 503);
    for (int i = 0; i < 20; i++) {
      assertThat(loop2.pick(c, 0, false, null)).isNotSameAs(h);
    }
    loop2.hosts(c).hosts().forEach(x -> loop2.hosts(c).report(x, 503));
    assertThat(loop1.pick(c, 0, false, null)).isNull();
    assertThat(loop2.pick(c, 0, false, null)).isNull();
  }
}
