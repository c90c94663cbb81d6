package io.portcullis.tls;

import io.netty.handler.ssl.OpenSslCertificateException;
import io.netty.internal.tcnative.CertificateVerifier;
import java.net.Socket;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.CertPathBuilderException;
import java.security.cert.CertPathValidatorException;
import java.security.cert.CertificateException;
import java.security.cert.PKIXReason;
import java.security.cert.X509Certificate;
import java.util.List;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.TrustManager;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509ExtendedTrustManager;

/**
 * Verifies client certificates ({@code MUTUAL}, {@code OPTIONAL_MUTUAL}) against a server's client CA with the JDK's
 * PKIX checks, and tells BoringSSL why a certificate failed, so that the client gets the alert TLS defines for it
 * (RFC 8446 §6.2: {@code unknown_ca} for a chain to no trusted CA) rather than {@code internal_error}.
 */
final class ClientCertificateVerifier extends X509ExtendedTrustManager {
  private final X509ExtendedTrustManager pkix;
  private final boolean openSsl;

  /**
   * @param trustAnchors the client CA certificates
   * @param openSsl whether the engine is BoringSSL's (which reads the error code of
   *     {@link OpenSslCertificateException} to choose the alert)
   * @throws GeneralSecurityException when the trust anchors cannot be used
   */
  ClientCertificateVerifier(List<X509Certificate> trustAnchors, boolean openSsl) throws GeneralSecurityException {
    KeyStore ks = KeyStore.getInstance(KeyStore.getDefaultType());
    try {
      ks.load(null, null);
    } catch (java.io.IOException e) {
      throw new GeneralSecurityException(e);
    }
    int i = 0;
    for (X509Certificate c : trustAnchors) {
      ks.setCertificateEntry("client-ca-" + i++, c);
    }
    TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
    tmf.init(ks);
    X509ExtendedTrustManager found = null;
    for (TrustManager tm : tmf.getTrustManagers()) {
      if (tm instanceof X509ExtendedTrustManager x) {
        found = x;
      }
    }
    if (found == null) {
      throw new GeneralSecurityException("no X.509 trust manager");
    }
    this.pkix = found;
    this.openSsl = openSsl;
  }

  @Override
  public void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine engine)
      throws CertificateException {
    verify(() -> pkix.checkClientTrusted(chain, authType, engine));
  }

  @Override
  public void checkClientTrusted(X509Certificate[] chain, String authType, Socket socket)
      throws CertificateException {
    verify(() -> pkix.checkClientTrusted(chain, authType, socket));
  }

  @Override
  public void checkClientTrusted(X509Certificate[] chain, String authType) throws CertificateException {
    verify(() -> pkix.checkClientTrusted(chain, authType));
  }

  private interface Check {
    void run() throws CertificateException;
  }

  private void verify(Check check) throws CertificateException {
    try {
      check.run();
    } catch (CertificateException e) {
      throw translate(e);
    }
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
