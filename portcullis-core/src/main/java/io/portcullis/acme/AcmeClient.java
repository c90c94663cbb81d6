package io.portcullis.acme;

import static java.util.Objects.requireNonNull;

import io.portcullis.certs.IssuerConfig;
import io.portcullis.dns.Dns01;
import io.portcullis.dns.DnsException;
import io.portcullis.dns.DnsProvider;
import io.portcullis.tls.Pem;
import java.net.URI;
import java.net.http.HttpClient;
import java.security.KeyPair;
import java.security.KeyStore;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.Set;
import java.util.function.Consumer;
import javax.crypto.spec.SecretKeySpec;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.TrustManager;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509ExtendedTrustManager;
import org.shredzone.acme4j.Account;
import org.shredzone.acme4j.AccountBuilder;
import org.shredzone.acme4j.Authorization;
import org.shredzone.acme4j.Login;
import org.shredzone.acme4j.Order;
import org.shredzone.acme4j.OrderBuilder;
import org.shredzone.acme4j.PollableResource;
import org.shredzone.acme4j.Problem;
import org.shredzone.acme4j.RenewalInfo;
import org.shredzone.acme4j.Session;
import org.shredzone.acme4j.Status;
import org.shredzone.acme4j.challenge.Challenge;
import org.shredzone.acme4j.challenge.Dns01Challenge;
import org.shredzone.acme4j.challenge.Http01Challenge;
import org.shredzone.acme4j.connector.NetworkSettings;
import org.shredzone.acme4j.connector.Resource;
import org.shredzone.acme4j.exception.AcmeException;
import org.shredzone.acme4j.exception.AcmeRateLimitedException;
import org.shredzone.acme4j.exception.AcmeServerException;
import org.shredzone.acme4j.provider.GenericAcmeProvider;

/**
 * Places ACME orders (RFC 8555) with acme4j for an {@code acme} Issuer: finds or registers the account (§7.3, with
 * external account binding, §7.3.4, when configured), orders all names at once (§7.4), answers each authorization's
 * HTTP-01 challenge (§8.3) through {@link Http01Challenges} or DNS-01 challenge (§8.4) through its solver's
 * {@link DnsProvider} (TXT records removed when the order ends, whatever its outcome), finalizes with the
 * Certificate's key and downloads the chain. Blocking: run it off the event loops. Thread-safe (no shared mutable
 * state beyond the challenge table).
 */
public final class AcmeClient {
  private final Http01Challenges challenges;
  private final Dns01 dns01;
  private final Duration timeout;
  /** DNS-01 clean-ups, in parallel, never on an event loop. */
  private final ExecutorService dnsExecutor = Executors.newCachedThreadPool(r -> {
    Thread t = new Thread(r, "portcullis-dns01-cleanup");
    t.setDaemon(true);
    return t;
  });

  /**
   * @param challenges where HTTP-01 key authorizations are presented for the data plane to answer
   * @param dns01 the DNS side of DNS-01 challenges (zone look-up, propagation checks)
   * @param timeout how long one order may take in all (authorizations, finalization), e.g. 2 minutes
   */
  public AcmeClient(Http01Challenges challenges, Dns01 dns01, Duration timeout) {
    this.challenges = requireNonNull(challenges, "challenges");
    this.dns01 = requireNonNull(dns01, "dns01");
    this.timeout = requireNonNull(timeout, "timeout");
  }

  /**
   * A DNS-01 solver for one name of an order.
   *
   * @param provider where its TXT record is written
   * @param followCnames {@code cnameStrategy: Follow}
   */
  public record DnsSolver(DnsProvider provider, boolean followCnames) {}

  /** How each name of an order is validated (cert-manager's solver selection, made by the caller). */
  @FunctionalInterface
  public interface Solvers {
    /**
     * Returns the DNS-01 solver of {@code dnsName} ({@code *.}-prefixed for a wildcard authorization), or empty for
     * HTTP-01.
     */
    Optional<DnsSolver> dns01For(String dnsName);

    /**
     * Returns the Certificate ({@code namespace/name}) the order is for: its HTTP-01 tokens are shared under it
     * ({@link Http01Challenges#present(String, String, String)}); empty when none is named.
     */
    default String owner() {
      return "";
    }

    /**
     * Told of each TXT record once written, before the CA is asked to look (so that a replica taking over after
     * this one died can remove it); called from the DNS-01 threads.
     *
     * @param dnsName the authorization's name ({@code *.}-prefixed for a wildcard)
     */
    default void txtRecordWritten(String dnsName, Dns01.TxtRecord record) {}
  }

