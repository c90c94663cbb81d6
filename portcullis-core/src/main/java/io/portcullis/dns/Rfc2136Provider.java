package io.portcullis.dns;

import static java.util.Objects.requireNonNull;

import java.io.IOException;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import org.xbill.DNS.AAAARecord;
import org.xbill.DNS.ARecord;
import org.xbill.DNS.DClass;
import org.xbill.DNS.Message;
import org.xbill.DNS.Name;
import org.xbill.DNS.Rcode;
import org.xbill.DNS.SimpleResolver;
import org.xbill.DNS.TSIG;
import org.xbill.DNS.TSIGRecord;
import org.xbill.DNS.TXTRecord;
import org.xbill.DNS.Type;
import org.xbill.DNS.Update;

/**
 * DNS UPDATE (RFC 2136) to a primary nameserver, signed with TSIG (RFC 8945) when a key is given, with dnsjava: a
 * challenge value is one added TXT record, cleaned up by deleting exactly that record, so the apex and wildcard
 * values at one name live side by side. Updates go over TCP; each has its own timeout. Thread-safe.
 */
public final class Rfc2136Provider implements DnsProvider, AddressRecords {
  private static final long TTL = 60;
  private final InetSocketAddress server;
  private final Optional<TSIG> tsig;
  private final String tsigKeyName;
  private final Duration timeout;

  /**
   * @param server the primary ({@code rfc2136.nameserver})
   * @param tsig the key updates are signed with ({@link #tsig}), or empty for unsigned updates
   * @param tsigKeyName the key's name, for messages
   * @param timeout how long one update may take, e.g. 10 s
   */
  public Rfc2136Provider(InetSocketAddress server, Optional<TSIG> tsig, String tsigKeyName, Duration timeout) {
    this.server = requireNonNull(server, "server");
    this.tsig = requireNonNull(tsig, "tsig");
    this.tsigKeyName = requireNonNull(tsigKeyName, "tsigKeyName");
    this.timeout = requireNonNull(timeout, "timeout");
  }

  /**
   * Makes the TSIG key of an {@code rfc2136} solver.
   *
   * @param algorithm cert-manager's names: {@code HMACMD5}, {@code HMACSHA1}, {@code HMACSHA256},
   *     {@code HMACSHA384}, {@code HMACSHA512}
   * @param keyName {@code tsigKeyName}
   * @param base64Secret the key, base64 (as {@code tsig-keygen} prints it)
   * @throws IllegalArgumentException for an unknown algorithm, a bad key name or a secret that is not base64
   */
  public static TSIG tsig(String algorithm, String keyName, String base64Secret) {
    Name alg = switch (algorithm) {
      case "HMACMD5" -> TSIG.HMAC_MD5;
      case "HMACSHA1" -> TSIG.HMAC_SHA1;
      case "HMACSHA256" -> TSIG.HMAC_SHA256;
      case "HMACSHA384" -> TSIG.HMAC_SHA384;
      case "HMACSHA512" -> TSIG.HMAC_SHA512;
      default -> throw new IllegalArgumentException("tsigAlgorithm: " + algorithm + " (expected: HMACMD5, HMACSHA1, "
          + "HMACSHA256, HMACSHA384 or HMACSHA512)");
    };
    byte[] key;
    try {
      key = java.util.Base64.getMimeDecoder().decode(base64Secret.trim());
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("the TSIG secret is not base64 (expected: the secret of tsig-keygen)");
    }
    try {
      return new TSIG(alg, Name.fromString(keyName.endsWith(".") ? keyName : keyName + "."), key);
    } catch (org.xbill.DNS.TextParseException e) {
      throw new IllegalArgumentException("tsigKeyName: " + keyName + ": " + e.getMessage());
    }
  }

  @Override
  public void present(String zone, String fqdn, String value) throws DnsException {
    Update u = new Update(DnsLookup.name(zone));
    u.add(new TXTRecord(DnsLookup.name(fqdn), DClass.IN, TTL, value));
    send(u, "adding TXT " + fqdn);
  }

  @Override
  public void cleanUp(String zone, String fqdn, String value) throws DnsException {
    Update u = new Update(DnsLookup.name(zone));
    u.delete(new TXTRecord(DnsLookup.name(fqdn), DClass.IN, 0, value));
    send(u, "deleting TXT " + fqdn);
  }

  @Override
  public void setAddresses(String zone, String fqdn, List<InetAddress> addresses, long ttlSeconds)
      throws DnsException {
    Name name = DnsLookup.name(fqdn);
    Update u = new Update(DnsLookup.name(zone));
    u.delete(name, Type.A);
    u.delete(name, Type.AAAA);
    for (InetAddress a : addresses) {
      u.add(a instanceof Inet4Address ? new ARecord(name, DClass.IN, ttlSeconds, a)
          : new AAAARecord(name, DClass.IN, ttlSeconds, a));
    }
    send(u, "setting A/AAAA " + fqdn);
  }

  @Override
  public void deleteAddresses(String zone, String fqdn) throws DnsException {
    Name name = DnsLookup.name(fqdn);
    Update u = new Update(DnsLookup.name(zone));
    u.delete(name, Type.A);
    u.delete(name, Type.AAAA);
    send(u, "deleting A/AAAA " + fqdn);
  }

  private void send(Update u, String what) throws DnsException {
    SimpleResolver r = new SimpleResolver(server);
    r.setTCP(true);
    r.setTimeout(timeout);
    tsig.ifPresent(r::setTSIGKey);
    Message response;
    try {
      response = r.send(u);
    } catch (IOException e) {
      throw new DnsException(describe() + ": " + what + ": " + e.getMessage(), e);
    }
    int rcode = response.getRcode();
    if (rcode != Rcode.NOERROR) {
      TSIGRecord t = response.getTSIG();
      String tsigError = t != null && t.getError() != Rcode.NOERROR ? " (TSIG error " + Rcode.TSIGstring(t.getError())
          + ")" : "";
      throw new DnsException(describe() + ": " + what + " refused: " + Rcode.string(rcode) + tsigError
          + (tsig.isEmpty() ? " (unsigned update)" : " (signed with key " + tsigKeyName + ")"));
    }
  }

  @Override
  public String describe() {
    return "rfc2136 " + DnsLookup.hostPort(server);
  }
}
