package io.portcullis.dns;

import static java.util.Objects.requireNonNull;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import org.xbill.DNS.ARecord;
import org.xbill.DNS.AAAARecord;
import org.xbill.DNS.CNAMERecord;
import org.xbill.DNS.DClass;
import org.xbill.DNS.Flags;
import org.xbill.DNS.Message;
import org.xbill.DNS.NSRecord;
import org.xbill.DNS.Name;
import org.xbill.DNS.Rcode;
import org.xbill.DNS.Record;
import org.xbill.DNS.ResolverConfig;
import org.xbill.DNS.SOARecord;
import org.xbill.DNS.Section;
import org.xbill.DNS.SimpleResolver;
import org.xbill.DNS.TXTRecord;
import org.xbill.DNS.TextParseException;
import org.xbill.DNS.Type;

/**
 * The look-ups DNS-01 needs, with dnsjava: the zone of a name by walking SOA records up from it, CNAME chains, the
 * authoritative nameservers of a zone, and a TXT query sent straight to one server. SOA, NS, CNAME and address
 * look-ups go to the recursive nameservers ({@code --dns01-recursive-nameservers}, cert-manager's flag; else the
 * system's {@code /etc/resolv.conf}), tried in order. Blocking, with a per-query timeout; thread-safe.
 */
public final class DnsLookup {
  private static final int MAX_CNAMES = 10;
  private final List<InetSocketAddress> recursive;
  private final boolean recursiveOnly;
  private final int authoritativePort;
  private final Duration queryTimeout;

  /**
   * @param recursive where SOA/NS/CNAME/address look-ups go; empty for the system's nameservers
   * @param recursiveOnly {@code --dns01-recursive-nameservers-only}: propagation is checked at the recursive
   *     nameservers instead of each authoritative one
   * @param authoritativePort the port authoritative nameservers are asked on (53; a test's BIND listens elsewhere)
   * @param queryTimeout how long one query may take before the next server is tried, e.g. 3 s
   */
  public DnsLookup(List<InetSocketAddress> recursive, boolean recursiveOnly, int authoritativePort,
      Duration queryTimeout) {
    this.recursive = recursive.isEmpty() ? systemNameservers() : List.copyOf(recursive);
    this.recursiveOnly = recursiveOnly;
    this.authoritativePort = authoritativePort;
    this.queryTimeout = requireNonNull(queryTimeout, "queryTimeout");
  }

  private static List<InetSocketAddress> systemNameservers() {
    List<InetSocketAddress> s = ResolverConfig.getCurrentConfig().servers();
    return s.isEmpty() ? List.of(new InetSocketAddress(InetAddress.getLoopbackAddress(), 53)) : List.copyOf(s);
  }

  /** Returns the recursive nameservers in use. */
  public List<InetSocketAddress> recursiveNameservers() {
    return recursive;
  }

  /**
   * Finds the zone apex of {@code fqdn}: asks for the SOA of the name, then of each parent, until an answer holds
   * the SOA of the name asked about (a CNAME or NXDOMAIN means go up). Never guessed from the labels.
   *
   * @param fqdn an absolute or relative name
   * @return the apex, absolute ({@code example.com.})
   * @throws DnsException when no zone is found or a nameserver fails (SERVFAIL, REFUSED, timeouts), naming it
   */
  public String findZone(String fqdn) throws DnsException {
    Name name = name(fqdn);
    for (int skip = 0; skip < name.labels() - 1; skip++) {
      Name domain = new Name(name, skip);
      Message m = query(domain, Type.SOA);
      if (m.getRcode() == Rcode.NXDOMAIN) {
        continue;
      }
      for (Record r : m.getSection(Section.ANSWER)) {
        if (r instanceof SOARecord && r.getName().equals(domain)) {
          return domain.toString();
        }
      }
    }
    throw new DnsException("no zone found for " + name + ": no SOA record at it or any parent (asked "
        + recursive + ")");
  }

  /**
   * Follows the CNAME chain at {@code fqdn} (at most 10 links) and returns where it ends, absolute; the name
   * itself when it has no CNAME.
   */
  public String followCnames(String fqdn) throws DnsException {
    Name name = name(fqdn);
    Set<Name> seen = new LinkedHashSet<>();
    for (int i = 0; i < MAX_CNAMES; i++) {
      if (!seen.add(name)) {
        throw new DnsException("CNAME loop at " + seen);
      }
      Message m = query(name, Type.CNAME);
      Name next = null;
      for (Record r : m.getSection(Section.ANSWER)) {
        if (r instanceof CNAMERecord c && r.getName().equals(name)) {
          next = c.getTarget();
        }
      }
      if (next == null) {
        return name.toString();
      }
      name = next;
    }
    throw new DnsException("more than " + MAX_CNAMES + " CNAMEs from " + fqdn + " (" + seen + ")");
  }

