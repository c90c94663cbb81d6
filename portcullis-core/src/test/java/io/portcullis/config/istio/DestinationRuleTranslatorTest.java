package io.portcullis.config.istio;

import static org.assertj.core.api.Assertions.assertThat;

import io.portcullis.config.GatewayConfig;
import io.portcullis.config.Manifests;
import io.portcullis.config.Problem;
import io.portcullis.routing.Cluster;
import io.portcullis.routing.RouteAction;
import io.portcullis.routing.TrafficPolicy;
import io.portcullis.routing.TrafficPolicy.LoadBalancer.ConsistentHash;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** DestinationRule in, traffic policies on the route's clusters out, problems named by resource and field. */
class DestinationRuleTranslatorTest {
  private static final String GATEWAY = """
      apiVersion: networking.istio.io/v1
      kind: Gateway
      metadata: {name: gw, namespace: istio-system}
      spec:
        servers:
        - port: {number: 80, name: http, protocol: HTTP}
          hosts: ["*"]
      """;
  private static final String SERVICE_ENTRY = """
      apiVersion: networking.istio.io/v1
      kind: ServiceEntry
      metadata: {name: reviews, namespace: default}
      spec:
        hosts: [reviews]
        ports: [{number: 9080, name: http, protocol: HTTP}, {number: 9443, name: https, protocol: HTTP}]
        resolution: STATIC
        endpoints:
        - {address: 10.0.0.1, labels: {version: v1}}
        - {address: 10.0.0.2, labels: {version: v2}}
        - {address: 10.0.0.3, labels: {version: v2, canary: "true"}}
      """;

  private static String virtualService(String destination) {
    return """
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata: {name: reviews, namespace: default}
        spec:
          hosts: ["*"]
          gateways: [istio-system/gw]
          http:
          - route:
            - destination: %s
        """.formatted(destination);
  }

  private static Cluster cluster(GatewayConfig c) {
    RouteAction.Forward f = (RouteAction.Forward) c.listeners().get(80).routes().find("any.example").orElseThrow()
        .routes().get(0).action();
    return f.destinations().get(0).cluster();
  }

  private static final String RULE = """
      apiVersion: networking.istio.io/v1
      kind: DestinationRule
      metadata: {name: reviews, namespace: default}
      spec:
        host: reviews
        trafficPolicy:
          tls: {mode: SIMPLE, sni: reviews.internal, subjectAltNames: [spiffe://x/reviews], caCertificates: /etc/ca.pem}
          connectionPool:
            tcp: {maxConnections: 7, connectTimeout: 250ms, tcpKeepalive: {probes: 3, time: 10s, interval: 5s}}
            http: {http1MaxPendingRequests: 11, http2MaxRequests: 13, maxRequestsPerConnection: 2, idleTimeout: 30s}
          loadBalancer: {simple: LEAST_REQUEST, warmupDurationSecs: 60s}
          outlierDetection: {consecutive5xxErrors: 2, interval: 1s, baseEjectionTime: 3s, maxEjectionPercent: 50}
          portLevelSettings:
          - port: {number: 9443}
            loadBalancer: {simple: RANDOM}
        subsets:
        - name: v2
          labels: {version: v2}
          trafficPolicy:
            loadBalancer:
              consistentHash: {httpCookie: {name: user, path: /, ttl: 60s}, maglev: {tableSize: 65537}}
      """;

