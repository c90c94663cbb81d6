package io.portcullis.certs;

import io.portcullis.config.Problem;
import java.util.List;
import java.util.Map;

/**
 * What the certificate manager is to do: the validated Issuers and Certificates of one snapshot.
 *
 * @param issuers by {@link IssuerConfig.IssuerRef#key()}
 * @param certificates Certificates from manifests, then those made for secured hosts, by {@code namespace/name}
 * @param problems what was wrong, each naming the resource, the field and what was expected
 * @param addressRecords A/AAAA records to keep for the secured hosts of Gateways annotated with external-dns's
 *     {@code target}
 */
public record CertManagerConfig(Map<String, IssuerConfig> issuers, Map<String, CertificateConfig> certificates,
    List<Problem> problems, List<AddressRecord> addressRecords) {

  /**
   * A host name whose A/AAAA records Portcullis keeps, through the DNS-01 provider its issuer's solver picks for it.
   *
   * @param fqdn the host, without a trailing dot
   * @param addresses {@code external-dns.alpha.kubernetes.io/target}: IPv4 become A, IPv6 AAAA records
   * @param issuer the issuer of the Gateway's secured hosts ({@code cert-manager.io/(cluster-)issuer})
   * @param gateway {@code namespace/name} of the Gateway
   */
  public record AddressRecord(String fqdn, List<java.net.InetAddress> addresses, IssuerConfig.IssuerRef issuer,
      String gateway) {
    /** Copies the list. */
    public AddressRecord {
      addresses = List.copyOf(addresses);
    }
  }

  /** As the canonical constructor, with no address records. */
  public CertManagerConfig(Map<String, IssuerConfig> issuers, Map<String, CertificateConfig> certificates,
      List<Problem> problems) {
    this(issuers, certificates, problems, List.of());
  }

  /** Copies the collections. */
  public CertManagerConfig {
    addressRecords = List.copyOf(addressRecords);
    issuers = Map.copyOf(issuers);
    certificates = java.util.Collections.unmodifiableMap(new java.util.LinkedHashMap<>(certificates));
    problems = List.copyOf(problems);
  }

  /** Nothing to manage. */
  public static CertManagerConfig empty() {
    return new CertManagerConfig(Map.of(), Map.of(), List.of());
  }
}
