package io.portcullis;

import static java.util.Objects.requireNonNull;

import io.portcullis.acme.AcmeClient;
import io.portcullis.dns.AddressPublisher;
import io.portcullis.dns.Dns01;
import io.portcullis.dns.DnsProviders;
import io.portcullis.dns.DnsLookup;
import io.portcullis.acme.Http01Challenges;
import io.portcullis.admin.AdminServer;
import io.portcullis.admin.AdminToken;
import io.portcullis.admin.CertsDump;
import io.portcullis.admin.ConfigDump;
import io.portcullis.certs.CertManagerConfig;
import io.portcullis.certs.CertManagerTranslator;
import io.portcullis.certs.CertificateManager;
import io.portcullis.certs.IssuerConfig;
import io.portcullis.config.ConfigSource;
import io.portcullis.config.ConfigTranslator;
import io.portcullis.config.DirectoryConfigSource;
import io.portcullis.config.GatewayConfig;
import io.portcullis.config.ListenerConfig;
import io.portcullis.config.ObjectStatus;
import io.portcullis.config.Problem;
import io.portcullis.config.Snapshot;
import io.portcullis.config.gatewayapi.GatewayAddresses;
import io.portcullis.config.ingress.IngressClassSelection;
import io.portcullis.config.ingress.IngressStatusSource;
import io.portcullis.proxy.AccessLog;
import io.portcullis.proxy.DataPlane;
import io.portcullis.proxy.PathNormalization;
import io.portcullis.proxy.ProxyLimits;
import io.portcullis.proxy.ProxyStats;
import io.portcullis.proxy.Transport;
import io.portcullis.routing.HostTable;
import io.portcullis.routing.SafeRegex;
import io.portcullis.storage.DirectoryStorage;
import io.portcullis.storage.IssuanceLocks;
import io.portcullis.storage.ReplicaIdentity;
import io.portcullis.storage.Storage;
import io.portcullis.tls.CredentialFiles;
import io.portcullis.tls.ClientTlsContexts;
import io.portcullis.tls.TlsContexts;
import io.portcullis.tls.TlsContexts.ServerTls;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
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
  /** How long one ACME order may take (authorizations, finalization). */
  private static final Duration ORDER_TIMEOUT = Duration.ofMinutes(2);
  /** Where a CA sends HTTP-01 validation requests (RFC 8555 §8.3), before {@code --port-offset}. */
  private static final int CHALLENGE_PORT = 80;

  /**
   * How to run.
   *
   * @param configDirs directories of manifests ({@code --config}, repeatable)
   * @param namespace the gateway workload's namespace ({@code --namespace}): where credentialName Secrets live
   * @param portOffset added to each Gateway port number ({@code --port-offset})
   * @param bindAddress the address Gateway ports bind ({@code --bind})
   * @param admin the admin server's address ({@code --admin}); port 0 picks a free one
   * @param accessLog where access-log lines go
   * @param threads event loops; 0 for one per processor
   * @param transport the socket transport ({@code --transport})
   * @param stateDir where issued certificates and account keys are kept ({@code --state})
   * @param issuanceBackoff the first retry delay after a failed issuance; it doubles per failure, up to 32 h
   * @param issuance where ClusterIssuer Secrets live and how DNS-01 looks things up
   * @param limits the data plane's timeouts and size limits ({@code --idle-timeout}, {@code --max-connections}, ...)
   * @param pathNormalization how request paths are normalised before routing ({@code --path-normalization},
   *     {@code --path-with-escaped-slashes-action})
   * @param maxRegexProgramSize the most RE2 instructions a VirtualService {@code regex} may compile to
   *     ({@code --max-regex-program-size}, Envoy's {@code re2.max_program_size.error_level}),
   *     1..{@value SafeRegex#MAX_PROGRAM_SIZE_CEILING}
   * @param adminTokenFile the token the admin server's state-changing endpoints require ({@code --admin-token-file},
   *     {@link AdminToken}); created at start when absent
   * @param ingressClasses which Ingresses are served ({@code --ingress-class}, {@code --ingress-mode}; Istio's
   *     defaults {@code istio}, {@code STRICT})
   * @param ingressStatus where served Ingresses' {@code status.loadBalancer} comes from ({@code --publish-address},
   *     {@code --publish-service})
   */
  public record Options(List<Path> configDirs, String namespace, int portOffset, String bindAddress,
      InetSocketAddress admin, AccessLog accessLog, int threads, Transport transport, Path stateDir,
      Duration issuanceBackoff, IssuanceOptions issuance, ProxyLimits limits, PathNormalization pathNormalization,
      int maxRegexProgramSize, Path adminTokenFile, IngressClassSelection ingressClasses,
      IngressStatusSource ingressStatus) {
    /** As the canonical constructor, with an empty Ingress {@code status.loadBalancer}. */
    public Options(List<Path> configDirs, String namespace, int portOffset, String bindAddress,
        InetSocketAddress admin, AccessLog accessLog, int threads, Transport transport, Path stateDir,
        Duration issuanceBackoff, IssuanceOptions issuance, ProxyLimits limits, PathNormalization pathNormalization,
        int maxRegexProgramSize, Path adminTokenFile, IngressClassSelection ingressClasses) {
      this(configDirs, namespace, portOffset, bindAddress, admin, accessLog, threads, transport, stateDir,
          issuanceBackoff, issuance, limits, pathNormalization, maxRegexProgramSize, adminTokenFile, ingressClasses,
          IngressStatusSource.NONE);
    }

    /** As the canonical constructor, with Istio's Ingress class defaults ({@link IngressClassSelection#DEFAULT}). */
    public Options(List<Path> configDirs, String namespace, int portOffset, String bindAddress,
        InetSocketAddress admin, AccessLog accessLog, int threads, Transport transport, Path stateDir,
        Duration issuanceBackoff, IssuanceOptions issuance, ProxyLimits limits, PathNormalization pathNormalization,
        int maxRegexProgramSize, Path adminTokenFile) {
      this(configDirs, namespace, portOffset, bindAddress, admin, accessLog, threads, transport, stateDir,
          issuanceBackoff, issuance, limits, pathNormalization, maxRegexProgramSize, adminTokenFile,
          IngressClassSelection.DEFAULT);
    }

    /** As the canonical constructor, with {@link ProxyLimits#defaults()}, {@link PathNormalization#DEFAULT},
     *  Envoy's regex program-size limit ({@value SafeRegex#DEFAULT_MAX_PROGRAM_SIZE}) and the admin token in
     *  {@link AdminToken#defaultFile} of {@code stateDir}. */
    public Options(List<Path> configDirs, String namespace, int portOffset, String bindAddress,
        InetSocketAddress admin, AccessLog accessLog, int threads, Transport transport, Path stateDir,
        Duration issuanceBackoff, IssuanceOptions issuance) {
      this(configDirs, namespace, portOffset, bindAddress, admin, accessLog, threads, transport, stateDir,
          issuanceBackoff, issuance, ProxyLimits.defaults(), PathNormalization.DEFAULT,
          SafeRegex.DEFAULT_MAX_PROGRAM_SIZE, AdminToken.defaultFile(stateDir));
    }

    /** As the canonical constructor, with {@link IssuanceOptions#defaults()}. */
    public Options(List<Path> configDirs, String namespace, int portOffset, String bindAddress,
        InetSocketAddress admin, AccessLog accessLog, int threads, Transport transport, Path stateDir,
        Duration issuanceBackoff) {
      this(configDirs, namespace, portOffset, bindAddress, admin, accessLog, threads, transport, stateDir,
          issuanceBackoff, IssuanceOptions.defaults());
    }

    /** Checks for nulls and the range of {@code maxRegexProgramSize}. */
    public Options {
      requireNonNull(issuance, "issuance");
      requireNonNull(limits, "limits");
      requireNonNull(pathNormalization, "pathNormalization");
      configDirs = List.copyOf(configDirs);
      requireNonNull(namespace, "namespace");
      requireNonNull(bindAddress, "bindAddress");
      requireNonNull(admin, "admin");
      requireNonNull(accessLog, "accessLog");
      requireNonNull(transport, "transport");
      requireNonNull(stateDir, "stateDir");
      requireNonNull(issuanceBackoff, "issuanceBackoff");
      requireNonNull(adminTokenFile, "adminTokenFile");
      requireNonNull(ingressClasses, "ingressClasses");
      requireNonNull(ingressStatus, "ingressStatus");
      SafeRegex.checkMaxProgramSize("maxRegexProgramSize", maxRegexProgramSize);
    }
  }

  private final Options options;
  private final DataPlane dataPlane;
  private final TlsContexts tlsContexts = new TlsContexts();
  /** The PEM files Gateways name; a change re-serves like a Secret change. */
  private final CredentialFiles credentialFiles = new CredentialFiles(this::filesChanged);
  private final ConfigTranslator translator;
  private final CertManagerTranslator certTranslator;
  private final CertificateManager certs;
  /** A/AAAA records of Gateways annotated for external-dns. */
  private final AddressPublisher addressRecords;
  private final Http01Challenges challenges;
  private final ConfigSource source;
  private final AdminServer admin;
  private final Clock clock = Clock.systemUTC();
  private final Set<String> reported = new HashSet<>();
  private volatile Applied applied = new Applied(GatewayConfig.empty(), Map.of());
  /** The last translated configuration before issued Secrets are merged in; guarded by {@code this}. */
  private GatewayConfig translated;
  /** Secret {@code namespace/name} to its owner, {@code Certificate ns/name}; guarded by {@code this}. */
  private Map<String, String> ownedSecrets = Map.of();
  /** Whether some Certificate is issued over ACME HTTP-01; guarded by {@code this}. */
  private boolean http01 = false;
  /** The last snapshot applied, translated again when issued Secrets appear or go; guarded by {@code this}. */
  private Snapshot snapshot;
  /** The stored Secrets {@link #translated} was translated with; guarded by {@code this}. */
  private Set<String> translatedStored = Set.of();
  /** How long the last translation took, ms; guarded by {@code this}. */
  private long translateMillis;
  /** Translates again once newly issued Secrets settle (status of references to them); one pending at a time. */
  private final ScheduledExecutorService retranslation =
      Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "portcullis-retranslate");
        t.setDaemon(true);
        return t;
      });
  /** Whether a re-translation is scheduled; guarded by {@code this}. */
  private boolean retranslationPending;
  private volatile boolean ready;
  private volatile long lastSnapshot;

  private record Applied(GatewayConfig config, Map<Integer, HostTable<ServerTls>> tls) {}

  private Portcullis(Options options, ConfigSource source, CertificateManager.Shared shared) {
    this.options = options;
    this.translator = new ConfigTranslator(options.namespace(), options.portOffset(),
        options.maxRegexProgramSize(), options.ingressClasses(),
        GatewayAddresses.of(options.bindAddress()), options.ingressStatus());
    IssuanceOptions issuance = options.issuance();
    this.certTranslator = new CertManagerTranslator(options.namespace(), issuance.clusterResourceNamespace()
        .isEmpty() ? options.namespace() : issuance.clusterResourceNamespace(), issuance.defaultIssuer());
    this.challenges = new Http01Challenges(shared.challenges());
    DnsLookup lookup = new DnsLookup(issuance.recursiveNameservers(), issuance.recursiveNameserversOnly(),
        issuance.authoritativePort(), Duration.ofSeconds(3));
    Dns01 dns01 = new Dns01(lookup, issuance.propagationTimeout());
    this.addressRecords = new AddressPublisher(lookup, DnsProviders::create);
    // An order's own time limit leaves room for DNS-01 propagation on top of the CA's work.
    this.certs = new CertificateManager(shared, clock, options.issuanceBackoff(),
        new AcmeClient(challenges, dns01, ORDER_TIMEOUT.plus(issuance.propagationTimeout())), addressRecords,
        this::secretsChanged);
    this.dataPlane = new DataPlane(options.bindAddress(), options.accessLog(), options.threads(), options.transport(),
        challenges, options.limits(), options.pathNormalization());
    this.source = source;
    this.admin = adminServer();
  }

  private AdminServer adminServer() {
    AdminServer.Model model = new AdminServer.Model() {
          @Override
          public boolean ready() {
            return Portcullis.this.ready();
          }

          @Override
          public java.util.Optional<String> readyDetail() {
            return source.degraded().map(d -> "source: " + d + "; serving the last configuration read");
          }

          @Override
          public String certsJson() {
            return CertsDump.render(certs.statuses(), clock);
          }

          @Override
          public CompletableFuture<String> renew(String namespace, String name) {
            return certs.renew(namespace, name);
          }

          @Override
          public String statsText() {
            StringBuilder b = new StringBuilder();
            dataPlane.stats().snapshot().forEach((k, v) -> b.append(k).append(": ").append(v).append('\n'));
            b.append("http01.shared_lookups_refused: ").append(challenges.lookupsRefused()).append('\n');
            dataPlane.openConnections().forEach((port, n) -> b.append("listener.").append(port)
                .append(".downstream_cx_active: ").append(n).append('\n'));
            return b.toString();
          }

          @Override
          public java.util.List<io.portcullis.config.ObjectStatus> objects() {
            return applied.config().statuses();
          }

          @Override
          public String configDumpJson() {
            Applied a = applied;
            return ConfigDump.render(a.config(), a.tls(), dataPlane.boundAddresses(), tlsContexts.provider().name(),
                clock, dataPlane.limits(), options.maxRegexProgramSize(), dataPlane.openConnections(),
                dataPlane.normalization(), dataPlane::clusterHosts, dataPlane.upstreamTlsTable());
          }
        };
    try {
      return new AdminServer(options.admin(), model, AdminToken.loadOrCreate(options.adminTokenFile(),
          new java.security.SecureRandom()), clock);
    } catch (RuntimeException e) {
      dataPlane.close(); // nothing else is running yet
      certs.close();
      addressRecords.close();
      throw e;
    }
  }

  /**
   * Starts serving: binds the admin server, reads the configuration, binds every Gateway port, then watches for
   * changes.
   *
   * @throws IOException when a {@code --config} directory cannot be read
   * @throws IllegalStateException when the admin address cannot be bound, or the admin token file cannot be
   *     created or is refused ({@link AdminToken#loadOrCreate})
   */
  public static Portcullis start(Options options) throws IOException {
    return start(options, new DirectoryConfigSource(requireNonNull(options, "options").configDirs()));
  }

  /**
   * Starts a gateway reading {@code source} instead of {@link Options#configDirs()} (the Kubernetes API server, say);
   * the gateway closes it.
   *
   * @throws IOException when the source cannot be read at all, or a listener port cannot be bound
   */
  public static Portcullis start(Options options, ConfigSource source) throws IOException {
    return start(options, source, new DirectoryStorage(requireNonNull(options, "options").stateDir()));
  }

  /**
   * Starts a gateway reading {@code source} and keeping issued certificates and account keys in {@code storage}
   * (Kubernetes Secrets, say) instead of {@link Options#stateDir()}; the gateway closes the source.
   *
   * @throws IOException when the source cannot be read at all, or a listener port cannot be bound
   */
  public static Portcullis start(Options options, ConfigSource source, Storage storage) throws IOException {
    return start(options, source, new CertificateManager.Shared(requireNonNull(storage, "storage"),
        IssuanceLocks.local(ReplicaIdentity.current()), Optional.empty()));
  }

  /**
   * Starts one of several replicas: reading {@code source}, sharing certificates, issuance locks and HTTP-01
   * challenges with the others through {@code shared} (Kubernetes Secrets and Leases, etcd); the gateway closes the
   * source, not the locks.
   *
   * @throws IOException when the source cannot be read at all, or a listener port cannot be bound
   */
  public static Portcullis start(Options options, ConfigSource source, CertificateManager.Shared shared)
      throws IOException {
    Portcullis p = new Portcullis(requireNonNull(options, "options"), requireNonNull(source, "source"),
        requireNonNull(shared, "shared"));
    log.info("replica identity {}", shared.locks().identity());
    try {
      log.info("admin server on http://{}:{}; state-changing endpoints need the token in {}",
          p.admin.address().getHostString(), p.admin.address().getPort(), options.adminTokenFile());
      p.source.start(p::apply);
      try {
        // What the SelfSigned and CA issuers sign is ready within milliseconds: serve it from the start.
        p.certs.sync().get(30, TimeUnit.SECONDS);
      } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
        log.warn("certs: the first reconcile has not finished after 30 s; serving meanwhile");
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
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

  /** Returns the data plane's counters (Envoy's names), as the admin server's {@code /stats} shows them. */
  public ProxyStats stats() {
    return dataPlane.stats();
  }

  /** Returns the file holding the admin token ({@code --admin-token-file}). */
  public Path adminTokenFile() {
    return options.adminTokenFile();
  }

  /** Returns where each Gateway port is bound. */
  public Map<Integer, InetSocketAddress> boundAddresses() {
    return dataPlane.boundAddresses();
  }

  /**
   * Returns whether every listener is bound, the first configuration is applied and the certificates it asks for
   * that can be signed here (SelfSigned, CA) are served.
   */
  public boolean ready() {
    return ready && certs.reconciled();
  }

  /** Returns the generation of the configuration being served. */
  public long generation() {
    return applied.config().generation();
  }

  /** Returns the generation of the newest snapshot read, applied or not (a snapshot with nothing valid is not). */
  public long lastSnapshotGeneration() {
    return lastSnapshot;
  }

  /**
   * Returns the user objects with the {@code status} Kubernetes would hold for them (Gateway API objects, Ingresses)
   * as of the configuration being served.
   */
  public List<ObjectStatus> objectStatuses() {
    return applied.config().statuses();
  }

  /** Returns the certificate manager (status, forced renewals). */
  public CertificateManager certificates() {
    return certs;
  }

  private synchronized void apply(Snapshot snapshot) {
    lastSnapshot = snapshot.generation();
    this.snapshot = snapshot;
    apply(snapshot, snapshot.resources().size());
  }

  /**
   * Translates {@code snapshot} with the stored Secrets visible, hands the certificates to the manager and serves.
   *
   * @param resources how many resources, for the log; -1 when translated again because issued Secrets changed
   */
  private void apply(Snapshot snapshot, int resources) {
    long start = System.nanoTime();
    Map<String, GatewayConfig.SecretData> stored = new LinkedHashMap<>();
    certs.storedSecrets().forEach((key, s) -> stored.put(key, new GatewayConfig.SecretData(key, "state " + key,
        s.data())));
    GatewayConfig config = translator.translate(snapshot, stored, applied.config().statuses(), clock);
    CertManagerConfig certConfig = certTranslator.translate(snapshot, config);
    List<Problem> problems = new ArrayList<>(config.problems());
    problems.addAll(certConfig.problems());
    config = new GatewayConfig(config.listeners(), config.secrets(), problems, config.generation(),
        config.statuses());
    long translatedAt = System.nanoTime();
    boolean errors = problems.stream().anyMatch(p -> p.severity() == Problem.Severity.ERROR);
    if (config.listeners().isEmpty() && errors && !applied.config().listeners().isEmpty()) {
      report(problems);
      log.error("config generation {}: nothing valid; keeping generation {}", snapshot.generation(),
          applied.config().generation());
      return;
    }
    translated = config;
    translatedStored = Set.copyOf(stored.keySet());
    translateMillis = (translatedAt - start) / 1_000_000;
    Map<String, String> owned = new HashMap<>();
    certConfig.certificates().values().forEach(c -> owned.put(c.secretKey(), "Certificate " + c.key()));
    ownedSecrets = owned;
    http01 = certConfig.certificates().values().stream()
        .anyMatch(c -> certConfig.issuers().get(c.issuer().key()) instanceof IssuerConfig.Acme);
    Map<String, GatewayConfig.SecretData> manifestSecrets = new LinkedHashMap<>(config.secrets());
    stored.forEach(manifestSecrets::remove); // (key, value): only where the translation took the stored one
    certs.update(certConfig, manifestSecrets);
    serve(config, resources, start, translatedAt);
  }

  /** A credential file a Gateway names changed: serve it from the next handshake on. */
  private synchronized void filesChanged() {
    if (translated != null) {
      long start = System.nanoTime();
      serve(translated, -2, start, start);
    }
  }

  /**
   * The certificate manager stored a Secret: serve it from the next handshake on. When a Secret appeared or went,
   * translate the snapshot again a little later (at least 1 s, and twice the last translation's time, so that a burst
   * of first issuances costs a few translations): what refers to it resolves now (Gateway API listener
   * {@code ResolvedRefs}, "not found" warnings), as in a cluster where cert-manager created the Secret.
   */
  private synchronized void secretsChanged() {
    if (translated != null) {
      long start = System.nanoTime();
      serve(translated, -1, start, start);
      if (!retranslationPending && !certs.storedSecrets().keySet().equals(translatedStored)) {
        retranslationPending = true;
        try {
          retranslation.schedule(this::retranslate, Math.max(1000, 2 * translateMillis),
              TimeUnit.MILLISECONDS);
        } catch (RejectedExecutionException e) {
          retranslationPending = false; // closed
        }
      }
    }
  }

  private synchronized void retranslate() {
    retranslationPending = false;
    if (snapshot != null && !certs.storedSecrets().keySet().equals(translatedStored)) {
      apply(snapshot, -1);
    }
  }

  /** Merges the stored Secrets into {@code base}, builds the TLS contexts and hands everything to the data plane. */
  private void serve(GatewayConfig base, int resources, long start, long translatedAt) {
    Map<String, GatewayConfig.SecretData> secrets = new LinkedHashMap<>(base.secrets());
    certs.storedSecrets().forEach((key, s) -> {
      // A Certificate's Secret is the manager's; other stored Secrets (a Certificate since removed: cert-manager
      // leaves its Secret too) serve unless the manifests have one of that name.
      if (ownedSecrets.containsKey(key) || !secrets.containsKey(key)) {
        secrets.put(key, new GatewayConfig.SecretData(key, "state " + key, s.data()));
      }
    });
    List<Problem> problems = new ArrayList<>(base.problems());
    credentialFiles.watch(credentialPaths(base));
    Map<Integer, HostTable<ServerTls>> tls = tlsContexts.build(base.listeners(), secrets, credentialFiles,
        ownedSecrets, problems);
    ClientTlsContexts.Table upstreamTls = dataPlane.upstreamTlsContexts().build(base.listeners(), secrets,
        credentialFiles, problems);
    long tlsBuilt = System.nanoTime();
    java.util.SortedMap<Integer, ListenerConfig> listeners = new TreeMap<>(base.listeners());
    boolean builtIn = http01 && listeners.values().stream().noneMatch(l -> !l.tls())
        && !listeners.containsKey(CHALLENGE_PORT);
    if (builtIn) {
      // ACME HTTP-01 needs a plain-HTTP listener and no Gateway has one: a built-in one that only answers challenges.
      listeners.put(CHALLENGE_PORT, new ListenerConfig(CHALLENGE_PORT, CHALLENGE_PORT + options.portOffset(), false,
          List.of(), HostTable.empty(), HostTable.empty()));
    }
    GatewayConfig config = new GatewayConfig(listeners, secrets, problems, base.generation(), base.statuses());
    Map<Integer, String> bindErrors = new HashMap<>(dataPlane.apply(config.listeners(), tls, upstreamTls,
        config.generation()));
    if (builtIn && bindErrors.remove(CHALLENGE_PORT) != null) {
      log.error("certs: the built-in HTTP-01 challenge listener cannot bind port {}; ACME HTTP-01 validations will "
          + "fail (expected: a Gateway server with protocol HTTP, or --port-offset to a port that can be bound)",
          CHALLENGE_PORT + options.portOffset());
    }
    applied = new Applied(config, tls);
    report(problems);
    ready = bindErrors.isEmpty();
    long end = System.nanoTime();
    log.info("config generation {} applied in {} ms (translate {} ms, TLS {} ms, listeners {} ms): {} listeners, {} "
        + "problems{}", config.generation(), (end - start) / 1_000_000, (translatedAt - start) / 1_000_000,
        (tlsBuilt - translatedAt) / 1_000_000, (end - tlsBuilt) / 1_000_000, config.listeners().size(),
        problems.size(), resources == -1 ? " (issued Secrets changed)" : resources == -2 ? " (credential files "
        + "changed)" : ", " + resources + " resources");
  }

  /**
   * Returns every file a Gateway server names for its credential, client CA or CRL, and every file a DestinationRule
   * {@code tls} names.
   */
  private static Set<java.nio.file.Path> credentialPaths(GatewayConfig config) {
    Set<java.nio.file.Path> out = new HashSet<>(ClientTlsContexts.files(config.listeners()));
    for (ListenerConfig l : config.listeners().values()) {
      for (var s : l.servers()) {
        s.tls().ifPresent(t -> {
          t.certificateFiles().forEach(f -> {
            out.add(f.serverCertificate());
            out.add(f.privateKey());
          });
          t.caCertificates().ifPresent(out::add);
          t.caCrl().ifPresent(out::add);
        });
      }
    }
    return out;
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

  /** Returns the publisher of external-dns A/AAAA records (tests read what it has published). */
  public AddressPublisher addressRecords() {
    return addressRecords;
  }

  @Override
  public void close() {
    source.close();
    retranslation.shutdownNow();
    credentialFiles.close();
    certs.close();
    addressRecords.close();
    admin.close();
    dataPlane.close();
    options.accessLog().close();
  }
}
