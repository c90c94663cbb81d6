package io.portcullis.admin;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.portcullis.config.GatewayConfig;
import io.portcullis.config.Manifests;
import org.junit.jupiter.api.Test;

class ClusterDumpTest {
  private static final String MANIFESTS = """
      apiVersion: networking.istio.io/v1
      kind: Gateway
      metadata: {name: gw, namespace: istio-system}
      spec:
        servers: [{port: {number: 80, name: http, protocol: HTTP}, hosts: ["*"]}]
      ---
      apiVersion: networking.istio.io/v1
      kind: ServiceEntry
      metadata: {name: reviews, namespace: default}
      spec:
        hosts: [reviews]
        ports: [{number: 9080, name: grpc, protocol: GRPC}]
        resolution: STATIC
        endpoints: [{address: 10.0.0.1, labels: {version: v1}}, {address: 10.0.0.2, labels: {version: v2}}]
      ---
      apiVersion: networking.istio.io/v1
      kind: DestinationRule
      metadata: {name: reviews, namespace: default}
      spec:
        host: reviews
        trafficPolicy:
          tls: {mode: MUTUAL, credentialName: reviews-client, sni: reviews.internal}
          outlierDetection: {consecutive5xxErrors: 3}
        subsets: [{name: v2, labels: {version: v2}}]
      ---
      apiVersion: v1
      kind: Secret
      metadata: {name: reviews-client, namespace: istio-system}
      stringData: {tls.key: SECRET-KEY-BYTES, tls.crt: CERT-BYTES}
      ---
      apiVersion: networking.istio.io/v1
      kind: VirtualService
      metadata: {name: reviews, namespace: default}
      spec:
        hosts: ["*"]
        gateways: [istio-system/gw]
        http:
        - match: [{uri: {prefix: /v2}}]
          route: [{destination: {host: reviews, subset: v2}}]
        - route: [{destination: {host: reviews}}]
      """;

  @Test
  void everyClusterOnceWithItsEndpointsAndPolicyButNoKeyMaterial() throws Exception {
    GatewayConfig c = Manifests.translate(MANIFESTS.split("(?m)^---$"));
    ObjectNode root = new ObjectMapper().createObjectNode();
    ClusterDump.render(root, c, io.portcullis.tls.ClientTlsContexts.Table.EMPTY);
    JsonNode clusters = root.get("clusters");
    assertThat(clusters).hasSize(2);
    JsonNode v2 = clusters.get(0);
    assertThat(v2.get("name").asText()).isEqualTo("outbound|9080|v2|reviews.default.svc.cluster.local");
    assertThat(v2.get("subset").asText()).isEqualTo("v2");
    assertThat(v2.get("protocol").asText()).isEqualTo("HTTP2");
    assertThat(v2.get("endpoints").toString()).isEqualTo("[\"10.0.0.2:9080\"]");
    JsonNode tls = v2.at("/traffic_policy/tls");
    assertThat(tls.get("mode").asText()).isEqualTo("MUTUAL");
    assertThat(tls.get("credential_name").asText()).isEqualTo("istio-system/reviews-client");
    assertThat(tls.get("sni").asText()).isEqualTo("reviews.internal");
    assertThat(tls.get("serving").asBoolean()).as("no context was built for it").isFalse();
    assertThat(tls.get("error").asText()).contains("no TLS context was built");
    assertThat(v2.at("/traffic_policy/outlier_detection/consecutive_5xx_errors").asInt()).isEqualTo(3);
    assertThat(clusters.get(1).get("endpoints")).hasSize(2);
    assertThat(root.toString()).doesNotContain("SECRET-KEY-BYTES").doesNotContain("CERT-BYTES");
  }
}
