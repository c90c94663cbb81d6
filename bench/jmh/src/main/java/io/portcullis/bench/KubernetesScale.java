package io.portcullis.bench;

import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.SecretBuilder;
import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.fabric8.kubernetes.client.server.mock.KubernetesMixedDispatcher;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import io.fabric8.mockwebserver.Context;
import io.fabric8.mockwebserver.MockWebServer;
import io.fabric8.mockwebserver.http.RecordedRequest;
import io.netty.handler.ssl.util.InsecureTrustManagerFactory;
import java.io.BufferedReader;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.IntConsumer;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.IntStream;
import javax.net.ssl.SNIHostName;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;

/**
 * Measures {@code portcullis run --kubernetes} at scale (issue 16 point 8) against fabric8's mock API server in CRUD
 * mode, started in this JVM (no real API server can run here), with the real gateway as a child process
 * ({@code bin/portcullis run --kubernetes --kubeconfig FILE --state DIR --bind 127.0.0.1 --admin 127.0.0.1:PORT},
 * {@code POD_NAME=kbench-0}, {@code POD_NAMESPACE=portcullis-system}), stopped by its PID at the end. Every request
 * the mock server receives is counted by method and path pattern (names as {@code *}, {@code ?watch} for watches);
 * this program's own requests carry the user agent {@code kbench} and are left out. Each measurement prints one
 * {@code RESULT} line:
 * <ul>
 *   <li>{@code reconcile [CERTS [K]]} (1,000 and 20): a SelfSigned ClusterIssuer and CERTS Certificates, the gateway
 *       started, every Certificate's status Ready; then a window of K+1 s idle and one as long with K edits of a
 *       label on an unrelated ConfigMap 1 s apart (each makes a snapshot, and each snapshot reconciles every
 *       Certificate): the gateway's requests in each window by pattern, the snapshots it applied in each, and the
 *       difference per snapshot; also its requests from its start to every Certificate Ready;</li>
 *   <li>{@code memory [SECRETS]} (10,000): the gateway started with no Secrets, then with SECRETS Secrets of 2,000
 *       random bytes each (half {@code kubernetes.io/tls}, half Opaque, none Portcullis's, in 100 namespaces): heap in
 *       use after a full GC ({@code jcmd PID GC.run}, then {@code GC.heap_info}), RSS, and the times from the process
 *       start to the informers listed, to the first snapshot applied and to {@code /ready};</li>
 *   <li>{@code latency [N]} (20): one HTTPS Gateway server per host, then N Certificates created one after the other,
 *       1 s apart: the time from each create to the gateway's handshake for its host serving a certificate for it.</li>
 * </ul>
 *
 * <p>Usage, from the repository root after {@code ./mvnw package}: {@code java -cp bench/jmh/target/benchmarks.jar
 * io.portcullis.bench.KubernetesScale DIR reconcile|memory|latency [N [K]]}.
 */
public final class KubernetesScale {
  private static final String AGENT = "kbench";
  private static final Pattern HEAP = Pattern.compile("(\\S[\\w -]*(?:generation|heap))\\s+total (\\d+)K, used (\\d+)K");
  private static final java.util.logging.Logger MOCK_LOG = java.util.logging.Logger.getLogger("io.fabric8");
  private final KubernetesMockServer server;
  private final KubernetesClient client;
  private final Path dir;
  private final Map<String, LongAdder> window = new ConcurrentHashMap<>();
  private final List<Gateway> gateways = new CopyOnWriteArrayList<>();

