package io.portcullis.kubernetes;

import static java.util.Objects.requireNonNull;

import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.api.model.coordination.v1.Lease;
import io.fabric8.kubernetes.api.model.coordination.v1.LeaseBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.portcullis.storage.IssuanceLocks;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.UnaryOperator;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@link IssuanceLocks} as {@code coordination.k8s.io/v1 Lease}s in the gateway's namespace, one per lock name
 * ({@code portcullis.<namespace>.<name>} for Certificate {@code namespace/name}; a name that would not fit a DNS
 * subdomain is hashed), as client-go's leader election and Caddy's ingress use them: {@code spec.holderIdentity},
 * {@code leaseDurationSeconds} (15), {@code acquireTime}, {@code renewTime}, {@code leaseTransitions}. A Lease is
 * free when it has no holder or its {@code renewTime} is more than {@code leaseDurationSeconds} old (clocks are
 * assumed within a few seconds of each other, as Caddy does). Every write is an update with the read
 * {@code resourceVersion}, so two replicas racing for a free Lease get one success and one 409. A held Lease is
 * renewed every 5 s (one after the other, on one thread); one that cannot be renewed for 2/3 of its duration is
 * given up ({@link Lock#held()} false) before another replica may take it.
 * The notes are the Lease's annotations {@code notes.portcullis.io/<key>}; releasing clears the holder and keeps
 * the Lease with its notes. Blocking; thread-safe.
 */
public final class LeaseLocks implements IssuanceLocks {
  private static final Logger log = LoggerFactory.getLogger(LeaseLocks.class);
  static final String NOTE_PREFIX = "notes.portcullis.io/";
  static final String LOCK_ANNOTATION = "portcullis.io/lock";
  private static final int ATTEMPTS = 5;

  private final KubernetesClient client;
  private final String namespace;
  private final String identity;
  private final Duration leaseDuration;
  private final Clock clock;
  private final Map<String, Held> held = new ConcurrentHashMap<>();
  private volatile boolean closed;
  private final ScheduledExecutorService renewer = Executors.newSingleThreadScheduledExecutor(r -> {
    Thread t = new Thread(r, "portcullis-lease-renew");
    t.setDaemon(true);
    return t;
  });

  /**
   * Locks in {@code namespace} held as {@code identity}.
   *
   * @param leaseDuration {@code leaseDurationSeconds}; renewed every third of it
   */
  public LeaseLocks(KubernetesClient client, String namespace, String identity, Duration leaseDuration,
      Clock clock) {
    this.client = requireNonNull(client, "client");
    this.namespace = requireNonNull(namespace, "namespace");
    this.identity = requireNonNull(identity, "identity");
    this.leaseDuration = requireNonNull(leaseDuration, "leaseDuration");
    this.clock = requireNonNull(clock, "clock");
    long every = Math.max(200, leaseDuration.toMillis() / 3);
    renewer.scheduleWithFixedDelay(this::renewAll, every, every, TimeUnit.MILLISECONDS);
  }

  @Override
  public String identity() {
    return identity;
  }

  /** Returns the Lease name of lock {@code name}. */
  static String leaseName(String name) {
    String n = "portcullis." + name.toLowerCase(java.util.Locale.ROOT).replace('/', '.').replace(':', '.');
    if (n.length() <= 253 && n.matches("[a-z0-9]([-a-z0-9.]*[a-z0-9])?") && !n.contains("..")) {
      return n;
    }
    try {
      return "portcullis." + HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256")
          .digest(name.getBytes(StandardCharsets.UTF_8))).substring(0, 40);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  @Override
  public Attempt tryAcquire(String name) throws IOException {
    if (closed) {
      throw new IOException("issuance locks closed (shutting down)");
    }
    if (held.containsKey(name)) {
      return new IssuanceLocks.Held(identity, Map.of()); // this process holds it already
    }
    String leaseName = leaseName(name);
    try {
      var resource = client.leases().inNamespace(namespace).withName(leaseName);
      Lease lease = resource.get();
      ZonedDateTime now = ZonedDateTime.ofInstant(clock.instant(), ZoneOffset.UTC);
      if (lease == null) {
        Lease fresh = new LeaseBuilder().withMetadata(new ObjectMetaBuilder().withNamespace(namespace)
            .withName(leaseName).withAnnotations(Map.of(LOCK_ANNOTATION, name)).build())
            .withNewSpec().withHolderIdentity(identity).withLeaseDurationSeconds((int) leaseDuration.toSeconds())
            .withAcquireTime(now).withRenewTime(now).withLeaseTransitions(0)
            .endSpec().build();
        try {
          Lease created = client.resource(fresh).create();
          return acquired(name, created, Map.of());
        } catch (KubernetesClientException e) {
          if (e.getCode() != 409) {
            throw e;
          }
          Lease other = resource.get(); // another replica created it first
          return held(other);
        }
      }
      String holder = holder(lease);
      if (!holder.isEmpty() && !expired(lease) && !holder.equals(identity)) {
        return new IssuanceLocks.Held(holder, notes(lease));
      }
      Map<String, String> notes = notes(lease);
      int transitions = lease.getSpec() == null || lease.getSpec().getLeaseTransitions() == null ? 0
          : lease.getSpec().getLeaseTransitions();
      Lease next = new LeaseBuilder(lease).editSpec().withHolderIdentity(identity)
          .withLeaseDurationSeconds((int) leaseDuration.toSeconds()).withAcquireTime(now)
          .withRenewTime(now).withLeaseTransitions(holder.equals(identity) ? transitions
          : transitions + 1).endSpec().build();
      try {
        return acquired(name, client.resource(next).update(), notes); // with the read resourceVersion
      } catch (KubernetesClientException e) {
        if (e.getCode() != 409) {
          throw e;
        }
        Lease other = resource.get();
        return held(other);
      }
    } catch (KubernetesClientException e) {
      throw new IOException("Lease " + namespace + "/" + leaseName + ": " + e.getCode() + " " + e.getMessage(), e);
    }
  }

  /** Another replica won the race (a 409): who holds it now, as far as a read tells. */
  private static Attempt held(Lease other) {
    String h = other == null ? "" : holder(other);
    return new IssuanceLocks.Held(h.isEmpty() ? "another replica" : h, other == null ? Map.of() : notes(other));
  }

  private Attempt acquired(String name, Lease lease, Map<String, String> notes) {
    Held h = new Held(name, lease.getMetadata().getName(), clock.instant());
    held.put(name, h);
    return new Acquired(h, notes);
  }

  private boolean expired(Lease lease) {
    if (lease.getSpec() == null) {
      return true;
    }
    Instant renewed = instant(lease.getSpec().getRenewTime()).or(() -> instant(lease.getSpec().getAcquireTime()))
        .orElse(Instant.EPOCH);
    int seconds = lease.getSpec().getLeaseDurationSeconds() == null ? (int) leaseDuration.toSeconds()
        : lease.getSpec().getLeaseDurationSeconds();
    return renewed.plusSeconds(seconds).isBefore(clock.instant());
  }

  private static Optional<Instant> instant(ZonedDateTime t) {
    return Optional.ofNullable(t).map(ZonedDateTime::toInstant);
  }

  private static String holder(Lease lease) {
    return lease.getSpec() == null || lease.getSpec().getHolderIdentity() == null ? ""
        : lease.getSpec().getHolderIdentity();
  }

  private static Map<String, String> notes(Lease lease) {
    Map<String, String> out = new LinkedHashMap<>();
    Map<String, String> a = lease.getMetadata().getAnnotations();
    if (a != null) {
      a.forEach((k, v) -> {
        if (k.startsWith(NOTE_PREFIX)) {
          out.put(k.substring(NOTE_PREFIX.length()), v);
        }
      });
    }
    return out;
  }

  private static Map<String, String> withNotes(Lease lease, Map<String, String> notes) {
    Map<String, String> a = new LinkedHashMap<>(lease.getMetadata().getAnnotations() == null ? Map.of()
        : lease.getMetadata().getAnnotations());
    a.keySet().removeIf(k -> k.startsWith(NOTE_PREFIX));
    notes.forEach((k, v) -> a.put(NOTE_PREFIX + k, v));
    return a;
  }

  /**
   * Reads the Lease, checks this replica still holds it, applies {@code change} and updates it; a 409 reads again.
   *
   * @return false when the Lease is gone or another replica holds it
   */
  private boolean modify(Held h, UnaryOperator<Lease> change) throws IOException {
    KubernetesClientException last = null;
    for (int attempt = 0; attempt < ATTEMPTS; attempt++) {
      try {
        Lease lease = client.leases().inNamespace(namespace).withName(h.leaseName).get();
        if (lease == null || !identity.equals(holder(lease))) {
          return false;
        }
        client.resource(change.apply(lease)).update();
        return true;
      } catch (KubernetesClientException e) {
        if (e.getCode() != 409) {
          throw new IOException("Lease " + namespace + "/" + h.leaseName + ": " + e.getCode() + " " + e.getMessage(),
              e);
        }
        last = e;
      }
    }
    throw new IOException("Lease " + namespace + "/" + h.leaseName + ": still conflicting (409) after " + ATTEMPTS
        + " attempts", last);
  }

  private void renewAll() {
    for (Held h : held.values()) {
      if (!h.held) {
        continue;
      }
      Instant at = clock.instant();
      try {
        ZonedDateTime now = ZonedDateTime.ofInstant(at, ZoneOffset.UTC);
        if (modify(h, l -> new LeaseBuilder(l).editSpec().withRenewTime(now).endSpec().build())) {
          h.renewed = at; // the renewTime written, not when the answer came
        } else {
          lost(h, "another replica holds it now");
        }
      } catch (Throwable e) { // an Error too: the schedule must go on for the other locks
        // given up at 2/3 of the lease since the last renewTime written, before another replica may take it
        if (h.renewed.plus(leaseDuration.multipliedBy(2).dividedBy(3)).isBefore(clock.instant())) {
          lost(h, "not renewed for " + Duration.between(h.renewed, clock.instant()).toSeconds() + " s: "
              + e.getMessage());
        } else {
          log.warn("kubernetes: Lease {}/{}: renewal failed, retrying: {}", namespace, h.leaseName, e.getMessage());
        }
      }
    }
  }

  private void lost(Held h, String why) {
    h.held = false;
    held.remove(h.name, h);
    log.warn("kubernetes: issuance lock {} (Lease {}/{}) lost: {}", h.name, namespace, h.leaseName, why);
  }

  @Override
  public void close() {
    closed = true;
    renewer.shutdownNow();
    for (Held h : held.values()) {
      h.release(null);
    }
  }

  /** A Lease this replica holds. */
  private final class Held implements Lock {
    final String name;
    final String leaseName;
    volatile boolean held = true;
    volatile Instant renewed;

    Held(String name, String leaseName, Instant acquired) {
      this.name = name;
      this.leaseName = leaseName;
      this.renewed = acquired;
    }

    @Override
    public boolean held() {
      return held;
    }

    @Override
    public void note(Map<String, String> notes) throws IOException {
      if (!held || !modify(this, l -> new LeaseBuilder(l).editMetadata().withAnnotations(withNotes(l, notes))
          .endMetadata().build())) {
        throw new IOException("Lease " + namespace + "/" + leaseName + ": no longer held by " + identity);
      }
    }

    @Override
    public void release(Map<String, String> notes) {
      if (!held) {
        return;
      }
      held = false;
      LeaseLocks.this.held.remove(name, this);
      try {
        // client-go's ReleaseOnCancel: no holder, so the next replica takes it at once; the notes stay
        modify(this, l -> {
          LeaseBuilder b = new LeaseBuilder(l).editSpec().withHolderIdentity(null).endSpec();
          if (notes != null) {
            b.editMetadata().withAnnotations(withNotes(l, notes)).endMetadata();
          }
          return b.build();
        });
      } catch (IOException | RuntimeException e) {
        log.warn("kubernetes: issuance lock {} (Lease {}/{}): release failed; it expires in {} s: {}", name,
            namespace, leaseName, leaseDuration.toSeconds(), e.getMessage());
      }
    }
  }
}
