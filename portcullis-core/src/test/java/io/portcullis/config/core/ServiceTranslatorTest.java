package io.portcullis.config.core;

import static io.portcullis.config.core.Discovery.cluster;
import static io.portcullis.config.core.Discovery.endpoints;
import static io.portcullis.config.core.Discovery.problems;
import static io.portcullis.config.core.Discovery.translate;
import static org.assertj.core.api.Assertions.assertThat;

import io.portcullis.config.GatewayConfig;
import io.portcullis.routing.Cluster;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** v1 Service in, service registry (seen through the route's cluster) out, problems named by field. */
class ServiceTranslatorTest {
  static final String SERVICE = """
      apiVersion: v1
      kind: Service
      metadata: {name: web, namespace: default}
      spec:
        selector: {app: web}
        ports:
        - {name: http, port: 80, targetPort: 8080}
        - {name: grpc-api, port: 9000, targetPort: grpc}
        - {name: admin, port: 9090, appProtocol: kubernetes.io/h2c}
      """;
  static final String SLICE = """
      apiVersion: discovery.k8s.io/v1
      kind: EndpointSlice
      metadata:
        name: web-abc
        namespace: default
        labels: {kubernetes.io/service-name: web}
      addressType: IPv4
      ports:
      - {name: http, port: 8080}
      - {name: grpc-api, port: 50051}
      endpoints:
      - addresses: [10.1.0.1]
      - addresses: [10.1.0.2]
        conditions: {ready: true}
      """;

  @ParameterizedTest
  @CsvSource({
      // destination, cluster name, endpoints, protocol
      "'{host: web, port: {number: 80}}', outbound|80||web.default.svc.cluster.local, 10.1.0.1:8080 10.1.0.2:8080, "
          + "HTTP1",
      "'{host: web.default, port: {number: 9000}}', outbound|9000||web.default.svc.cluster.local, "
          + "10.1.0.1:50051 10.1.0.2:50051, HTTP2",
      "'{host: web.default.svc.cluster.local, port: {number: 9090}}', outbound|9090||web.default.svc.cluster.local, "
          + "10.1.0.1:9090 10.1.0.2:9090, HTTP2",
  })
  void portsByNumberMapThroughTheEndpointsPortsAndGiveTheProtocol(String destination, String name,
      String endpoints, Cluster.Protocol protocol) {
    GatewayConfig c = translate(destination, SERVICE, SLICE);
    assertThat(cluster(c).name()).isEqualTo(name);
    assertThat(endpoints(c)).containsExactly(endpoints.split(" "));
    assertThat(cluster(c).protocol()).isEqualTo(protocol);
    assertThat(problems(c)).isEmpty();
  }

  @Test
  void aShortNameResolvesInTheVirtualServicesNamespace() {
    GatewayConfig c = Discovery.translate("{host: web, port: {number: 80}}",
        SERVICE.replace("namespace: default", "namespace: other"));
    assertThat(cluster(c).known()).isFalse();
    assertThat(problems(c)).anySatisfy(p -> assertThat(p).contains("VirtualService default/vs")
        .contains("spec.http[0].route[0].destination.host").contains("no ServiceEntry or Service has this host")
        .contains("503 NC"));
  }

  @Test
  void aNamedTargetPortWithoutAMatchingEndpointPortGetsNoTraffic() {
    String slice = SLICE.replace("- {name: grpc-api, port: 50051}\n", "");
    GatewayConfig c = translate("{host: web, port: {number: 9000}}", SERVICE, slice);
    assertThat(endpoints(c)).isEmpty();
    assertThat(cluster(c).known()).isTrue();
  }

  @Test
  void anExternalNameServiceIsItsNameInDns() {
    GatewayConfig c = translate("{host: httpbin, port: {number: 8000}}", """
        apiVersion: v1
        kind: Service
        metadata: {name: httpbin, namespace: default}
        spec:
          type: ExternalName
          externalName: httpbin.org.
          ports: [{name: http, port: 8000, targetPort: 80}]
        """);
    assertThat(endpoints(c)).containsExactly("httpbin.org:8000");
    assertThat(problems(c)).isEmpty();
  }

  @Test
  void aServiceWithoutClusterIpGoesToItsEndpoints() {
    GatewayConfig c = translate("{host: web, port: {number: 80}}",
        SERVICE.replace("spec:\n", "spec:\n  clusterIP: None\n"), SLICE);
    assertThat(endpoints(c)).containsExactly("10.1.0.1:8080", "10.1.0.2:8080");
  }

  @ParameterizedTest
  @CsvSource(delimiter = '|', value = {
      "{ports: [{name: http, targetPort: 8080}]}|ERROR|spec.ports[0].port: missing (expected: 1..65535)",
      "{ports: [{name: http, port: 70000}]}|ERROR|spec.ports[0].port: 70000 (expected: 1..65535)",
      "{ports: [{name: http, port: 80, targetPort: 0}]}|ERROR|spec.ports[0].targetPort: 0 (expected: 1..65535 or a "
          + "container port name)",
      "{ports: [{name: a, port: 80}, {name: a, port: 81}]}|ERROR|spec.ports[1].name: a: more than one port",
      "{type: Magic, ports: [{port: 80}]}|ERROR|spec.type: Magic (expected: ClusterIP, NodePort, LoadBalancer or "
          + "ExternalName)",
      "{type: ExternalName, ports: [{port: 80}]}|ERROR|spec.externalName: missing (expected: a DNS name",
      "{type: ExternalName, externalName: 'bad name', ports: [{port: 80}]}|ERROR|spec.externalName: bad name",
      "{ports: [{name: dns, port: 53, protocol: UDP}]}|WARNING|spec.ports[0].protocol: UDP: the gateway proxies "
          + "TCP only",
      "{sessionAffinity: ClientIP, ports: [{port: 80}]}|WARNING|spec.sessionAffinity: ClientIP is kube-proxy's",
      "{ports: [{port: 80}], topologyKeys: [x]}|WARNING|spec.topologyKeys: not supported",
      "{ports: [{port: 80}]}|WARNING|no ready endpoint (expected: an EndpointSlice labelled "
          + "kubernetes.io/service-name: bad in namespace default, or an Endpoints default/bad); requests answer "
          + "503 UH",
  })
  void problemsNameTheServiceAndTheField(String spec, String severity, String message) {
    GatewayConfig c = translate("{host: bad, port: {number: 80}}",
        "apiVersion: v1\nkind: Service\nmetadata: {name: bad, namespace: default}\nspec: " + spec + "\n");
    assertThat(problems(c)).anySatisfy(p -> assertThat(p).startsWith(severity + " Service default/bad")
        .contains(message));
  }
}
