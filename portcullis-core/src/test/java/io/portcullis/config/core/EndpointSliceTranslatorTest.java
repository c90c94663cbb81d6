package io.portcullis.config.core;

import static io.portcullis.config.core.Discovery.cluster;
import static io.portcullis.config.core.Discovery.endpoints;
import static io.portcullis.config.core.Discovery.problems;
import static io.portcullis.config.core.Discovery.translate;
import static org.assertj.core.api.Assertions.assertThat;

import io.portcullis.config.GatewayConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** discovery.k8s.io/v1 EndpointSlice in, a Service's ready endpoints out, problems named by field. */
class EndpointSliceTranslatorTest {
  static final String SERVICE = """
      apiVersion: v1
      kind: Service
      metadata: {name: web, namespace: default}
      spec:
        ports: [{name: http, port: 80, targetPort: 8080}]
      """;

  static String slice(String name, String addressType, String endpoints) {
    return """
        apiVersion: discovery.k8s.io/v1
        kind: EndpointSlice
        metadata:
          name: %s
          namespace: default
          labels: {kubernetes.io/service-name: web}
        addressType: %s
        ports: [{name: http, port: 8080, protocol: TCP}]
        endpoints: %s
        """.formatted(name, addressType, endpoints);
  }

  @ParameterizedTest
  @CsvSource(delimiter = '|', value = {
      "[{addresses: [10.0.0.1]}]|10.0.0.1:8080",
      "[{addresses: [10.0.0.1], conditions: {ready: true}}, {addresses: [10.0.0.2], conditions: {ready: false}}]"
          + "|10.0.0.1:8080",
      "[{addresses: [10.0.0.1], conditions: {serving: true, terminating: false}}]|10.0.0.1:8080",
      "[{addresses: [10.0.0.1, 10.0.0.9]}]|10.0.0.1:8080",
  })
  void readyEndpointsOnlyTakeTraffic(String endpoints, String expected) {
    GatewayConfig c = translate("{host: web, port: {number: 80}}", SERVICE, slice("web-1", "IPv4", endpoints));
    assertThat(endpoints(c)).containsExactly(expected.split(" "));
    assertThat(problems(c)).isEmpty();
  }

  @Test
  void theSlicesOfAServiceAddUpAndAnEndpointInTwoCountsOnce() {
    GatewayConfig c = translate("{host: web, port: {number: 80}}", SERVICE,
        slice("web-1", "IPv4", "[{addresses: [10.0.0.1]}, {addresses: [10.0.0.2]}]"),
        slice("web-2", "IPv6", "[{addresses: ['fd00::3']}, {addresses: [10.0.0.2]}]").replace("IPv6", "IPv4")
            .replace("'fd00::3'", "10.0.0.3"),
        slice("web-3", "IPv6", "[{addresses: ['fd00::3']}]"));
    assertThat(endpoints(c)).containsExactly("10.0.0.1:8080", "10.0.0.2:8080", "10.0.0.3:8080", "[fd00::3]:8080");
  }

  @Test
  void withNoReadyEndpointTheServiceIsKnownAndAnswersUh() {
    GatewayConfig c = translate("{host: web, port: {number: 80}}", SERVICE,
        slice("web-1", "IPv4", "[{addresses: [10.0.0.1], conditions: {ready: false}}]"));
    assertThat(endpoints(c)).isEmpty();
    assertThat(cluster(c).known()).isTrue();
    assertThat(problems(c)).containsExactly("WARNING Service default/web (" + c.problems().get(0).source()
        + "): no ready endpoint (1 not ready); requests answer 503 UH");
  }

  @Test
  void theSlicesPortForTheNameWinsOverTheTargetPort() {
    GatewayConfig c = translate("{host: web, port: {number: 80}}", SERVICE.replace("targetPort: 8080", "targetPort: 1"),
        slice("web-1", "IPv4", "[{addresses: [10.0.0.1], zone: eu-1a, nodeName: n1}]"));
    assertThat(endpoints(c)).containsExactly("10.0.0.1:8080"); // the slice's port for the name, not targetPort
  }

  @ParameterizedTest
  @CsvSource(delimiter = '|', value = {
      "labels: {kubernetes.io/service-name: web}|addressType: IPv5|addressType: IPv5 (expected: IPv4, IPv6 or FQDN)",
      "labels: {kubernetes.io/service-name: web}|addressType: ''|addressType: missing (expected: IPv4, IPv6 or FQDN)",
      "labels: {app: web}|addressType: IPv4|metadata.labels.kubernetes.io/service-name: missing (expected: the name "
          + "of the Service in namespace default these endpoints belong to)",
      "labels: {kubernetes.io/service-name: web}|addressType: IPv4\\nendpoints: [{addresses: [fd00::1]}]"
          + "|endpoints[0].addresses[0]: fd00::1 (expected: an IPv4 address); endpoint left out",
      "labels: {kubernetes.io/service-name: web}|addressType: IPv4\\nendpoints: [{addresses: []}]"
          + "|endpoints[0].addresses: empty (expected: at least one IPv4 address); endpoint left out",
      "labels: {kubernetes.io/service-name: web}|addressType: IPv4\\nports: [{name: http, port: 0}]"
          + "|ports[0].port: 0 (expected: 1..65535)",
      "labels: {kubernetes.io/service-name: web}|addressType: IPv4\\nendpoints: [{addresses: [10.0.0.1], "
          + "conditions: {ready: maybe}}]|endpoints[0].conditions.ready: maybe (expected: true or false)",
      "labels: {kubernetes.io/service-name: web}|addressType: IPv4\\nendpoints: [{addresses: [10.0.0.1], "
          + "weight: 3}]|endpoints[0].weight: not supported",
      "labels: {kubernetes.io/service-name: nothere}|addressType: IPv4|metadata.labels.kubernetes.io/service-name: "
          + "no Service default/nothere in the manifests; these endpoints are not used",
  })
  void problemsNameTheSliceAndTheField(String labels, String rest, String message) {
    String yaml = """
        apiVersion: discovery.k8s.io/v1
        kind: EndpointSlice
        metadata:
          name: bad
          namespace: default
          %s
        %s
        """.formatted(labels, rest.replace("\\n", "\n"));
    GatewayConfig c = translate("{host: web, port: {number: 80}}", SERVICE, yaml);
    assertThat(problems(c)).anySatisfy(p -> assertThat(p).contains("EndpointSlice default/bad").contains(message));
  }

  @Test
  void onlyVersionV1IsRead() {
    GatewayConfig c = translate("{host: web, port: {number: 80}}", SERVICE,
        slice("old", "IPv4", "[{addresses: [10.0.0.1]}]").replace("discovery.k8s.io/v1", "discovery.k8s.io/v1beta1"));
    assertThat(endpoints(c)).isEmpty();
    assertThat(problems(c)).anySatisfy(p -> assertThat(p).startsWith("ERROR EndpointSlice default/old")
        .contains("apiVersion: discovery.k8s.io/v1beta1 (expected: discovery.k8s.io/v1)"));
  }
}
