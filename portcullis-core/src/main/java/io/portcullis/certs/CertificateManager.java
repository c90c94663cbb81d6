package io.portcullis.certs;

import static java.util.Objects.requireNonNull;

import io.portcullis.acme.AcmeClient;
import io.portcullis.config.GatewayConfig.SecretData;
import io.portcullis.dns.AddressPublisher;
import io.portcullis.storage.IssuanceLocks;
import io.portcullis.storage.ReplicaIdentity;
import io.portcullis.storage.SharedChallenges;
import io.portcullis.storage.Storage;
import io.portcullis.storage.StoredSecret;
import java.io.IOException;
import java.security.KeyPair;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The certificate manager: keeps every desired Certificate issued and fresh, and its Secret in {@link Storage}.
 *
 * <p>A reconcile loop on its own thread (never an event loop): on every {@link #update}, on {@link #renew}, at the
 * earliest renewal time and when a back-off ends, it compares each Certificate with its stored Secret
 * ({@link Renewal#check}), issues what is due, stores the result atomically and tells the gateway
 * ({@code onSecretsChanged}) so that the next handshake serves it. A stored certificate keeps serving until its
 * replacement is stored. Failed issuances back off exponentially ({@code backoffBase} × 2^(attempts − 1), at most
 * 32 h, as cert-manager), unless the Certificate's spec changes or a renewal is forced.
 */
public final class CertificateManager implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(CertificateManager.class);
  private static final Duration MAX_BACKOFF = Duration.ofHours(32);

  private final Storage storage;
  private final Clock clock;
  private final Duration backoffBase;
  private final Runnable onSecretsChanged;
  private final AcmeClient acme;
  private final GatewayAddressRecords addresses; // null without a publisher
  private final SharedIssuance shared;
  private final ScheduledExecutorService executor;
  private final AcmeOrders acmeOrders;
  /** Written only on the executor; read by the gateway to merge into what it serves. */
  private final ServedSecrets stored;
  private volatile List<CertificateStatus> statuses = List.of();
  private volatile boolean reconciled;
  // Confined to the executor:
  private CertManagerConfig desired = CertManagerConfig.empty();
  private Map<String, SecretData> manifestSecrets = Map.of();
  private final Map<String, IssuanceState> states = new HashMap<>();
  private final Map<String, Renewal.Parsed> parsed = new HashMap<>(); // by Secret key, for the Secret now stored
  private ScheduledFuture<?> wakeup;

  /**
   * Loads the stored Secrets (blocking: call it at start-up, not on an event loop) and starts the manager's thread.
   * Stored entries that cannot be read are logged and re-issued when a Certificate needs them. This process alone
   * issues ({@link IssuanceLocks#local}).
   *
   * @param backoffBase the first retry delay after a failed issuance
   * @param acme places the orders of {@code acme} issuers
   * @param onSecretsChanged called after a Secret was stored: on the manager's thread, or on a serving thread of
   *     its own when other replicas stored some (once for a burst)
   */
  public CertificateManager(Storage storage, Clock clock, Duration backoffBase, AcmeClient acme,
      Runnable onSecretsChanged) {
    this(new Shared(storage, IssuanceLocks.local(ReplicaIdentity.current()), Optional.empty()), clock, backoffBase,
        acme, null, onSecretsChanged);
  }

  /**
   * What replicas share: the storage, the per-Certificate issuance locks and (for HTTP-01 across replicas) the
   * challenges table; a single process has a storage and {@link IssuanceLocks#local}.
   */
  public record Shared(Storage storage, IssuanceLocks locks, Optional<SharedChallenges> challenges) {
    /** Checks for nulls. */
    public Shared {
      requireNonNull(storage, "storage");
      requireNonNull(locks, "locks");
      requireNonNull(challenges, "challenges");
    }
  }

  /**
   * As {@link #CertificateManager(Storage, Clock, Duration, AcmeClient, Runnable)}, with {@code shared} storage and
   * locks (each Certificate issued by one replica at a time; a Secret another replica stores is served at once), and
   * keeping the A/AAAA records of {@link CertManagerConfig#addressRecords()} through {@code addresses} (null: none).
   */
  public CertificateManager(Shared shared, Clock clock, Duration backoffBase, AcmeClient acme,
      AddressPublisher addresses, Runnable onSecretsChanged) {
    this.addresses = addresses == null ? null : new GatewayAddressRecords(addresses);
    this.storage = requireNonNull(shared, "shared").storage();
    this.shared = new SharedIssuance(shared.locks(), storage, shared.challenges());
    this.clock = requireNonNull(clock, "clock");
    this.backoffBase = requireNonNull(backoffBase, "backoffBase");
    this.onSecretsChanged = requireNonNull(onSecretsChanged, "onSecretsChanged");
    this.acme = requireNonNull(acme, "acme");
    Storage.Loaded loaded = storage.load();
    loaded.problems().forEach(p -> log.error("certs: {}", p));
    this.stored = new ServedSecrets(loaded.secrets(), onSecretsChanged);
    if (!loaded.secrets().isEmpty()) {
      log.info("certs: {} stored Secrets loaded", loaded.secrets().size());
    }
    this.executor = Executors.newSingleThreadScheduledExecutor(r -> {
      Thread t = new Thread(r, "portcullis-certs");
      t.setDaemon(true);
      return t;
    });
    this.acmeOrders = new AcmeOrders(acme, this.shared, executor, new AcmeOrders.Secrets() {
      @Override
      public Optional<Map<String, byte[]>> data(String key) {
        return secretData(key);
      }

      @Override
      public void store(StoredSecret s) throws IOException {
        storage.put(s);
        stored.put(s, false);
      }

      @Override
      public void adopt(StoredSecret s) {
        CertificateManager.this.adopt(s);
      }
    });
    storage.subscribe(new Storage.Listener() {
      @Override
      public void stored(StoredSecret secret) {
        // served at once, on the storage's thread: the manager's may be busy storing its own orders' results
        if (stored.put(secret, true)) {
          stored.serveSoon();
          try {
            executor.execute(() -> {
              adopted(secret);
              reconcile();
            });
          } catch (java.util.concurrent.RejectedExecutionException closed) {
            // closing
          }
        }
      }

      @Override
      public void deleted(String key) {
        if (stored.remove(key)) { // at once, in order with stored(): a delete then a re-create keeps the new one
          log.info("certs: Secret {} was deleted from the storage; issuing it again if a Certificate needs it", key);
          stored.serveSoon();
          try {
            executor.execute(CertificateManager.this::reconcile);
          } catch (java.util.concurrent.RejectedExecutionException closed) {
            // closing
          }
        }
      }
    });
  }

  /**
   * Serves {@code s}, stored by another replica, unless this replica's copy is the same or newer; on the manager's
   * thread.
   *
   * @return whether it was taken
   */
  private boolean adopt(StoredSecret s) {
    if (!stored.put(s, true)) {
      return false;
    }
    adopted(s);
    return true;
  }

  /** A Certificate whose Secret another replica stored stops waiting and forgets its failures; manager's thread. */
  private void adopted(StoredSecret s) {
    for (CertificateConfig c : desired.certificates().values()) {
      IssuanceState st = states.get(c.key());
      if (st != null && c.secretKey().equals(s.key()) && st.inFlight == null && stored.get(s.key()) == s) {
        st.recheck = null;
        st.waiting = null;
        st.failures = 0;
        st.backoffUntil = null;
        st.failureMessage = null;
        log.info("certs: Certificate {}: Secret {} revision {} stored by another replica; serving it", c.key(),
            s.key(), IssuedSecret.revision(s));
      }
    }
  }

  /** Returns every stored Secret by {@code namespace/name} (issued certificates, account keys). */
  public Map<String, StoredSecret> storedSecrets() {
    return stored.all();
  }

  /**
   * Returns whether the first configuration has been reconciled: what the SelfSigned and CA issuers sign is stored
   * and served by then (ACME orders may still be in flight).
   */
  public boolean reconciled() {
    return reconciled;
  }

  /** Returns the status of every desired Certificate, as of the last reconcile. */
  public List<CertificateStatus> statuses() {
    return statuses;
  }

  /**
   * Sets what to manage and reconciles soon, on the manager's thread.
   *
   * @param manifestSecrets Secrets from the manifests by {@code namespace/name} (a CA issuer's Secret may be one)
   */
  public void update(CertManagerConfig config, Map<String, SecretData> manifestSecrets) {
    requireNonNull(config, "config");
    Map<String, SecretData> secrets = Map.copyOf(manifestSecrets);
    executor.execute(() -> {
      desired = config;
      this.manifestSecrets = secrets;
      reconcile();
    });
  }

  /**
   * Forces a new issuance of Certificate {@code namespace/name} now (like {@code cmctl renew}).
   *
   * @return completes with a sentence saying what happened, or exceptionally with {@link IllegalArgumentException}
   *     when no such Certificate is managed
   */
  public CompletableFuture<String> renew(String namespace, String name) {
    CompletableFuture<String> done = new CompletableFuture<>();
    executor.execute(() -> {
      String key = namespace + "/" + name;
      CertificateConfig c = desired.certificates().get(key);
      if (c == null) {
        done.completeExceptionally(new IllegalArgumentException("no Certificate " + key + " (expected one of "
            + desired.certificates().keySet() + ")"));
        return;
      }
      IssuanceState st = state(c);
      int before = revision(c);
      st.manual = true;
      reconcile();
      if (revision(c) > before) {
        done.complete("Certificate " + key + ": renewed (revision " + revision(c) + ")");
      } else if (st.inFlight != null) {
        done.complete("Certificate " + key + ": renewal requested; " + st.ordering);
      } else if (st.failureMessage != null) {
        done.complete("Certificate " + key + ": renewal failed (next attempt at " + st.backoffUntil + "): "
            + st.failureMessage);
      } else {
        done.complete("Certificate " + key + ": renewal requested; " + (st.waiting != null ? st.waiting : "pending"));
      }
    });
    return done;
  }

  /** Completes once everything submitted to the manager's thread before it has run (tests use it to wait). */
  public CompletableFuture<Void> sync() {
    return CompletableFuture.runAsync(() -> { }, executor);
  }

  private IssuanceState state(CertificateConfig c) {
    IssuanceState st = states.computeIfAbsent(c.key(), k -> new IssuanceState());
    if (!c.sameSpec(st.config)) { // a changed spec is tried at once, as cert-manager does
      st.config = c;
      st.failures = 0;
      st.backoffUntil = null;
      st.failureMessage = null;
    }
    return st;
  }

  // ---- the loop ----

  private void reconcile() {
    try {
      reconcileOnce();
    } catch (RuntimeException e) {
      log.error("certs: reconcile failed; retrying in 30 s", e);
      schedule(clock.instant().plusSeconds(30));
    }
  }

  private void reconcileOnce() {
    states.keySet().retainAll(desired.certificates().keySet());
    boolean changed = false;
    // A CA issuer's Secret may be issued in this same pass (the bootstrap pattern): go again while something is new.
    for (int pass = 0; pass <= desired.certificates().size(); pass++) {
      boolean progress = false;
      for (CertificateConfig c : desired.certificates().values()) {
        progress |= reconcile(c, clock.instant());
      }
      changed |= progress;
      if (!progress) {
        break;
      }
    }
    publishStatuses();
    if (changed) {
      onSecretsChanged.run();
    }
    if (addresses != null) {
      addresses.publish(desired, acmeOrders::providerSecrets);
    }
    reconciled = true;
    Instant next = null;
    for (CertificateStatus s : statuses) {
      IssuanceState st = states.get(s.namespace() + "/" + s.name());
      Instant t = st != null && st.backoffUntil != null ? st.backoffUntil : s.renewalTime().orElse(null);
      if (t != null && (next == null || t.isBefore(next))) {
        next = t;
      }
      if (st != null && st.renewalInfoCheck != null && (next == null || st.renewalInfoCheck.isBefore(next))) {
        next = st.renewalInfoCheck;
      }
      if (st != null && st.recheck != null && (next == null || st.recheck.isBefore(next))) {
        next = st.recheck;
      }
    }
    if (next != null) {
      schedule(next);
    }
  }

  /** Returns whether a Secret was stored. */
  private boolean reconcile(CertificateConfig c, Instant now) {
    IssuanceState st = state(c);
    if (st.inFlight != null) {
      return false; // one order at a time per Certificate
    }
    Renewal.Check check = check(c, st, now);
    if (st.recheck == null || !now.isBefore(st.recheck) || st.manual) {
      st.waiting = null; // while another replica's lock is waited for, the status keeps saying so
    }
    if (!check.due() && !st.manual) {
      st.waiting = null;
      IssuerConfig issuer = desired.issuers().get(c.issuer().key());
      if (issuer instanceof IssuerConfig.Acme a && check.current().isPresent() && !st.renewalInfoFetching
          && (st.renewalInfoCheck == null || !now.isBefore(st.renewalInfoCheck))) {
        fetchRenewalInfo(c, st, a, check.current().get().credential().leaf());
      }
      return false;
    }
    if (!st.manual && st.backoffUntil != null && now.isBefore(st.backoffUntil)) {
      return false;
    }
    IssuerConfig issuer = desired.issuers().get(c.issuer().key());
    if (issuer == null) {
      st.waiting = "IssuerNotFound: " + c.issuer() + " does not exist or is invalid";
      return false;
    }
    if (!st.manual && st.recheck != null && now.isBefore(st.recheck)) {
      return false; // another replica holds its lock: looked at again at st.recheck, or when its Secret comes
    }
    SharedIssuance.Take turn;
    try {
      SharedIssuance.Turn t = shared.take(c, st, Optional.ofNullable(stored.get(c.secretKey())), now, st.manual);
      st.recheck = null;
      if (t instanceof SharedIssuance.Fresh f) {
        return adopt(f.secret());
      } else if (t instanceof SharedIssuance.Wait w) {
        st.waiting = w.why();
        st.recheck = w.recheck();
        return false;
      }
      turn = (SharedIssuance.Take) t;
    } catch (IOException e) {
      st.waiting = "IssuanceLockUnavailable: " + e.getMessage();
      st.recheck = now.plus(SharedIssuance.RECHECK);
      return false;
    }
    String reason = check.due() ? check.reason().get() : "ManuallyTriggered";
    long t0 = System.nanoTime();
    try {
      if (issuer instanceof IssuerConfig.Acme a) {
        KeyPair keys = IssuedSecret.domainKey(c, check);
        acmeOrders.start(c, st, a, check, reason, turn, keys, this::publishStatuses).whenComplete((chain, err) ->
            executor.execute(() -> orderDone(c, keys, chain, err, reason, t0, turn.lock())));
        return false;
      }
      StoredSecret out = IssuedSecret.signLocally(c, issuer, check, now, issuer instanceof IssuerConfig.Ca ca
          ? secretData(ca.secretKey()) : Optional.empty(), revision(c) + 1);
      store(c, st, out, reason, t0);
      return true;
    } catch (NotReady e) {
      st.waiting = e.getMessage();
      return false;
    } catch (Exception e) {
      failed(c, st, e.getMessage() == null ? e.toString() : e.getMessage(), Optional.empty(), now);
      return false;
    } finally {
      if (st.inFlight == null) {
        shared.release(turn.lock(), st); // signed here, failed or not ready; an order releases it when done
      }
    }
  }

  /** The decision for {@code c}, with the CA's suggested renewal time when it is for the stored certificate. */
  private Renewal.Check check(CertificateConfig c, IssuanceState st, Instant now) {
    Optional<Renewal.Parsed> p = parsed(c.secretKey());
    boolean suggestionApplies = st.suggestedRenewal != null && p.flatMap(Renewal.Parsed::credential)
        .map(cred -> cred.serialHex().equals(st.suggestedFor)).orElse(false);
    return Renewal.check(c, p, now, suggestionApplies ? Optional.of(st.suggestedRenewal) : Optional.empty());
  }

  /** The stored Secret {@code key}, parsed once per stored version. */
  private Optional<Renewal.Parsed> parsed(String key) {
    StoredSecret s = stored.get(key);
    if (s == null) {
      parsed.remove(key);
      return Optional.empty();
    }
    Renewal.Parsed p = parsed.get(key);
    if (p == null || p.secret() != s) {
      p = Renewal.parse(s);
      parsed.put(key, p);
    }
    return Optional.of(p);
  }

  /**
   * Asks the CA for the certificate's renewal window (RFC 9773) on the order threads; a time in the window, fixed
   * per certificate, becomes its renewal time when earlier than the spec's.
   */
  private void fetchRenewalInfo(CertificateConfig c, IssuanceState st, IssuerConfig.Acme issuer, X509Certificate leaf) {
    CompletableFuture<Optional<AcmeClient.RenewalWindow>> fetch;
    try {
      fetch = acmeOrders.renewalWindow(issuer, leaf);
    } catch (Exception e) {
      st.renewalInfoCheck = clock.instant().plus(Duration.ofHours(1));
      return;
    }
    st.renewalInfoFetching = true;
    fetch.whenComplete((window, err) -> executor.execute(() -> {
      st.renewalInfoFetching = false;
      Instant now = clock.instant();
      if (err != null) {
        log.info("certs: Certificate {}: renewal information not available: {}", c.key(),
            err.getCause() != null ? err.getCause().getMessage() : err.toString());
        st.renewalInfoCheck = now.plus(Duration.ofHours(1));
      } else if (window.isEmpty()) {
        st.renewalInfoCheck = now.plus(Duration.ofHours(24)); // the directory offers none; look again tomorrow
      } else {
        AcmeClient.RenewalWindow w = window.get();
        long span = Math.max(0, Duration.between(w.start(), w.end()).toMillis());
        long offset = span == 0 ? 0 : Math.floorMod(leaf.getSerialNumber().longValue(), span);
        st.suggestedRenewal = w.start().plusMillis(offset);
        st.suggestedFor = leaf.getSerialNumber().toString(16);
        st.renewalInfoCheck = w.nextCheck();
        log.info("certs: Certificate {}: the CA suggests renewing between {} and {}; renewal at {}", c.key(),
            w.start(), w.end(), st.suggestedRenewal);
      }
      reconcile();
    }));
  }

  private void store(CertificateConfig c, IssuanceState st, StoredSecret out, String reason, long t0) throws IOException {
    storage.put(out);
    stored.put(out, false);
    st.failures = 0;
    st.backoffUntil = null;
    st.failureMessage = null;
    st.manual = false;
    log.info("certs: Certificate {}: issued by {} ({}) and stored as Secret {}, revision {}, in {} ms", c.key(),
        c.issuer(), reason, out.key(), out.annotations().get(IssuedSecret.REVISION), (System.nanoTime() - t0) / 1_000_000);
  }

  private void failed(CertificateConfig c, IssuanceState st, String message, Optional<Instant> retryAfter, Instant now) {
    st.failures++;
    st.lastFailure = now;
    Duration delay = backoffBase.multipliedBy(1L << Math.min(st.failures - 1, 30));
    Instant until = now.plus(delay.compareTo(MAX_BACKOFF) > 0 ? MAX_BACKOFF : delay);
    if (retryAfter.isPresent() && retryAfter.get().isAfter(until)) {
      until = retryAfter.get(); // the CA's Retry-After wins when it is later
    }
    st.backoffUntil = until;
    st.failureMessage = message;
    st.manual = false;
    log.warn("certs: Certificate {}: issuance failed (attempt {}), next attempt at {}: {}", c.key(), st.failures,
        st.backoffUntil, message);
  }

  /** An order ended: stores its certificate, or records its failure; releases {@code lock} either way. */
  private void orderDone(CertificateConfig c, KeyPair keys, List<X509Certificate> chain, Throwable err, String reason,
      long t0, IssuanceLocks.Lock lock) {
    IssuanceState st = states.get(c.key());
    if (st == null || st.lock != lock) {
      lock.release(Map.of()); // the Certificate was removed meanwhile (and maybe made again): nothing to note
      return;
    }
    st.inFlight = null;
    st.ordering = null;
    st.lock = null;
    Instant now = clock.instant();
    boolean storedOne = false;
    if (!c.sameSpec(st.config)) {
      log.info("certs: Certificate {}: its spec changed while ordering; the result is dropped", c.key());
    } else if (err == null) {
      try {
        if (!lock.held()) { // renewals failed long enough that another replica may have taken over: look first
          Optional<StoredSecret> fresh = storage.read(c.secretKey());
          if (fresh.isPresent() && IssuedSecret.revision(fresh.get()) > revision(c)) {
            log.warn("certs: Certificate {}: its issuance lock was lost while ordering and another replica stored "
                + "revision {}; this order's certificate is dropped", c.key(), IssuedSecret.revision(fresh.get()));
            stored.put(fresh.get(), true);
            onSecretsChanged.run();
            reconcile();
            return;
          }
        }
        store(c, st, IssuedSecret.of(c, chain, keys, Optional.empty(), revision(c) + 1), reason, t0);
        storedOne = true;
      } catch (IOException e) {
        failed(c, st, "cannot store Secret " + c.secretKey() + ": " + e.getMessage(), Optional.empty(), now);
      }
    } else {
      Throwable cause = err instanceof java.util.concurrent.CompletionException && err.getCause() != null
          ? err.getCause() : err;
      failed(c, st, cause.getMessage() == null ? cause.toString() : cause.getMessage(),
          cause instanceof AcmeClient.OrderException oe ? oe.retryAfter() : Optional.empty(), now);
    }
    shared.release(lock, st); // with the failure, if any, for every replica to back off from
    if (storedOne) {
      onSecretsChanged.run();
    }
    reconcile(); // statuses, the next wake-up, and anything waiting for this Secret (a CA issuer)
  }

  private Optional<Map<String, byte[]>> secretData(String key) {
    StoredSecret s = stored.get(key);
    if (s != null) {
      return Optional.of(s.data());
    }
    return Optional.ofNullable(manifestSecrets.get(key)).map(SecretData::data);
  }

  /** An issuer that cannot sign yet (its CA Secret missing, say): waits without back-off for the next change. */
  static final class NotReady extends Exception {
    NotReady(String message) {
      super(message);
    }
  }

  private int revision(CertificateConfig c) {
    return IssuedSecret.revision(stored.get(c.secretKey()));
  }

  private void schedule(Instant at) {
    if (wakeup != null) {
      wakeup.cancel(false);
    }
    long delayMs = Math.max(0, Duration.between(clock.instant(), at).toMillis()) + 10;
    wakeup = executor.schedule(() -> reconcile(), Math.min(delayMs, TimeUnit.DAYS.toMillis(1)), TimeUnit.MILLISECONDS);
  }

  // ---- status ----

  private void publishStatuses() {
    Instant now = clock.instant();
    List<CertificateStatus> out = new ArrayList<>();
    for (CertificateConfig c : desired.certificates().values()) {
      IssuanceState st = state(c);
      out.add(st.status(c, check(c, st, now), revision(c), now));
    }
    statuses = List.copyOf(out);
  }

  @Override
  public void close() {
    acmeOrders.close();
    stored.close();
    executor.shutdownNow();
    try {
      executor.awaitTermination(5, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
