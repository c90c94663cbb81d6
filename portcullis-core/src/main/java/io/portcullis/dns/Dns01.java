package io.portcullis.dns;

import static java.util.Objects.requireNonNull;

import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Consumer;

/**
 * The DNS side of one DNS-01 challenge (RFC 8555 §8.4): where the TXT record goes ({@code _acme-challenge.<name>},
 * or the end of its CNAME chain with {@code cnameStrategy: Follow}), which zone holds it (SOA walk, never guessed),
 * writing it through the {@link DnsProvider}, waiting until every authoritative nameserver of the zone answers it
 * (polled, no fixed sleep, bounded by the propagation timeout), and removing it. Blocking; thread-safe.
 */
public final class Dns01 {
  private final DnsLookup lookup;
  private final Duration propagationTimeout;

  /**
   * @param lookup SOA/NS/CNAME look-ups and direct TXT queries
   * @param propagationTimeout how long a presented record may take to show at every authoritative nameserver before
   *     the challenge fails, e.g. 2 minutes
   */
  public Dns01(DnsLookup lookup, Duration propagationTimeout) {
    this.lookup = requireNonNull(lookup, "lookup");
    this.propagationTimeout = requireNonNull(propagationTimeout, "propagationTimeout");
  }

  /**
   * A TXT record written for a challenge.
   *
   * @param provider where it was written
   * @param zone the zone apex it was written in, absolute
   * @param fqdn its name, absolute
   * @param value its value
   * @param checkName where propagation is checked: the end of the CNAME chain at {@code _acme-challenge.<name>}
   *     (the CA follows CNAMEs too)
   */
  public record TxtRecord(DnsProvider provider, String zone, String fqdn, String value, String checkName) {}

  /**
   * Writes {@code value} at {@code _acme-challenge.<domain>} (or where its CNAME chain ends, with
   * {@code followCnames}).
   *
   * @param domain the authorization's identifier, without {@code *.} (RFC 8555 §7.1.4)
   * @throws DnsException when the zone cannot be found or the provider refuses
   */
  public TxtRecord present(DnsProvider provider, String domain, String value, boolean followCnames)
      throws DnsException {
    String name = "_acme-challenge." + (domain.endsWith(".") ? domain : domain + ".");
    String target = lookup.followCnames(name);
    String fqdn = followCnames ? target : name;
    String zone = lookup.findZone(fqdn);
    provider.present(zone, fqdn, value);
    return new TxtRecord(provider, zone, fqdn, value, target);
  }

  /**
   * Waits until every authoritative nameserver of the record's zone answers its value: asks each directly, after
   * 50 ms, then 1.5 times as long each round up to 2 s; a server that has answered is not asked again.
   *
   * @param step told what is still missing each time that changes (for the Certificate's status)
   * @throws DnsException when the propagation timeout passes first, naming the servers that never answered and
   *     what they last said
   */
  public void awaitPropagation(TxtRecord r, Consumer<String> step) throws DnsException, InterruptedException {
    long deadline = System.nanoTime() + propagationTimeout.toNanos();
    long delayMs = 50;
    List<InetSocketAddress> servers = null;
    Map<InetSocketAddress, String> missing = new LinkedHashMap<>();
    String lastProblem = "";
    String lastStep = "";
    while (true) {
      try {
        if (servers == null) {
          String checkZone = r.checkName().equals(r.fqdn()) ? r.zone() : lookup.findZone(r.checkName());
          servers = lookup.checkServers(checkZone);
          servers.forEach(s -> missing.put(s, "not asked yet"));
        }
        for (var it = missing.entrySet().iterator(); it.hasNext(); ) {
          var e = it.next();
          try {
            Set<String> values = lookup.txt(e.getKey(), r.checkName());
            if (values.contains(r.value())) {
              it.remove();
            } else {
              e.setValue(values.isEmpty() ? "no TXT record" : "TXT " + values);
            }
          } catch (DnsException ex) {
            e.setValue(ex.getMessage());
          }
        }
        if (missing.isEmpty()) {
          return;
        }
      } catch (DnsException e) {
        lastProblem = e.getMessage();
      }
      String now = "waiting for TXT " + r.checkName() + " at " + (servers == null ? "the zone's nameservers ("
          + lastProblem + ")" : describe(missing));
      if (!now.equals(lastStep)) {
        step.accept(now);
        lastStep = now;
      }
      if (System.nanoTime() > deadline) {
        throw new DnsException("DNS-01 propagation: TXT " + r.checkName() + " \"" + r.value() + "\" not seen after "
            + propagationTimeout.toSeconds() + " s at " + (servers == null ? "any nameserver: " + lastProblem
            : describe(missing)));
      }
      Thread.sleep(delayMs);
      delayMs = Math.min(2_000, delayMs * 3 / 2);
    }
  }

  private static String describe(Map<InetSocketAddress, String> missing) {
    StringBuilder b = new StringBuilder();
    missing.forEach((s, why) -> b.append(b.length() == 0 ? "" : ", ").append(DnsLookup.hostPort(s)).append(" (")
        .append(why).append(')'));
    return b.toString();
  }

  /** Removes the record. */
  public void cleanUp(TxtRecord r) throws DnsException {
    r.provider().cleanUp(r.zone(), r.fqdn(), r.value());
  }
}