  /**
   * A failed order: the CA's problem document verbatim (RFC 7807) when there is one.
   *
   * @param retryAfter the CA's {@code Retry-After}, when it sent one (rate limits, RFC 8555 §6.6)
   */
  public static final class OrderException extends Exception {
    private final transient Optional<Instant> retryAfter;

    OrderException(String message, Optional<Instant> retryAfter, Throwable cause) {
      super(message, cause);
      this.retryAfter = retryAfter;
    }

    /** Returns when the CA said to retry, if it did. */
    public Optional<Instant> retryAfter() {
      return retryAfter;
    }
  }

  /**
   * The CA's suggested renewal window for a certificate (ACME Renewal Information, RFC 9773 §4.2).
   *
   * @param start the start of the window
   * @param end the end of the window
   * @param nextCheck when to ask again (the CA's {@code Retry-After}, else 6 hours)
   */
  public record RenewalWindow(Instant start, Instant end, Instant nextCheck) {}

  /**
   * Asks the CA for {@code certificate}'s renewal window (RFC 9773), when its directory offers {@code renewalInfo}.
   *
   * @return empty when the directory has no {@code renewalInfo}
   * @throws OrderException when the CA cannot be reached or answers with an error
   */
  public Optional<RenewalWindow> renewalWindow(IssuerConfig.Acme issuer, KeyPair accountKey,
      X509Certificate certificate) throws OrderException {
    try {
      Session session = new Session(URI.create(issuer.server()), new Provider(issuer));
      if (session.resourceUrlOptional(Resource.RENEWAL_INFO).isEmpty()) {
        return Optional.empty();
      }
      // RenewalInfo is fetched with a plain GET (RFC 9773 §4.1): the login only carries the session.
      Login login = session.login(URI.create(issuer.server()).toURL(), accountKey);
      RenewalInfo info = login.bindRenewalInfo(certificate);
      Optional<Instant> retryAfter = info.fetch();
      Instant next = retryAfter.orElse(Instant.now().plus(Duration.ofHours(6)));
      return Optional.of(new RenewalWindow(info.getSuggestedWindowStart(), info.getSuggestedWindowEnd(), next));
    } catch (AcmeServerException e) {
      throw new OrderException("renewalInfo: " + problem(e.getProblem()), Optional.empty(), e);
    } catch (AcmeException | java.net.MalformedURLException | RuntimeException e) {
      throw new OrderException("renewalInfo: " + e.getMessage(), Optional.empty(), e);
    }
  }

