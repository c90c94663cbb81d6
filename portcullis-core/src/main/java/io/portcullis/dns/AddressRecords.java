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
}