  /**
   * Returns where a propagation check asks: every address of every NS of {@code zone} on the authoritative port, or
   * the recursive nameservers with {@code recursiveOnly}.
   *
   * @throws DnsException when the zone has no NS records or none of them has an address
   */
  public List<InetSocketAddress> checkServers(String zone) throws DnsException {
    if (recursiveOnly) {
      return recursive;
    }
    Name z = name(zone);
    List<InetSocketAddress> out = new ArrayList<>();
    List<Name> hosts = new ArrayList<>();
    for (Record r : query(z, Type.NS).getSection(Section.ANSWER)) {
      if (r instanceof NSRecord ns) {
        hosts.add(ns.getTarget());
      }
    }
    if (hosts.isEmpty()) {
      throw new DnsException("zone " + z + " has no NS records (asked " + recursive + ")");
    }
    for (Name h : hosts) {
      for (int type : new int[] {Type.A, Type.AAAA}) {
        for (Record r : query(h, type).getSection(Section.ANSWER)) {
          InetAddress a = r instanceof ARecord ar ? ar.getAddress() : r instanceof AAAARecord aaaa
              ? aaaa.getAddress() : null;
          if (a != null && r.getName().equals(h)) {
            out.add(new InetSocketAddress(a, authoritativePort));
          }
        }
      }
    }
    if (out.isEmpty()) {
      throw new DnsException("no address for the nameservers " + hosts + " of zone " + z);
    }
    return List.copyOf(new LinkedHashSet<>(out));
  }

  /**
   * Asks {@code server} alone for the TXT records at {@code fqdn} (recursion desired only when checking at the
   * recursive nameservers) and returns their values (each record's strings joined).
   *
   * @throws DnsException when the server does not answer, or answers other than NOERROR/NXDOMAIN
   */
  public Set<String> txt(InetSocketAddress server, String fqdn) throws DnsException {
    Message m = send(server, name(fqdn), Type.TXT, recursiveOnly);
    Set<String> out = new LinkedHashSet<>();
    for (Record r : m.getSection(Section.ANSWER)) {
      if (r instanceof TXTRecord t) {
        out.add(String.join("", t.getStrings()));
      }
    }
    return out;
  }

  /** Asks the recursive nameservers in turn; the first NOERROR or NXDOMAIN answer wins. */
  private Message query(Name name, int type) throws DnsException {
    DnsException last = null;
    for (InetSocketAddress server : recursive) {
      try {
        return send(server, name, type, true);
      } catch (DnsException e) {
        last = e;
      }
    }
    throw last != null ? last : new DnsException("no recursive nameservers");
  }

  private Message send(InetSocketAddress server, Name name, int type, boolean recursionDesired)
      throws DnsException {
    Message q = Message.newQuery(Record.newRecord(name, type, DClass.IN));
    if (!recursionDesired) {
      q.getHeader().unsetFlag(Flags.RD);
    }
    SimpleResolver r = new SimpleResolver(server);
    r.setTimeout(queryTimeout);
    Message m;
    try {
      m = r.send(q);
    } catch (IOException e) {
      throw new DnsException(Type.string(type) + " " + name + " at " + hostPort(server) + ": " + e.getMessage(), e);
    }
    int rcode = m.getRcode();
    if (rcode != Rcode.NOERROR && rcode != Rcode.NXDOMAIN) {
      throw new DnsException(Type.string(type) + " " + name + " at " + hostPort(server) + ": " + Rcode.string(rcode)
          + " (expected: NOERROR or NXDOMAIN)");
    }
    return m;
  }

  static String hostPort(InetSocketAddress a) {
    String h = a.getAddress() != null ? a.getAddress().getHostAddress() : a.getHostString();
    return (h.contains(":") ? "[" + h + "]" : h) + ":" + a.getPort();
  }

  static Name name(String fqdn) throws DnsException {
    try {
      return Name.fromString(fqdn.endsWith(".") ? fqdn : fqdn + ".");
    } catch (TextParseException e) {
      throw new DnsException(fqdn + ": not a DNS name (" + e.getMessage() + ")", e);
    }
  }
}