  /**
   * Orders a certificate for {@code dnsNames} over {@code domainKey}.
   *
   * @param accountKey the issuer's account key ({@code privateKeySecretRef})
   * @param eabKey the external account binding MAC key (base64url, as the CA gives it), when the issuer has one
   * @param replaces the certificate this order renews: sent as {@code replaces} (RFC 9773 §5) when the CA offers
   *     renewal information; if the CA refuses the order with it, the order is placed again without it
   * @param solvers how each name is validated: DNS-01 through a provider, else HTTP-01
   * @param step told each step as it happens, with the elapsed ms (for the log and the Certificate's status);
   *     called from several threads
   * @return the chain, leaf first
   * @throws OrderException naming the step, with the CA's problem document, when the order fails
   * @throws InterruptedException when interrupted while polling
   */
  public List<X509Certificate> order(IssuerConfig.Acme issuer, KeyPair accountKey, Optional<byte[]> eabKey,
      List<String> dnsNames, KeyPair domainKey, Optional<X509Certificate> replaces, Solvers solvers,
      Consumer<String> step) throws OrderException, InterruptedException {
    long t0 = System.nanoTime();
    Consumer<String> log = s -> step.accept(s + " (" + (System.nanoTime() - t0) / 1_000_000 + " ms)");
    List<String> presented = new ArrayList<>();
    List<Dns01.TxtRecord> txtRecords = new ArrayList<>();
    DnsWork dnsWork = new DnsWork();
    String at = "account";
    try {
      Session session = new Session(URI.create(issuer.server()), new Provider(issuer));
      AccountBuilder ab = new AccountBuilder().agreeToTermsOfService().useKeyPair(accountKey);
      if (!issuer.email().isEmpty()) {
        ab.addEmail(issuer.email());
      }
      if (issuer.externalAccountBinding().isPresent() && eabKey.isPresent()) {
        IssuerConfig.ExternalAccountBinding eab = issuer.externalAccountBinding().get();
        String alg = "Hmac" + eab.keyAlgorithm().replace("HS", "SHA");
        ab.withKeyIdentifier(eab.keyId(), new SecretKeySpec(eabKey.get(), alg)).withMacAlgorithm(eab.keyAlgorithm());
      }
      Account account = ab.create(session);
      log.accept("account " + account.getLocation());
      at = "order";
      boolean ari = replaces.isPresent() && session.resourceUrlOptional(Resource.RENEWAL_INFO).isPresent();
      Order order;
      try {
        order = newOrder(account, issuer, dnsNames, ari ? replaces : Optional.empty());
      } catch (AcmeServerException e) {
        if (!ari) {
          throw e;
        }
        log.accept("order with replaces refused (" + problem(e.getProblem()) + "); ordering again without it");
        order = newOrder(account, issuer, dnsNames, Optional.empty());
      }
      log.accept("order " + order.getLocation() + " for " + dnsNames);
      // Every authorization is worked at once: HTTP-01 challenges are presented and triggered at once; each DNS-01
      // one on its own thread, triggered when its TXT record shows at every authoritative nameserver. Then all are
      // awaited: they validate in parallel at the CA.
      Map<Challenge, String> triggered = new LinkedHashMap<>();
      for (Authorization auth : order.getAuthorizations()) {
        String domain = auth.getIdentifier().getDomain();
        String name = auth.isWildcard() ? "*." + domain : domain;
        at = "authorization " + name;
        if (auth.getStatus() == Status.VALID) {
          log.accept("authorization " + name + " already valid");
          continue;
        }
        Optional<DnsSolver> dns = solvers.dns01For(name);
        if (dns.isPresent()) {
          Dns01Challenge ch = auth.findChallenge(Dns01Challenge.class).orElseThrow(() -> noChallenge(auth, name,
              Dns01Challenge.TYPE));
          dnsWork.start(() -> {
            try {
              Dns01.TxtRecord r = dns01.present(dns.get().provider(), domain, ch.getDigest(),
                  dns.get().followCnames());
              synchronized (txtRecords) {
                txtRecords.add(r);
              }
              solvers.txtRecordWritten(name, r);
              log.accept("challenge presented for " + name + " (dns-01 TXT " + r.fqdn() + " in zone " + r.zone()
                  + " through " + r.provider().describe() + ")");
              dns01.awaitPropagation(r, s -> log.accept(name + ": " + s));
              log.accept("TXT " + r.checkName() + " seen at every authoritative nameserver");
              synchronized (session) { // one request at a time on the session (its nonce)
                ch.trigger();
              }
            } catch (DnsException e) {
              throw new AcmeException("challenge " + name + " (dns-01): " + e.getMessage(), e);
            }
          });
          triggered.put(ch, name);
          continue;
        }
        Http01Challenge ch = auth.findChallenge(Http01Challenge.class).orElseThrow(() -> noChallenge(auth, name,
            Http01Challenge.TYPE));
        presented.add(ch.getToken());
        try {
          challenges.present(ch.getToken(), ch.getAuthorization(), solvers.owner()); // shared before the CA looks
        } catch (java.io.IOException e) {
          throw new AcmeException("challenge " + name + " (http-01): cannot share the key authorization with the "
              + "other replicas: " + e.getMessage(), e);
        }
        at = "challenge " + name;
        synchronized (session) {
          ch.trigger();
        }
        triggered.put(ch, name);
        log.accept("challenge presented for " + name + " (http-01 token " + ch.getToken() + ")");
      }
      at = "dns-01";
      dnsWork.await(timeout);
      for (Map.Entry<Challenge, String> e : triggered.entrySet()) {
        String name = e.getValue();
        Challenge ch = e.getKey();
        at = "challenge " + name;
        Status s = poll(ch, Set.of(Status.VALID, Status.INVALID));
        if (s != Status.VALID) {
          throw new OrderException("challenge " + name + " (" + ch.getType() + "): " + s + ": " + ch.getError()
              .map(AcmeClient::problem).orElse("no error document"), Optional.empty(), null);
        }
        log.accept("authorization " + name + " valid");
      }
      at = "finalize";
      Status ready = poll(order, Set.of(Status.READY, Status.VALID, Status.INVALID));
      if (ready != Status.READY) {
        throw new OrderException("order: " + ready + " (expected: ready): " + order.getError()
            .map(AcmeClient::problem).orElse("no error document"), Optional.empty(), null);
      }
      if (ready == Status.READY) {
        order.execute(domainKey);
      }
      Status done = poll(order, Set.of(Status.VALID, Status.INVALID));
      if (done != Status.VALID) {
        throw new OrderException("finalize: " + done + ": " + order.getError().map(AcmeClient::problem)
            .orElse("no error document"), Optional.empty(), null);
      }
      log.accept("finalized");
      at = "certificate";
      List<X509Certificate> chain = order.getCertificate().getCertificateChain();
      log.accept("certificate downloaded, serial " + chain.get(0).getSerialNumber().toString(16));
      return chain;
    } catch (AcmeRateLimitedException e) {
      throw new OrderException(at + ": rate limited: " + problem(e.getProblem()), e.getRetryAfter(), e);
    } catch (AcmeServerException e) {
      throw new OrderException(at + ": " + problem(e.getProblem()), Optional.empty(), e);
    } catch (AcmeException | RuntimeException e) {
      String cause = e.getCause() == null ? "" : " (" + e.getCause() + ")";
      throw new OrderException(at + ": " + e.getMessage() + cause, Optional.empty(), e);
    } finally {
      presented.forEach(challenges::remove);
      dnsWork.stop(); // no authorization may write a record after the clean-up has looked
      cleanUp(txtRecords, log);
    }
  }

