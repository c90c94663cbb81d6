package io.portcullis.admin;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.portcullis.config.GatewayConfig;
import io.portcullis.config.Manifests;
import io.portcullis.proxy.PathNormalization;
import io.portcullis.proxy.ProxyLimits;
import java.time.Clock;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** /config_dump's routes: mirrors, rewrite_full_path, a redirect's replace_prefix and port. */
class ConfigDumpTest {
  private static final String MANIFESTS = """
      apiVersion: networking.istio.io/v1
      kind: Gateway
      metadata: {name: gw, namespace: default}
      spec:
        servers:
        - port: {number: 80, name: http, protocol: HTTP}
          hosts: ["*"]
      ---
      apiVersion: networking.istio.io/v1
      kind: VirtualService
      metadata: {name: vs, namespace: default}
      spec:
        hosts: [a.example.com]
        gateways: [gw]
        http:
        - name: mirrored
          match: [{uri: {prefix: /api}}]
          rewrite: {uri: /v1}
          route:
          - destination: {host: primary}
          mirrors:
          - destination: {host: shadow}
            percentage: {value: 25}
        - name: moved
          redirect: {uri: /new, port: 8443, scheme: https}
      ---
      apiVersion: networking.istio.io/v1
      kind: ServiceEntry
      metadata: {name: svcs, namespace: default}
      spec:
        hosts: [primary.default.svc.cluster.local, shadow.default.svc.cluster.local]
        ports: [{number: 80, name: http, protocol: HTTP}]
        resolution: STATIC
        endpoints: [{address: 127.0.0.1}]
      """;

  @Test
  void routesShowMirrorsAndPathRewriteKinds() throws Exception {
    GatewayConfig c = Manifests.translate(MANIFESTS.split("(?m)^---$"));
    assertThat(c.problems()).isEmpty();
    JsonNode root = new ObjectMapper().readTree(ConfigDump.render(c, Map.of(), Map.of(), "JDK", Clock.systemUTC(),
        ProxyLimits.defaults(), 100, Map.of(), PathNormalization.DEFAULT));
    JsonNode mirrored = root.findParents("rewrite_uri").get(0);
    assertThat(mirrored.get("rewrite_uri").asText()).isEqualTo("/v1");
    assertThat(mirrored.get("rewrite_full_path").asBoolean(true)).isFalse();
    JsonNode mirrors = mirrored.get("request_mirror_policies");
    assertThat(mirrors).hasSize(1);
    assertThat(mirrors.get(0).get("cluster").asText()).isEqualTo("outbound|80||shadow.default.svc.cluster.local");
    assertThat(mirrors.get(0).get("percent").asDouble()).isEqualTo(25.0);
    JsonNode redirect = root.findValue("redirect");
    assertThat(redirect.get("uri").asText()).isEqualTo("/new");
    assertThat(redirect.get("replace_prefix").asBoolean(true)).isFalse();
    assertThat(redirect.get("port").asInt()).isEqualTo(8443);
    assertThat(redirect.get("scheme").asText()).isEqualTo("https");
  }
}
