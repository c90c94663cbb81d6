package io.portcullis.tls;

import io.netty.handler.ssl.OpenSslCertificateException;
import io.netty.internal.tcnative.CertificateVerifier;
import java.net.Socket;
import java.security.GeneralSecurityException;
import java.security.cert.CertPathBuilderException;
import java.security.cert.CertPathValidatorException;
import java.security.cert.CertificateException;
import java.security.cert.PKIXReason;
import java.security.cert.X509Certificate;
import java.util.List;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.X509ExtendedTrustManager;

/**
 * Verifies client certificates ({@code MUTUAL}, {@code OPTIONAL_MUTUAL}) against a server's client CA with the JDK's
 * PKIX checks, then Istio's further checks in Envoy's order: revocation by the configured CRLs, then
 * {@code subjectAltNames}, then {@code verifyCertificateSpki} / {@code verifyCertificateHash}. It tells BoringSSL why
 * a certificate failed, so that the client gets the alert TLS defines for it (RFC 8446 §6.2: {@code unknown_ca} for
 * a chain to no trusted CA, {@code certificate_revoked} for a revoked one) rather than {@code internal_error}.
 *
 * <p>CRLs follow Envoy: when any are configured, every certificate of the client's chain below the trust anchor needs
 * a CRL from its issuer; a chain with a CA that has none is refused, revoked or not.
 */
final class ClientCertificateVerifier extends X509ExtendedTrustManager {
  private final X509ExtendedTrustManager pkix;
  private final boolean openSsl;
  private final ClientValidation validation;
  private final java.util.Set<X509Certificate> anchors;

  /**
   * @param validation the client CA certificates and further checks
   * @param openSsl whether the engine is BoringSSL's (which reads the error code of
   *     {@link OpenSslCertificateException} to choose the alert)
   * @throws GeneralSecurityException when the trust anchors cannot be used
   */
  ClientCertificateVerifier(ClientValidation validation, boolean openSsl) throws GeneralSecurityException {
    this.validation = validation;
    this.anchors = java.util.Set.copyOf(validation.trustAnchors());
    this.pkix = TrustManagers.pkix(validation.trustAnchors(), "client-ca-");
    this.openSsl = openSsl;
  }

  @Override
  public void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine engine)
      throws CertificateException {
    verify(() -> pkix.checkClientTrusted(chain, authType, engine), chain);
  }

  @Override
  public void checkClientTrusted(X509Certificate[] chain, String authType, Socket socket)
      throws CertificateException {
    verify(() -> pkix.checkClientTrusted(chain, authType, socket), chain);
  }

  @Override
  public void checkClientTrusted(X509Certificate[] chain, String authType) throws CertificateException {
    verify(() -> pkix.checkClientTrusted(chain, authType), chain);
  }

  private interface Check {
    void run() throws CertificateException;
  }

  private void verify(Check check, X509Certificate[] chain) throws CertificateException {
    try {
      check.run();
    } catch (CertificateException e) {
      throw translate(e);
    }
    if (!validation.crls().isEmpty()) {
      checkRevocation(chain);
    }
    checkIdentity(chain[0]);
  }

  private void checkRevocation(X509Certificate[] chain) throws CertificateException {
    CrlCheck.Finding f = CrlCheck.check(chain, anchors, validation.crls()).orElse(null);
    if (f == null) {
      return;
    }
    String c = f.certificate().getSubjectX500Principal().getName();
    throw switch (f.failure()) {
      case EXPIRED -> fail("client certificate " + c + ": the CRL of " + f.crl().getIssuerX500Principal().getName()
          + " expired at " + f.crl().getNextUpdate().toInstant(), CertificateVerifier.X509_V_ERR_CRL_HAS_EXPIRED);
      case REVOKED -> fail("client certificate " + c + " (serial " + f.certificate().getSerialNumber().toString(16)
          + ") is revoked", CertificateVerifier.X509_V_ERR_CERT_REVOKED);
      case NO_CRL -> fail("client certificate " + c + ": no CRL from its issuer " + f.certificate()
          .getIssuerX500Principal().getName() + " (with CRLs configured, every CA of the chain needs one)",
          CertificateVerifier.X509_V_ERR_UNABLE_TO_GET_CRL);
    };
  }

  private void checkIdentity(X509Certificate leaf) throws CertificateException {
    if (!validation.subjectAltNames().isEmpty()) {
      java.util.Collection<List<?>> sans = leaf.getSubjectAlternativeNames();
      boolean match = sans != null && sans.stream().map(e -> String.valueOf(e.get(1)))
          .anyMatch(validation.subjectAltNames()::contains);
      if (!match) {
        throw fail("client certificate " + leaf.getSubjectX500Principal().getName() + ": none of its subject "
            + "alternative names is in subjectAltNames", CertificateVerifier.X509_V_ERR_APPLICATION_VERIFICATION);
      }
    }
    if (validation.verifyCertificateSpki().isEmpty() && validation.verifyCertificateHash().isEmpty()) {
      return;
    }
    byte[] spki = ClientValidation.sha256(leaf.getPublicKey().getEncoded());
    byte[] hash = ClientValidation.sha256(leaf.getEncoded());
    boolean match = validation.verifyCertificateSpki().stream().anyMatch(d -> java.util.Arrays.equals(d, spki))
        || validation.verifyCertificateHash().stream().anyMatch(d -> java.util.Arrays.equals(d, hash));
    if (!match) {
      throw fail("client certificate " + leaf.getSubjectX500Principal().getName() + ": neither its SPKI digest nor "
          + "its certificate digest is in verifyCertificateSpki / verifyCertificateHash",
          CertificateVerifier.X509_V_ERR_APPLICATION_VERIFICATION);
    }
  }

  private CertificateException fail(String message, int openSslError) {
    return openSsl ? new OpenSslCertificateException(message, openSslError) : new CertificateException(message);
  }

  private CertificateException translate(CertificateException e) {
    if (!openSsl) {
      return e;
    }
    for (Throwable t = e; t != null; t = t.getCause()) {
      boolean noAnchor = t instanceof CertPathBuilderException
          || t instanceof CertPathValidatorException v && (v.getReason() == PKIXReason.NO_TRUST_ANCHOR
              || String.valueOf(v.getMessage()).contains("trust anchor"));
      if (noAnchor) { // no path to a trusted CA
        return new OpenSslCertificateException("client certificate: no chain to the client CA", e,
            CertificateVerifier.X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY);
      }
    }
    return e;
  }

  @Override
  public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine)
      throws CertificateException {
    throw new CertificateException("a client-certificate verifier does not check servers");
  }

  @Override
  public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket)
      throws CertificateException {
    throw new CertificateException("a client-certificate verifier does not check servers");
  }

  @Override
  public void checkServerTrusted(X509Certificate[] chain, String authType) throws CertificateException {
    throw new CertificateException("a client-certificate verifier does not check servers");
  }

  @Override
  public X509Certificate[] getAcceptedIssuers() {
    return pkix.getAcceptedIssuers();
  }
}
