package io.portcullis.bench;

import io.portcullis.config.ConfigTranslator;
import io.portcullis.config.GatewayConfig;
import io.portcullis.config.ManifestReader;
import io.portcullis.config.Problem;
import io.portcullis.config.Resource;
import io.portcullis.config.Snapshot;
import java.io.BufferedWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Measures how long {@link ConfigTranslator#translate} takes for a large cluster (issue 14's "translation time at
 * 10,000 Services with 100,000 endpoints"): writes S Services, each with one EndpointSlice of E endpoints and one
 * VirtualService route to it on one HTTP Gateway, reads them once with the real {@link ManifestReader}, then
 * translates the snapshot R times on one thread and prints each time (ms), the median, the clusters and endpoints
 * the result holds, the problems by severity, and the heap in use after a GC (MB). With {@code ingress} as MODE the
 * routes are one Kubernetes Ingress (class {@code istio}) rule per Service instead of a VirtualService (issue 15's
 * "10,000 Ingress rules"); with {@code gatewayapi}, one HTTPRoute per Service on one Gateway API Gateway
 * ("10,000 HTTPRoutes").
 *
 * <p>Usage: {@code java -cp benchmarks.jar io.portcullis.bench.TranslationScale DIR SERVICES ENDPOINTS_PER_SERVICE
 * [ROUNDS [istio|ingress|gatewayapi]]}, e.g. {@code /tmp/ts 10000 10 5}.
 */
public final class TranslationScale {
  private TranslationScale() {}

  /** Writes, reads and translates; see the class comment. */
  public static void main(String[] args) throws Exception {
    Path dir = Path.of(args[0]);
    int services = Integer.parseInt(args[1]);
    int perService = Integer.parseInt(args[2]);
    int rounds = args.length > 3 ? Integer.parseInt(args[3]) : 5;
    String mode = args.length > 4 ? args[4] : "istio";
    if (!List.of("istio", "ingress", "gatewayapi").contains(mode)) {
      throw new IllegalArgumentException("MODE " + mode + " (expected: istio, ingress or gatewayapi)");
    }
    Files.createDirectories(dir);
    write(dir, services, perService, mode);
    long t0 = System.nanoTime();
    List<Resource> resources = new ArrayList<>();
    ManifestReader reader = new ManifestReader();
    try (var files = Files.list(dir)) {
      for (Path f : files.sorted().toList()) {
        resources.addAll(reader.read(f));
      }
    }
    System.out.printf("read %d resources in %d ms%n", resources.size(), (System.nanoTime() - t0) / 1_000_000);
    Snapshot snapshot = new Snapshot(resources, List.of(), 1);
    ConfigTranslator translator = new ConfigTranslator("istio-system", 0);
    long[] ms = new long[rounds];
    GatewayConfig config = null;
    for (int r = 0; r < rounds; r++) {
      long s = System.nanoTime();
      config = translator.translate(snapshot);
      ms[r] = (System.nanoTime() - s) / 1_000_000;
      System.out.printf("translate %d: %d ms%n", r + 1, ms[r]);
    }
    long[] sorted = ms.clone();
    Arrays.sort(sorted);
    var routes = config.listeners().values().iterator().next().routes().find("svc-0.scale.test").orElseThrow();
    long endpoints = 0;
    java.util.Set<String> clusters = new java.util.HashSet<>();
    for (var l : config.listeners().values()) {
      for (var vh : l.routes().entries().values()) {
        for (var route : vh.routes()) {
          if (route.action() instanceof io.portcullis.routing.RouteAction.Forward f) {
            for (var wc : f.destinations()) {
              if (clusters.add(wc.cluster().name())) {
                endpoints += wc.cluster().endpoints().size();
              }
            }
          }
        }
      }
    }
    System.out.printf("median %d ms over %d rounds; %d clusters, %d endpoints; first route: %s%n",
        sorted[rounds / 2], rounds, clusters.size(), endpoints, routes.name());
    for (Problem.Severity sev : Problem.Severity.values()) {
      long n = config.problems().stream().filter(p -> p.severity() == sev).count();
      System.out.printf("problems %s: %d%s%n", sev, n, n == 0 ? "" : " (first: " + config.problems().stream()
          .filter(p -> p.severity() == sev).findFirst().orElseThrow() + ")");
    }
    System.gc();
    Runtime rt = Runtime.getRuntime();
    System.out.printf("heap in use after GC: %d MB%n", (rt.totalMemory() - rt.freeMemory()) >> 20);
  }

  static void write(Path dir, int services, int perService, String mode) throws Exception {
    boolean ingress = mode.equals("ingress");
    boolean gatewayApi = mode.equals("gatewayapi");
    try (BufferedWriter w = Files.newBufferedWriter(dir.resolve("cluster.yaml"), StandardCharsets.UTF_8)) {
      if (gatewayApi) {
        w.write("apiVersion: gateway.networking.k8s.io/v1\nkind: GatewayClass\nmetadata: {name: portcullis}\n"
            + "spec: {controllerName: portcullis.io/gateway-controller}\n---\n"
            + "apiVersion: gateway.networking.k8s.io/v1\nkind: Gateway\nmetadata: {name: scale, namespace: "
            + "istio-system}\nspec:\n  gatewayClassName: portcullis\n  listeners: [{name: http, port: 80, "
            + "protocol: HTTP, allowedRoutes: {namespaces: {from: All}}}]\n");
      } else if (!ingress) {
        w.write("apiVersion: networking.istio.io/v1\nkind: Gateway\nmetadata: {name: scale, namespace: "
            + "istio-system}\nspec:\n  servers: [{port: {number: 80, name: http, protocol: HTTP}, "
            + "hosts: [\"*/*\"]}]\n");
      }
      for (int i = 0; i < services; i++) {
        w.write("---\napiVersion: v1\nkind: Service\nmetadata: {name: svc-" + i + ", namespace: ns-" + (i % 100)
            + "}\nspec:\n  ports: [{name: http, port: 80, targetPort: 8080}]\n");
        w.write("---\napiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata: {name: svc-" + i + "-abc, "
            + "namespace: ns-" + (i % 100) + ", labels: {kubernetes.io/service-name: svc-" + i + "}}\n"
            + "addressType: IPv4\nports: [{name: http, port: 8080}]\nendpoints:\n");
        for (int e = 0; e < perService; e++) {
          int a = i * perService + e;
          w.write("- {addresses: [\"10." + ((a >> 16) & 255) + "." + ((a >> 8) & 255) + "." + (a & 255)
              + "\"], conditions: {ready: true}}\n");
        }
        if (gatewayApi) {
          w.write("---\napiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata: {name: svc-" + i
              + ", namespace: ns-" + (i % 100) + "}\nspec:\n  parentRefs: [{name: scale, namespace: istio-system}]\n"
              + "  hostnames: [svc-" + i + ".scale.test]\n  rules: [{matches: [{path: {type: PathPrefix, value: /}}],"
              + " backendRefs: [{name: svc-" + i + ", port: 80}]}]\n");
        } else if (ingress) {
          w.write("---\napiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata: {name: svc-" + i + ", namespace: ns-"
              + (i % 100) + ", annotations: {kubernetes.io/ingress.class: istio}}\nspec:\n  rules:\n  - host: svc-" + i
              + ".scale.test\n    http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: svc-" + i
              + ", port: {number: 80}}}}]}\n");
        } else {
          w.write("---\napiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: svc-" + i
              + ", namespace: ns-" + (i % 100) + "}\nspec:\n  hosts: [svc-" + i + ".scale.test]\n"
              + "  gateways: [istio-system/scale]\n  http: [{route: [{destination: {host: svc-" + i + "}}]}]\n");
        }
      }
    }
  }
}
