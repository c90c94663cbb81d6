package io.portcullis.tls;

import java.security.cert.X509CRL;
import java.security.cert.X509Certificate;
import java.util.Date;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * Envoy's CRL rule for a chain the PKIX checks accepted, shared by {@link ClientCertificateVerifier} and
 * {@link UpstreamCertificateVerifier}: when CRLs are configured, every certificate of the chain below its trust
 * anchor needs a CRL from its issuer that has not expired and does not list it. Pure.
 */
final class CrlCheck {
  /** Why a certificate fails. */
  enum Failure {
    /** {@link Finding#crl()} is past its {@code nextUpdate}. */
    EXPIRED,
    /** {@link Finding#crl()} lists the certificate. */
    REVOKED,
    /** No configured CRL is from the certificate's issuer ({@link Finding#crl()} is null). */
    NO_CRL
  }

  /** The first certificate of the chain that fails, why, and the CRL that failed it (null for NO_CRL). */
  record Finding(Failure failure, X509Certificate certificate, X509CRL crl) {}

  private CrlCheck() {}

  /**
   * Checks {@code chain} (leaf first) up to the first certificate in {@code anchors}.
   *
   * @param crls the configured CRLs; not empty
   * @return the first failure, or empty when the chain passes
   */
  static Optional<Finding> check(X509Certificate[] chain, Set<X509Certificate> anchors, List<X509CRL> crls) {
    Date now = new Date();
    for (X509Certificate c : chain) {
      if (anchors.contains(c)) {
        return Optional.empty();
      }
      boolean found = false;
      for (X509CRL crl : crls) {
        if (!crl.getIssuerX500Principal().equals(c.getIssuerX500Principal())) {
          continue;
        }
        found = true;
        if (crl.getNextUpdate() != null && crl.getNextUpdate().before(now)) {
          return Optional.of(new Finding(Failure.EXPIRED, c, crl));
        }
        if (crl.isRevoked(c)) {
          return Optional.of(new Finding(Failure.REVOKED, c, crl));
        }
      }
      if (!found) {
        return Optional.of(new Finding(Failure.NO_CRL, c, null));
      }
    }
    return Optional.empty();
  }
}