  /** Removes every TXT record written for the order, whatever its outcome; a failure is logged, not thrown. */
  private void cleanUp(List<Dns01.TxtRecord> txtRecords, Consumer<String> log) {
    List<Dns01.TxtRecord> all;
    synchronized (txtRecords) {
      all = List.copyOf(txtRecords);
    }
    List<CompletableFuture<Void>> work = new ArrayList<>();
    for (Dns01.TxtRecord r : all) {
      work.add(CompletableFuture.runAsync(() -> {
        try {
          dns01.cleanUp(r);
          log.accept("TXT " + r.fqdn() + " removed");
        } catch (DnsException e) {
          log.accept("TXT " + r.fqdn() + " could not be removed: " + e.getMessage());
        }
      }, dnsExecutor));
    }
    work.forEach(f -> {
      try {
        f.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
      } catch (Exception e) {
        log.accept("TXT clean-up: " + e);
      }
    });
  }

  /** One DNS-01 authorization's work: present, wait for propagation, trigger. */
  @FunctionalInterface
  private interface DnsTask {
    void run() throws AcmeException, InterruptedException;
  }

  /**
   * The DNS-01 authorizations of one order, each on its own thread ({@code portcullis-dns01}). Threads rather than
   * an executor's futures: {@link #stop} must know that every one has ended, including one cancelled before it ran.
   */
  private static final class DnsWork {
    /** How long {@link #stop} waits for a thread in a provider call (15 s timeouts) to notice the interrupt. */
    private static final long JOIN_MS = 30_000;
    private final List<Thread> threads = new ArrayList<>();
    private final List<CompletableFuture<Void>> results = new ArrayList<>();
    private final CompletableFuture<Void> firstFailure = new CompletableFuture<>();

    void start(DnsTask task) {
      CompletableFuture<Void> result = new CompletableFuture<>();
      result.whenComplete((v, e) -> {
        if (e != null) {
          firstFailure.completeExceptionally(e);
        }
      });
      Thread t = new Thread(() -> {
        try {
          task.run();
          result.complete(null);
        } catch (Throwable e) {
          result.completeExceptionally(e);
        }
      }, "portcullis-dns01");
      t.setDaemon(true);
      threads.add(t);
      results.add(result);
      t.start();
    }

    /** Waits until every authorization is triggered; the first failure fails at once. */
    void await(Duration timeout) throws AcmeException, InterruptedException {
      try {
        CompletableFuture.anyOf(CompletableFuture.allOf(results.toArray(CompletableFuture[]::new)), firstFailure)
            .get(timeout.toMillis(), TimeUnit.MILLISECONDS);
      } catch (ExecutionException e) {
        Throwable c = e.getCause() instanceof CompletionException && e.getCause().getCause() != null
            ? e.getCause().getCause() : e.getCause();
        if (c instanceof AcmeException ae) {
          throw ae;
        }
        if (c instanceof InterruptedException ie) {
          throw ie;
        }
        throw new AcmeException(String.valueOf(c.getMessage()), c);
      } catch (TimeoutException e) {
        throw new AcmeException("DNS-01 challenges not ready after " + timeout.toSeconds() + " s");
      }
    }