  private KubernetesScale(Path dir) throws Exception {
    this.dir = Files.createDirectories(dir);
    MOCK_LOG.setLevel(java.util.logging.Level.WARNING); // the mock server logs every request at INFO
    ((ch.qos.logback.classic.Logger) org.slf4j.LoggerFactory.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME))
        .setLevel(ch.qos.logback.classic.Level.WARN);
    Map<io.fabric8.mockwebserver.ServerRequest, java.util.Queue<io.fabric8.mockwebserver.ServerResponse>> responses =
        new HashMap<>();
    server = new KubernetesMockServer(new Context(), new MockWebServer(), responses,
        new KubernetesMixedDispatcher(responses), true); // what @EnableKubernetesMockClient(crud = true) makes
    server.init(InetAddress.getLoopbackAddress(), 0);
    Config config = server.createClient().getConfiguration();
    config.setUserAgent(AGENT);
    client = new KubernetesClientBuilder().withConfig(config).build();
    Thread drain = new Thread(this::drain, "kbench-requests");
    drain.setDaemon(true);
    drain.start();
  }

  /** Runs one measurement; see the class comment. */
  public static void main(String[] args) throws Exception {
    KubernetesScale bench = new KubernetesScale(Path.of(args[0]));
    Runtime.getRuntime().addShutdownHook(new Thread(() -> bench.gateways.forEach(Gateway::stop)));
    int n = args.length > 2 ? Integer.parseInt(args[2]) : -1;
    try {
      switch (args[1]) {
        case "reconcile" -> bench.reconcile(n < 0 ? 1000 : n, args.length > 3 ? Integer.parseInt(args[3]) : 20);
        case "memory" -> bench.memory(n < 0 ? 10_000 : n);
        case "latency" -> bench.latency(n < 0 ? 20 : n);
        default -> throw new IllegalArgumentException(args[1] + " (expected: reconcile, memory or latency)");
      }
    } finally {
      bench.gateways.forEach(Gateway::stop);
      bench.server.destroy();
      for (int i = 0; i < bench.gateways.size(); i++) { // for a post-mortem, and the apply times
        Files.writeString(bench.dir.resolve("gateway-" + i + ".log"), bench.gateways.get(i).output());
      }
    }
    System.exit(0);
  }

  /** Takes every request the mock server recorded (its queue is unbounded) and counts the gateway's by pattern. */
  private void drain() {
    while (true) {
      try {
        RecordedRequest r = server.takeRequest(200, TimeUnit.MILLISECONDS);
        if (r != null && !AGENT.equals(r.getHeader("User-Agent"))) {
          window.computeIfAbsent(pattern(r.getMethod(), r.getPath()), k -> new LongAdder()).increment();
        }
      } catch (InterruptedException e) {
        return;
      }
    }
  }

  /**
   * Returns a request's pattern: its method and path with namespace and object names as {@code *}, a subresource
   * kept, and {@code ?watch} for a watch (other query parameters dropped).
   */
  static String pattern(String method, String target) {
    int q = target.indexOf('?');
    String[] s = (q < 0 ? target : target.substring(0, q)).split("/");
    int i = s.length > 1 && s[1].equals("api") ? 3 : 4; // after /api/v1 or /apis/GROUP/VERSION
    if (s.length <= i) {
      return method + " " + target;
    }
    StringBuilder b = new StringBuilder(method).append(' ').append(String.join("/", List.of(s).subList(0, i)));
    if (s[i].equals("namespaces") && s.length > i + 2) {
      b.append("/namespaces/*");
      i += 2;
    }
    b.append('/').append(s[i]).append(s.length > i + 1 ? "/*" : "");
    for (int j = i + 2; j < s.length; j++) {
      b.append('/').append(s[j]);
    }
    return b + (q >= 0 && target.substring(q).contains("watch=true") ? "?watch" : "");
  }

  /** Returns the gateway's requests counted since the last call, by pattern. */
  private Map<String, Long> counted() {
    sleep(300); // the drain thread's last takes
    Map<String, Long> out = new TreeMap<>();
    window.forEach((k, v) -> out.put(k, v.sum()));
    window.clear();
    return out;
  }

  private void reconcile(int certs, int k) throws Exception {
    apply(issuer() + """
        ---
        apiVersion: v1
        kind: ConfigMap
        metadata: {name: unrelated, namespace: bench, labels: {round: "0"}}
        data: {a: b}
        """);
    long t0 = System.nanoTime();
    parallel(certs, i -> apply(certificate("bench", "c" + i)));
    System.out.printf("created %d Certificates in %d ms%n", certs, ms(t0));
    counted();
    Gateway g = start("reconcile");
    for (long ready; (ready = readyCertificates("bench")) < certs; sleep(2000)) {
      if (ms(g.started) > 900_000) {
        throw new IllegalStateException(ready + " of " + certs + " Certificates Ready after 15 min");
      }
    }
    long readyMs = ms(g.started);
    System.out.printf("%d Certificates Ready %d ms after the gateway started; its requests until then: %s%n", certs,
        readyMs, counted());
    sleep(10_000); // settle: the last status writes and Events
    counted();
    long windowMs = (k + 1) * 1000L;
    int gen0 = g.generations();
    sleep(windowMs);
    Map<String, Long> idle = counted();
    int gen1 = g.generations();
    long start = System.nanoTime();
    for (int i = 1; i <= k; i++) {
      String round = String.valueOf(i);
      client.configMaps().inNamespace("bench").withName("unrelated").edit(c -> {
        c.getMetadata().getLabels().put("round", round);
        return c;
      });
      sleep(Math.max(0, i * 1000L - ms(start)));
    }
    sleep(Math.max(0, windowMs - ms(start)));
    Map<String, Long> edits = counted();
    int snapshots = g.generations() - gen1;
    TreeMap<String, Long> all = new TreeMap<>(idle);
    edits.keySet().forEach(p -> all.putIfAbsent(p, 0L));
    StringBuilder b = new StringBuilder();
    all.keySet().forEach(p -> b.append(' ').append(p.replace(' ', '_')).append('=').append(idle.getOrDefault(p, 0L))
        .append('/').append(edits.getOrDefault(p, 0L)));
    long idleTotal = idle.values().stream().mapToLong(Long::longValue).sum();
    long editTotal = edits.values().stream().mapToLong(Long::longValue).sum();
    System.out.printf("RESULT reconcile certificates=%d ready_ms=%d window_ms=%d snapshots=%d idle_snapshots=%d "
        + "requests_idle=%d requests_edits=%d per_snapshot=%.2f load=%s idle/edits:%s%n", certs, readyMs, windowMs,
        snapshots, gen1 - gen0, idleTotal, editTotal, (editTotal - idleTotal) / (double) snapshots, load(), b);
  }

  private void memory(int secrets) throws Exception {
    String none = heap(start("memory-0"), 0);
    long t0 = System.nanoTime();
    parallel(secrets, i -> {
      boolean tls = i % 2 == 0;
      client.secrets().inNamespace("ns-" + i % 100).resource(new SecretBuilder().withNewMetadata()
          .withName("s-" + i).endMetadata().withType(tls ? "kubernetes.io/tls" : "Opaque").withData(tls
          ? Map.of("tls.crt", random(1400), "tls.key", random(600)) : Map.of("config", random(2000))).build())
          .create();
    });
    System.out.printf("created %d Secrets in %d ms%n", secrets, ms(t0));
    String many = heap(start("memory-" + secrets), secrets);
    System.out.println("RESULT memory " + none + " | " + many + " load=" + load());
  }

  /** Returns the heap, RSS and start-up times of {@code g}, which is then stopped. */
  private static String heap(Gateway g, int secrets) throws Exception {
    String jcmd = Path.of(System.getProperty("java.home"), "bin", "jcmd").toString();
    run(jcmd, String.valueOf(g.process.pid()), "GC.run");
    String info = run(jcmd, String.valueOf(g.process.pid()), "GC.heap_info");
    long used = 0;
    long committed = 0;
    for (Matcher m = HEAP.matcher(info); m.find(); ) {
      committed += Long.parseLong(m.group(2));
      used += Long.parseLong(m.group(3));
    }
    String rss = Files.readAllLines(Path.of("/proc/" + g.process.pid() + "/status")).stream()
        .filter(l -> l.startsWith("VmRSS")).findFirst().orElse("0").replaceAll("\\D+", "");
    String out = String.format("secrets=%d heap_used_mb=%.1f heap_committed_mb=%.1f rss_mb=%d listed_ms=%d "
        + "first_snapshot_ms=%d ready_ms=%d first_apply='%s'", secrets, used / 1024.0, committed / 1024.0,
        Long.parseLong(rss) / 1024, g.first("kubernetes: watching").getKey(), g.first("config generation 1 applied")
        .getKey(), g.readyMs[0], g.first("config generation 1 applied").getValue().replaceAll(".* - ", ""));
    System.out.println(out + "\n" + run(jcmd, String.valueOf(g.process.pid()), "GC.class_histogram").lines()
        .limit(16).collect(java.util.stream.Collectors.joining("\n"))); // the largest classes: where the heap goes
    g.stop();
    return out;
  }

  private void latency(int n) throws Exception {
    int port = freePort();
    StringBuilder servers = new StringBuilder();
    for (int i = 0; i < n; i++) {
      servers.append(("  - {port: {number: %1$d, name: https-%2$d, protocol: HTTPS}, hosts: [h%2$d.bench.test], "
          + "tls: {mode: SIMPLE, credentialName: h%2$d-tls}}\n").formatted(port, i));
    }
    apply(issuer() + """
        ---
        apiVersion: networking.istio.io/v1
        kind: Gateway
        metadata: {name: edge, namespace: istio-system}
        spec:
          servers:
        """ + servers);
    Gateway g = start("latency");
    sleep(5000);
    List<Long> ms = new ArrayList<>();
    for (int i = 0; i < n; i++, sleep(1000)) {
      String host = "h" + i + ".bench.test";
      long t0 = System.nanoTime();
      apply(certificate("istio-system", "h" + i));
      while (!serves(port, host)) {
        if (ms(t0) > 30_000) {
          throw new IllegalStateException(host + " not served 30 s after its Certificate\n" + g.output());
        }
        sleep(5);
      }
      ms.add(ms(t0));
      System.out.printf("%s served %d ms after its Certificate was created%n", host, ms.get(i));
    }
    List<Long> sorted = ms.stream().sorted().toList();
    System.out.printf("RESULT latency certificates=%d median_ms=%d max_ms=%d min_ms=%d all_ms=%s load=%s%n", n,
        sorted.get(n / 2), sorted.get(n - 1), sorted.get(0), ms, load());
  }

  /** Whether the gateway's handshake for SNI {@code host} presents a certificate naming {@code host}. */
  private static boolean serves(int port, String host) {
    try (Socket plain = new Socket()) {
      plain.connect(new InetSocketAddress("127.0.0.1", port), 1000);
      plain.setSoTimeout(1000);
      SSLContext ctx = SSLContext.getInstance("TLS");
      ctx.init(null, InsecureTrustManagerFactory.INSTANCE.getTrustManagers(), null);
      try (SSLSocket s = (SSLSocket) ctx.getSocketFactory().createSocket(plain, host, port, false)) {
        SSLParameters p = s.getSSLParameters();
        p.setServerNames(List.of(new SNIHostName(host)));
        s.setSSLParameters(p);
        s.startHandshake();
        var names = ((X509Certificate) s.getSession().getPeerCertificates()[0]).getSubjectAlternativeNames();
        return names != null && names.stream().anyMatch(e -> host.equals(e.get(1)));
      }
    } catch (Exception e) {
      return false;
    }
  }

  private static String issuer() {
    return "apiVersion: cert-manager.io/v1\nkind: ClusterIssuer\nmetadata: {name: selfsigned}\nspec: {selfSigned: {}}\n";
  }

  private static String certificate(String ns, String name) {
    return """
        apiVersion: cert-manager.io/v1
        kind: Certificate
        metadata: {name: %2$s, namespace: %1$s}
        spec: {secretName: %2$s-tls, dnsNames: [%2$s.bench.test], issuerRef: {name: selfsigned, kind: ClusterIssuer}}
        """.formatted(ns, name);
  }

  private long readyCertificates(String ns) {
    return client.genericKubernetesResources("cert-manager.io/v1", "Certificate").inNamespace(ns).list().getItems()
        .stream().filter(c -> String.valueOf(c.getAdditionalProperties().get("status"))
            .contains("type=Ready, status=True")).count();
  }

  private void apply(String yaml) {
    for (String doc : yaml.split("(?m)^---\\n")) {
      client.resource(client.getKubernetesSerialization().unmarshal(doc, GenericKubernetesResource.class))
          .createOr(r -> r.update());
    }
  }

  private static void parallel(int n, IntConsumer task) throws Exception {
    ExecutorService pool = Executors.newFixedThreadPool(4);
    for (Future<Object> f : pool.invokeAll(IntStream.range(0, n).mapToObj(i -> (Callable<Object>) () -> {
      task.accept(i);
      return null;
    }).toList())) {
      f.get();
    }
    pool.shutdown();
  }

  private static String random(int bytes) {
    byte[] b = new byte[bytes];
    ThreadLocalRandom.current().nextBytes(b);
    return Base64.getEncoder().encodeToString(b); // a Secret's data values are base64
  }

  /** Starts {@code bin/portcullis run --kubernetes ...} and waits for {@code /ready} to say {@code LIVE}. */
  private Gateway start(String name) throws Exception {
    Path work = Files.createDirectories(dir.resolve(name));
    Path kubeconfig = Files.writeString(work.resolve("kubeconfig"), """
        apiVersion: v1
        kind: Config
        clusters: [{name: mock, cluster: {server: "%s", insecure-skip-tls-verify: true}}]
        users: [{name: bench, user: {token: bench-token}}]
        contexts: [{name: mock, context: {cluster: mock, user: bench}}]
        current-context: mock
        """.formatted(client.getMasterUrl()));
    String admin = "127.0.0.1:" + freePort();
    ProcessBuilder pb = new ProcessBuilder(Path.of("bin", "portcullis").toAbsolutePath().toString(), "run",
        "--kubernetes", "--kubeconfig", kubeconfig.toString(), "--state", work.resolve("state").toString(),
        "--bind", "127.0.0.1", "--admin", admin).redirectErrorStream(true);
    pb.environment().putAll(Map.of("POD_NAME", "kbench-0", "POD_NAMESPACE", "portcullis-system"));
    Gateway g = new Gateway(pb.start());
    gateways.add(g);
    HttpClient http = HttpClient.newHttpClient();
    HttpRequest ready = HttpRequest.newBuilder(URI.create("http://" + admin + "/ready")).build();
    for (; ; sleep(100)) {
      if (!g.process.isAlive() || ms(g.started) > 300_000) {
        throw new IllegalStateException("portcullis run not ready:\n" + g.output());
      }
      try {
        if (http.send(ready, HttpResponse.BodyHandlers.ofString()).body().startsWith("LIVE")) {
          g.readyMs[0] = ms(g.started);
          return g;
        }
      } catch (java.io.IOException e) {
        // not listening yet
      }
    }
  }

  /** A {@code portcullis run} child process and its output lines, each with the ms after its start it was read. */
  private record Gateway(Process process, long started, List<Map.Entry<Long, String>> lines, long[] readyMs) {
    Gateway(Process process) {
      this(process, System.nanoTime(), new CopyOnWriteArrayList<>(), new long[1]);
      Thread t = new Thread(() -> {
        try (BufferedReader r = process.inputReader(StandardCharsets.UTF_8)) {
          for (String l; (l = r.readLine()) != null; ) {
            lines.add(Map.entry(ms(started), l));
          }
        } catch (java.io.IOException e) {
          // the process ended
        }
      }, "kbench-gateway-output");
      t.setDaemon(true);
      t.start();
    }

    /** How many snapshots it applied (re-translations for its own issued Secrets not counted). */
    int generations() {
      return (int) lines.stream().filter(l -> l.getValue().contains("config generation")
          && l.getValue().endsWith(" resources")).count();
    }

    /** The first line containing {@code text}, as ms after the start and the line; -1 and "" if none. */
    Map.Entry<Long, String> first(String text) {
      return lines.stream().filter(l -> l.getValue().contains(text)).findFirst().orElse(Map.entry(-1L, ""));
    }

    String output() {
      return String.join("\n", lines.stream().map(Map.Entry::getValue).toList());
    }

    /** SIGTERM by PID (a clean stop releases the status Lease), SIGKILL after 10 s. */
    void stop() {
      ProcessHandle.of(process.pid()).ifPresent(ProcessHandle::destroy);
      try {
        if (!process.waitFor(10, TimeUnit.SECONDS)) {
          ProcessHandle.of(process.pid()).ifPresent(ProcessHandle::destroyForcibly);
        }
      } catch (InterruptedException e) {
        process.destroyForcibly();
      }
    }
  }

  private static int freePort() throws java.io.IOException {
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      return s.getLocalPort();
    }
  }

  private static String run(String... command) throws Exception {
    Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    p.waitFor();
    return out;
  }

  private static String load() throws java.io.IOException {
    return String.join(",", List.of(Files.readString(Path.of("/proc/loadavg")).split(" ")).subList(0, 3));
  }

  private static long ms(long since) {
    return (System.nanoTime() - since) / 1_000_000;
  }

  private static void sleep(long ms) {
    try {
      Thread.sleep(ms);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
