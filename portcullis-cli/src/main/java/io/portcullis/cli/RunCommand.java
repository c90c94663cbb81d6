package io.portcullis.cli;

import io.portcullis.IssuanceOptions;
import io.portcullis.Portcullis;
import io.portcullis.certs.CertManagerTranslator;
import io.portcullis.certs.CertificateManager;
import io.portcullis.certs.DefaultIssuer;
import io.portcullis.config.DirectoryConfigSource;
import io.portcullis.config.GoDuration;
import io.portcullis.config.ingress.IngressClassSelection;
import io.portcullis.config.ingress.IngressStatusSource;
import io.portcullis.etcd.EtcdConnection;
import io.portcullis.kubernetes.KubernetesConfigSource;
import io.portcullis.proxy.AccessLog;
import io.portcullis.proxy.PathNormalization;
import io.portcullis.proxy.ProxyLimits;
import io.portcullis.proxy.Transport;
import io.portcullis.routing.SafeRegex;
import io.portcullis.storage.DirectoryStorage;
import io.portcullis.storage.ReplicaIdentity;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code portcullis run}: serve the Gateways and VirtualServices found in manifest directories. */
@Command(name = "run", mixinStandardHelpOptions = true,
    description = {"Serve Istio Gateway, VirtualService, ServiceEntry and Secret manifests from directories, "
        + "reloading on every change.",
        "With no --config, serves the bundled quickstart (examples/quickstart) on 127.0.0.1:8080 and :8443 with a "
        + "certificate for localhost issued at first start by its own root CA (cert-manager's bootstrap pattern)."})
final class RunCommand implements Callable<Integer> {
  /** The quickstart's root CA Certificate (examples/quickstart): its {@code ca.crt} is what curl trusts. */
  static final String QUICKSTART_ROOT = "portcullis-quickstart-root";

  @Option(names = "--config", paramLabel = "DIR",
      description = "Directory of manifests (*.yaml, *.yml, *.json, several documents per file); repeatable. Objects "
          + "without a namespace are in 'default'. Default: the bundled examples/quickstart.")
  List<Path> configDirs = new ArrayList<>();

  @Option(names = "--namespace", paramLabel = "NS", defaultValue = "istio-system",
      description = "The gateway workload's namespace: credentialName Secrets are looked up here, as Istio does. "
          + "Default: ${DEFAULT-VALUE}.")
  String namespace;

  @Option(names = "--port-offset", paramLabel = "N", defaultValue = "0",
      description = "Bind Gateway port P at P+N (443 -> 10443 with 10000), for unprivileged runs. Default: "
          + "${DEFAULT-VALUE}.")
  int portOffset;

  @Option(names = "--ingress-class", paramLabel = "CLASS", defaultValue = "istio",
      description = "Serve Ingresses whose kubernetes.io/ingress.class annotation is CLASS (Istio's meshConfig "
          + "ingressClass). Default: ${DEFAULT-VALUE}.")
  String ingressClass;

  @Option(names = "--ingress-mode", paramLabel = "MODE", defaultValue = "STRICT",
      description = "STRICT: only Ingresses of --ingress-class or of an IngressClass with controller "
          + "istio.io/ingress-controller; DEFAULT: those and Ingresses without a class; OFF: only those of such an "
          + "IngressClass (Istio's ingressControllerMode). Default: ${DEFAULT-VALUE}.")
  String ingressMode;

  @Option(names = "--bind", paramLabel = "ADDR",
      description = "Address every Gateway port binds. Default: 0.0.0.0 (127.0.0.1 for the quickstart).")
  String bind;

  @Option(names = "--admin", paramLabel = "ADDR:PORT", defaultValue = "127.0.0.1:15000",
      description = "Admin server (/ready, /admin/ping, /config_dump). Port 0 picks a free port. Default: "
          + "${DEFAULT-VALUE}.")
  String admin;

  @Option(names = "--access-log", paramLabel = "FILE|-",
      description = "Write one JSON line per request (Envoy's field names) to FILE, or to standard output with '-'. "
          + "Default: off.")
  String accessLog;

  /** {@code --state}, {@code --admin-token-file}: shared with {@code portcullis certs}. */
  @Mixin
  StateOptions stateOptions = new StateOptions();

  /** {@code --storage etcd://...} and its TLS and auth options. */
  @Mixin
  StorageOptions storageOptions = new StorageOptions();

  @Option(names = "--issuance-backoff", paramLabel = "DURATION", defaultValue = "5m",
      description = "First retry delay after a failed issuance (e.g. 30s, 5m, 1h); it doubles per failure, up to "
          + "32h. Default: ${DEFAULT-VALUE}.")
  String issuanceBackoff;

