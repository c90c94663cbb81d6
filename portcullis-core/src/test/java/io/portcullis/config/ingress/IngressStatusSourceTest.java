package io.portcullis.config.ingress;

import static io.portcullis.config.ingress.IngressFixtures.SHOP;
import static org.assertj.core.api.Assertions.assertThat;

import io.portcullis.config.ConfigTranslator;
import io.portcullis.config.GatewayConfig;
import io.portcullis.config.Manifests;
import io.portcullis.config.ObjectStatus;
import io.portcullis.routing.SafeRegex;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class IngressStatusSourceTest {
  private static final String INGRESS = IngressTranslatorTest.ingress("web",
      "annotations: {kubernetes.io/ingress.class: istio}", "");
  private static final String GATEWAY_SERVICE = """
      apiVersion: v1
      kind: Service
      metadata: {name: gw, namespace: istio-system}
      spec: {type: LoadBalancer, ports: [{name: http, port: 80}]}
      status: {loadBalancer: {ingress: [{ip: 203.0.113.9}, {hostname: lb.example.net}]}}
      """;

  private static String loadBalancer(IngressStatusSource source) {
    GatewayConfig c = new ConfigTranslator("istio-system", 0, SafeRegex.DEFAULT_MAX_PROGRAM_SIZE,
        IngressClassSelection.DEFAULT, List.of(), source).translate(Manifests.snapshot(SHOP, GATEWAY_SERVICE,
        INGRESS));
    return c.statuses().stream().filter(s -> s.resource().kind().equals("Ingress")).map(ObjectStatus::status)
        .findFirst().orElseThrow().path("loadBalancer").toString();
  }

  @Test
  void noSourceLeavesTheLoadBalancerEmpty() {
    assertThat(loadBalancer(IngressStatusSource.NONE)).isEqualTo("{}");
  }

  @Test
  void publishedAddressesAreListedAsIpsOrHostnames() {
    assertThat(loadBalancer(new IngressStatusSource(List.of("10.0.0.7", "2001:db8::7", "edge.example.com"),
        Optional.of("istio-system/gw")))).isEqualTo("{\"ingress\":[{\"ip\":\"10.0.0.7\"},{\"ip\":\"2001:db8::7\"},"
        + "{\"hostname\":\"edge.example.com\"}]}");
  }

  @Test
  void aPublishedServiceLendsItsOwnLoadBalancerStatus() {
    assertThat(loadBalancer(new IngressStatusSource(List.of(), Optional.of("istio-system/gw"))))
        .isEqualTo("{\"ingress\":[{\"ip\":\"203.0.113.9\"},{\"hostname\":\"lb.example.net\"}]}");
    assertThat(loadBalancer(new IngressStatusSource(List.of(), Optional.of("istio-system/missing"))))
        .isEqualTo("{}");
  }
}
