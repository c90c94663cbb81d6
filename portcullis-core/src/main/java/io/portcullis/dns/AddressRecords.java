package io.portcullis.dns;

import java.net.InetAddress;
import java.util.List;

/**
 * An optional ability of a {@link DnsProvider}: keeping A/AAAA records, for the secured hosts of a Gateway annotated
 * with external-dns's {@code external-dns.alpha.kubernetes.io/hostname} / {@code .../target}.
 */
public interface AddressRecords {

  /**
   * Makes the A and AAAA records at {@code fqdn} exactly {@code addresses} (replacing what was there).
   *
   * @param zone the zone apex holding {@code fqdn}, absolute
   * @param fqdn the host name, absolute
   * @param addresses IPv4 addresses become A records, IPv6 AAAA; not empty
   * @param ttlSeconds the records' TTL in seconds
   * @throws DnsException with the service's own answer when it refuses or cannot be reached
   */
  void setAddresses(String zone, String fqdn, List<InetAddress> addresses, long ttlSeconds) throws DnsException;

  /** Removes the A and AAAA records at {@code fqdn}; removing what is not there is not an error. */
  void deleteAddresses(String zone, String fqdn) throws DnsException;

  /**
   * Returns {@code a} as record data: dotted IPv4, or IPv6 in RFC 5952's canonical text (lower case, no leading
   * zeros, the longest run of two or more zero groups as {@code ::}).
   */
  static String text(InetAddress a) {
    if (!(a instanceof java.net.Inet6Address)) {
      return a.getHostAddress();
    }
    byte[] b = a.getAddress();
    int[] g = new int[8];
    for (int i = 0; i < 8; i++) {
      g[i] = ((b[2 * i] & 0xff) << 8) | (b[2 * i + 1] & 0xff);
    }
    int bestStart = -1;
    int bestLen = 1;
    for (int i = 0; i < 8; ) {
      int j = i;
      while (j < 8 && g[j] == 0) {
        j++;
      }
      if (j - i > bestLen) {
        bestStart = i;
        bestLen = j - i;
      }
      i = j == i ? i + 1 : j;
    }
    StringBuilder out = new StringBuilder();
    for (int i = 0; i < 8; i++) {
      if (i == bestStart) {
        out.append("::");
        i += bestLen - 1;
        continue;
      }
      if (out.length() > 0 && out.charAt(out.length() - 1) != ':') {
        out.append(':');
      }
      out.append(Integer.toHexString(g[i]));
    }
    return out.toString();
  }
}
