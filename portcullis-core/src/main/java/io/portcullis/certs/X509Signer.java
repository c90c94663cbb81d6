package io.portcullis.certs;

import java.math.BigInteger;
import java.security.GeneralSecurityException;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Date;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x500.X500NameBuilder;
import org.bouncycastle.asn1.x500.style.BCStyle;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.CertIOException;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509ExtensionUtils;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/**
 * Signs X.509 certificates (RFC 5280) for the {@code selfSigned} and {@code ca} issuers, with the extensions
 * cert-manager sets: basic constraints, key usage and extended key usage from {@code spec.usages}, subject alternative
 * names from {@code spec.dnsNames}, subject and authority key identifiers.
 */
final class X509Signer {
  private static final SecureRandom RANDOM = new SecureRandom();
  private static final Map<String, Integer> KEY_USAGES = Map.of("digital signature", KeyUsage.digitalSignature,
      "signing", KeyUsage.digitalSignature, "content commitment", KeyUsage.nonRepudiation, "key encipherment",
      KeyUsage.keyEncipherment, "key agreement", KeyUsage.keyAgreement, "data encipherment", KeyUsage.dataEncipherment,
      "cert sign", KeyUsage.keyCertSign, "crl sign", KeyUsage.cRLSign, "encipher only", KeyUsage.encipherOnly,
      "decipher only", KeyUsage.decipherOnly);
  private static final Map<String, KeyPurposeId> EXTENDED = Map.of("server auth", KeyPurposeId.id_kp_serverAuth,
      "client auth", KeyPurposeId.id_kp_clientAuth, "code signing", KeyPurposeId.id_kp_codeSigning,
      "email protection", KeyPurposeId.id_kp_emailProtection, "s/mime", KeyPurposeId.id_kp_emailProtection,
      "timestamping", KeyPurposeId.id_kp_timeStamping, "ocsp signing", KeyPurposeId.id_kp_OCSPSigning,
      "any", KeyPurposeId.anyExtendedKeyUsage);

  private X509Signer() {}

  /**
   * Signs a certificate for {@code c} over {@code subjectKey}.
   *
   * @param issuer the CA certificate, or empty for a self-signed certificate (then {@code issuerKey} is the
   *     subject's own private key)
   * @param notBefore the start of validity; the end is {@code notBefore + spec.duration}, cut to the CA's own
   *     {@code notAfter} as cert-manager does
   * @throws GeneralSecurityException when signing fails
   */
  static X509Certificate sign(CertificateConfig c, PublicKey subjectKey, Optional<X509Certificate> issuer,
      PrivateKey issuerKey, Instant notBefore) throws GeneralSecurityException {
    X500Name subject = subject(c);
    X500Name issuerName = issuer.map(i -> X500Name.getInstance(i.getSubjectX500Principal().getEncoded()))
        .orElse(subject);
    Instant notAfter = notBefore.plus(c.duration());
    if (issuer.isPresent() && issuer.get().getNotAfter().toInstant().isBefore(notAfter)) {
      notAfter = issuer.get().getNotAfter().toInstant();
    }
    try {
      JcaX509v3CertificateBuilder b = new JcaX509v3CertificateBuilder(issuerName, new BigInteger(127, RANDOM)
          .add(BigInteger.ONE), Date.from(notBefore), Date.from(notAfter), subject, subjectKey);
      JcaX509ExtensionUtils ext = new JcaX509ExtensionUtils();
      b.addExtension(Extension.subjectKeyIdentifier, false, ext.createSubjectKeyIdentifier(subjectKey));
      b.addExtension(Extension.authorityKeyIdentifier, false, ext.createAuthorityKeyIdentifier(
          issuer.map(X509Certificate::getPublicKey).orElse(subjectKey)));
      b.addExtension(Extension.basicConstraints, true, new BasicConstraints(c.isCa()));
      int usage = 0;
      List<KeyPurposeId> extended = new ArrayList<>();
      for (String u : c.usages()) {
        usage |= KEY_USAGES.getOrDefault(u, 0);
        if (EXTENDED.containsKey(u)) {
          extended.add(EXTENDED.get(u));
        }
      }
      if (c.isCa()) {
        usage |= KeyUsage.keyCertSign; // cert-manager adds "cert sign" to every isCA certificate
      }
      if (usage != 0) {
        b.addExtension(Extension.keyUsage, true, new KeyUsage(usage));
      }
      if (!extended.isEmpty()) {
        b.addExtension(Extension.extendedKeyUsage, false, new ExtendedKeyUsage(extended.toArray(KeyPurposeId[]::new)));
      }
      if (!c.dnsNames().isEmpty()) {
        b.addExtension(Extension.subjectAlternativeName, false, new GeneralNames(c.dnsNames().stream()
            .map(n -> new GeneralName(GeneralName.dNSName, n)).toArray(GeneralName[]::new)));
      }
      return new JcaX509CertificateConverter().getCertificate(b.build(
          new JcaContentSignerBuilder(Keys.signatureAlgorithm(issuerKey)).build(issuerKey)));
    } catch (CertIOException | OperatorCreationException e) {
      throw new GeneralSecurityException("cannot sign the certificate of Certificate " + c.key() + ": "
          + e.getMessage(), e);
    }
  }

  /** CN from {@code commonName}, else the first DNS name (what clients that still read the CN expect). */
  private static X500Name subject(CertificateConfig c) {
    X500NameBuilder n = new X500NameBuilder(BCStyle.INSTANCE);
    n.addRDN(BCStyle.CN, c.commonName().orElse(c.dnsNames().isEmpty() ? c.name() : c.dnsNames().get(0)));
    return n.build();
  }
}
