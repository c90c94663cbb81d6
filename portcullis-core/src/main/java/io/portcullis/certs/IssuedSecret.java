package io.portcullis.certs;

import io.portcullis.storage.StoredSecret;
import io.portcullis.tls.Credential;
import io.portcullis.tls.Pem;
import java.nio.charset.StandardCharsets;
import java.security.KeyPair;
import java.security.cert.X509Certificate;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The {@code kubernetes.io/tls} Secret an issued certificate is stored as ({@code tls.crt}, {@code tls.key},
 * {@code ca.crt}, cert-manager's annotations and Portcullis's revision), its key, and the signing of the issuers
 * that sign here (SelfSigned, CA). Pure apart from key generation.
 */
final class IssuedSecret {
  /** The stored Secret's revision annotation: 1 for the first issuance, + 1 per renewal. */
  static final String REVISION = "portcullis.io/revision";

  private IssuedSecret() {}

  /** Returns the revision of stored Secret {@code s}; 0 for none or an unreadable annotation. */
  static int revision(StoredSecret s) {
    try {
      return s == null ? 0 : Integer.parseInt(s.annotations().getOrDefault(REVISION, "0"));
    } catch (NumberFormatException e) {
      return 0;
    }
  }

  /** The key to certify: the stored one with {@code rotationPolicy: Never} (when it still fits), else a new one. */
  static KeyPair domainKey(CertificateConfig c, Renewal.Check check) throws Exception {
    if (c.privateKey().rotationPolicy().equals("Never") && check.current().isPresent()
        && Keys.matches(check.current().get().credential().leaf().getPublicKey(), c.privateKey())) {
      return new KeyPair(check.current().get().credential().leaf().getPublicKey(),
          check.current().get().credential().key());
    }
    return Keys.generate(c.privateKey());
  }

  /**
   * Signs {@code c} with a SelfSigned or CA issuer.
   *
   * @param caData the data of a CA issuer's Secret ({@code tls.crt}, {@code tls.key}), stored or from the manifests
   * @param revision the new Secret's revision
   * @throws CertificateManager.NotReady when the CA Secret is missing, unreadable or not a CA
   */
  static StoredSecret signLocally(CertificateConfig c, IssuerConfig issuer, Renewal.Check check, Instant now,
      Optional<Map<String, byte[]>> caData, int revision) throws Exception {
    KeyPair keys = domainKey(c, check);
    List<X509Certificate> chain = new ArrayList<>();
    X509Certificate caCert;
    if (issuer instanceof IssuerConfig.SelfSigned) {
      X509Certificate cert = X509Signer.sign(c, keys.getPublic(), Optional.empty(), keys.getPrivate(), now);
      chain.add(cert);
      caCert = cert;
    } else if (issuer instanceof IssuerConfig.Ca ca) {
      Credential signer = caCredential(ca, caData);
      X509Certificate cert = X509Signer.sign(c, keys.getPublic(), Optional.of(signer.leaf()), signer.key(), now);
      chain.add(cert);
      chain.addAll(signer.chain());
      caCert = signer.chain().get(signer.chain().size() - 1);
    } else {
      throw new IllegalStateException(issuer.ref() + " is not signed locally");
    }
    return of(c, chain, keys, Optional.of(caCert), revision);
  }

  /** The Secret of an issued chain (leaf first), with cert-manager's annotations. */
  static StoredSecret of(CertificateConfig c, List<X509Certificate> chain, KeyPair keys,
      Optional<X509Certificate> caCert, int revision) {
    Map<String, byte[]> data = new LinkedHashMap<>();
    data.put("tls.crt", Pem.encode(chain.toArray()).getBytes(StandardCharsets.US_ASCII));
    data.put("tls.key", Pem.encode(keys.getPrivate()).getBytes(StandardCharsets.US_ASCII));
    caCert.ifPresent(ca -> data.put("ca.crt", Pem.encode(ca).getBytes(StandardCharsets.US_ASCII)));
    Map<String, String> annotations = new LinkedHashMap<>();
    annotations.put("cert-manager.io/certificate-name", c.name());
    annotations.put(Renewal.ISSUER_NAME, c.issuer().name());
    annotations.put(Renewal.ISSUER_KIND, c.issuer().kind());
    annotations.put("cert-manager.io/issuer-group", CertManagerTranslator.GROUP);
    annotations.put("cert-manager.io/common-name", c.commonName().orElse(c.dnsNames().isEmpty() ? c.name()
        : c.dnsNames().get(0)));
    annotations.put("cert-manager.io/alt-names", String.join(",", c.dnsNames()));
    annotations.put(REVISION, String.valueOf(revision));
    return new StoredSecret(c.namespace(), c.secretName(), "kubernetes.io/tls", annotations, data);
  }

  /** The signing credential of a {@code ca} issuer from its Secret's data. */
  private static Credential caCredential(IssuerConfig.Ca ca, Optional<Map<String, byte[]>> secret)
      throws CertificateManager.NotReady {
    if (secret.isEmpty()) {
      throw new CertificateManager.NotReady("IssuerNotReady: " + ca.ref() + ": Secret " + ca.secretKey() + " does "
          + "not exist (expected: tls.crt and tls.key of the CA)");
    }
    Map<String, byte[]> data = secret.get();
    try {
      Credential cred = new Credential(Pem.privateKey(data.getOrDefault("tls.key", new byte[0])),
          Pem.certificates(data.getOrDefault("tls.crt", new byte[0])));
      if (cred.leaf().getBasicConstraints() < 0) {
        throw new CertificateManager.NotReady("IssuerNotReady: " + ca.ref() + ": Secret " + ca.secretKey() + " holds "
            + "a certificate that is not a CA (expected: basicConstraints CA:TRUE, e.g. a Certificate with isCA: "
            + "true)");
      }
      return cred;
    } catch (IllegalArgumentException e) {
      throw new CertificateManager.NotReady("IssuerNotReady: " + ca.ref() + ": Secret " + ca.secretKey() + ": "
          + e.getMessage());
    }
  }
}
