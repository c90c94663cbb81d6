package io.portcullis.certs;

import static java.util.Objects.requireNonNull;

import io.portcullis.acme.AcmeClient;
import io.portcullis.certs.CertificateManager.NotReady;
import io.portcullis.dns.DnsProvider;
import io.portcullis.dns.DnsProviders;
import io.portcullis.storage.IssuanceLocks;
import io.portcullis.storage.StoredSecret;
import io.portcullis.tls.Credential;
import io.portcullis.tls.Pem;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The certificate manager's ACME side: places an order for a Certificate on its own thread (account key, external
 * account binding, each name's DNS-01 provider or HTTP-01, the clean-up a replica that died mid-order left, the
 * order noted on its issuance lock), and asks the CA for renewal windows (RFC 9773). Called on the manager's
 * thread; the orders run on the {@code portcullis-acme-order} threads.
 */
final class AcmeOrders implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(AcmeOrders.class);

  /** The Secrets an issuer names, as the manager serves them (stored, else from the manifests). */
  interface Secrets {
    /** The data of Secret {@code key} ({@code namespace/name}). */
    Optional<Map<String, byte[]>> data(String key);

    /** Stores a Secret made here (an account key) and serves it. */
    void store(StoredSecret s) throws IOException;

    /** Serves a Secret another replica stored. */
    void adopt(StoredSecret s);
  }

  private final AcmeClient acme;
  private final SharedIssuance shared;
  private final Executor manager;
  private final Secrets secrets;
  /** ACME orders block for seconds: each runs on its own thread here, so that one never holds up another. */
  private final ExecutorService orders = Executors.newCachedThreadPool(r -> {
    Thread t = new Thread(r, "portcullis-acme-order");
    t.setDaemon(true);
    return t;
  });

  /** @param manager the certificate manager's thread */
  AcmeOrders(AcmeClient acme, SharedIssuance shared, Executor manager, Secrets secrets) {
    this.acme = requireNonNull(acme, "acme");
    this.shared = requireNonNull(shared, "shared");
    this.manager = requireNonNull(manager, "manager");
    this.secrets = requireNonNull(secrets, "secrets");
  }

  /**
   * Starts an ACME order for {@code c} over {@code keys} on its own thread, holding {@code turn}'s lock: sets
   * {@code st.inFlight}, {@code st.ordering} and {@code st.lock}, and notes the order in flight on the lock. Each
   * step updates {@code st.ordering} on the manager's thread and runs {@code onStep} there.
   *
   * @return completes with the chain, leaf first, or exceptionally with the order's failure
   *     ({@link AcmeClient.OrderException}), on an order thread
   * @throws NotReady when a Secret the issuer names is missing (nothing started)
   * @throws Exception when the account key cannot be read or stored (nothing started)
   */
  CompletableFuture<List<X509Certificate>> start(CertificateConfig c, IssuanceState st, IssuerConfig.Acme issuer,
      Renewal.Check check, String reason, SharedIssuance.Take turn, KeyPair keys, Runnable onStep)
      throws Exception {
    KeyPair account = accountKey(issuer);
    Optional<byte[]> eab = Optional.empty();
    if (issuer.externalAccountBinding().isPresent()) {
      IssuerConfig.ExternalAccountBinding b = issuer.externalAccountBinding().get();
      byte[] mac = secrets.data(b.keySecret()).map(d -> d.get(b.keySecretField())).orElseThrow(() -> new NotReady(
          "IssuerNotReady: " + issuer.ref() + ": Secret " + b.keySecret() + " has no key " + b.keySecretField()
          + " (expected: the external account binding MAC key)"));
      eab = Optional.of(AcmeClient.decodeMacKey(mac));
    }
    Optional<byte[]> eabKey = eab;
    Optional<X509Certificate> replaces = check.current().map(cur -> cur.credential().leaf());
    Map<IssuerConfig.Solver, DnsProvider> providers = new LinkedHashMap<>();
    Map<String, AcmeClient.DnsSolver> dnsSolvers = new HashMap<>();
    List<Runnable> orphans = new ArrayList<>();
    try {
      for (String name : c.dnsNames()) {
        Optional<IssuerConfig.Solver> solver = issuer.solverFor(name, c.labels());
        if (solver.isEmpty() || solver.get().dns01().isEmpty()) {
          continue;
        }
        IssuerConfig.Dns01 d = solver.get().dns01().get();
        DnsProvider p = providers.get(solver.get());
        if (p == null) {
          p = dnsProvider(issuer, d.provider());
          providers.put(solver.get(), p);
        }
        dnsSolvers.put(name, new AcmeClient.DnsSolver(p, d.followCnames()));
      }
      for (SharedIssuance.OrphanedTxt o : turn.orphanedTxt()) { // left by a replica that died mid-order
        Optional<IssuerConfig.Solver> solver = issuer.solverFor(o.dnsName(), c.labels());
        if (solver.isPresent() && solver.get().dns01().isPresent()) {
          DnsProvider p = providers.get(solver.get());
          if (p == null) {
            p = dnsProvider(issuer, solver.get().dns01().get().provider());
            providers.put(solver.get(), p);
          }
          DnsProvider provider = p;
          orphans.add(() -> {
            try {
              provider.cleanUp(o.zone(), o.fqdn(), o.value());
              log.info("certs: Certificate {}: TXT {} left by the previous holder removed", c.key(), o.fqdn());
            } catch (Exception e) {
              log.warn("certs: Certificate {}: TXT {} left by the previous holder: {}", c.key(), o.fqdn(),
                  e.getMessage());
            }
          });
        }
      }
    } catch (NotReady e) {
      providers.values().forEach(DnsProvider::close);
      throw e;
    }
    String base = "ordering from " + issuer.ref() + " (" + issuer.server() + ")";
    st.ordering = base;
    SharedIssuance.Journal journal = shared.ordering(turn.lock(), st);
    log.info("certs: Certificate {}: {} for {} ({}) on replica {}", c.key(), st.ordering, c.dnsNames(), reason,
        shared.identity());
    AcmeClient.Solvers solvers = new AcmeClient.Solvers() {
      @Override
      public Optional<AcmeClient.DnsSolver> dns01For(String name) {
        return Optional.ofNullable(dnsSolvers.get(name));
      }

      @Override
      public String owner() {
        return c.key();
      }

      @Override
      public void txtRecordWritten(String name, io.portcullis.dns.Dns01.TxtRecord r) {
        journal.txtRecord(name, r.zone(), r.fqdn(), r.value());
      }
    };
    CompletableFuture<List<X509Certificate>> order = new CompletableFuture<>();
    Runnable work = () -> {
      try {
        orphans.forEach(Runnable::run);
        order.complete(acme.order(issuer, account, eabKey, c.dnsNames(), keys, replaces, solvers, step -> {
              log.info("certs: Certificate {}: {}", c.key(), step);
              manager.execute(() -> {
                if (st.inFlight == order) {
                  st.ordering = base + ": " + step;
                  onStep.run();
                }
              });
            }));
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        order.completeExceptionally(e);
      } catch (Throwable e) { // OrderException, a RuntimeException, an Error: the order ends, and its lock is released
        order.completeExceptionally(e);
      } finally {
        providers.values().forEach(DnsProvider::close);
      }
    };
    orders.execute(work); // rejected while closing: thrown before anything is in flight
    st.lock = turn.lock();
    st.inFlight = order;
    return order;
  }

  /** The provider of a {@code dns01} solver, with the Secrets it names (stored or from the manifests). */
  DnsProvider dnsProvider(IssuerConfig.Acme issuer, IssuerConfig.DnsProviderConfig config)
      throws NotReady {
    Map<IssuerConfig.SecretRef, byte[]> data = providerSecrets(issuer.ref(), config);
    try {
      return DnsProviders.create(config, data);
    } catch (IllegalArgumentException e) {
      throw new NotReady("IssuerNotReady: " + issuer.ref() + ": dns01: " + e.getMessage());
    }
  }

  /** The data of every Secret key a DNS provider names, stored or from the manifests. */
  Map<IssuerConfig.SecretRef, byte[]> providerSecrets(IssuerConfig.IssuerRef issuer,
      IssuerConfig.DnsProviderConfig config) throws NotReady {
    Map<IssuerConfig.SecretRef, byte[]> data = new HashMap<>();
    for (IssuerConfig.SecretRef ref : config.secrets()) {
      Optional<Map<String, byte[]>> secret = secrets.data(ref.secret());
      if (secret.isEmpty() || secret.get().get(ref.key()) == null) {
        throw new NotReady("IssuerNotReady: " + issuer + ": dns01: " + (secret.isEmpty() ? "Secret "
            + ref.secret() + " does not exist" : ref + " is missing") + " (expected: the provider's credentials)");
      }
      data.put(ref, secret.get().get(ref.key()));
    }
    return data;
  }

  /**
   * The account key of {@code issuer} ({@code privateKeySecretRef}): stored, from the manifests, or made now. With
   * replicas, one makes it: under the lock {@code <namespace>/portcullis-account.<name>}, after reading the storage
   * again.
   *
   * @throws NotReady while another replica holds that lock
   */
  KeyPair accountKey(IssuerConfig.Acme issuer) throws Exception {
    Optional<Map<String, byte[]>> data = secrets.data(issuer.accountKeySecret());
    if (data.isPresent() && data.get().containsKey("tls.key")) {
      return accountKey(issuer, data.get());
    }
    String[] nn = issuer.accountKeySecret().split("/", 2); // a lock name is namespace/name, like a Certificate's
    IssuanceLocks.Attempt attempt = shared.locks().tryAcquire(nn[0] + "/portcullis-account." + nn[1]);
    if (attempt instanceof IssuanceLocks.Held h) {
      throw new NotReady("IssuerNotReady: " + issuer.ref() + ": replica " + h.holder() + " is creating the ACME "
          + "account key " + issuer.accountKeySecret());
    }
    IssuanceLocks.Lock lock = ((IssuanceLocks.Acquired) attempt).lock();
    try {
      Optional<StoredSecret> fresh = shared.storage().read(issuer.accountKeySecret());
      if (fresh.isPresent() && fresh.get().data().containsKey("tls.key")) {
        secrets.adopt(fresh.get());
        return accountKey(issuer, fresh.get().data());
      }
      return newAccountKey(issuer);
    } finally {
      lock.release(Map.of());
    }
  }

  private static KeyPair accountKey(IssuerConfig.Acme issuer, Map<String, byte[]> data) throws Exception {
    java.security.PrivateKey key = Pem.privateKey(data.get("tls.key"));
    return new KeyPair(Credential.publicKeyOf(key).orElseThrow(() -> new GeneralSecurityException("Secret "
        + issuer.accountKeySecret() + ": tls.key: an ACME account key must be RSA or EC")), key);
  }

  private KeyPair newAccountKey(IssuerConfig.Acme issuer) throws Exception {
    KeyPair kp = Keys.generate(new CertificateConfig.KeySpec("ECDSA", 256, "Never"));
    String[] nn = issuer.accountKeySecret().split("/", 2);
    StoredSecret s = new StoredSecret(nn[0], nn[1], "Opaque", Map.of("portcullis.io/acme-server", issuer.server()),
        Map.of("tls.key", Pem.encode(kp.getPrivate()).getBytes(StandardCharsets.US_ASCII)));
    secrets.store(s);
    log.info("certs: {}: new ACME account key stored as Secret {}", issuer.ref(), s.key());
    return kp;
  }

  /**
   * Asks the CA for {@code leaf}'s renewal window (RFC 9773) on an order thread.
   *
   * @return completes with the window (empty when the CA offers none), or exceptionally
   * @throws Exception when the account key cannot be had (nothing asked)
   */
  CompletableFuture<Optional<AcmeClient.RenewalWindow>> renewalWindow(IssuerConfig.Acme issuer, X509Certificate leaf)
      throws Exception {
    KeyPair account = accountKey(issuer);
    return CompletableFuture.supplyAsync(() -> {
      try {
        return acme.renewalWindow(issuer, account, leaf);
      } catch (AcmeClient.OrderException e) {
        throw new java.util.concurrent.CompletionException(e);
      }
    }, orders);
  }

  @Override
  public void close() {
    orders.shutdownNow();
  }
}
