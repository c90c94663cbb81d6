package io.portcullis;

import static java.util.Objects.requireNonNull;

import io.portcullis.admin.AdminServer;
import io.portcullis.admin.ConfigDump;
import io.portcullis.config.ConfigSource;
import io.portcullis.config.ConfigTranslator;
import io.portcullis.config.DirectoryConfigSource;
import io.portcullis.config.GatewayConfig;
import io.portcullis.config.Problem;
import io.portcullis.config.Snapshot;
import io.portcullis.proxy.AccessLog;
import io.portcullis.proxy.DataPlane;
import io.portcullis.proxy.Transport;
import io.portcullis.routing.HostTable;
import io.portcullis.tls.TlsContexts;
import io.portcullis.tls.TlsContexts.ServerTls;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The gateway process: watches the manifests, translates them, and serves the result.
 *
 * <p>Wiring: {@link ConfigSource} → {@link ConfigTranslator} → {@link TlsContexts} → {@link DataPlane}, plus the
 * {@link AdminServer}. Each configuration is applied on the source's thread, never on an event loop; problems are
 * logged once each, when they first appear.
 */
public final class Portcullis implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(Portcullis.class);

  /**
   * How to run.
   *
   * @param configDirs directories of manifests ({@code --config}, repeatable)
   * @param namespace the gateway workload's namespace ({@code --namespace}): where credentialName Secrets live
   * @param portOffset added to each Gateway port number ({@code --port-offset})
   * @param bindAddress the address Gateway ports bind ({@code --bind})
   * @param admin the admin server's address ({@code --admin}); port 0 picks a free one
   * @param accessLog where access-log lines go
   * @param devCredential a development Secret ({@code tls.crt}, {@code tls.key}) served when no Secret of its
   *     {@code namespace/name} exists
   * @param threads event loops; 0 for one per processor
   * @param transport the socket transport ({@code --transport})
   */
  public record Options(List<Path> configDirs, String namespace, int portOffset, String bindAddress,
      InetSocketAddress admin, AccessLog accessLog, Optional<GatewayConfig.SecretData> devCredential, int threads,
      Transport transport) {
    /** Checks for nulls. */
    public Options {
      configDirs = List.copyOf(configDirs);
      requireNonNull(namespace, "namespace");
      requireNonNull(bindAddress, "bindAddress");
      requireNonNull(admin, "admin");
      requireNonNull(accessLog, "accessLog");
      requireNonNull(devCredential, "devCredential");
      requireNonNull(transport, "transport");
    }
  }

  private final Options options;
  private final DataPlane dataPlane;
  private final TlsContexts tlsContexts = new TlsContexts();
  private final ConfigTranslator translator;
  private final ConfigSource source;
  private final AdminServer admin;
  private final Clock clock = Clock.systemUTC();
  private final Set<String> reported = new HashSet<>();
  private volatile Applied applied = new Applied(GatewayConfig.empty(), Map.of());
  private volatile boolean ready;
  private volatile long lastSnapshot;

  private record Applied(GatewayConfig config, Map<Integer, HostTable<ServerTls>> tls) {}

  private Portcullis(Options options) {
    this.options = options;
    this.translator = new ConfigTranslator(options.namespace(), options.portOffset());
    this.dataPlane = new DataPlane(options.bindAddress(), options.accessLog(), options.threads(), options.transport());
    this.source = new DirectoryConfigSource(options.configDirs());
    this.admin = adminServer();
  }

  private AdminServer adminServer() {
    AdminServer.Model model = new AdminServer.Model() {
          @Override
          public boolean ready() {
            return ready;
          }

          @Override
          public String configDumpJson() {
            Applied a = applied;
            return ConfigDump.render(a.config(), a.tls(), dataPlane.boundAddresses(), tlsContexts.provider().name(),
                clock);
          }
        };
    try {
      return new AdminServer(options.admin(), model);
    } catch (RuntimeException e) {
      dataPlane.close(); // nothing else is running yet
      throw e;
    }
  }

  /**
   * Starts serving: binds the admin server, reads the configuration, binds every Gateway port, then watches for
   * changes.
   *
   * @throws IOException when a {@code --config} directory cannot be read
   * @throws IllegalStateException when the admin address cannot be bound
   */
  public static Portcullis start(Options options) throws IOException {
    Portcullis p = new Portcullis(requireNonNull(options, "options"));
    try {
      log.info("admin server on http://{}:{}", p.admin.address().getHostString(), p.admin.address().getPort());
      p.source.start(p::apply);
      return p;
    } catch (IOException | RuntimeException e) {
      p.close();
      throw e;
    }
  }

  /** Returns the admin server's bound address. */
  public InetSocketAddress adminAddress() {
    return admin.address();
  }

  /** Returns where each Gateway port is bound. */
  public Map<Integer, InetSocketAddress> boundAddresses() {
    return dataPlane.boundAddresses();
  }

  /** Returns whether every listener is bound and the first configuration is applied. */
  public boolean ready() {
    return ready;
  }

  /** Returns the generation of the configuration being served. */
  public long generation() {
    return applied.config().generation();
  }

  /** Returns the generation of the newest snapshot read, applied or not (a snapshot with nothing valid is not). */
  public long lastSnapshotGeneration() {
    return lastSnapshot;
  }

  private synchronized void apply(Snapshot snapshot) {
    long start = System.nanoTime();
    lastSnapshot = snapshot.generation();
    GatewayConfig config = translator.translate(snapshot);
    long translated = System.nanoTime();
    if (options.devCredential().isPresent()) {
      GatewayConfig.SecretData dev = options.devCredential().get();
      if (!config.secrets().containsKey(dev.key())) {
        Map<String, GatewayConfig.SecretData> secrets = new LinkedHashMap<>(config.secrets());
        secrets.put(dev.key(), dev);
        config = new GatewayConfig(config.listeners(), secrets, config.problems(), config.generation());
      }
    }
    List<Problem> problems = new ArrayList<>(config.problems());
    boolean errors = problems.stream().anyMatch(p -> p.severity() == Problem.Severity.ERROR);
    if (config.listeners().isEmpty() && errors && !applied.config().listeners().isEmpty()) {
      report(problems);
      log.error("config generation {}: nothing valid; keeping generation {}", snapshot.generation(),
          applied.config().generation());
      return;
    }
    Map<Integer, HostTable<ServerTls>> tls = tlsContexts.build(config.listeners(), config.secrets(), problems);
    long tlsBuilt = System.nanoTime();
    config = new GatewayConfig(config.listeners(), config.secrets(), problems, config.generation());
    List<String> bindErrors = dataPlane.apply(config.listeners(), tls, config.generation());
    applied = new Applied(config, tls);
    report(problems);
    ready = bindErrors.isEmpty();
    long end = System.nanoTime();
    log.info("config generation {} applied in {} ms (translate {} ms, TLS {} ms, listeners {} ms): {} listeners, {} "
        + "resources, {} problems", config.generation(), (end - start) / 1_000_000, (translated - start) / 1_000_000,
        (tlsBuilt - translated) / 1_000_000, (end - tlsBuilt) / 1_000_000, config.listeners().size(),
        snapshot.resources().size(), problems.size());
  }

  private void report(List<Problem> problems) {
    Set<String> now = new HashSet<>();
    for (Problem p : problems) {
      String line = p.toString();
      now.add(line);
      if (reported.contains(line)) {
        continue;
      }
      switch (p.severity()) {
        case INFO -> log.info("config: {}", line);
        case WARNING -> log.warn("config: {}", line);
        case ERROR -> log.error("config: {}", line);
      }
    }
    for (String gone : reported) {
      if (!now.contains(gone)) {
        log.info("config: resolved: {}", gone);
      }
    }
    reported.clear();
    reported.addAll(now);
  }

  @Override
  public void close() {
    source.close();
    admin.close();
    dataPlane.close();
    options.accessLog().close();
  }
}