    /** Interrupts the threads still working and waits until they have ended. */
    void stop() {
      threads.forEach(Thread::interrupt);
      long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(JOIN_MS);
      for (Thread t : threads) {
        try {
          t.join(Math.max(1, TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime())));
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          return;
        }
      }
    }
  }

  private static AcmeException noChallenge(Authorization auth, String name, String type) {
    return new AcmeException("the CA offers no " + type + " challenge for " + name + " (expected: " + type
        + " among " + auth.getChallenges().stream().map(c -> c.getType()).toList() + ")");
  }

  private static Order newOrder(Account account, IssuerConfig.Acme issuer, List<String> dnsNames,
      Optional<X509Certificate> replaces) throws AcmeException {
    OrderBuilder ob = account.newOrder().domains(dnsNames);
    if (!issuer.profile().isEmpty()) {
      ob.profile(issuer.profile());
    }
    replaces.ifPresent(ob::replaces);
    return ob.create();
  }

  /**
   * Polls {@code r} until its status is one of {@code done}: after 100 ms, then twice as long each time up to 3 s,
   * or when the CA's {@code Retry-After} says (RFC 8555 §7.5.1), within the order timeout.
   */
  private Status poll(PollableResource r, Set<Status> done) throws AcmeException, InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    long delayMs = 100;
    while (!done.contains(r.getStatus())) {
      if (System.nanoTime() > deadline) {
        throw new AcmeException("still " + r.getStatus() + " after " + timeout.toSeconds() + " s (expected: one of "
            + done + ")");
      }
      Thread.sleep(delayMs);
      Optional<Instant> retryAfter = r.fetch();
      delayMs = Math.min(delayMs * 2, 3_000);
      if (retryAfter.isPresent()) {
        delayMs = Math.max(0, Math.min(java.time.Duration.between(Instant.now(), retryAfter.get()).toMillis(),
            timeout.toMillis()));
      }
    }
    return r.getStatus();
  }

  /** The problem document as the CA sent it (RFC 7807 JSON). */
  static String problem(Problem p) {
    return p.asJSON().toString();
  }

  /** acme4j's generic provider with the issuer's trust: {@code caBundle}, or none at all with skipTLSVerify. */
  private static final class Provider extends GenericAcmeProvider {
    private final IssuerConfig.Acme issuer;

    Provider(IssuerConfig.Acme issuer) {
      this.issuer = issuer;
    }

    @Override
    public HttpClient createHttpClient(NetworkSettings settings) {
      HttpClient.Builder b = HttpClient.newBuilder().connectTimeout(settings.getTimeout())
          .followRedirects(HttpClient.Redirect.NORMAL);
      if (settings.getProxySelector() != null) {
        b.proxy(settings.getProxySelector());
      }
      try {
        if (issuer.skipTlsVerify()) {
          SSLContext ctx = SSLContext.getInstance("TLS");
          ctx.init(null, new TrustManager[] {new TrustAll()}, new SecureRandom());
          b.sslContext(ctx);
        } else if (issuer.caBundle().length > 0) {
          KeyStore ks = KeyStore.getInstance(KeyStore.getDefaultType());
          ks.load(null, null);
          int i = 0;
          for (X509Certificate c : Pem.certificates(issuer.caBundle())) {
            ks.setCertificateEntry("ca-" + i++, c);
          }
          TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
          tmf.init(ks);
          SSLContext ctx = SSLContext.getInstance("TLS");
          ctx.init(null, tmf.getTrustManagers(), new SecureRandom());
          b.sslContext(ctx);
        }
      } catch (Exception e) {
        throw new IllegalStateException(issuer.ref() + ": spec.acme.caBundle: " + e.getMessage()
            + " (expected: base64 of PEM CA certificates)", e);
      }
      return b.build();
    }
  }

  /** {@code skipTLSVerify: true}: the directory's certificate and host name are not checked. */
  private static final class TrustAll extends X509ExtendedTrustManager {
    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType, java.net.Socket s) { }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType, java.net.Socket s) { }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine e) { }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine e) { }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType) { }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType) { }

    @Override
    public X509Certificate[] getAcceptedIssuers() {
      return new X509Certificate[0];
    }
  }

  /** Decodes an EAB MAC key as CAs hand it out (base64url, padding optional). */
  public static byte[] decodeMacKey(byte[] secret) {
    String s = new String(secret, java.nio.charset.StandardCharsets.US_ASCII).trim();
    return Base64.getUrlDecoder().decode(s.replace('+', '-').replace('/', '_').replace("=", ""));
  }
}
