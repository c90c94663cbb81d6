package io.portcullis.certs;

import java.time.Instant;
import java.util.List;
import java.util.Optional;

/**
 * A Certificate's state as cert-manager reports it in {@code status} (conditions {@code Ready} and {@code Issuing},
 * {@code notBefore}, {@code notAfter}, {@code renewalTime}, {@code revision}, {@code lastFailureTime},
 * {@code failedIssuanceAttempts}), plus what Envoy's {@code /certs} shows of the served certificate.
 *
 * @param namespace the Certificate's namespace
 * @param name the Certificate's name
 * @param secretName {@code spec.secretName}
 * @param issuer {@code Issuer ns/name} or {@code ClusterIssuer name}
 * @param dnsNames {@code spec.dnsNames}
 * @param origin the manifest file, or the Gateway of a secured host
 * @param ready the {@code Ready} condition
 * @param issuing the {@code Issuing} condition while an issuance is due or has failed, else empty
 * @param notBefore the served certificate's start of validity
 * @param notAfter the served certificate's end of validity
 * @param renewalTime when it is to be renewed
 * @param revision issuances so far (1 after the first)
 * @param lastFailureTime when the last issuance failed
 * @param failedIssuanceAttempts consecutive failed issuances (0 after a success)
 * @param nextAttempt when a failed issuance is retried (exponential back-off)
 * @param serial the served certificate's serial number (hex)
 * @param issuerDn the served certificate's issuer distinguished name
 * @param subjectAltNames the served certificate's DNS and IP subject alternative names
 */
public record CertificateStatus(String namespace, String name, String secretName, String issuer,
    List<String> dnsNames, String origin, Condition ready, Optional<Condition> issuing, Optional<Instant> notBefore,
    Optional<Instant> notAfter, Optional<Instant> renewalTime, int revision, Optional<Instant> lastFailureTime,
    int failedIssuanceAttempts, Optional<Instant> nextAttempt, Optional<String> serial, Optional<String> issuerDn,
    List<String> subjectAltNames) {

  /** Copies the lists. */
  public CertificateStatus {
    dnsNames = List.copyOf(dnsNames);
    subjectAltNames = List.copyOf(subjectAltNames);
  }

  /**
   * A condition ({@code type}, {@code status}, {@code reason}, {@code message}, {@code lastTransitionTime}).
   *
   * @param status {@code True}, {@code False} or {@code Unknown}
   */
  public record Condition(String type, String status, String reason, String message, Instant lastTransitionTime) {}
}
