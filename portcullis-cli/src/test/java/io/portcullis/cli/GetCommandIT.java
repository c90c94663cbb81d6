package io.portcullis.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.portcullis.testing.Ports;
import io.portcullis.testing.Proc;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code portcullis get} against a {@code portcullis run} in another process serving a Gateway API Gateway, an
 * HTTPRoute and an Ingress: kubectl's columns, {@code -A}, {@code -o yaml} with the computed status, and kubectl's
 * NotFound error for a missing name.
 */
class GetCommandIT {
  @TempDir Path tmp;

  @Test
  void getShowsTheObjectsWithTheirStatusAsKubectlDoes() throws Exception {
    Path config = Files.createDirectories(tmp.resolve("config"));
    int offset = Ports.free() - 80;
    Files.writeString(config.resolve("objects.yaml"), """
        apiVersion: gateway.networking.k8s.io/v1
        kind: GatewayClass
        metadata: {name: portcullis}
        spec: {controllerName: portcullis.io/gateway-controller}
        ---
        apiVersion: gateway.networking.k8s.io/v1
        kind: Gateway
        metadata: {name: web, namespace: shop}
        spec:
          gatewayClassName: portcullis
          listeners: [{name: http, port: 80, protocol: HTTP}]
        ---
        apiVersion: gateway.networking.k8s.io/v1
        kind: HTTPRoute
        metadata: {name: front, namespace: shop}
        spec:
          parentRefs: [{name: web}]
          hostnames: [shop.example.com]
          rules: [{backendRefs: [{name: nosuch, port: 80}]}]
        ---
        apiVersion: networking.k8s.io/v1
        kind: Ingress
        metadata: {name: legacy, namespace: default, annotations: {kubernetes.io/ingress.class: istio}}
        spec:
          rules:
          - host: old.example.com
            http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: nosuch, port: {number: 80}}}}]}
        """);
    String admin = "127.0.0.1:" + Ports.free();
    try (Proc p = Launcher.run(admin, tmp, Map.of(), "--config", config.toString(), "--state",
        tmp.resolve("state").toString(), "--port-offset", String.valueOf(offset), "--bind", "127.0.0.1")) {

      Proc.Result gateways = Proc.run(30, Launcher.PATH, "get", "gateways", "-A", "--admin", admin);
      assertThat(gateways.exitCode()).as(gateways.stderr()).isZero();
      assertThat(gateways.stdout().lines().toList()).containsExactly(
          "NAMESPACE   NAME   CLASS        ADDRESS     PROGRAMMED   AGE",
          "shop        web    portcullis   127.0.0.1   True         <unknown>");

      Proc.Result routes = Proc.run(30, Launcher.PATH, "get", "httproute", "-n", "shop", "--admin", admin);
      assertThat(routes.stdout()).startsWith("NAME    HOSTNAMES").contains("front").contains("[\"shop.example.com\"]");

      Proc.Result yaml = Proc.run(30, Launcher.PATH, "get", "httproutes.gateway.networking.k8s.io", "front", "-n",
          "shop", "-o", "yaml", "--admin", admin);
      assertThat(yaml.exitCode()).as(yaml.stderr()).isZero();
      assertThat(yaml.stdout()).contains("kind: HTTPRoute").contains("controllerName: portcullis.io/gateway-controller")
          .contains("reason: BackendNotFound").contains("type: ResolvedRefs");

      Proc.Result ingresses = Proc.run(30, Launcher.PATH, "get", "ingress", "-A", "--admin", admin);
      assertThat(ingresses.exitCode()).as(ingresses.stderr()).isZero();
      assertThat(ingresses.stdout().lines().toList()).containsExactly(
          "NAMESPACE   NAME     CLASS    HOSTS             ADDRESS   PORTS   AGE",
          "default     legacy   <none>   old.example.com             80      <unknown>");
      Proc.Result ingressYaml = Proc.run(30, Launcher.PATH, "get", "ing", "legacy", "-o", "yaml", "--admin", admin);
      assertThat(ingressYaml.exitCode()).as(ingressYaml.stderr()).isZero();
      assertThat(ingressYaml.stdout()).startsWith("apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata:\n")
          .contains("\n    kubernetes.io/ingress.class: istio\n").contains("\n  name: legacy\n  namespace: default\n")
          .endsWith("status:\n  loadBalancer: {}\n");
      Proc.Result ingressJson = Proc.run(30, Launcher.PATH, "get", "ingresses.networking.k8s.io", "-o", "json",
          "--admin", admin);
      assertThat(ingressJson.stdout()).startsWith("{\n    \"apiVersion\": \"v1\",\n    \"items\": [\n")
          .contains("\"kind\": \"List\"");
      Proc.Result noIngress = Proc.run(30, Launcher.PATH, "get", "ing", "nosuch", "--admin", admin);
      assertThat(noIngress.exitCode()).isEqualTo(1);
      assertThat(noIngress.stderr()).isEqualTo("Error from server (NotFound): ingresses.networking.k8s.io \"nosuch\" "
          + "not found\n");
      // the admin server's access rules hold for /apis too: a page whose name was rebound to 127.0.0.1 reads nothing
      Proc.Result rebound = Proc.run(30, "curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "-H",
          "Host: evil.example", "http://" + admin + "/apis/networking.k8s.io/v1/ingresses");
      assertThat(rebound.stdout()).isEqualTo("403");
      Proc.Result post = Proc.run(30, "curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "-X", "POST",
          "http://" + admin + "/apis/networking.k8s.io/v1/ingresses");
      assertThat(post.stdout()).isEqualTo("405");

      Proc.Result missing = Proc.run(30, Launcher.PATH, "get", "gtw", "nosuch", "-n", "shop", "--admin", admin);
      assertThat(missing.exitCode()).isEqualTo(1);
      assertThat(missing.stderr()).isEqualTo("Error from server (NotFound): gateways.gateway.networking.k8s.io "
          + "\"nosuch\" not found\n");

      Proc.Result empty = Proc.run(30, Launcher.PATH, "get", "grpcroutes", "--admin", admin);
      assertThat(empty.stderr()).isEqualTo("No resources found in default namespace.\n");
    }
  }
}
