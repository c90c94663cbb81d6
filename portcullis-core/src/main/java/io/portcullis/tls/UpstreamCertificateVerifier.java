package io.portcullis.tls;

import java.net.Socket;
import java.security.GeneralSecurityException;
import java.security.cert.CertificateException;
import java.security.cert.CertificateParsingException;
import java.security.cert.X509CRL;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Set;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.X509ExtendedTrustManager;

/**
 * Verifies an upstream's certificate for a DestinationRule's {@code tls} (Istio {@code ClientTLSSettings}), in
 * Envoy's order: the chain by the JDK's PKIX checks against {@code caCertificates} (or the CA beside
 * {@code credentialName}, else the JDK's trust store), with the host name checked by the engine's endpoint
 * identification when no {@code subjectAltNames} are given; then revocation by {@code caCrl}; then
 * {@code subjectAltNames} (an exact match on one of the leaf's DNS, URI or IP names). Called on event loops during
 * handshakes; immutable.
 *
 * <p>CRLs follow Envoy (as {@link ClientCertificateVerifier} does): when any are configured, every certificate of the
 * upstream's chain below the trust anchor needs a CRL from its issuer; a chain with a CA that has none is refused.
 */
final class UpstreamCertificateVerifier extends X509ExtendedTrustManager {
  private final X509ExtendedTrustManager pkix;
  private final Set<X509Certificate> anchors;
  private final List<X509CRL> crls;
  private final List<String> subjectAltNames;

  /**
   * @param anchors the trust anchors, or null for the JDK's default trust store
   * @param crls revocation lists to check the chain against; empty for none
   * @param subjectAltNames the leaf must carry one of these, exactly; empty for no such check
   * @throws GeneralSecurityException when the trust anchors cannot be used
   */
  UpstreamCertificateVerifier(List<X509Certificate> anchors, List<X509CRL> crls, List<String> subjectAltNames)
      throws GeneralSecurityException {
    X509ExtendedTrustManager found = TrustManagers.pkix(anchors, "upstream-ca-");
    this.pkix = found;
    this.anchors = Set.copyOf(java.util.Arrays.asList(found.getAcceptedIssuers())); // copyOf: duplicates allowed
    this.crls = List.copyOf(crls);
    this.subjectAltNames = List.copyOf(subjectAltNames);
  }

  /**
   * The upstream's certificate has none of the names in {@code subjectAltNames} (Envoy counts it as
   * {@code ssl.fail_verify_san}).
   */
  static final class SubjectAltNameMismatch extends CertificateException {
    SubjectAltNameMismatch(String message) {
      super(message);
    }
  }

  @Override
  public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine)
      throws CertificateException {
    verify(() -> pkix.checkServerTrusted(chain, authType, engine), chain);
  }

  @Override
  public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket)
      throws CertificateException {
    verify(() -> pkix.checkServerTrusted(chain, authType, socket), chain);
  }

  @Override
  public void checkServerTrusted(X509Certificate[] chain, String authType) throws CertificateException {
    verify(() -> pkix.checkServerTrusted(chain, authType), chain);
  }

  /** One of the PKIX checks above, by the overload the caller chose. */
  private interface Check {
    void run() throws CertificateException;
  }

  private void verify(Check pkixCheck, X509Certificate[] chain) throws CertificateException {
    try {
      pkixCheck.run();
    } catch (CertificateException e) {
      throw new CertificateException("upstream certificate " + subject(chain) + ": " + e.getMessage(), e);
    }
    if (!crls.isEmpty()) {
      checkRevocation(chain);
    }
    if (!subjectAltNames.isEmpty()) {
      List<String> names = names(chain[0]);
      if (names.stream().noneMatch(subjectAltNames::contains)) {
        throw new SubjectAltNameMismatch("upstream certificate " + subject(chain) + ": subject alternative names "
            + names + " (expected: one of subjectAltNames " + subjectAltNames + ")");
      }
    }
  }

  private void checkRevocation(X509Certificate[] chain) throws CertificateException {
    CrlCheck.Finding f = CrlCheck.check(chain, anchors, crls).orElse(null);
    if (f == null) {
      return;
    }
    String c = "upstream certificate " + f.certificate().getSubjectX500Principal().getName();
    throw new CertificateException(switch (f.failure()) {
      case EXPIRED -> c + ": the CRL of " + f.crl().getIssuerX500Principal().getName() + " expired at "
          + f.crl().getNextUpdate().toInstant() + " (caCrl)";
      case REVOKED -> c + " (serial " + f.certificate().getSerialNumber().toString(16) + ") is revoked (caCrl)";
      case NO_CRL -> c + ": no CRL from its issuer " + f.certificate().getIssuerX500Principal().getName()
          + " (with caCrl set, every CA of the chain needs one)";
    });
  }

  /** Returns the leaf's DNS (2), URI (6) and IP (7) subject alternative names. */
  static List<String> names(X509Certificate leaf) {
    List<String> out = new ArrayList<>();
    try {
      Collection<List<?>> sans = leaf.getSubjectAlternativeNames();
      if (sans != null) {
        for (List<?> san : sans) {
          Object type = san.get(0);
          if (Integer.valueOf(2).equals(type) || Integer.valueOf(6).equals(type)
              || Integer.valueOf(7).equals(type)) {
            out.add(String.valueOf(san.get(1)));
          }
        }
      }
    } catch (CertificateParsingException e) {
      // no names: the check fails with an empty list
    }
    return out;
  }

  private static String subject(X509Certificate[] chain) {
    return chain == null || chain.length == 0 ? "(none)" : chain[0].getSubjectX500Principal().getName();
  }

  @Override
  public void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine engine)
      throws CertificateException {
    throw new CertificateException("an upstream-certificate verifier does not check clients");
  }

  @Override
  public void checkClientTrusted(X509Certificate[] chain, String authType, Socket socket)
      throws CertificateException {
    throw new CertificateException("an upstream-certificate verifier does not check clients");
  }

  @Override
  public void checkClientTrusted(X509Certificate[] chain, String authType) throws CertificateException {
    throw new CertificateException("an upstream-certificate verifier does not check clients");
  }

  @Override
  public X509Certificate[] getAcceptedIssuers() {
    return pkix.getAcceptedIssuers();
  }
}
