package io.portcullis.tls;

import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.cert.X509CRL;
import java.security.cert.X509Certificate;
import java.util.List;

/**
 * How a {@code MUTUAL} or {@code OPTIONAL_MUTUAL} server checks client certificates: Istio's client CA plus its
 * {@code caCrl} / {@code crl} / {@code ca.crl}, {@code subjectAltNames}, {@code verifyCertificateSpki} and
 * {@code verifyCertificateHash}.
 *
 * @param trustAnchors the client CA certificates (a bundle may hold several)
 * @param crls revocation lists, each signed by one of {@code trustAnchors}; empty for no revocation check
 * @param subjectAltNames a client's certificate must carry one of these (exact); empty for any
 * @param verifyCertificateSpki accepted SHA-256 digests (32 bytes) of client public keys
 * @param verifyCertificateHash accepted SHA-256 digests (32 bytes) of client certificates; with the SPKI list, a
 *     match in either passes; both empty for any
 * @param source where the CA and CRL came from, e.g. {@code Secret istio-system/web-cacert: cacert, crl}
 * @param digest identifies the content: servers with equal validation share a TLS context
 */
public record ClientValidation(List<X509Certificate> trustAnchors, List<X509CRL> crls, List<String> subjectAltNames,
    List<byte[]> verifyCertificateSpki, List<byte[]> verifyCertificateHash, String source, String digest) {
  /** Copies the lists. */
  public ClientValidation {
    trustAnchors = List.copyOf(trustAnchors);
    crls = List.copyOf(crls);
    subjectAltNames = List.copyOf(subjectAltNames);
    verifyCertificateSpki = List.copyOf(verifyCertificateSpki);
    verifyCertificateHash = List.copyOf(verifyCertificateHash);
  }

  /** Returns the SHA-256 digest of {@code bytes} (32 bytes). */
  static byte[] sha256(byte[] bytes) {
    try {
      return MessageDigest.getInstance("SHA-256").digest(bytes);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
