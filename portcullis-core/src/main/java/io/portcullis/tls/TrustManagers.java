package io.portcullis.tls;

import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.X509Certificate;
import java.util.List;
import javax.net.ssl.TrustManager;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509ExtendedTrustManager;

/** The JDK's PKIX trust manager over given trust anchors, which both certificate verifiers build on. */
final class TrustManagers {
  private TrustManagers() {}

  /**
   * Returns the default algorithm's X.509 trust manager trusting {@code anchors}, or the JDK's trust store when
   * {@code anchors} is null.
   *
   * @param aliasPrefix names the anchors' entries in the in-memory key store ({@code client-ca-0}, ...)
   * @throws GeneralSecurityException when the anchors cannot be used or the JDK has no X.509 trust manager
   */
  static X509ExtendedTrustManager pkix(List<X509Certificate> anchors, String aliasPrefix)
      throws GeneralSecurityException {
    KeyStore ks = null;
    if (anchors != null) {
      ks = KeyStore.getInstance(KeyStore.getDefaultType());
      try {
        ks.load(null, null);
      } catch (java.io.IOException e) {
        throw new GeneralSecurityException(e);
      }
      int i = 0;
      for (X509Certificate c : anchors) {
        ks.setCertificateEntry(aliasPrefix + i++, c);
      }
    }
    TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
    tmf.init(ks);
    for (TrustManager tm : tmf.getTrustManagers()) {
      if (tm instanceof X509ExtendedTrustManager x) {
        return x;
      }
    }
    throw new GeneralSecurityException("no X.509 trust manager");
  }
}
