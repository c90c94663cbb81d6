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
 */
public record CertManagerConfig(Map<String, IssuerConfig> issuers, Map<String, CertificateConfig> certificates,
    List<Problem> problems) {

  /** Copies the collections. */
  public CertManagerConfig {
    issuers = Map.copyOf(issuers);
    certificates = java.util.Collections.unmodifiableMap(new java.util.LinkedHashMap<>(certificates));
    problems = List.copyOf(problems);
  }

  /** Nothing to manage. */
  public static CertManagerConfig empty() {
    return new CertManagerConfig(Map.of(), Map.of(), List.of());
  }
}