  @Option(names = "--threads", paramLabel = "N", defaultValue = "0",
      description = "Event loops; 0 for one per processor. Default: ${DEFAULT-VALUE}.")
  int threads;

  @Option(names = "--transport", paramLabel = "KIND", defaultValue = "AUTO",
      description = "Socket transport: AUTO (epoll, else NIO), EPOLL, IO_URING (Linux 5.14+) or NIO; an unavailable "
          + "choice falls back to epoll, then NIO. Default: ${DEFAULT-VALUE}.")
  Transport transport;

  @Option(names = "--cluster-resource-namespace", paramLabel = "NS",
      description = "Where Secrets named by a ClusterIssuer (account keys, CA, DNS provider credentials) are read, as "
          + "cert-manager's flag of the same name. Default: the --namespace.")
  String clusterResourceNamespace = "";

  @Option(names = "--dns01-recursive-nameservers", paramLabel = "HOST:PORT,...", split = ",",
      description = "Nameservers for DNS-01's SOA, NS and CNAME look-ups (cert-manager's flag). Default: those of "
          + "/etc/resolv.conf.")
  List<String> recursiveNameservers = new ArrayList<>();

  @Option(names = "--dns01-recursive-nameservers-only",
      description = "Check DNS-01 propagation at the recursive nameservers instead of at each authoritative "
          + "nameserver of the zone (cert-manager's flag).")
  boolean recursiveNameserversOnly;

  @Option(names = "--dns01-authoritative-port", paramLabel = "PORT", defaultValue = "53",
      description = "Port authoritative nameservers are asked on in DNS-01 propagation checks. Default: "
          + "${DEFAULT-VALUE}.")
  int authoritativePort;

  @Option(names = "--dns01-propagation-timeout", paramLabel = "DURATION", defaultValue = "2m",
      description = "How long a DNS-01 TXT record may take to show at every authoritative nameserver before the "
          + "challenge fails. Default: ${DEFAULT-VALUE}.")
  String propagationTimeout;

  @Option(names = "--kubernetes",
      description = "Read the configuration from the Kubernetes API server (every kind the directory mode reads, "
          + "watched) instead of --config directories, and keep issued certificates as its Secrets, as cert-manager "
          + "does, instead of under --state.")
  boolean kubernetes;

  @Option(names = "--kubeconfig", paramLabel = "FILE",
      description = "With --kubernetes: the kubeconfig to connect with. Default: $KUBECONFIG, ~/.kube/config, "
          + "else in a Pod its service account.")
  Path kubeconfig;

  @Option(names = "--watch-namespaces", paramLabel = "NS,...", split = ",",
      description = "With --kubernetes: the namespaces whose objects are read. Default: all. Cluster-scoped kinds "
          + "(GatewayClass, IngressClass, ClusterIssuer, Namespace) are read either way.")
  List<String> watchNamespaces = new ArrayList<>();

  @Option(names = "--publish-address", paramLabel = "ADDR,...", split = ",",
      description = "The IPs or host names served Ingresses list in status.loadBalancer.ingress (ingress-nginx's "
          + "--publish-status-address). Default: none.")
  List<String> publishAddresses = new ArrayList<>();

  @Option(names = "--publish-service", paramLabel = "NS/NAME",
      description = "The Service whose status.loadBalancer served Ingresses copy (ingress-nginx's flag, Istio's "
          + "meshConfig ingressService); --publish-address wins. Default: none.")
  String publishService;

  @Option(names = "--default-issuer-name", paramLabel = "NAME", defaultValue = "",
      description = "The issuer of an Ingress annotated only kubernetes.io/tls-acme: \"true\" (cert-manager's "
          + "ingress-shim flag). Default: none (such an Ingress gets no Certificate, and a problem says why).")
  String defaultIssuerName;

  @Option(names = "--default-issuer-kind", paramLabel = "KIND", defaultValue = "Issuer",
      description = "Issuer (in the Ingress's namespace) or ClusterIssuer, for --default-issuer-name. Default: "
          + "${DEFAULT-VALUE}.")
  String defaultIssuerKind;

  @Option(names = "--default-issuer-group", paramLabel = "GROUP", defaultValue = "cert-manager.io",
      description = "The API group of --default-issuer-name; only cert-manager.io is served. Default: "
          + "${DEFAULT-VALUE}.")
  String defaultIssuerGroup;

