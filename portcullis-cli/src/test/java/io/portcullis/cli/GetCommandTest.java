package io.portcullis.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import io.portcullis.admin.ApiKind;
import io.portcullis.admin.ApiKinds;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import picocli.CommandLine;

/** {@code portcullis get}'s parts: KIND as kubectl resolves it, columns, AGE, the JSON and YAML shapes, errors. */
class GetCommandTest {
  static final ObjectMapper YAML = new YAMLMapper();
  static final Instant NOW = Instant.parse("2026-03-01T12:00:00Z");

  @ParameterizedTest(name = "{0} -> {1} {2}")
  @CsvSource({
      "gateway,                               Gateway,        v1",
      "gateways,                              Gateway,        v1",
      "Gateway,                               Gateway,        v1",
      "gtw,                                   Gateway,        v1",
      "gateways.gateway.networking.k8s.io,    Gateway,        v1",
      "gateway.gateway.networking.k8s.io,     Gateway,        v1",
      "gtw.gateway.networking.k8s.io,         Gateway,        v1",
      "gateways.v1beta1.gateway.networking.k8s.io, Gateway,   v1beta1",
      "gc,                                    GatewayClass,   v1",
      "gatewayclass,                          GatewayClass,   v1",
      "HTTPRoute,                             HTTPRoute,      v1",
      "httproutes.v1.gateway.networking.k8s.io, HTTPRoute,    v1",
      "grpcroute,                             GRPCRoute,      v1",
      "tlsroutes.v1alpha2.gateway.networking.k8s.io, TLSRoute, v1alpha2",
      "refgrant,                              ReferenceGrant, v1",
      "ing,                                   Ingress,        v1",
      "ingresses.networking.k8s.io,           Ingress,        v1",
      "ingressclasses,                        IngressClass,   v1",
  })
  void kindsResolveAsKubectlResolvesThem(String arg, String kind, String version) {
    GetCommand.Resolved r = GetCommand.resolve(arg).orElseThrow();
    assertThat(r.kind().kind()).isEqualTo(kind);
    assertThat(r.version()).isEqualTo(version);
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource({
      "gw,                            gw",       // Istio's Gateway: not served here
      "gateways.networking.istio.io,  gateways",
      "gateways.v2.gateway.networking.k8s.io, gateways", // no such version
      "ingresses.extensions,          ingresses", // removed in Kubernetes 1.22
      "secrets,                       secrets",
      "gtwy,                          gtwy",
  })
  void otherKindsAreNotResourceTypes(String arg, String said) {
    assertThat(GetCommand.resolve(arg)).isEmpty();
    assertThat(GetCommand.typeName(arg)).isEqualTo(said);
  }

  @ParameterizedTest(name = "{0} s: {1}")
  @CsvSource({
      "-5,      <invalid>",
      "-1,      0s",
      "0,       0s",
      "45,      45s",
      "119,     119s",
      "120,     2m",
      "303,     5m3s",
      "599,     9m59s",
      "600,     10m",
      "10799,   179m",
      "10800,   3h",
      "11100,   3h5m",
      "28800,   8h",
      "172799,  47h",
      "172800,  2d",
      "183600,  2d3h",
      "691200,  8d",
      "1036800, 12d",
      "63072000, 2y",
      "63158400, 2y1d",
      "252288000, 8y",
  })
  void ageIsKubernetesHumanDuration(long seconds, String age) {
    assertThat(PrinterColumns.humanDuration(Duration.ofSeconds(seconds))).isEqualTo(age);
    JsonNode ts = new ObjectMapper().getNodeFactory().textNode(NOW.minusSeconds(seconds).toString());
    assertThat(PrinterColumns.age(ts, NOW)).isEqualTo(age);
  }

  @Test
  void noCreationTimestampIsUnknown() {
    assertThat(PrinterColumns.age(new ObjectMapper().missingNode(), NOW)).isEqualTo("<unknown>");
  }

  static JsonNode object(String yaml) throws Exception {
    return YAML.readTree(yaml);
  }

  static String table(String kind, boolean wide, boolean all, List<JsonNode> objects) {
    ApiKind k = ApiKinds.all().stream().filter(a -> a.kind().equals(kind)).findFirst().orElseThrow();
    StringWriter s = new StringWriter();
    PrinterColumns.print(new PrintWriter(s), PrinterColumns.of(k, wide, all, NOW), objects);
    return s.toString();
  }

  static final String GATEWAY = """
      apiVersion: gateway.networking.k8s.io/v1
      kind: Gateway
      metadata: {name: web, namespace: shop, creationTimestamp: "2026-03-01T11:55:00Z"}
      spec: {gatewayClassName: portcullis}
      status:
        addresses: [{type: IPAddress, value: 10.0.0.1}, {type: IPAddress, value: 10.0.0.2}]
        conditions:
        - {type: Accepted, status: "True", reason: Accepted}
        - {type: Programmed, status: "False", reason: Invalid}
      """;

  @Test
  void gatewayColumnsAreTheCrdsPrinterColumns() throws Exception {
    // ADDRESS: the first of .status.addresses[*].value, as the API server's CRD table convertor takes results[0][0]
    assertThat(table("Gateway", false, true, List.of(object(GATEWAY), object("""
        metadata: {name: api-gateway-with-a-long-name, namespace: default}
        spec: {gatewayClassName: other}
        """)))).isEqualTo("""
        NAMESPACE   NAME                           CLASS        ADDRESS    PROGRAMMED   AGE
        shop        web                            portcullis   10.0.0.1   False        5m
        default     api-gateway-with-a-long-name   other                                <unknown>
        """);
  }

  @Test
  void gatewayClassWideAddsDescriptionAndRouteHostnamesAreJson() throws Exception {
    JsonNode gc = object("""
        metadata: {name: portcullis, creationTimestamp: "2026-02-27T12:00:00Z"}
        spec: {controllerName: portcullis.io/gateway-controller, description: The Portcullis gateway}
        status: {conditions: [{type: Accepted, status: "True"}]}
        """);
    assertThat(table("GatewayClass", false, true, List.of(gc))).isEqualTo("""
        NAME         CONTROLLER                         ACCEPTED   AGE
        portcullis   portcullis.io/gateway-controller   True       2d
        """);
    assertThat(table("GatewayClass", true, false, List.of(gc)).lines().findFirst().orElseThrow())
        .isEqualTo("NAME         CONTROLLER                         ACCEPTED   AGE   DESCRIPTION");
    assertThat(table("HTTPRoute", false, false, List.of(object("""
        metadata: {name: a}
        spec: {hostnames: [a.example.com, b.example.com]}
        """)))).isEqualTo("""
        NAME   HOSTNAMES                           AGE
        a      ["a.example.com","b.example.com"]   <unknown>
        """);
    assertThat(table("TLSRoute", false, false, List.of(object("metadata: {name: t}")))).isEqualTo("""
        NAME   AGE
        t      <unknown>
        """);
  }

  @Test
  void ingressColumnsAreKubectlsBuiltInOnes() throws Exception {
    JsonNode ing = object("""
        metadata: {name: web, namespace: default}
        spec:
          ingressClassName: istio
          tls: [{hosts: [a.example.com]}]
          rules: [{host: a.example.com}, {host: b.example.com}, {host: c.example.com}, {}, {host: d.example.com},
                  {host: e.example.com}]
        status: {loadBalancer: {ingress: [{ip: 192.168.100.200}, {hostname: lb.example.com}]}}
        """);
    JsonNode bare = object("""
        metadata: {name: old, namespace: default}
        spec: {rules: [{http: {}}]}
        status: {loadBalancer: {}}
        """);
    List<String> lines = table("Ingress", false, false, List.of(ing, bare)).lines().toList();
    assertThat(lines).containsExactly(
        "NAME   CLASS    HOSTS" + " ".repeat(65) + "ADDRESS            PORTS     AGE",
        "web    istio    a.example.com,b.example.com,c.example.com,d.example.com + 2 more...   192.168.100.2...   "
            + "80, 443   <unknown>",
        "old    <none>   *" + " ".repeat(69) + " ".repeat(19) + "80        <unknown>");
  }

  @Test
  void ingressHostsAndAddressFollowKubectl() throws Exception {
    assertThat(PrinterColumns.hosts(object("[{host: a}, {host: b}, {host: c}, {host: d}, {host: e}]")))
        .isEqualTo("a,b,c,d + 1 more...");
    assertThat(PrinterColumns.hosts(object("[]"))).isEqualTo("*");
    JsonNode lb = object("{ingress: [{ip: 192.168.100.200}, {hostname: lb.example.com}]}");
    assertThat(PrinterColumns.address(lb, false)).isEqualTo("192.168.100.2..."); // kubectl's r[0:13] + "..."
    assertThat(PrinterColumns.address(lb, true)).isEqualTo("192.168.100.200,lb.example.com");
  }

  @Test
  void jsonIsGoStyleSortedFourSpacesAndHtmlSafe() throws Exception {
    assertThat(KubeOutput.json(KubeOutput.list(List.of()))).isEqualTo("""
        {
            "apiVersion": "v1",
            "items": [],
            "kind": "List",
            "metadata": {
                "resourceVersion": ""
            }
        }
        """);
    assertThat(KubeOutput.json(object("{kind: Gateway, apiVersion: x/v1, metadata: {annotations: {a: \"<&>\"}}, "
        + "spec: {}, n: 3}"))).isEqualTo("""
        {
            "apiVersion": "x/v1",
            "kind": "Gateway",
            "metadata": {
                "annotations": {
                    "a": "\\u003c\\u0026\\u003e"
                }
            },
            "n": 3,
            "spec": {}
        }
        """);
  }

  @Test
  void yamlIsSortedWithSequencesUnderTheirKeyAndAmbiguousStringsQuoted() throws Exception {
    String yaml = KubeOutput.yaml(KubeOutput.list(List.of(object(GATEWAY))));
    assertThat(yaml).startsWith("apiVersion: v1\nitems:\n- apiVersion: gateway.networking.k8s.io/v1\n  kind: Gateway\n")
        .contains("  metadata:\n    creationTimestamp: \"2026-03-01T11:55:00Z\"\n    name: web\n")
        .contains("    conditions:\n    - reason: Accepted\n      status: \"True\"\n      type: Accepted\n")
        .contains("value: 10.0.0.1\n")
        .endsWith("kind: List\nmetadata:\n  resourceVersion: \"\"\n")
        .doesNotContain("---");
    // what it prints reads back as the same object
    assertThat(YAML.readTree(yaml).path("items").path(0)).isEqualTo(object(GATEWAY));
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource(delimiter = '|', value = {
      "nosuch|error: the server doesn't have a resource type \"nosuch\"",
      "gw|error: the server doesn't have a resource type \"gw\"",
      "gateways.networking.istio.io|error: the server doesn't have a resource type \"gateways\"",
      "gateway web -A|error: a resource cannot be retrieved by name across all namespaces",
      "gateway -o xml|error: unable to match a printer suitable for the output format \"xml\", allowed formats are: "
          + "json,name,wide,yaml",
      "gateway/web web|error: there is no need to specify a resource type as a separate argument",
  })
  void badArgumentsFailWithKubectlsWordsBeforeAskingTheServer(String args, String said) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    CommandLine cli = new CommandLine(new GetCommand());
    cli.setOut(new PrintWriter(out));
    cli.setErr(new PrintWriter(err));
    // an admin address nothing listens on: these fail before any request
    int code = cli.execute((args + " --admin 127.0.0.1:1").split(" "));
    assertThat(code).isEqualTo(1);
    assertThat(err.toString()).startsWith(said);
    assertThat(out.toString()).isEmpty();
  }
}
