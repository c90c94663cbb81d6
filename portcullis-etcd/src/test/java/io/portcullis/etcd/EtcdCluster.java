package io.portcullis.etcd;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * A real 3-member etcd cluster ({@code /usr/bin/etcd}, Debian's {@code etcd-server}, which {@code bin/test}
 * installs) on free loopback ports, data under a temporary directory; {@link #close()} kills every member by PID
 * (also registered as a shutdown hook, so a failed or aborted run leaves no etcd behind).
 */
public final class EtcdCluster implements AutoCloseable {
  static final Path ETCD = Path.of("/usr/bin/etcd");
  private final Path dir;
  private final String scheme;
  private final List<String> extraArgs;
  private final List<Integer> clientPorts = new ArrayList<>();
  private final List<Integer> metricsPorts = new ArrayList<>();
  private final List<Process> members = new ArrayList<>();
  private final Thread hook = new Thread(this::killAll, "etcd-cluster-kill");
  private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(1)).build();

  private EtcdCluster(Path dir, String scheme, List<String> extraArgs) {
    this.dir = dir;
    this.scheme = scheme;
    this.extraArgs = List.copyOf(extraArgs);
  }

  /** Starts 3 plain members and waits (at most 30 s) until each says it is healthy. */
  public static EtcdCluster start() throws IOException, InterruptedException {
    return start(3, "http", List.of());
  }

  /**
   * Starts {@code n} members whose client URLs have {@code scheme} ({@code https} with TLS flags in
   * {@code extraArgs}: {@code --cert-file}, ...); health is read on a plain metrics port.
   */
  static EtcdCluster start(int n, String scheme, List<String> extraArgs) throws IOException, InterruptedException {
    if (!Files.isExecutable(ETCD)) {
      throw new IllegalStateException(ETCD + " is missing: install Debian's etcd-server (bin/test does)");
    }
    EtcdCluster c = new EtcdCluster(Files.createTempDirectory("portcullis-etcd-"), scheme, extraArgs);
    Runtime.getRuntime().addShutdownHook(c.hook);
    try {
      c.launch(n);
      c.awaitHealthy();
    } catch (IOException | InterruptedException | RuntimeException e) {
      c.close();
      throw e;
    }
    return c;
  }

  private void launch(int n) throws IOException {
    List<Integer> peerPorts = new ArrayList<>();
    List<ServerSocket> held = new ArrayList<>();
    try {
      for (int i = 0; i < 3 * n; i++) {
        ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress());
        held.add(s);
        (i < n ? clientPorts : i < 2 * n ? peerPorts : metricsPorts).add(s.getLocalPort());
      }
    } finally {
      for (ServerSocket s : held) {
        s.close();
      }
    }
    String initial = Stream.iterate(0, i -> i + 1).limit(n)
        .map(i -> "m" + i + "=http://127.0.0.1:" + peerPorts.get(i)).collect(Collectors.joining(","));
    for (int i = 0; i < n; i++) {
      String client = endpoint(i);
      String peer = "http://127.0.0.1:" + peerPorts.get(i);
      List<String> command = new ArrayList<>(List.of(ETCD.toString(),
          "--name", "m" + i,
          "--data-dir", dir.resolve("m" + i).toString(),
          "--listen-client-urls", client, "--advertise-client-urls", client,
          "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
          "--initial-cluster", initial, "--initial-cluster-state", "new",
          "--initial-cluster-token", "portcullis-it-" + ProcessHandle.current().pid(),
          "--heartbeat-interval", "50", "--election-timeout", "500",
          "--listen-metrics-urls", "http://127.0.0.1:" + metricsPorts.get(i),
          "--logger", "zap", "--log-level", "warn"));
      command.addAll(extraArgs);
      ProcessBuilder pb = new ProcessBuilder(command)
          .redirectErrorStream(true)
          .redirectOutput(dir.resolve("m" + i + ".log").toFile());
      members.add(pb.start());
    }
  }

  private void awaitHealthy() throws IOException, InterruptedException {
    long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
    for (int i = 0; i < members.size(); i++) {
      while (!healthy(i)) {
        if (!members.get(i).isAlive()) {
          throw new IllegalStateException("etcd member m" + i + " exited: " + log(i));
        }
        if (System.nanoTime() > deadline) {
          throw new IllegalStateException("etcd member m" + i + " not healthy within 30 s: " + log(i));
        }
        Thread.sleep(50);
      }
    }
  }

  private boolean healthy(int i) throws InterruptedException {
    try {
      HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + metricsPorts.get(i) + "/health"))
          .timeout(Duration.ofSeconds(1)).build(), HttpResponse.BodyHandlers.ofString());
      return r.statusCode() == 200 && r.body().contains("\"true\"");
    } catch (IOException e) {
      return false;
    }
  }

  /** Returns the index of the member that is the Raft leader now, asked of member {@code asked}. */
  int leader(int asked) throws IOException, InterruptedException {
    List<String> ids = new ArrayList<>();
    String leader = null;
    for (int i = 0; i < members.size(); i++) {
      HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(endpoint(i) + "/v3/maintenance/status"))
          .POST(HttpRequest.BodyPublishers.ofString("{}")).timeout(Duration.ofSeconds(2)).build(),
          HttpResponse.BodyHandlers.ofString());
      String body = r.body();
      ids.add(field(body, "member_id"));
      if (i == asked) {
        leader = field(body, "leader");
      }
    }
    return ids.indexOf(leader);
  }

  private static String field(String json, String name) {
    int at = json.indexOf("\"" + name + "\":\"");
    if (at < 0) {
      throw new IllegalStateException(name + " missing from " + json);
    }
    int from = at + name.length() + 4;
    return json.substring(from, json.indexOf('"', from));
  }

  /** Returns {@code http://127.0.0.1:<client port>} (or {@code https://}) of member {@code i}. */
  public String endpoint(int i) {
    return scheme + "://127.0.0.1:" + clientPorts.get(i);
  }

  /** Returns {@code etcd://127.0.0.1:p0,...} (or {@code etcds://}), the {@code --storage} value of the cluster. */
  public String storage() {
    return ("https".equals(scheme) ? "etcds://" : "etcd://") + clientPorts.stream().map(p -> "127.0.0.1:" + p).collect(Collectors.joining(","));
  }

  /** Returns member {@code i}'s PID. */
  public long pid(int i) {
    return members.get(i).pid();
  }

  /** Kills member {@code i} with {@code kill -9} and waits for it to be gone. */
  public void kill9(int i) throws IOException, InterruptedException {
    Process kill = new ProcessBuilder("kill", "-9", Long.toString(pid(i))).inheritIO().start();
    if (kill.waitFor() != 0) {
      throw new IllegalStateException("kill -9 " + pid(i) + " failed");
    }
    members.get(i).waitFor();
  }

  public String log(int i) {
    try {
      return Files.readString(dir.resolve("m" + i + ".log"));
    } catch (IOException e) {
      return "(no log: " + e.getMessage() + ")";
    }
  }

  private void killAll() {
    for (Process p : members) {
      p.destroyForcibly(); // SIGKILL, by PID
    }
    for (Process p : members) {
      try {
        p.waitFor();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }

  @Override
  public void close() {
    killAll();
    try {
      Runtime.getRuntime().removeShutdownHook(hook);
    } catch (IllegalStateException e) {
      // shutting down: the hook is running
    }
    try (Stream<Path> all = Files.walk(dir)) {
      all.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
