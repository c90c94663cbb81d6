package io.portcullis.admin;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import io.portcullis.config.ObjectStatus;
import io.portcullis.config.Resource;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * {@code /apis/...} from a synthetic set of statuses (the Gateway API translator's are built the same way): the
 * Kubernetes API's paths, list and Status shapes, versions, scopes, and never a Secret.
 */
class ObjectsEndpointTest {
  static final ObjectMapper YAML = new YAMLMapper();
  static final ObjectMapper JSON = new ObjectMapper();

  static ObjectStatus status(String yaml, String statusYaml) throws Exception {
    JsonNode body = YAML.readTree(yaml);
    JsonNode meta = body.path("metadata");
    Resource r = new Resource(body.path("apiVersion").asText(), body.path("kind").asText(),
        meta.path("namespace").asText("default"), meta.path("name").asText(), Path.of("test.yaml"), body);
    return new ObjectStatus(r, (ObjectNode) YAML.readTree(statusYaml));
  }

  static List<ObjectStatus> statuses() throws Exception {
    return List.of(
        status("""
            apiVersion: gateway.networking.k8s.io/v1beta1
            kind: Gateway
            metadata: {name: web, namespace: prod, creationTimestamp: "2026-01-01T00:00:00Z"}
            spec: {gatewayClassName: portcullis, listeners: [{name: http, port: 80, protocol: HTTP}]}
            status: {conditions: [{type: Programmed, status: "False"}]}
            """, """
            conditions: [{type: Accepted, status: "True", reason: Accepted}, {type: Programmed, status: "True"}]
            """),
        status("""
            apiVersion: gateway.networking.k8s.io/v1
            kind: Gateway
            metadata: {name: api}
            spec: {gatewayClassName: portcullis}
            """, "conditions: [{type: Programmed, status: \"True\"}]"),
        status("""
            apiVersion: gateway.networking.k8s.io/v1
            kind: GatewayClass
            metadata: {name: portcullis, namespace: ignored}
            spec: {controllerName: portcullis.io/gateway-controller}
            """, "conditions: [{type: Accepted, status: \"True\"}]"),
        status("""
            apiVersion: gateway.networking.k8s.io/v1
            kind: HTTPRoute
            metadata: {name: a, namespace: prod}
            spec: {hostnames: [a.example.com]}
            """, "parents: []"),
        status("""
            apiVersion: extensions/v1beta1
            kind: Ingress
            metadata: {name: old, namespace: prod}
            spec: {backend: {serviceName: web, servicePort: 80}}
            """, "loadBalancer: {}"),
        status("""
            apiVersion: v1
            kind: Secret
            metadata: {name: key, namespace: prod}
            data: {tls.key: c2VjcmV0}
            """, "{}"));
  }

  static List<String> names(JsonNode list) {
    List<String> out = new java.util.ArrayList<>();
    list.path("items").forEach(i -> out.add(i.path("metadata").path("name").asText()));
    return out;
  }

  static JsonNode get(String path) throws Exception {
    ObjectsEndpoint.Answer a = ObjectsEndpoint.get(path, statuses());
    assertThat(a.status().code()).as(a.json()).isEqualTo(200);
    return JSON.readTree(a.json());
  }

  @Test
  void aListHasTheApiServersShapeSortedByNamespaceThenNameWithEachObjectsStatus() throws Exception {
    JsonNode list = get("/apis/gateway.networking.k8s.io/v1/gateways");
    assertThat(list.path("apiVersion").asText()).isEqualTo("gateway.networking.k8s.io/v1");
    assertThat(list.path("kind").asText()).isEqualTo("GatewayList");
    assertThat(list.path("metadata").isObject()).isTrue();
    assertThat(names(list)).containsExactly("api", "web");
    JsonNode web = list.path("items").path(1);
    // read as v1beta1, served at v1 as the API server converts it; the user's own status replaced by ours
    assertThat(web.path("apiVersion").asText()).isEqualTo("gateway.networking.k8s.io/v1");
    assertThat(web.path("kind").asText()).isEqualTo("Gateway");
    assertThat(web.path("status").path("conditions").path(0).path("type").asText()).isEqualTo("Accepted");
    assertThat(web.path("spec").path("listeners").path(0).path("port").asInt()).isEqualTo(80);
    // a namespace the manifest left out is the default one, written out as the API server would
    assertThat(list.path("items").path(0).path("metadata").path("namespace").asText()).isEqualTo("default");
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource({
      "/apis/gateway.networking.k8s.io/v1beta1/namespaces/prod/gateways, gateway.networking.k8s.io/v1beta1, web",
      "/apis/gateway.networking.k8s.io/v1/namespaces/default/gateways, gateway.networking.k8s.io/v1, api",
      "/apis/gateway.networking.k8s.io/v1/namespaces/prod/httproutes/, gateway.networking.k8s.io/v1, a",
      "/apis/gateway.networking.k8s.io/v1/gatewayclasses, gateway.networking.k8s.io/v1, portcullis",
      "/apis/networking.k8s.io/v1/ingresses, extensions/v1beta1, old",
  })
  void everyServedVersionAndNamespaceFilter(String path, String itemVersion, String names) throws Exception {
    JsonNode list = get(path);
    assertThat(names(list)).containsExactly(names.split(" "));
    assertThat(list.path("items").path(0).path("apiVersion").asText()).isEqualTo(itemVersion);
  }

  @Test
  void oneObjectByNameNamespacedOrClusterScoped() throws Exception {
    JsonNode web = get("/apis/gateway.networking.k8s.io/v1/namespaces/prod/gateways/web");
    assertThat(web.path("metadata").path("name").asText()).isEqualTo("web");
    assertThat(web.path("status").path("conditions").size()).isEqualTo(2);
    JsonNode gc = get("/apis/gateway.networking.k8s.io/v1/gatewayclasses/portcullis");
    assertThat(gc.path("kind").asText()).isEqualTo("GatewayClass");
    assertThat(gc.path("metadata").has("namespace")).as("cluster-scoped").isFalse();
    assertThat(gc.path("status").path("conditions").path(0).path("status").asText()).isEqualTo("True");
  }

  @Test
  void anUnknownNameIsAKubernetesNotFoundStatus() throws Exception {
    ObjectsEndpoint.Answer a = ObjectsEndpoint.get("/apis/gateway.networking.k8s.io/v1/namespaces/prod/gateways/foo",
        statuses());
    assertThat(a.status().code()).isEqualTo(404);
    JsonNode s = JSON.readTree(a.json());
    assertThat(s.path("kind").asText()).isEqualTo("Status");
    assertThat(s.path("apiVersion").asText()).isEqualTo("v1");
    assertThat(s.path("status").asText()).isEqualTo("Failure");
    assertThat(s.path("reason").asText()).isEqualTo("NotFound");
    assertThat(s.path("code").asInt()).isEqualTo(404);
    assertThat(s.path("message").asText()).isEqualTo("gateways.gateway.networking.k8s.io \"foo\" not found");
    // a Gateway of another namespace is not found in this one
    assertThat(ObjectsEndpoint.get("/apis/gateway.networking.k8s.io/v1/namespaces/default/gateways/web", statuses())
        .status().code()).isEqualTo(404);
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource({
      "/apis/gateway.networking.k8s.io/v2/gateways",                       // a version the kind does not have
      "/apis/gateway.networking.k8s.io/v1/namespaces/prod/grpcroute",      // singular is not a path
      "/apis/networking.istio.io/v1/gateways",                             // not served here
      "/apis/v1/secrets",
      "/apis//v1/namespaces/prod/secrets/key",
      "/apis/gateway.networking.k8s.io/v1/namespaces/prod/gatewayclasses", // cluster-scoped
      "/apis/gateway.networking.k8s.io/v1/gateways/web",                   // namespaced: needs its namespace
      "/apis/gateway.networking.k8s.io/v1/namespaces/prod/gateways/web/status",
      "/apis/gateway.networking.k8s.io",
  })
  void otherPathsAreNotFound(String path) throws Exception {
    ObjectsEndpoint.Answer a = ObjectsEndpoint.get(path, statuses());
    assertThat(a.status().code()).isEqualTo(404);
    assertThat(JSON.readTree(a.json()).path("message").asText())
        .isEqualTo("the server could not find the requested resource");
    assertThat(a.json()).doesNotContain("c2VjcmV0");
  }

  @Test
  void aSecretIsNeverShownEvenWhenAStatusNamesIt() throws Exception {
    for (ApiKind k : ApiKinds.all()) {
      for (String v : k.versions()) {
        String json = ObjectsEndpoint.get(k.path(v, null), statuses()).json();
        assertThat(json).doesNotContain("c2VjcmV0").doesNotContain("\"Secret\"");
      }
    }
  }

  @Test
  void apisListsTheGroupsAndTheirVersions() throws Exception {
    JsonNode groups = get("/apis");
    assertThat(groups.path("kind").asText()).isEqualTo("APIGroupList");
    assertThat(groups.path("groups").findValuesAsText("name")).containsExactly("gateway.networking.k8s.io",
        "networking.k8s.io");
    assertThat(groups.path("groups").path(0).path("versions").findValuesAsText("version"))
        .containsExactly("v1", "v1beta1", "v1alpha3", "v1alpha2");
  }
}
