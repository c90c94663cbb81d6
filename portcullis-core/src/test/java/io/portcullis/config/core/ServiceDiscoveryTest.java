package io.portcullis.config.core;

import static io.portcullis.config.core.Discovery.cluster;
import static io.portcullis.config.core.Discovery.endpoints;
import static io.portcullis.config.core.Discovery.problems;
import static io.portcullis.config.core.Discovery.translate;
import static org.assertj.core.api.Assertions.assertThat;

import io.portcullis.config.GatewayConfig;
import io.portcullis.config.Problem;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Services joined with EndpointSlices, legacy Endpoints and Pods: precedence, readiness, labels for subsets, and
 * kinds no longer reported as unused.
 */
class ServiceDiscoveryTest {
  static final String SERVICE = """
      apiVersion: v1
      kind: Service
      metadata: {name: reviews, namespace: default}
      spec:
        ports: [{name: http, port: 9080, targetPort: http-port}]
      """;
  static final String ENDPOINTS = """
      apiVersion: v1
      kind: Endpoints
      metadata: {name: reviews, namespace: default}
      subsets:
      - addresses:
        - {ip: 10.0.0.1, targetRef: {kind: Pod, name: reviews-v1}}
        - {ip: 10.0.0.2}
        notReadyAddresses: [{ip: 10.0.0.3}]
        ports: [{name: http, port: 9081}]
      """;
  static final String SLICE = """
      apiVersion: discovery.k8s.io/v1
      kind: EndpointSlice
      metadata:
        name: reviews-x
        namespace: default
        labels: {kubernetes.io/service-name: reviews}
      addressType: IPv4
      ports: [{name: http, port: 9082}]
      endpoints:
      - {addresses: [10.0.0.7], targetRef: {kind: Pod, name: reviews-v1, namespace: default}}
      - {addresses: [10.0.0.8]}
      """;
  static final String PODS = """
      apiVersion: v1
      kind: Pod
      metadata: {name: reviews-v1, namespace: default, labels: {app: reviews, version: v1}}
      spec: {nodeName: n1, containers: [{name: r, image: reviews:1, ports: [{name: http-port, containerPort: 9080}]}]}
      status: {podIP: 10.0.0.99}
      ---
      apiVersion: v1
      kind: Pod
      metadata: {name: reviews-v2, namespace: default, labels: {app: reviews, version: v2}}
      spec: {nodeName: n2}
      status: {podIPs: [{ip: 10.0.0.8}, {ip: 10.0.0.2}]}
      """;
  static final String RULE = """
      apiVersion: networking.istio.io/v1
      kind: DestinationRule
      metadata: {name: reviews, namespace: default}
      spec:
        host: reviews
        subsets:
        - {name: v1, labels: {version: v1}}
        - {name: v2, labels: {version: v2}}
        - {name: v3, labels: {version: v3}}
      """;

  @Test
  void legacyEndpointsGiveReadyAddressesOnly() {
    GatewayConfig c = translate("{host: reviews, port: {number: 9080}}", SERVICE, ENDPOINTS);
    assertThat(endpoints(c)).containsExactly("10.0.0.1:9081", "10.0.0.2:9081");
    assertThat(problems(c)).isEmpty();
  }

  @Test
  void anEndpointSliceWinsOverTheEndpointsOfTheSameService() {
    GatewayConfig c = translate("{host: reviews, port: {number: 9080}}", ENDPOINTS, SERVICE, SLICE);
    assertThat(endpoints(c)).containsExactly("10.0.0.7:9082", "10.0.0.8:9082");
  }

  @ParameterizedTest
  @CsvSource({
      // subset, endpoints: by targetRef (10.0.0.7 -> reviews-v1) and by address (10.0.0.8 -> reviews-v2)
      "v1, 10.0.0.7:9082",
      "v2, 10.0.0.8:9082",
  })
  void podsGiveTheirLabelsToTheirEndpointsForSubsets(String subset, String expected) {
    GatewayConfig c = translate("{host: reviews, port: {number: 9080}, subset: " + subset + "}", SERVICE, SLICE,
        PODS, RULE);
    assertThat(endpoints(c)).containsExactly(expected);
    assertThat(cluster(c).name()).isEqualTo("outbound|9080|" + subset + "|reviews.default.svc.cluster.local");
  }

  @Test
  void aSubsetSelectingNoEndpointIsKnownAndAnUndefinedOneIsNot() {
    GatewayConfig none = translate("{host: reviews, port: {number: 9080}, subset: v3}", SERVICE, SLICE, PODS, RULE);
    assertThat(endpoints(none)).isEmpty();
    assertThat(cluster(none).known()).as("503 UH").isTrue();
    GatewayConfig undefined = translate("{host: reviews, port: {number: 9080}, subset: v9}", SERVICE, SLICE, PODS,
        RULE);
    assertThat(cluster(undefined).known()).as("503 NC").isFalse();
  }

  @Test
  void theKindsTheGatewayReadsAreNotReportedAsUnused() {
    GatewayConfig c = translate("{host: reviews, port: {number: 9080}}", SERVICE, SLICE, ENDPOINTS, PODS);
    assertThat(c.problems()).noneSatisfy(p -> assertThat(p.message()).contains("not used by the gateway"));
    assertThat(c.problems()).filteredOn(p -> p.severity() != Problem.Severity.INFO).isEmpty();
  }

  @Test
  void aServiceEntryStillNamesHostsOutsideTheCluster() {
    GatewayConfig c = translate("{host: api.example.com, port: {number: 443}}", SERVICE, SLICE, """
        apiVersion: networking.istio.io/v1
        kind: ServiceEntry
        metadata: {name: api, namespace: default}
        spec:
          hosts: [api.example.com]
          ports: [{number: 443, name: http, protocol: HTTP, targetPort: 8443}]
          resolution: STATIC
          endpoints: [{address: 192.0.2.1}]
        """);
    assertThat(endpoints(c)).containsExactly("192.0.2.1:8443");
  }

  @Test
  void legacyEndpointsProblemsNameTheField() {
    GatewayConfig c = translate("{host: reviews, port: {number: 9080}}", SERVICE, """
        apiVersion: v1
        kind: Endpoints
        metadata: {name: reviews, namespace: default}
        subsets: [{addresses: [{ip: not-an-ip}, {ip: 10.0.0.5}], ports: [{name: http, port: 9081}]}]
        """);
    assertThat(endpoints(c)).containsExactly("10.0.0.5:9081");
    assertThat(problems(c)).anySatisfy(p -> assertThat(p).startsWith("ERROR Endpoints default/reviews")
        .contains("subsets[0].addresses[0].ip: not-an-ip (expected: an IPv4 or IPv6 address); address left out"));
  }
}