  @Test
  void theWholeTrafficPolicyReachesTheCluster() {
    GatewayConfig c = Manifests.translate(GATEWAY, SERVICE_ENTRY, RULE,
        virtualService("{host: reviews, port: {number: 9080}}"));
    Cluster cl = cluster(c);
    assertThat(cl.name()).isEqualTo("outbound|9080||reviews.default.svc.cluster.local");
    TrafficPolicy p = cl.policy();
    assertThat(p.tls().mode()).isEqualTo(TrafficPolicy.UpstreamTls.Mode.SIMPLE);
    assertThat(p.tls().sni()).contains("reviews.internal");
    assertThat(p.tls().subjectAltNames()).containsExactly("spiffe://x/reviews");
    assertThat(p.tls().caCertificates()).contains(Path.of("/etc/ca.pem"));
    assertThat(p.connectionPool().maxConnections()).isEqualTo(7);
    assertThat(p.connectionPool().connectTimeout()).isEqualTo(Duration.ofMillis(250));
    assertThat(p.connectionPool().tcpKeepalive()).contains(new TrafficPolicy.ConnectionPool.TcpKeepalive(3,
        Duration.ofSeconds(10), Duration.ofSeconds(5)));
    assertThat(p.connectionPool().http1MaxPendingRequests()).isEqualTo(11);
    assertThat(p.connectionPool().http2MaxRequests()).isEqualTo(13);
    assertThat(p.connectionPool().maxRequestsPerConnection()).isEqualTo(2);
    assertThat(p.connectionPool().maxRetries()).isEqualTo(Integer.MAX_VALUE);
    assertThat(p.connectionPool().idleTimeout()).isEqualTo(Duration.ofSeconds(30));
    assertThat(p.loadBalancer().simple()).isEqualTo(TrafficPolicy.LoadBalancer.Simple.LEAST_REQUEST);
    assertThat(p.loadBalancer().warmup()).isEqualTo(Duration.ofSeconds(60));
    assertThat(p.outlierDetection()).contains(new TrafficPolicy.OutlierDetection(2, 0, Duration.ofSeconds(1),
        Duration.ofSeconds(3), 50, 0));
    // every field used here is applied by the proxy: none is reported as "not supported yet"
    assertThat(c.problems()).as("problems").noneSatisfy(pr -> assertThat(pr.toString())
        .contains("DestinationRule default/reviews"));
  }

  @Test
  void aFieldTheProxyDoesNotApplyIsReportedNotSilentlyIgnored() {
    GatewayConfig c = Manifests.translate(GATEWAY, SERVICE_ENTRY, """
        apiVersion: networking.istio.io/v1
        kind: DestinationRule
        metadata: {name: reviews, namespace: default}
        spec:
          host: reviews
          trafficPolicy:
            connectionPool: {tcp: {maxConnections: 7}}
            loadBalancer: {localityLbSetting: {enabled: true}}
        """, virtualService("{host: reviews, port: {number: 9080}}"));
    assertThat(cluster(c).policy().connectionPool().maxConnections()).isEqualTo(7);
    assertThat(c.problems()).filteredOn(pr -> pr.severity() == Problem.Severity.WARNING)
        .anySatisfy(pr -> assertThat(pr.toString()).contains("DestinationRule default/reviews")
            .contains("spec.trafficPolicy.loadBalancer.localityLbSetting").contains("not supported"))
        .noneSatisfy(pr -> assertThat(pr.toString()).contains("connectionPool"));
  }

  @Test
  void portLevelSettingsReplaceTheirGroupForThatPortOnly() {
    Cluster cl = cluster(Manifests.translate(GATEWAY, SERVICE_ENTRY, RULE,
        virtualService("{host: reviews, port: {number: 9443}}")));
    assertThat(cl.policy().loadBalancer().simple()).isEqualTo(TrafficPolicy.LoadBalancer.Simple.RANDOM);
    assertThat(cl.policy().loadBalancer().warmup()).isZero();
    assertThat(cl.policy().connectionPool().maxConnections()).isEqualTo(7); // not replaced at port level
  }

  @Test
  void aSubsetSelectsByLabelsAndLayersItsOwnPolicy() {
    GatewayConfig c = Manifests.translate(GATEWAY, SERVICE_ENTRY, RULE,
        virtualService("{host: reviews, port: {number: 9080}, subset: v2}"));
    Cluster cl = cluster(c);
    assertThat(c.problems()).noneSatisfy(p -> assertThat(p.field()).contains("destination.subset"));
    assertThat(cl.name()).isEqualTo("outbound|9080|v2|reviews.default.svc.cluster.local");
    assertThat(cl.subset()).isEqualTo("v2");
    assertThat(cl.endpoints()).extracting(Object::toString).containsExactly("10.0.0.2:9080", "10.0.0.3:9080");
    ConsistentHash h = cl.policy().loadBalancer().consistentHash().orElseThrow();
    assertThat(h).isEqualTo(new ConsistentHash(ConsistentHash.Key.COOKIE, "user", "/", Duration.ofSeconds(60),
        ConsistentHash.Algorithm.MAGLEV, 65537));
    assertThat(cl.policy().connectionPool().maxConnections()).isEqualTo(7); // from the top level
  }

