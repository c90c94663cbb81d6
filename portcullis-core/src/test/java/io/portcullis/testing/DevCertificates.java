package io.portcullis.testing;

import io.portcullis.tls.Pem;
import io.portcullis.tls.SecureFiles;
import java.io.IOException;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import java.util.List;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509ExtensionUtils;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/**
 * Test fixture: a development CA and a {@code localhost} certificate signed by it (ECDSA P-256, BouncyCastle), made
 * once per directory. Independent of the certificate manager's signer on purpose: fixtures are not made by the code
 * under test.
 *
 * <p>Files: {@code ca.crt} (the trust anchor to give curl), {@code ca.key}, {@code tls.crt}, {@code tls.key}; keys
 * mode 0600. Blocking file I/O: call off the event loops.
 */
public final class DevCertificates {
  private static final Duration CA_LIFETIME = Duration.ofDays(3650);
  private static final Duration LEAF_LIFETIME = Duration.ofDays(825);

  private DevCertificates() {}

  /**
   * Returns the development credential in {@code dir}, creating it on first use or when the leaf expires within a day.
   *
   * @return paths: the CA certificate, the leaf chain and the leaf key
   * @throws IOException when {@code dir} cannot be written
   */
  public static DevCredential ensure(Path dir) throws IOException {
    Path caCrt = dir.resolve("ca.crt");
    Path caKey = dir.resolve("ca.key");
    Path crt = dir.resolve("tls.crt");
    Path key = dir.resolve("tls.key");
    if (Files.exists(crt) && Files.exists(key) && Files.exists(caCrt)) {
      try {
        X509Certificate leaf = Pem.certificates(Files.readAllBytes(crt)).get(0);
        if (leaf.getNotAfter().toInstant().isAfter(Instant.now().plus(Duration.ofDays(1)))) {
          return new DevCredential(caCrt, crt, key);
        }
      } catch (IllegalArgumentException e) {
        // unreadable: make a new one below
      }
    }
    Files.createDirectories(dir);
    try {
      KeyPair ca = newKeyPair();
      X509Certificate caCert = sign(new X500Name("CN=Portcullis development CA,O=Portcullis"), ca, null, ca, true,
          CA_LIFETIME, List.of());
      KeyPair leafKeys = newKeyPair();
      X509Certificate leaf = sign(new X500Name("CN=localhost,O=Portcullis development"), leafKeys, caCert, ca, false,
          LEAF_LIFETIME, List.of("localhost", "127.0.0.1", "::1"));
      SecureFiles.write(caKey, Pem.encode(ca.getPrivate()).getBytes(StandardCharsets.US_ASCII), true);
      SecureFiles.write(key, Pem.encode(leafKeys.getPrivate()).getBytes(StandardCharsets.US_ASCII), true);
      SecureFiles.write(caCrt, Pem.encode(caCert).getBytes(StandardCharsets.US_ASCII), false);
      SecureFiles.write(crt, Pem.encode(leaf, caCert).getBytes(StandardCharsets.US_ASCII), false);
    } catch (IOException e) {
      throw e;
    } catch (Exception e) {
      throw new IOException("cannot create the development certificate: " + e.getMessage(), e);
    }
    return new DevCredential(caCrt, crt, key);
  }

  /**
   * The files of a development credential.
   *
   * @param caCertificate the trust anchor (PEM)
   * @param certificateChain leaf then CA (PEM)
   * @param privateKey the leaf's key (PEM PKCS#8, mode 0600)
   */
  public record DevCredential(Path caCertificate, Path certificateChain, Path privateKey) {}

  public static KeyPair newKeyPair() throws Exception {
    KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
    g.initialize(new ECGenParameterSpec("secp256r1"), new SecureRandom());
    return g.generateKeyPair();
  }

  /** Signs a certificate for {@code subjectKeys} with {@code issuerKeys}; self-signed when {@code issuer} is null. */
  public static X509Certificate sign(X500Name subject, KeyPair subjectKeys, X509Certificate issuer, KeyPair issuerKeys,
      boolean isCa, Duration lifetime, List<String> sans) throws Exception {
    Instant now = Instant.now();
    X500Name issuerName = issuer == null ? subject : X500Name.getInstance(issuer.getSubjectX500Principal()
        .getEncoded());
    var b = new JcaX509v3CertificateBuilder(issuerName, new BigInteger(96, new SecureRandom()),
        Date.from(now.minus(Duration.ofMinutes(5))), Date.from(now.plus(lifetime)), subject, subjectKeys.getPublic());
    JcaX509ExtensionUtils ext = new JcaX509ExtensionUtils();
    b.addExtension(Extension.subjectKeyIdentifier, false, ext.createSubjectKeyIdentifier(subjectKeys.getPublic()));
    b.addExtension(Extension.authorityKeyIdentifier, false, ext.createAuthorityKeyIdentifier(issuerKeys.getPublic()));
    b.addExtension(Extension.basicConstraints, true, new BasicConstraints(isCa));
    if (isCa) {
      b.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign));
    } else {
      b.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.digitalSignature));
      b.addExtension(Extension.extendedKeyUsage, false, new ExtendedKeyUsage(KeyPurposeId.id_kp_serverAuth));
      GeneralName[] names = sans.stream().map(n -> n.matches("[0-9.]+|.*:.*")
          ? new GeneralName(GeneralName.iPAddress, n) : new GeneralName(GeneralName.dNSName, n))
          .toArray(GeneralName[]::new);
      b.addExtension(Extension.subjectAlternativeName, false, new GeneralNames(names));
    }
    var signer = new JcaContentSignerBuilder("SHA256withECDSA").build(issuerKeys.getPrivate());
    return new JcaX509CertificateConverter().getCertificate(b.build(signer));
  }
}
