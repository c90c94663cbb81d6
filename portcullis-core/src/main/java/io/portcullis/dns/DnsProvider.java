package io.portcullis.dns;

/**
 * Writes and removes the TXT records of DNS-01 challenges (RFC 8555 §8.4) in one DNS service. Implementations
 * block (network calls with their own timeouts) and are safe to call from several threads at once: an order's
 * authorizations are worked in parallel, and the apex and wildcard authorizations of one name write two values at
 * the same record name.
 */
public interface DnsProvider extends AutoCloseable {

  /**
   * Adds {@code value} to the TXT records at {@code fqdn}, keeping any other values there.
   *
   * @param zone the zone apex that holds {@code fqdn}, absolute ({@code example.com.}), as found by the SOA walk
   * @param fqdn the record name, absolute ({@code _acme-challenge.www.example.com.})
   * @param value the TXT value (the key authorization digest, RFC 8555 §8.4)
   * @throws DnsException with the service's own answer when it refuses or cannot be reached
   */
  void present(String zone, String fqdn, String value) throws DnsException;

  /**
   * Removes {@code value} from the TXT records at {@code fqdn}, keeping any other values; removing what is not there
   * is not an error.
   *
   * @throws DnsException with the service's own answer when it refuses or cannot be reached
   */
  void cleanUp(String zone, String fqdn, String value) throws DnsException;

  /** Returns what messages call it, e.g. {@code rfc2136 192.0.2.53:53} (no secrets). */
  String describe();

  /** Releases its clients; the default does nothing. */
  @Override
  default void close() { }
}
