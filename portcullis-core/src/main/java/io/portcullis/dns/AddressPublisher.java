package io.portcullis.dns;

import static java.util.Objects.requireNonNull;

import io.portcullis.certs.IssuerConfig;
import java.net.InetAddress;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.BiFunction;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps A/AAAA records (external-dns's annotations on a Gateway, Vamp Lamia's A record): on each {@link #publish},
 * on its own thread, names no longer wanted are deleted and new or changed ones written through their provider's
 * {@link AddressRecords}; what fails is retried after 30 s. What was published is known to this process only: a
 * host removed while Portcullis was not running keeps its records.
 */
public final class AddressPublisher implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(AddressPublisher.class);
  private static final long TTL = 300;
  private static final long RETRY_SECONDS = 30;

  /**
   * A wanted record set.
   *
   * @param fqdn the host, without a trailing dot
   * @param addresses its addresses
   * @param provider the DNS-01 provider settings of the solver its issuer picks for it
   * @param secrets the data of the Secret keys {@code provider} names
   * @param origin what asked for it (for the log), e.g. {@code Gateway istio-system/web}
   */
  public record Wanted(String fqdn, List<InetAddress> addresses, IssuerConfig.DnsProviderConfig provider,
      Map<IssuerConfig.SecretRef, byte[]> secrets, String origin) {
    /** Names the Secret keys, never their data. */
    @Override
    public String toString() {
      return "Wanted[" + fqdn + " " + addresses + " through " + provider + ", secrets " + secrets.keySet() + ", "
          + origin + "]";
    }

    boolean sameRecords(Wanted o) {
      return o != null && fqdn.equals(o.fqdn) && addresses.equals(o.addresses) && provider.equals(o.provider);
    }
  }

  private final DnsLookup lookup;
  private final BiFunction<IssuerConfig.DnsProviderConfig, Map<IssuerConfig.SecretRef, byte[]>, DnsProvider>
      providers;
  private final ScheduledExecutorService executor = Executors.newSingleThreadScheduledExecutor(r -> {
    Thread t = new Thread(r, "portcullis-address-records");
    t.setDaemon(true);
    return t;
  });
  // Confined to the executor:
  private Map<String, Wanted> wanted = Map.of();
  private final Map<String, Wanted> published = new HashMap<>();
  private ScheduledFuture<?> retry;

  /**
   * @param lookup finds each name's zone (SOA walk)
   * @param providers makes a provider from its settings and Secrets ({@link DnsProviders#create})
   */
  public AddressPublisher(DnsLookup lookup, BiFunction<IssuerConfig.DnsProviderConfig,
      Map<IssuerConfig.SecretRef, byte[]>, DnsProvider> providers) {
    this.lookup = requireNonNull(lookup, "lookup");
    this.providers = requireNonNull(providers, "providers");
  }

  /** Sets what is wanted (by host name) and reconciles soon, on the publisher's thread. */
  public void publish(List<Wanted> records) {
    Map<String, Wanted> next = new LinkedHashMap<>();
    records.forEach(w -> next.putIfAbsent(w.fqdn(), w));
    executor.execute(() -> {
      wanted = next;
      reconcile();
    });
  }

  /** Returns the host names whose records are in place, as of now (blocks briefly for the publisher's thread). */
  public Map<String, List<InetAddress>> published() throws Exception {
    return executor.submit(() -> {
      Map<String, List<InetAddress>> out = new LinkedHashMap<>();
      published.forEach((k, v) -> out.put(k, v.addresses()));
      return out;
    }).get();
  }

  private void reconcile() {
    boolean failed = false;
    for (var it = published.entrySet().iterator(); it.hasNext(); ) {
      var e = it.next();
      if (wanted.containsKey(e.getKey())) {
        continue;
      }
      try (DnsProvider p = providers.apply(e.getValue().provider(), e.getValue().secrets())) {
        ((AddressRecords) p).deleteAddresses(lookup.findZone(e.getKey()), e.getKey() + ".");
        log.info("dns: A/AAAA records of {} removed (no longer wanted)", e.getKey());
        it.remove();
      } catch (Exception ex) {
        failed = true;
        log.warn("dns: A/AAAA records of {}: removal failed, retrying in {} s: {}", e.getKey(), RETRY_SECONDS,
            ex.getMessage());
      }
    }
    for (Wanted w : wanted.values()) {
      if (w.sameRecords(published.get(w.fqdn()))) {
        continue;
      }
      try (DnsProvider p = providers.apply(w.provider(), w.secrets())) {
        if (!(p instanceof AddressRecords records)) {
          log.error("dns: A/AAAA records of {} ({}): {} cannot write address records (expected: a solver with "
              + "rfc2136, powerdns or cloudflare)", w.fqdn(), w.origin(), p.describe());
          continue;
        }
        records.setAddresses(lookup.findZone(w.fqdn()), w.fqdn() + ".", w.addresses(), TTL);
        published.put(w.fqdn(), w);
        log.info("dns: A/AAAA records of {} set to {} through {} ({})", w.fqdn(), w.addresses(), p.describe(),
            w.origin());
      } catch (Exception ex) {
        failed = true;
        log.warn("dns: A/AAAA records of {} ({}): failed, retrying in {} s: {}", w.fqdn(), w.origin(),
            RETRY_SECONDS, ex.getMessage());
      }
    }
    if (retry != null) {
      retry.cancel(false);
      retry = null;
    }
    if (failed) {
      retry = executor.schedule(this::reconcile, RETRY_SECONDS, TimeUnit.SECONDS);
    }
  }

  @Override
  public void close() {
    executor.shutdownNow();
  }
}
