package io.portcullis.tls;

import io.portcullis.config.GatewayConfig.SecretData;
import io.portcullis.config.GatewayConfig;
import io.portcullis.config.ServerConfig;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509CRL;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;

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

  /**
   * Finds a server's client CA and CRL as Istio does: {@code caCertCredentialName} (a Secret, else a ConfigMap) if
   * set; else Secret {@code <first credentialName>-cacert} if it exists; else the credential Secret itself; else the
   * {@code caCertificates} file. In a Secret or ConfigMap the CA is key {@code cacert} or {@code ca.crt} and the CRL
   * key {@code crl} or {@code ca.crl}; a {@code caCrl} file overrides the latter. A bundle of several CA certificates
   * is allowed; every CRL must be signed by one of them.
   *
   * @throws IllegalArgumentException naming the Secrets, keys and files looked at, when there is no CA, or a CA or
   *     CRL is empty, does not parse, or a CRL comes from a CA outside the bundle
   */
  static ClientValidation load(ServerConfig.TlsSettings tls, Map<String, SecretData> secrets,
      TlsContexts.FileSource files) {
    SecretData from = null;
    String where = "";
    if (tls.caCertCredentialName().isPresent()) {
      String name = tls.caCertCredentialName().get();
      from = secrets.get(name);
      where = "Secret " + name;
      if (from == null) {
        from = secrets.get(GatewayConfig.CONFIG_MAP_PREFIX + name);
        where = "ConfigMap " + name;
      }
      if (from == null) {
        throw new IllegalArgumentException("caCertCredentialName " + name + ": no Secret or ConfigMap of that name "
            + "(expected: one with key cacert or ca.crt)");
      }
    } else if (tls.credentialName().isPresent()) {
      String name = tls.credentialName().get();
      from = secrets.get(name + "-cacert");
      where = "Secret " + name + "-cacert";
      if (from == null) {
        from = secrets.get(name);
        where = "Secret " + name;
      }
    }
    byte[] caPem = null;
    String caKey = "";
    byte[] crlPem = null;
    String crlKey = "";
    if (from != null) {
      for (String k : List.of("cacert", "ca.crt")) {
        if (from.data().containsKey(k)) {
          caPem = from.data().get(k);
          caKey = k;
          break;
        }
      }
      for (String k : List.of("crl", "ca.crl")) {
        if (from.data().containsKey(k)) {
          crlPem = from.data().get(k);
          crlKey = k;
          break;
        }
      }
    }
    if (caPem == null && tls.caCertificates().isPresent() && tls.caCertCredentialName().isEmpty()) {
      caPem = files.read(tls.caCertificates().get());
      where = "file";
      caKey = tls.caCertificates().get().toString();
    }
    if (caPem == null) {
      String name = tls.credentialName().orElse("");
      throw new IllegalArgumentException(tls.caCertCredentialName().isPresent()
          ? where + ": no client CA (expected: key cacert or ca.crt)"
          : "no client CA for mutual TLS (expected: Secret " + name + "-cacert with key cacert or ca.crt, key cacert "
              + "or ca.crt in Secret " + name + ", caCertCredentialName or caCertificates)");
    }
    if (tls.caCrl().isPresent()) {
      crlPem = files.read(tls.caCrl().get());
      crlKey = tls.caCrl().get().toString();
    }
    String crlWhere = tls.caCrl().isPresent() ? "file" : where;
    if (caPem.length == 0) {
      throw new IllegalArgumentException(where + ": " + caKey + ": empty (expected: PEM CA certificates)");
    }
    List<X509Certificate> anchors;
    try {
      anchors = Pem.certificates(caPem);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(where + ": " + caKey + ": " + e.getMessage());
    }
    List<X509CRL> crls = List.of();
    if (crlPem != null) {
      crls = parseCrls(crlWhere + ": " + crlKey, crlPem, anchors);
    }
    String source = where + ": " + caKey + (crlPem == null ? "" : ", " + (crlWhere.equals(where) ? "" : crlWhere
        + ": ") + crlKey);
    StringBuilder id = new StringBuilder(TlsContexts.digest(caPem, crlPem == null ? new byte[0] : crlPem));
    tls.subjectAltNames().forEach(n -> id.append('|').append(n));
    tls.verifyCertificateSpki().forEach(d -> id.append("|s").append(HexFormat.of().formatHex(d)));
    tls.verifyCertificateHash().forEach(d -> id.append("|h").append(HexFormat.of().formatHex(d)));
    return new ClientValidation(anchors, crls, tls.subjectAltNames(), tls.verifyCertificateSpki(),
        tls.verifyCertificateHash(), source, id.toString());
  }

  /**
   * Parses PEM CRLs and checks each is signed by one of {@code anchors}.
   *
   * @throws IllegalArgumentException prefixed with {@code where}, when empty, malformed or from an unknown CA
   */
  private static List<X509CRL> parseCrls(String where, byte[] pem, List<X509Certificate> anchors) {
    if (pem.length == 0) {
      throw new IllegalArgumentException(where + ": empty (expected: PEM X509 CRLs)");
    }
    List<X509CRL> out = new ArrayList<>();
    try {
      for (java.security.cert.CRL c : CertificateFactory.getInstance("X.509")
          .generateCRLs(new java.io.ByteArrayInputStream(pem))) {
        out.add((X509CRL) c);
      }
    } catch (java.security.cert.CRLException | java.security.cert.CertificateException e) {
      throw new IllegalArgumentException(where + ": not a PEM CRL (" + io.portcullis.config.ParseErrors.withoutInput(
          String.valueOf(e.getMessage()), new String(pem, java.nio.charset.StandardCharsets.ISO_8859_1)) + ")");
    }
    if (out.isEmpty()) {
      throw new IllegalArgumentException(where + ": no CRL found (expected: -----BEGIN X509 CRL-----)");
    }
    for (X509CRL crl : out) {
      boolean signed = false;
      for (X509Certificate ca : anchors) {
        if (!ca.getSubjectX500Principal().equals(crl.getIssuerX500Principal())) {
          continue;
        }
        try {
          crl.verify(ca.getPublicKey());
          signed = true;
          break;
        } catch (java.security.GeneralSecurityException e) {
          // another CA of the same name, or a forged list: try the next
        }
      }
      if (!signed) {
        throw new IllegalArgumentException(where + ": the CRL issued by " + crl.getIssuerX500Principal().getName()
            + " is not signed by any certificate of the client CA (expected: CRLs from the client CA's certificates)");
      }
    }
    return out;
  }
}
