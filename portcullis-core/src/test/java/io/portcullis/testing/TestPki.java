package io.portcullis.testing;

import io.portcullis.tls.Pem;
import java.math.BigInteger;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.SecureRandom;
import java.security.cert.X509CRL;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import java.util.List;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.CRLReason;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.X509v2CRLBuilder;
import org.bouncycastle.cert.jcajce.JcaX509CRLConverter;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509ExtensionUtils;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/**
 * A throwaway PKI for tests: CAs, RSA or ECDSA server certificates, client certificates with chosen SANs, and CRLs.
 * Independent of the code under test (BouncyCastle only).
 */
public final class TestPki {
  private TestPki() {}

  /** A CA: its certificate and keys. */
  public record Ca(X509Certificate cert, KeyPair keys) {
    /** Returns the CA certificate as PEM. */
    public String pem() {
      return Pem.encode(cert);
    }

    /** Issues a server certificate for {@code host} with an {@code "RSA"} or {@code "EC"} key. */
    public Leaf server(String host, String keyAlgorithm) throws Exception {
      KeyPair k = keyPair(keyAlgorithm);
      return new Leaf(sign(this, "CN=" + host, k, false, KeyPurposeId.id_kp_serverAuth, List.of(host)), k, this);
    }

    /** Issues a client certificate with subject {@code CN=cn} and the URI or DNS {@code sans}. */
    public Leaf client(String cn, String... sans) throws Exception {
      KeyPair k = keyPair("EC");
      return new Leaf(sign(this, "CN=" + cn, k, false, KeyPurposeId.id_kp_clientAuth, List.of(sans)), k, this);
    }

    /** Returns a PEM CRL from this CA revoking {@code revoked}, valid for a day. */
    public String crl(Leaf... revoked) throws Exception {
      Instant now = Instant.now();
      X509v2CRLBuilder b = new X509v2CRLBuilder(X500Name.getInstance(cert.getSubjectX500Principal().getEncoded()),
          Date.from(now.minusSeconds(60)));
      b.setNextUpdate(Date.from(now.plus(Duration.ofDays(1))));
      for (Leaf l : revoked) {
        b.addCRLEntry(l.cert().getSerialNumber(), Date.from(now.minusSeconds(30)), CRLReason.keyCompromise);
      }
      X509CRL crl = new JcaX509CRLConverter().getCRL(b.build(new JcaContentSignerBuilder(algorithm(keys))
          .build(keys.getPrivate())));
      return "-----BEGIN X509 CRL-----\n" + java.util.Base64.getMimeEncoder(64, "\n".getBytes())
          .encodeToString(crl.getEncoded()) + "\n-----END X509 CRL-----\n";
    }
  }

  /** An issued certificate, its keys and its CA. */
  public record Leaf(X509Certificate cert, KeyPair keys, Ca ca) {
    /** Returns the certificate as PEM. */
    public String certPem() {
      return Pem.encode(cert);
    }

    /** Returns the private key as PEM (PKCS#8). */
    public String keyPem() {
      return Pem.encode(keys.getPrivate());
    }

    /** Returns the serial in lower-case hex. */
    public String serial() {
      return cert.getSerialNumber().toString(16);
    }
  }

  /** Creates a self-signed CA named {@code CN=cn}. */
  public static Ca ca(String cn) throws Exception {
    KeyPair k = keyPair("EC");
    X500Name name = new X500Name("CN=" + cn + ",O=Portcullis tests");
    Instant now = Instant.now();
    var b = new JcaX509v3CertificateBuilder(name, new BigInteger(96, new SecureRandom()),
        Date.from(now.minus(Duration.ofMinutes(5))), Date.from(now.plus(Duration.ofDays(30))), name, k.getPublic());
    JcaX509ExtensionUtils ext = new JcaX509ExtensionUtils();
    b.addExtension(Extension.subjectKeyIdentifier, false, ext.createSubjectKeyIdentifier(k.getPublic()));
    b.addExtension(Extension.basicConstraints, true, new BasicConstraints(true));
    b.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign));
    X509Certificate c = new JcaX509CertificateConverter().getCertificate(b.build(
        new JcaContentSignerBuilder(algorithm(k)).build(k.getPrivate())));
    return new Ca(c, k);
  }

  private static X509Certificate sign(Ca ca, String subject, KeyPair k, boolean isCa, KeyPurposeId purpose,
      List<String> sans) throws Exception {
    Instant now = Instant.now();
    var b = new JcaX509v3CertificateBuilder(X500Name.getInstance(ca.cert().getSubjectX500Principal().getEncoded()),
        new BigInteger(96, new SecureRandom()), Date.from(now.minus(Duration.ofMinutes(5))),
        Date.from(now.plus(Duration.ofDays(30))), new X500Name(subject), k.getPublic());
    JcaX509ExtensionUtils ext = new JcaX509ExtensionUtils();
    b.addExtension(Extension.authorityKeyIdentifier, false, ext.createAuthorityKeyIdentifier(ca.keys().getPublic()));
    b.addExtension(Extension.basicConstraints, true, new BasicConstraints(isCa));
    b.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.digitalSignature | KeyUsage.keyEncipherment));
    b.addExtension(Extension.extendedKeyUsage, false, new ExtendedKeyUsage(purpose));
    if (!sans.isEmpty()) {
      GeneralName[] names = sans.stream().map(n -> n.contains("://") ? new GeneralName(
          GeneralName.uniformResourceIdentifier, n) : new GeneralName(GeneralName.dNSName, n))
          .toArray(GeneralName[]::new);
      b.addExtension(Extension.subjectAlternativeName, false, new GeneralNames(names));
    }
    return new JcaX509CertificateConverter().getCertificate(b.build(new JcaContentSignerBuilder(algorithm(
        ca.keys())).build(ca.keys().getPrivate())));
  }

  private static KeyPair keyPair(String algorithm) throws Exception {
    KeyPairGenerator g = KeyPairGenerator.getInstance(algorithm);
    if (algorithm.equals("EC")) {
      g.initialize(new ECGenParameterSpec("secp256r1"), new SecureRandom());
    } else {
      g.initialize(2048, new SecureRandom());
    }
    return g.generateKeyPair();
  }

  private static String algorithm(KeyPair k) {
    return k.getPrivate().getAlgorithm().equals("EC") ? "SHA256withECDSA" : "SHA256withRSA";
  }
}
