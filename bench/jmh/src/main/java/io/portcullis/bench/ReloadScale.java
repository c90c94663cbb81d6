package io.portcullis.bench;

import com.sun.net.httpserver.HttpServer;
import io.portcullis.Portcullis;
import io.portcullis.proxy.AccessLog;
import io.portcullis.proxy.Transport;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Measures reloads at scale under traffic (issue 15's "a reload at that scale keeps 0 failed requests"): writes the
 * configuration {@link TranslationScale} writes (S Services with E endpoints each, and a route per Service in MODE
 * {@code istio}, {@code ingress} or {@code gatewayapi}), points Service {@code svc-0} at a local HTTP server, starts
 * the gateway in this JVM, and while C client threads send {@code GET /} for {@code svc-0.scale.test} over
 * keep-alive connections, adds one route file per reload R times, waiting for each to be served. Prints the
 * requests, the failed ones (any status but 200, or an I/O error), and each reload's time from the write to the
 * new generation being served (ms).
 *
 * <p>Usage: {@code java -Xmx2g -cp benchmarks.jar io.portcullis.bench.ReloadScale DIR SERVICES
 * ENDPOINTS_PER_SERVICE MODE RELOADS [CLIENTS]}, e.g. {@code /tmp/rs 10000 10 gatewayapi 5 4}.
 */
public final class ReloadScale {
  private ReloadScale() {}

  /** Writes, starts, loads and reloads; see the class comment. */
  public static void main(String[] args) throws Exception {
    System.setProperty("jdk.httpclient.allowRestrictedHeaders", "host"); // before the client classes load
    Path dir = Path.of(args[0]);
    int services = Integer.parseInt(args[1]);
    int perService = Integer.parseInt(args[2]);
    String mode = args[3];
    int reloads = Integer.parseInt(args[4]);
    int clients = args.length > 5 ? Integer.parseInt(args[5]) : 4;
    Path config = Files.createDirectories(dir.resolve("config"));
    TranslationScale.write(config, services, perService, mode);
    HttpServer backend = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 128);
    byte[] ok = "ok\n".getBytes(StandardCharsets.US_ASCII);
    backend.createContext("/", ex -> {
      ex.sendResponseHeaders(200, ok.length);
      ex.getResponseBody().write(ok);
      ex.close();
    });
    backend.setExecutor(java.util.concurrent.Executors.newFixedThreadPool(4));
    backend.start();
    // svc-0's EndpointSlice gets a second, reachable copy in its own file; the generated one is replaced
    String cluster = Files.readString(config.resolve("cluster.yaml"));
    cluster = cluster.replaceFirst("(?s)(name: svc-0-abc,.*?endpoints:\n)(- \\{addresses.*?\n)+",
        "$1- {addresses: [\"127.0.0.1\"], conditions: {ready: true}}\n");
    cluster = cluster.replaceFirst("(name: svc-0-abc,(?s).*?)ports: \\[\\{name: http, port: 8080\\}\\]",
        "$1ports: [{name: http, port: " + backend.getAddress().getPort() + "}]");
    Files.writeString(config.resolve("cluster.yaml"), cluster);
    int offset;
    try (ServerSocket s = new ServerSocket(0)) {
      offset = s.getLocalPort() - 80;
    }
    Portcullis gateway = Portcullis.start(new Portcullis.Options(List.of(config), "istio-system", offset,
        "127.0.0.1", new InetSocketAddress("127.0.0.1", 0), AccessLog.disabled(), 2, Transport.AUTO,
        dir.resolve("state"), Duration.ofSeconds(1)));
    long t0 = System.nanoTime();
    while (!gateway.ready() || gateway.generation() == 0) {
      Thread.sleep(50);
    }
    System.out.printf("first configuration served after %d ms (generation %d)%n", (System.nanoTime() - t0)
        / 1_000_000, gateway.generation());
    URI uri = URI.create("http://127.0.0.1:" + (80 + offset) + "/");
    AtomicBoolean running = new AtomicBoolean(true);
    AtomicLong sent = new AtomicLong();
    AtomicLong failed = new AtomicLong();
    List<String> failures = java.util.Collections.synchronizedList(new ArrayList<>());
    List<Thread> threads = new ArrayList<>();
    for (int c = 0; c < clients; c++) {
      Thread t = new Thread(() -> {
        HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
        HttpRequest req = HttpRequest.newBuilder(uri).header("Host", "svc-0.scale.test")
            .timeout(Duration.ofSeconds(10)).build();
        while (running.get()) {
          sent.incrementAndGet();
          try {
            HttpResponse<String> r = client.send(req, HttpResponse.BodyHandlers.ofString());
            if (r.statusCode() != 200) {
              failed.incrementAndGet();
              failures.add("status " + r.statusCode());
            }
          } catch (Exception e) {
            failed.incrementAndGet();
            failures.add(e.toString());
          }
        }
      }, "client-" + c);
      t.start();
      threads.add(t);
    }
    Thread.sleep(1000);
    long before = sent.get();
    for (int k = 0; k < reloads; k++) {
      long gen = gateway.generation();
      long s = System.nanoTime();
      Files.writeString(config.resolve("reload-" + k + ".yaml"), extraRoute(mode, k));
      while (gateway.generation() == gen) {
        Thread.sleep(5);
      }
      System.out.printf("reload %d: generation %d served %d ms after the write%n", k + 1, gateway.generation(),
          (System.nanoTime() - s) / 1_000_000);
    }
    Thread.sleep(1000);
    running.set(false);
    for (Thread t : threads) {
      t.join(15_000);
    }
    System.out.printf("%d requests (%d during the reloads), %d failed%s%n", sent.get(), sent.get() - before,
        failed.get(), failures.isEmpty() ? "" : ": first " + failures.get(0));
    gateway.close();
    backend.stop(0);
    System.exit(0);
  }

  private static String extraRoute(String mode, int k) {
    return switch (mode) {
      case "gatewayapi" -> "apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata: {name: extra-" + k
          + ", namespace: ns-0}\nspec:\n  parentRefs: [{name: scale, namespace: istio-system}]\n  hostnames: [extra-"
          + k + ".scale.test]\n  rules: [{backendRefs: [{name: svc-0, port: 80}]}]\n";
      case "ingress" -> "apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata: {name: extra-" + k + ", namespace: "
          + "ns-0, annotations: {kubernetes.io/ingress.class: istio}}\nspec:\n  rules:\n  - host: extra-" + k
          + ".scale.test\n    http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: svc-0, port: "
          + "{number: 80}}}}]}\n";
      default -> "apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: extra-" + k
          + ", namespace: ns-0}\nspec:\n  hosts: [extra-" + k + ".scale.test]\n  gateways: [istio-system/scale]\n"
          + "  http: [{route: [{destination: {host: svc-0}}]}]\n";
    };
  }
}