  @Test
  void anUnknownSubsetIsAWarningAndAClusterWithoutEndpoints() {
    GatewayConfig c = Manifests.translate(GATEWAY, SERVICE_ENTRY, RULE,
        virtualService("{host: reviews, port: {number: 9080}, subset: v9}"));
    assertThat(cluster(c).endpoints()).isEmpty();
    assertThat(c.problems()).anySatisfy(p -> assertThat(p.toString()).contains("VirtualService default/reviews")
        .contains("spec.http[0].route[0].destination.subset").contains("v9").contains("has no such subset"));
  }

  @Test
  void withoutADestinationRuleTheClusterGetsTheDefaultPolicy() {
    GatewayConfig c = Manifests.translate(GATEWAY, SERVICE_ENTRY,
        virtualService("{host: reviews, port: {number: 9080}}"));
    assertThat(cluster(c).policy()).isEqualTo(TrafficPolicy.DEFAULT);
    assertThat(c.problems()).isEmpty();
  }

  @Test
  void h2UpgradePolicyUpgradeSpeaksHttp2ToAnHttpPort() {
    String rule = """
        apiVersion: networking.istio.io/v1beta1
        kind: DestinationRule
        metadata: {name: reviews, namespace: default}
        spec:
          host: reviews.default.svc.cluster.local
          trafficPolicy: {connectionPool: {http: {h2UpgradePolicy: UPGRADE}}}
        """;
    GatewayConfig c = Manifests.translate(GATEWAY, SERVICE_ENTRY, rule,
        virtualService("{host: reviews, port: {number: 9080}}"));
    assertThat(cluster(c).protocol()).isEqualTo(Cluster.Protocol.HTTP2);
    assertThat(c.problems()).isEmpty();
  }

  @Test
  void aWildcardRuleAppliesWhereNoExactOneDoes() {
    String rule = """
        apiVersion: networking.istio.io/v1
        kind: DestinationRule
        metadata: {name: all-local, namespace: istio-system}
        spec:
          host: "*.svc.cluster.local"
          trafficPolicy: {loadBalancer: {simple: RANDOM}}
        """;
    Cluster cl = cluster(Manifests.translate(GATEWAY, SERVICE_ENTRY, rule,
        virtualService("{host: reviews, port: {number: 9080}}")));
    assertThat(cl.policy().loadBalancer().simple()).isEqualTo(TrafficPolicy.LoadBalancer.Simple.RANDOM);
  }

  @Test
  void aRuleNotExportedToTheGatewaysNamespaceDoesNotApply() {
    String rule = RULE.replace("  host: reviews\n", "  host: reviews\n  exportTo: [\".\"]\n");
    GatewayConfig c = Manifests.translate(GATEWAY, SERVICE_ENTRY, rule,
        virtualService("{host: reviews, port: {number: 9080}}"));
    assertThat(cluster(c).policy()).isEqualTo(TrafficPolicy.DEFAULT);
    assertThat(c.problems()).anySatisfy(p -> assertThat(p.toString()).contains("spec.exportTo")
        .contains("not exported"));
  }