  @Option(names = "--listener-filters-timeout", paramLabel = "DURATION", defaultValue = "15s",
      description = "A new connection must send its TLS ClientHello (on a plain port: its first request line) within "
          + "this, or it is closed (Envoy's listener_filters_timeout). 0 disables. Default: ${DEFAULT-VALUE}.")
  String listenerFiltersTimeout;

  @Option(names = "--request-headers-timeout", paramLabel = "DURATION", defaultValue = "10s",
      description = "An HTTP/1.1 request's headers must be complete this long after their first byte, or the client "
          + "gets 408 and the connection closes (Envoy's request_headers_timeout). 0 disables. Default: "
          + "${DEFAULT-VALUE}.")
  String requestHeadersTimeout;

  @Option(names = "--idle-timeout", paramLabel = "DURATION", defaultValue = "1h",
      description = "A connection with no request in flight this long is closed, HTTP/2 with GOAWAY (Envoy's "
          + "idle_timeout). 0 disables. Default: ${DEFAULT-VALUE}.")
  String idleTimeout;

  @Option(names = "--stream-idle-timeout", paramLabel = "DURATION", defaultValue = "5m",
      description = "A request with no bytes moving either way this long is ended: 408 before the response started, "
          + "a reset after (Envoy's stream_idle_timeout); slow request bodies included. 0 disables. Default: "
          + "${DEFAULT-VALUE}.")
  String streamIdleTimeout;

  @Option(names = "--max-connections", paramLabel = "N", defaultValue = "10000",
      description = "Per listener: a connection accepted beyond N open ones is closed at once and counted "
          + "(downstream_cx_overflow in /stats). 0 for no limit. Default: ${DEFAULT-VALUE}.")
  int maxConnections;

  @Option(names = "--max-request-headers-kb", paramLabel = "KB", defaultValue = "60",
      description = "The largest request header block, KiB; larger gets 431 (Envoy's max_request_headers_kb). "
          + "Request lines over 8 KiB get 414. Default: ${DEFAULT-VALUE}.")
  int maxRequestHeadersKb;

  @Option(names = "--max-headers-count", paramLabel = "N", defaultValue = "100",
      description = "The most request headers; more gets 431 (Envoy's max_headers_count). Default: ${DEFAULT-VALUE}.")
  int maxHeadersCount;

  @Option(names = "--upstream-idle-timeout", paramLabel = "DURATION", defaultValue = "1h",
      description = "An upstream connection idle in a pool this long is closed (DestinationRule's "
          + "connectionPool.http.idleTimeout). 0 disables. Default: ${DEFAULT-VALUE}.")
  String upstreamIdleTimeout;

  @Option(names = "--path-normalization", paramLabel = "TYPE", defaultValue = "BASE",
      description = "How request paths are normalised before routing, rewriting and forwarding (Istio's "
          + "meshConfig.pathNormalization): NONE, BASE (RFC 3986: dot segments, unreserved %%XX decoded), "
          + "MERGE_SLASHES (BASE and // merged) or DECODE_AND_MERGE_SLASHES (also %%2F and %%5C decoded). Default: "
          + "${DEFAULT-VALUE}.")
  PathNormalization.Type pathNormalization;

  @Option(names = "--path-with-escaped-slashes-action", paramLabel = "ACTION",
      description = "What a path with %%2F or %%5C gets (Envoy's path_with_escaped_slashes_action): KEEP_UNCHANGED, "
          + "REJECT_REQUEST (400), UNESCAPE_AND_REDIRECT (307) or UNESCAPE_AND_FORWARD. Default: REJECT_REQUEST for "
          + "BASE and MERGE_SLASHES, UNESCAPE_AND_FORWARD for DECODE_AND_MERGE_SLASHES, KEEP_UNCHANGED for NONE.")
  PathNormalization.EscapedSlashesAction escapedSlashesAction;

  @Option(names = "--max-regex-program-size", paramLabel = "N", defaultValue = "100",
      description = "The most RE2 instructions a VirtualService regex may compile to; a larger one is an ERROR and "
          + "its VirtualService is left out (Envoy's re2.max_program_size.error_level; Istio's proxies raise it to "
          + "32768). Matching costs up to program size x value length of event-loop CPU per request, so raise it "
          + "with care. 1..100000. Default: ${DEFAULT-VALUE}.")
  int maxRegexProgramSize;

