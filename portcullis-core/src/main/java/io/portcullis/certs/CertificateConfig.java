package io.portcullis.certs;

import java.time.Duration;
import java.util.List;
import java.util.Optional;

/**
 * A validated {@code Certificate} ({@code cert-manager.io/v1}), or one made for a secured host of a Gateway.
 *
 * @param namespace {@code metadata.namespace}
 * @param name {@code metadata.name}
 * @param secretName {@code spec.secretName}: the {@code kubernetes.io/tls} Secret it is stored as, in
 *     {@link #namespace()}
 * @param commonName {@code spec.commonName}, or empty
 * @param dnsNames {@code spec.dnsNames}
 * @param issuer {@code spec.issuerRef} resolved: {@code Issuer} in this namespace, or {@code ClusterIssuer}
 * @param duration {@code spec.duration} (default 90 days, cert-manager's)
 * @param renewBefore {@code spec.renewBefore}, or empty for renewal at 2/3 of the lifetime
 * @param privateKey {@code spec.privateKey}
 * @param isCa {@code spec.isCA}
 * @param usages {@code spec.usages} (default {@code digital signature}, {@code key encipherment})
 * @param origin where it came from: the manifest file, or {@code Gateway ns/name} for a secured host
 * @param labels {@code metadata.labels} (what a solver's {@code selector.matchLabels} is matched against)
 */
public record CertificateConfig(String namespace, String name, String secretName, Optional<String> commonName,
    List<String> dnsNames, IssuerConfig.IssuerRef issuer, Duration duration, Optional<Duration> renewBefore,
    KeySpec privateKey, boolean isCa, List<String> usages, String origin, java.util.Map<String, String> labels) {

  /** Copies the lists. */
  public CertificateConfig {
    dnsNames = List.copyOf(dnsNames);
    usages = List.copyOf(usages);
    labels = java.util.Map.copyOf(labels);
  }

  /** Returns {@code namespace/name}. */
  public String key() {
    return namespace + "/" + name;
  }

  /** Returns whether {@code other} asks for the same certificate (where each was read from aside). */
  public boolean sameSpec(CertificateConfig other) {
    return other != null && equals(new CertificateConfig(other.namespace, other.name, other.secretName,
        other.commonName, other.dnsNames, other.issuer, other.duration, other.renewBefore, other.privateKey,
        other.isCa, other.usages, origin, other.labels));
  }

  /** Returns {@code namespace/secretName}. */
  public String secretKey() {
    return namespace + "/" + secretName;
  }

  /**
   * {@code spec.privateKey}.
   *
   * @param algorithm {@code ECDSA} (default here; cert-manager's is RSA), {@code RSA} or {@code Ed25519}
   * @param size bits: ECDSA 256 (default), 384 or 521; RSA 2048 (default) to 8192; 0 for Ed25519
   * @param rotationPolicy {@code Always} (a new key at every issuance, cert-manager's default since 1.18) or
   *     {@code Never} (the stored key is reused)
   */
  public record KeySpec(String algorithm, int size, String rotationPolicy) {}
}
