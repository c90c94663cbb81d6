package io.portcullis.kubernetes;

import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.informers.ResourceEventHandler;
import io.fabric8.kubernetes.client.informers.SharedIndexInformer;
import io.portcullis.Portcullis;
import io.portcullis.config.ConfigSource;
import io.portcullis.config.Resource;
import io.portcullis.config.Snapshot;
import io.portcullis.certs.CertificateManager;
import io.portcullis.storage.Storage;
import io.portcullis.storage.StoredSecret;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The Kubernetes API server as a {@link ConfigSource}: one fabric8 informer per {@link WatchedKind} (per namespace
 * with {@code --watch-namespaces}, else across all), whose caches make each {@link Snapshot}. The snapshot goes
 * through the same translation, validation and last-good handling as a directory's.
 *
 * <p>An informer lists, then watches, and restarts its watch with back-off when it breaks (fabric8's behaviour); a
 * lost API server leaves the caches, and so the configuration served, as they were. A kind the API server does not
 * serve (its CRD not installed: 404) is not watched, and the log says so once. Changes are coalesced: a snapshot is
 * made {@code debounce} after the first change of a burst, on this source's own thread (never an event loop), and
 * handed over one at a time.
 */
public final class KubernetesConfigSource implements ConfigSource {
  private static final Logger log = LoggerFactory.getLogger(KubernetesConfigSource.class);
  private final KubernetesClient client;
  private final List<String> namespaces;
  private final List<WatchedKind> kinds;
  private final Duration debounce;
  private final Duration syncTimeout;
  private final boolean ownsClient;
  private final ObjectMapper mapper = new ObjectMapper();
  private final ScheduledExecutorService executor = Executors.newSingleThreadScheduledExecutor(r -> {
    Thread t = new Thread(r, "portcullis-kubernetes-source");
    t.setDaemon(true);
    return t;
  });
  private final List<Watched> informers = new CopyOnWriteArrayList<>();
  /** Told of the certificate manager's Secrets as the Secret informer sees them ({@link SecretStorage#subscribe}). */
  private final List<Storage.Listener> secretListeners = new CopyOnWriteArrayList<>();
  private final AtomicBoolean scheduled = new AtomicBoolean();
  private volatile boolean closed;
  /** Set once every kind is listed: changes before that are in the first snapshot, never in a partial one. */
  private volatile boolean listed;
  private Consumer<Snapshot> listener;
  private long generation;

  private record Watched(WatchedKind kind, String namespace, SharedIndexInformer<GenericKubernetesResource> informer) {}

  /**
   * Creates a source; nothing is read before {@link #start}.
   *
   * @param client the API client (its config: {@code --kubeconfig}, else in-cluster)
   * @param namespaces {@code --watch-namespaces}: the namespaces whose objects are read; empty for all. Cluster-scoped
   *     kinds (GatewayClass, IngressClass, ClusterIssuer, Namespace) are read either way
   * @param debounce how long after a change the snapshot is made (more changes meanwhile join it), e.g. 50 ms
   * @param syncTimeout how long {@link #start} waits for the first list of every kind
   */
  public KubernetesConfigSource(KubernetesClient client, List<String> namespaces, Duration debounce,
      Duration syncTimeout) {
    this(client, namespaces, WatchedKind.ALL, debounce, syncTimeout);
  }

  KubernetesConfigSource(KubernetesClient client, List<String> namespaces, List<WatchedKind> kinds,
      Duration debounce, Duration syncTimeout) {
    this(client, false, namespaces, kinds, debounce, syncTimeout);
  }

  private KubernetesConfigSource(KubernetesClient client, boolean ownsClient, List<String> namespaces,
      List<WatchedKind> kinds, Duration debounce, Duration syncTimeout) {
    this.client = requireNonNull(client, "client");
    this.ownsClient = ownsClient;
    this.namespaces = List.copyOf(namespaces);
    this.kinds = List.copyOf(kinds);
    this.debounce = requireNonNull(debounce, "debounce");
    this.syncTimeout = requireNonNull(syncTimeout, "syncTimeout");
  }

  /**
   * Connects to the API server as {@code portcullis run --kubernetes} does: {@code kubeconfig} when given, else
   * fabric8's auto-configuration ({@code KUBECONFIG}, {@code ~/.kube/config}, and in a Pod its service account's
   * token and CA); the source closes the client. Changes are coalesced for 50 ms; the first list may take 30 s.
   *
   * @param kubeconfig {@code --kubeconfig FILE}
   * @param namespaces {@code --watch-namespaces}, empty for all
   * @throws IOException when the kubeconfig file cannot be read
   */
  public static KubernetesConfigSource connect(Optional<Path> kubeconfig, List<String> namespaces)
      throws IOException {
    Config config = kubeconfig.isPresent()
        ? Config.fromKubeconfig(Files.readString(kubeconfig.get()))
        : Config.autoConfigure(null);
    KubernetesClient client = new KubernetesClientBuilder().withConfig(config).build();
    return new KubernetesConfigSource(client, true, namespaces, WatchedKind.ALL, Duration.ofMillis(50),
        Duration.ofSeconds(30));
  }

  /**
   * Returns a {@link SecretStorage} on this source's client and namespaces: issued certificates as Secrets in the
   * same API server.
   */
  public SecretStorage storage() {
    return new SecretStorage(client, namespaces, secretListeners::add);
  }

  /**
   * Starts writing {@code gateway}'s statuses (Certificates, Gateway API objects, Ingresses) back through this
   * source's client every second; close it before the gateway.
   */
  public StatusWriter statusWriter(Portcullis gateway) {
    return new StatusWriter(client, gateway::objectStatuses, gateway.certificates()::statuses, Duration.ofSeconds(1));
  }

  /**
   * Starts electing the replica that writes {@code gateway}'s statuses ({@link StatusLeader}, Lease
   * {@code portcullis-status} in {@code namespace}); close it before the gateway.
   */
  public StatusLeader statusLeader(Portcullis gateway, String namespace, String identity) {
    return new StatusLeader(client, namespace, identity, () -> statusWriter(gateway));
  }

  /**
   * Returns what replicas share through this API server: {@link #storage()}, {@link LeaseLocks} (15 s Leases) and
   * {@link ConfigMapChallenges}, both in {@code namespace}; close the locks before the source.
   *
   * @param namespace the gateway's own namespace ({@link #ownNamespace})
   */
  public CertificateManager.Shared shared(String namespace, String identity) {
    return new CertificateManager.Shared(storage(), new LeaseLocks(client, namespace, identity,
        Duration.ofSeconds(15), java.time.Clock.systemUTC()), Optional.of(new ConfigMapChallenges(client,
        namespace, name -> cachedConfigMapValue(namespace, name, ConfigMapChallenges.DATA_KEY))));
  }

  /** A ConfigMap's data value as the ConfigMap informer holds it, if one covers {@code namespace}. */
  private Optional<String> cachedConfigMapValue(String namespace, String name, String key) {
    for (Watched w : informers) {
      if (w.kind().kind().equals("ConfigMap") && w.kind().group().isEmpty()
          && (w.namespace().isEmpty() || w.namespace().equals(namespace))) {
        GenericKubernetesResource cm = w.informer().getStore().getByKey(namespace + "/" + name);
        if (cm != null && cm.getAdditionalProperties().get("data") instanceof Map<?, ?> data
            && data.get(key) instanceof String v) {
          return Optional.of(v);
        }
      }
    }
    return Optional.empty();
  }

  /**
   * Returns the gateway's own namespace, where its Leases and HTTP-01 ConfigMaps go: {@code POD_NAMESPACE} (the
   * downward API's {@code metadata.namespace}), else the client's namespace (the kubeconfig context's, or the
   * service account's), else {@code default}.
   */
  public String ownNamespace(java.util.Map<String, String> env) {
    String ns = env.get("POD_NAMESPACE");
    if (ns != null && !ns.isBlank()) {
      return ns.trim();
    }
    return client.getNamespace() == null || client.getNamespace().isBlank() ? "default" : client.getNamespace();
  }

  /** The kinds whose {@code status} the gateway writes and never reads (the {@link StatusWriter}'s). */
  private static final java.util.Set<String> STATUS_WRITTEN = java.util.Set.of("Certificate", "Gateway",
      "GatewayClass", "HTTPRoute", "GRPCRoute", "TLSRoute", "Ingress");

  /**
   * Whether an update changes nothing the translation reads: only bookkeeping metadata ({@code resourceVersion},
   * {@code managedFields}) moved, or, for the kinds whose status the gateway writes ({@link #STATUS_WRITTEN}; not a
   * Service's, whose load balancer {@code --publish-service} reads), only {@code status}. Such updates make no
   * snapshot, so that N replicas writing status do not translate N times per second.
   */
  static boolean sameInput(GenericKubernetesResource a, GenericKubernetesResource b) {
    if (ownChallenge(a) && ownChallenge(b)) {
      return true;
    }
    java.util.Map<String, Object> pa = new java.util.HashMap<>(a.getAdditionalProperties());
    java.util.Map<String, Object> pb = new java.util.HashMap<>(b.getAdditionalProperties());
    if (STATUS_WRITTEN.contains(a.getKind())) { // a Service's or a Pod's status is input (load balancer, readiness)
      pa.remove("status");
      pb.remove("status");
    }
    var ma = a.getMetadata();
    var mb = b.getMetadata();
    return pa.equals(pb) && java.util.Objects.equals(a.getApiVersion(), b.getApiVersion())
        && java.util.Objects.equals(ma.getLabels(), mb.getLabels())
        && java.util.Objects.equals(ma.getAnnotations(), mb.getAnnotations())
        && java.util.Objects.equals(ma.getGeneration(), mb.getGeneration())
        && java.util.Objects.equals(ma.getDeletionTimestamp(), mb.getDeletionTimestamp())
        && java.util.Objects.equals(ma.getOwnerReferences(), mb.getOwnerReferences());
  }

  /** Whether {@code obj} is one of the replicas' HTTP-01 ConfigMaps ({@link ConfigMapChallenges}): no input. */
  static boolean ownChallenge(GenericKubernetesResource obj) {
    return "ConfigMap".equals(obj.getKind()) && obj.getMetadata().getLabels() != null
        && obj.getMetadata().getLabels().containsKey(ConfigMapChallenges.OWNER_LABEL);
  }

  /**
   * Hands a Secret the certificate manager wrote (as the informer saw it) to the storage's listeners.
   *
   * @return whether it needs no snapshot: a Secret Portcullis wrote, which the manager serves at once (it
   *     translates again itself once the set of its Secrets changed: a burst of N issuances is not N translations)
   */
  private boolean secretStored(GenericKubernetesResource obj) {
    if (secretListeners.isEmpty()) {
      return false;
    }
    try {
      io.fabric8.kubernetes.api.model.Secret s = client.getKubernetesSerialization().convertValue(obj,
          io.fabric8.kubernetes.api.model.Secret.class);
      if (SecretStorage.managed(s)) {
        StoredSecret stored = SecretStorage.toStored(s);
        secretListeners.forEach(l -> l.stored(stored));
        // Only what Portcullis writes skips the snapshot: a Secret cert-manager wrote (a migration, an external
        // issuer) is served from the snapshot, which must follow it.
        Map<String, String> a = s.getMetadata().getAnnotations();
        return a.containsKey(SecretStorage.REVISION) || a.containsKey(SecretStorage.ACME_SERVER);
      }
    } catch (RuntimeException e) {
      log.warn("kubernetes: Secret {}/{}: cannot read it: {}", obj.getMetadata().getNamespace(),
          obj.getMetadata().getName(), e.getMessage());
    }
    return false;
  }

  /**
   * Lists every kind, hands the first snapshot to {@code listener}, then keeps watching.
   *
   * @throws IOException when the API server cannot be reached, or a kind cannot be listed, within the sync timeout
   *     (other than a kind it does not serve)
   */
  @Override
  public void start(Consumer<Snapshot> listener) throws IOException {
    this.listener = requireNonNull(listener, "listener");
    List<CompletableFuture<Void>> synced = new ArrayList<>();
    for (WatchedKind k : kinds) {
      for (String ns : k.namespaced() && !namespaces.isEmpty() ? namespaces : List.of("")) {
        var op = client.genericKubernetesResources(k.context());
        SharedIndexInformer<GenericKubernetesResource> informer = ns.isEmpty()
            ? op.inAnyNamespace().runnableInformer(0) : op.inNamespace(ns).runnableInformer(0);
        boolean secrets = k.group().isEmpty() && k.kind().equals("Secret");
        informer.addEventHandler(new ResourceEventHandler<>() {
          @Override
          public void onAdd(GenericKubernetesResource obj) {
            if (!(secrets && secretStored(obj)) && !ownChallenge(obj)) {
              changed();
            }
          }

          @Override
          public void onUpdate(GenericKubernetesResource oldObj, GenericKubernetesResource newObj) {
            if (!(secrets && secretStored(newObj)) && !sameInput(oldObj, newObj)) {
              changed();
            }
          }

          @Override
          public void onDelete(GenericKubernetesResource obj, boolean deletedFinalStateUnknown) {
            if (secrets && !secretListeners.isEmpty()) {
              String key = obj.getMetadata().getNamespace() + "/" + obj.getMetadata().getName();
              secretListeners.forEach(l -> l.deleted(key));
            }
            if (!ownChallenge(obj)) {
              changed();
            }
          }
        });
        informer.exceptionHandler((started, t) -> {
          Throwable cause = t;
          while (cause instanceof CompletionException && cause.getCause() != null) {
            cause = cause.getCause();
          }
          if (cause instanceof KubernetesClientException e && e.getCode() == 404) {
            log.info("kubernetes: {} ({}) is not served by the API server; not watched", k.kind(), k.path());
            return false; // not installed: stop, do not retry
          }
          log.warn("kubernetes: {} {}: {}; retrying with back-off, the last objects read keep serving", k.kind(),
              ns.isEmpty() ? "in all namespaces" : "in namespace " + ns, cause.toString());
          return !closed;
        });
        informers.add(new Watched(k, ns, informer));
        synced.add(informer.start().toCompletableFuture().handle((v, err) -> {
          if (err != null) {
            informers.removeIf(w -> w.informer() == informer); // a kind that is not served
          }
          return null;
        }));
      }
    }
    try {
      CompletableFuture.allOf(synced.toArray(CompletableFuture[]::new)).get(syncTimeout.toMillis(),
          TimeUnit.MILLISECONDS);
    } catch (TimeoutException e) {
      close();
      throw new IOException("kubernetes: the API server at " + client.getMasterUrl() + " did not list every kind "
          + "within " + syncTimeout.toSeconds() + " s (expected: a reachable API server and RBAC to list and watch "
          + "them; see the log)");
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      close();
      throw new IOException("interrupted while listing the API server", e);
    } catch (ExecutionException e) {
      close();
      throw new IOException("kubernetes: " + e.getCause(), e.getCause());
    }
    log.info("kubernetes: watching {} kinds at {} ({})", informers.size(), client.getMasterUrl(),
        namespaces.isEmpty() ? "all namespaces" : "namespaces " + String.join(",", namespaces));
    listed = true; // a change from now on makes another snapshot, even one during the first
    try {
      executor.submit(this::emit).get();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } catch (ExecutionException e) {
      throw new IOException("kubernetes: the first snapshot failed: " + e.getCause(), e.getCause());
    }
  }

  /**
   * Returns the kinds whose watch is down (the API server unreachable, say), e.g. {@code not watching Gateway,
   * VirtualService at https://10.0.0.1:443}; empty while every watch is up.
   */
  @Override
  public Optional<String> degraded() {
    if (!listed || closed) {
      return Optional.empty();
    }
    List<String> down = informers.stream().filter(w -> !w.informer().isWatching()).map(w -> w.kind().kind()
        + (w.namespace().isEmpty() ? "" : " in " + w.namespace())).distinct().toList();
    return down.isEmpty() ? Optional.empty() : Optional.of("not watching " + String.join(", ",
        down) + " at " + client.getMasterUrl() + " (reconnecting with back-off)");
  }

  private void changed() {
    if (listed && !closed && scheduled.compareAndSet(false, true)) {
      executor.schedule(() -> {
        scheduled.set(false);
        emit();
      }, debounce.toMillis(), TimeUnit.MILLISECONDS);
    }
  }

  /** Makes a snapshot of every informer's cache and hands it over; on the source's thread. */
  private void emit() {
    if (closed) {
      return;
    }
    List<Resource> resources = new ArrayList<>();
    for (Watched w : List.copyOf(informers)) {
      List<GenericKubernetesResource> objects = new ArrayList<>(w.informer().getStore().list());
      objects.sort(Comparator.comparing((GenericKubernetesResource o) -> String.valueOf(o.getMetadata()
          .getNamespace())).thenComparing(o -> o.getMetadata().getName()));
      for (GenericKubernetesResource o : objects) {
        resources.add(resource(w.kind(), o));
      }
    }
    generation++;
    listener.accept(new Snapshot(resources, List.of(), generation));
  }

  private Resource resource(WatchedKind k, GenericKubernetesResource o) {
    ObjectNode body = mapper.valueToTree(o);
    if (body.path("metadata") instanceof ObjectNode metadata) {
      metadata.remove("managedFields"); // the API server's bookkeeping: large, and read by nobody here
    }
    body.put("apiVersion", o.getApiVersion() == null ? k.apiVersion() : o.getApiVersion());
    body.put("kind", o.getKind() == null ? k.kind() : o.getKind());
    String ns = o.getMetadata().getNamespace() == null ? "" : o.getMetadata().getNamespace();
    String name = o.getMetadata().getName();
    String path = k.path(ns) + "/" + name;
    return new Resource(body.path("apiVersion").asText(), body.path("kind").asText(), ns.isEmpty() ? "default" : ns,
        name, Path.of("kubernetes:" + path), body);
  }

  @Override
  public void close() {
    closed = true;
    for (Watched w : informers) {
      w.informer().close();
    }
    executor.shutdownNow();
    if (ownsClient) {
      client.close();
    }
  }
}