  @Override
  public Integer call() throws Exception {
    SafeRegex.checkMaxProgramSize("--max-regex-program-size", maxRegexProgramSize);
    if (kubernetes && !configDirs.isEmpty()) {
      throw new IllegalArgumentException("--config and --kubernetes: choose one source (expected: --config DIR... "
          + "or --kubernetes)");
    }
    if (!kubernetes && (kubeconfig != null || !watchNamespaces.isEmpty())) {
      throw new IllegalArgumentException((kubeconfig != null ? "--kubeconfig" : "--watch-namespaces") + " without "
          + "--kubernetes (expected: --kubernetes too)");
    }
    boolean quickstart = configDirs.isEmpty() && !kubernetes;
    if (quickstart) {
      configDirs.add(home().resolve("examples/quickstart"));
      if (bind == null) {
        bind = "127.0.0.1";
      }
    }
    if (bind == null) {
      bind = "0.0.0.0";
    }
    Path stateDir = stateOptions.stateDir();
    Portcullis.Options options = new Portcullis.Options(configDirs, namespace, portOffset, bind,
        address(admin), accessLog(), threads, transport, stateDir, duration("--issuance-backoff",
        issuanceBackoff), new IssuanceOptions(clusterResourceNamespace, nameservers(),
        recursiveNameserversOnly, port("--dns01-authoritative-port", authoritativePort), duration(
        "--dns01-propagation-timeout", propagationTimeout), defaultIssuer()), limits(), pathNormalization(), maxRegexProgramSize,
        stateOptions.adminTokenFile(), ingressClasses(), ingressStatus());
    Portcullis p;
    List<AutoCloseable> closeFirst = new ArrayList<>(); // before the gateway: the status leader, then the locks
    storageOptions.check();
    String identity = ReplicaIdentity.current();
    EtcdConnection etcd = storageOptions.etcd() ? storageOptions.connect() : null;
    CertificateManager.Shared etcdShared = etcd == null ? null : new CertificateManager.Shared(etcd.storage(),
        etcd.locks(identity), Optional.of(etcd.challenges()));
    try {
      if (kubernetes) {
        KubernetesConfigSource source = KubernetesConfigSource.connect(Optional.ofNullable(kubeconfig),
            watchNamespaces);
        String own = source.ownNamespace(System.getenv());
        CertificateManager.Shared shared = etcdShared != null ? etcdShared : source.shared(own, identity);
        p = Portcullis.start(options, source, shared);
        closeFirst.add(source.statusLeader(p, own, identity));
        closeFirst.add(shared.locks());
      } else if (etcdShared != null) {
        p = Portcullis.start(options, new DirectoryConfigSource(options.configDirs()), etcdShared);
        closeFirst.add(etcdShared.locks());
      } else {
        p = Portcullis.start(options);
      }
    } catch (IOException | RuntimeException e) {
      if (etcd != null) {
        etcd.close();
      }
      throw e;
    }
    if (etcd != null) {
      closeFirst.add(etcd); // after its locks, which leave their notes; before the gateway, which does not use it
    }
    CountDownLatch stopped = new CountDownLatch(1);
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      // The certificate manager stops first (orders interrupted), so that no order runs on once the locks are
      // released; a lock released here keeps its "ordering" note, and the next holder cleans up after it.
      if (!closeFirst.isEmpty()) {
        p.certificates().close();
      }
      for (AutoCloseable c : closeFirst) {
        try {
          c.close();
        } catch (Exception e) {
          System.err.println("portcullis: shutdown: " + e);
        }
      }
      p.close();
      stopped.countDown();
    }, "portcullis-shutdown"));
    if (quickstart) {
      InetSocketAddress https = p.boundAddresses().get(8443);
      int port = https == null ? 8443 + portOffset : https.getPort();
      System.err.printf("%nPortcullis quickstart is serving. Try:%n  curl --cacert %s https://localhost:%d/%n"
          + "  curl http://localhost:%d/%n  bin/portcullis certs --admin %s%n%n",
          new DirectoryStorage(stateDir).trustAnchorFile(namespace, QUICKSTART_ROOT), port, 8080 + portOffset,
          p.adminAddress().getHostString() + ":" + p.adminAddress().getPort()); // the bound port, also for :0
    }
    stopped.await();
    return 0;
  }

  /** The default issuer the three --default-issuer flags name. */
  DefaultIssuer defaultIssuer() {
    if (!defaultIssuerKind.equals("Issuer") && !defaultIssuerKind.equals("ClusterIssuer")) {
      throw new IllegalArgumentException("--default-issuer-kind: " + defaultIssuerKind
          + " (expected: Issuer or ClusterIssuer)");
    }
    if (!defaultIssuerGroup.equals("cert-manager.io")) {
      throw new IllegalArgumentException("--default-issuer-group: " + defaultIssuerGroup
          + " (expected: cert-manager.io; external issuers are not served)");
    }
    return new DefaultIssuer(defaultIssuerName, defaultIssuerKind, defaultIssuerGroup);
  }

  IngressStatusSource ingressStatus() {
    if (publishService != null && !publishService.matches("[a-z0-9][-a-z0-9.]*/[a-z0-9][-a-z0-9.]*")) {
      throw new IllegalArgumentException("--publish-service: " + publishService + " (expected: NAMESPACE/NAME)");
    }
    return new IngressStatusSource(publishAddresses.stream().map(String::trim).filter(a -> !a.isEmpty()).toList(),
        java.util.Optional.ofNullable(publishService));
  }

  private IngressClassSelection ingressClasses() {
    IngressClassSelection.Mode mode = IngressClassSelection.Mode.parse(ingressMode);
    if (ingressClass.isBlank()) {
      throw new IllegalArgumentException("--ingress-class: empty (expected: a class name, e.g. istio)");
    }
    return new IngressClassSelection(ingressClass.trim(), mode);
  }

  private PathNormalization pathNormalization() {
    return escapedSlashesAction == null ? PathNormalization.of(pathNormalization)
        : new PathNormalization(pathNormalization, escapedSlashesAction);
  }

  private ProxyLimits limits() {
    return new ProxyLimits(timeout("--listener-filters-timeout", listenerFiltersTimeout),
        timeout("--request-headers-timeout", requestHeadersTimeout), timeout("--idle-timeout", idleTimeout),
        timeout("--stream-idle-timeout", streamIdleTimeout), maxConnections, maxRequestHeadersKb, maxHeadersCount,
        timeout("--upstream-idle-timeout", upstreamIdleTimeout));
  }

  /** Parses a Go duration that may be 0 (which disables the timeout). */
  static Duration timeout(String option, String value) {
    return GoDuration.parse(value).orElseThrow(() -> new IllegalArgumentException(option + ": " + value
        + " (expected: a duration such as 30s, 5m or 1h30m; 0 disables)"));
  }

  private AccessLog accessLog() throws IOException {
    if (accessLog == null) {
      return AccessLog.disabled();
    }
    if (accessLog.equals("-")) {
      return new AccessLog(System.out);
    }
    Path file = Path.of(accessLog).toAbsolutePath();
    if (file.getParent() != null) {
      Files.createDirectories(file.getParent());
    }
    OutputStream out = new FileOutputStream(file.toFile(), true);
    return new AccessLog(out);
  }

  static InetSocketAddress address(String hostPort) {
    int colon = hostPort.lastIndexOf(':');
    if (colon < 0) {
      throw new IllegalArgumentException("--admin: " + hostPort + " (expected: ADDR:PORT, e.g. 127.0.0.1:15000)");
    }
    String host = hostPort.substring(0, colon);
    if (host.startsWith("[") && host.endsWith("]")) {
      host = host.substring(1, host.length() - 1);
    }
    try {
      int port = Integer.parseInt(hostPort.substring(colon + 1));
      if (port < 0 || port > 65535) {
        throw new NumberFormatException();
      }
      return new InetSocketAddress(host.isEmpty() ? "0.0.0.0" : host, port);
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException("--admin: " + hostPort + " (expected: ADDR:PORT with PORT 0..65535)");
    }
  }

  private List<InetSocketAddress> nameservers() {
    List<InetSocketAddress> out = new ArrayList<>();
    for (String s : recursiveNameservers) {
      out.add(CertManagerTranslator.parseHostPort(s.trim(), 53).map(a -> new InetSocketAddress(a.getHostString(),
          a.getPort())).orElseThrow(() -> new IllegalArgumentException("--dns01-recursive-nameservers: " + s
          + " (expected: HOST:PORT, e.g. 8.8.8.8:53)")));
    }
    return out;
  }

  private static int port(String option, int port) {
    if (port < 1 || port > 65535) {
      throw new IllegalArgumentException(option + ": " + port + " (expected: 1..65535)");
    }
    return port;
  }

  /** Parses a Go duration ({@code 30s}, {@code 5m}, {@code 1h30m}); it must be positive. */
  static Duration duration(String option, String value) {
    return GoDuration.parse(value).filter(d -> !d.isZero()).orElseThrow(() -> new IllegalArgumentException(option
        + ": " + value + " (expected: a positive duration such as 30s, 5m or 1h30m)"));
  }

  private static Path home() {
    String home = System.getProperty("portcullis.home");
    return home == null ? Path.of("").toAbsolutePath() : Path.of(home);
  }
}
