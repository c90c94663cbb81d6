package io.portcullis.config.istio;

import static org.assertj.core.api.Assertions.assertThat;

import io.portcullis.config.GatewayConfig;
import io.portcullis.config.Manifests;
import io.portcullis.config.Problem;
import io.portcullis.routing.RouteAction;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** VirtualService {@code mirror}, {@code mirrorPercentage}, {@code mirrorPercent} and {@code mirrors[]}. */
class MirrorTranslationTest {
  private static final String GATEWAY = """
      apiVersion: networking.istio.io/v1
      kind: Gateway
      metadata: {name: gw, namespace: default}
      spec:
        servers:
        - port: {number: 80, name: http, protocol: HTTP}
          hosts: ["*"]
      """;
  private static final String SERVICES = """
      apiVersion: networking.istio.io/v1
      kind: ServiceEntry
      metadata: {name: svcs, namespace: default}
      spec:
        hosts: [primary.default.svc.cluster.local]
        ports: [{number: 80, name: http, protocol: HTTP}]
        resolution: STATIC
        endpoints: [{address: 127.0.0.1}]
      ---
      apiVersion: networking.istio.io/v1
      kind: ServiceEntry
      metadata: {name: shadow, namespace: default}
      spec:
        hosts: [shadow.default.svc.cluster.local]
        ports: [{number: 8080, name: http, protocol: HTTP}, {number: 9090, name: http2, protocol: HTTP2}]
        resolution: STATIC
        endpoints: [{address: 127.0.0.2}]
      """;

  private static GatewayConfig translate(String mirrorYaml) {
    String vs = """
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata: {name: vs, namespace: default}
        spec:
          hosts: [a.example.com]
          gateways: [gw]
          http:
          - route:
            - destination: {host: primary}
        %s
        """.formatted(mirrorYaml.replace("\\n", "\n").indent(4).stripTrailing());
    return Manifests.translate(GATEWAY, vs, SERVICES);
  }

  private static List<RouteAction.Mirror> mirrors(GatewayConfig c) {
    var route = c.listeners().get(80).routes().find("a.example.com").orElseThrow().routes().get(0);
    return ((RouteAction.Forward) route.action()).mirrors();
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource(delimiter = '|', value = {
      "mirror, all requests|mirror: {host: shadow, port: {number: 8080}}|8080|100.0",
      "mirrorPercentage|mirror: {host: shadow, port: {number: 8080}}\\nmirrorPercentage: {value: 12.5}|8080|12.5",
      "mirrorPercentage 0|mirror: {host: shadow, port: {number: 9090}}\\nmirrorPercentage: {value: 0}|9090|0.0",
      "deprecated mirrorPercent|mirror: {host: shadow, port: {number: 8080}}\\nmirrorPercent: 30|8080|30.0",
      "mirrors, default share|mirrors: [{destination: {host: shadow, port: {number: 8080}}}]|8080|100.0",
      "mirrors with percentage|mirrors: [{destination: {host: shadow.default.svc.cluster.local, port: {number: 9090}}, percentage: {value: 50}}]|9090|50.0",
  })
  void mirrorsResolveAsDestinationsDo(String name, String yaml, int port, double percent) {
    GatewayConfig c = translate(yaml);
    assertThat(c.problems()).isEmpty();
    assertThat(mirrors(c)).singleElement().satisfies(m -> {
      assertThat(m.cluster().name()).isEqualTo("outbound|" + port + "||shadow.default.svc.cluster.local");
      assertThat(m.cluster().endpoints()).extracting(Object::toString).containsExactly("127.0.0.2:" + m.cluster()
          .port());
      assertThat(m.percent()).isEqualTo(percent);
    });
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource(delimiter = '|', value = {
      "both forms|mirror: {host: shadow, port: {number: 8080}}\\nmirrors: [{destination: {host: shadow, port: {number: 8080}}}]|ERROR|spec.http[0].mirrors|set with mirror (expected: one of mirror, mirrors)",
      "percentage over 100|mirror: {host: shadow, port: {number: 8080}}\\nmirrorPercentage: {value: 150}|ERROR|spec.http[0].mirrorPercentage.value|150.0 (expected: 0..100)",
      "mirrors percentage below 0|mirrors: [{destination: {host: shadow, port: {number: 8080}}, percentage: {value: -1}}]|ERROR|spec.http[0].mirrors[0].percentage.value|-1.0 (expected: 0..100)",
      "no host|mirror: {port: {number: 8080}}|ERROR|spec.http[0].mirror.host|missing (expected: a service host",
      "mirrors no host|mirrors: [{destination: {host: shadow, port: {number: 8080}}}, {percentage: {value: 5}}]|ERROR|spec.http[1].mirrors[1].destination.host|missing",
      "bad port|mirror: {host: shadow, port: {number: 7000}}|ERROR|spec.http[0].mirror.port.number|7000 (expected: one of [8080, 9090]",
      "no port, two on the service|mirror: {host: shadow}|ERROR|spec.http[0].mirror.port.number|missing (expected: one of the ports",
      "unknown host|mirror: {host: nowhere}|WARNING|spec.http[0].mirror.host|nowhere: no ServiceEntry or Service has this host",
      "percentage without mirror|mirrorPercentage: {value: 10}|WARNING|spec.http[0].mirrorPercentage|ignored without mirror",
  })
  void problemsNameTheField(String name, String yaml, String severity, String field, String message) {
    GatewayConfig c = translate(yaml);
    String wanted = field.replace("spec.http[1]", "spec.http[0]");
    assertThat(c.problems()).anySatisfy(p -> {
      assertThat(p.subject()).isEqualTo("VirtualService default/vs");
      assertThat(p.severity().name()).isEqualTo(severity);
      assertThat(p.field()).isEqualTo(wanted);
      assertThat(p.message()).contains(message);
    });
    assertThat(c.problems()).extracting(Problem::message).noneMatch(m -> m.contains("not supported"));
    if (severity.equals("ERROR")) {
      assertThat(c.listeners().get(80).routes().find("a.example.com")).isEmpty();
    }
  }
}