  @ParameterizedTest
  @CsvSource(delimiter = '|', value = {
      "tls: {mode: ISTIO_MUTUAL}|spec.trafficPolicy.tls.mode|ISTIO_MUTUAL (expected: DISABLE, SIMPLE or MUTUAL",
      "tls: {mode: MUTUAL}|spec.trafficPolicy.tls.credentialName|missing (expected: for mode MUTUAL",
      "tls: {mode: SIMPLE, caCertificates: ca.pem}|spec.trafficPolicy.tls.caCertificates|ca.pem (expected: an "
          + "absolute file path)",
      "tls: {mode: MUTUAL, clientCertificate: /c.pem}|spec.trafficPolicy.tls.privateKey|missing (expected: "
          + "clientCertificate and privateKey together)",
      "connectionPool: {tcp: {connectTimeout: 0s}}|spec.trafficPolicy.connectionPool.tcp.connectTimeout|0s "
          + "(expected: a positive duration",
      "connectionPool: {http: {http2MaxRequests: -1}}|spec.trafficPolicy.connectionPool.http.http2MaxRequests|-1 "
          + "(expected: >= 0",
      "connectionPool: {tcp: {connectTimeout: soon}}|spec.trafficPolicy.connectionPool.tcp.connectTimeout|soon "
          + "(expected: a duration",
      "loadBalancer: {consistentHash: {maglev: {tableSize: 1000}, httpHeaderName: x}}|spec.trafficPolicy."
          + "loadBalancer.consistentHash.maglev.tableSize|1000 (expected: a prime number",
      "loadBalancer: {consistentHash: {httpCookie: {ttl: 1s}}}|spec.trafficPolicy.loadBalancer.consistentHash."
          + "httpCookie.name|missing (expected: the cookie's name)",
      "outlierDetection: {maxEjectionPercent: 101}|spec.trafficPolicy.outlierDetection.maxEjectionPercent|101 "
          + "(expected: 0..100)",
  })
  void anInvalidValueLeavesTheWholeRuleOutAndSaysWhere(String policy, String field, String message) {
    String rule = """
        apiVersion: networking.istio.io/v1
        kind: DestinationRule
        metadata: {name: bad, namespace: default}
        spec:
          host: reviews
          trafficPolicy: {%s}
        """.formatted(policy);
    GatewayConfig c = Manifests.translate(GATEWAY, SERVICE_ENTRY, rule,
        virtualService("{host: reviews, port: {number: 9080}}"));
    assertThat(cluster(c).policy()).isEqualTo(TrafficPolicy.DEFAULT);
    assertThat(c.problems()).filteredOn(p -> p.severity() == Problem.Severity.ERROR)
        .extracting(Problem::toString)
        .anySatisfy(s -> assertThat(s).contains("DestinationRule default/bad").contains(field + ": " + message));
  }

  @Test
  void aSecondRuleForTheSameHostIsAWarning() {
    String second = RULE.replace("name: reviews, namespace: default}", "name: reviews-2, namespace: default}");
    GatewayConfig c = Manifests.translate(GATEWAY, SERVICE_ENTRY, RULE, second,
        virtualService("{host: reviews, port: {number: 9080}}"));
    assertThat(c.problems()).extracting(Problem::toString).anySatisfy(s -> assertThat(s)
        .contains("spec.host").contains("already applies to this host"));
    assertThat(List.of(cluster(c).policy().connectionPool().maxConnections())).containsExactly(7);
  }

  @ParameterizedTest
  @CsvSource(delimiter = '|', value = {
      "{ringHash: {minimumRingSize: 2048}, httpHeaderName: x-user}|RING_HASH|2048",
      "{minimumRingSize: 4096, httpHeaderName: x-user}|RING_HASH|4096",
      "{httpHeaderName: x-user}|RING_HASH|1024",
      "{maglev: {tableSize: 131071}, httpHeaderName: x-user}|MAGLEV|131071",
  })
  void theHashAlgorithmAndItsSizeAreReadInEachForm(String hash, String algorithm, long size) {
    String rule = """
        apiVersion: networking.istio.io/v1
        kind: DestinationRule
        metadata: {name: reviews, namespace: default}
        spec:
          host: reviews
          trafficPolicy: {loadBalancer: {consistentHash: %s}}
        """.formatted(hash);
    GatewayConfig c = Manifests.translate(GATEWAY, SERVICE_ENTRY, rule,
        virtualService("{host: reviews, port: {number: 9080}}"));
    ConsistentHash h = cluster(c).policy().loadBalancer().consistentHash().orElseThrow();
    assertThat(h.algorithm()).isEqualTo(ConsistentHash.Algorithm.valueOf(algorithm));
    assertThat(h.tableSize()).isEqualTo(size);
    assertThat(h.name()).isEqualTo("x-user");
    assertThat(c.problems()).isEmpty();
  }

  @Test
  void passthroughIsAWarningThatSaysWhatHappensInstead() {
    String rule = """
        apiVersion: networking.istio.io/v1
        kind: DestinationRule
        metadata: {name: reviews, namespace: default}
        spec:
          host: reviews
          trafficPolicy: {loadBalancer: {simple: PASSTHROUGH}}
        """;
    GatewayConfig c = Manifests.translate(GATEWAY, SERVICE_ENTRY, rule,
        virtualService("{host: reviews, port: {number: 9080}}"));
    assertThat(c.problems()).extracting(Problem::toString).anySatisfy(s -> assertThat(s)
        .contains("spec.trafficPolicy.loadBalancer.simple").contains("round robin"));
  }
}
