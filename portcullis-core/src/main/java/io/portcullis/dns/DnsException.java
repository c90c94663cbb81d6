package io.portcullis.dns;

/**
 * A DNS provider or nameserver refused or failed: the message names the provider (or server), the record and the
 * answer it gave (an RCODE and TSIG error for RFC 2136, the API's error body for REST providers).
 */
public final class DnsException extends Exception {
  /**
   * @param message what failed and the answer, e.g. {@code rfc2136 127.0.0.1:5353: update of
   *     _acme-challenge.example.test. refused: NOTAUTH (TSIG error BADSIG)}
   */
  public DnsException(String message) {
    super(message);
  }

  /** As {@link #DnsException(String)}, with the cause. */
  public DnsException(String message, Throwable cause) {
    super(message, cause);
  }
}
