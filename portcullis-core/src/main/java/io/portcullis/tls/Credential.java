package io.portcullis.tls;

import static java.util.Objects.requireNonNull;

import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.security.PrivateKey;
import java.security.Signature;
import java.security.cert.CertificateParsingException;
import java.security.cert.X509Certificate;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

/**
 * A private key and the certificate chain it serves (leaf first), checked to belong together when created.
 * {@link #toString()} never shows the key (Armeria's {@code TlsKeyPair}).
 *
 * @param key the private key
 * @param chain the leaf certificate, then intermediates
 */
public record Credential(PrivateKey key, List<X509Certificate> chain) {

  /** Checks that the chain is not empty and that {@code key} matches the leaf's public key. */
  public Credential {
    requireNonNull(key, "key");
    chain = List.copyOf(chain);
    if (chain.isEmpty()) {
      throw new IllegalArgumentException("certificate chain: empty (expected: at least the leaf certificate)");
    }
    if (!matches(key, chain.get(0))) {
      throw new IllegalArgumentException("private key does not match the certificate's public key (subject "
          + chain.get(0).getSubjectX500Principal().getName() + ")");
    }
  }

  /** Returns the leaf certificate. */
  public X509Certificate leaf() {
    return chain.get(0);
  }

  /** Returns the leaf's DNS and IP subject alternative names. */
  public List<String> subjectAltNames() {
    List<String> out = new ArrayList<>();
    try {
      var sans = leaf().getSubjectAlternativeNames();
      if (sans != null) {
        for (List<?> san : sans) {
          Object type = san.get(0);
          if (Integer.valueOf(2).equals(type) || Integer.valueOf(7).equals(type)) {
            out.add(String.valueOf(san.get(1)));
          }
        }
      }
    } catch (CertificateParsingException e) {
      // leave the list empty: the certificate still serves
    }
    return out;
  }

  /** Returns the leaf's serial number in hex. */
  public String serialHex() {
    BigInteger s = leaf().getSerialNumber();
    return s.toString(16);
  }

  /** Returns when the leaf expires. */
  public Instant notAfter() {
    return leaf().getNotAfter().toInstant();
  }

  /**
   * Returns whether {@code key} is the private half of the certificate's public key: RSA by modulus and exponent, EC
   * by computing the public point (BouncyCastle's fixed-point multiplier, about 0.1 ms; a sign and verify through the
   * JDK took 1.7 ms), other algorithms by a signature.
   */
  private static boolean matches(PrivateKey key, X509Certificate cert) {
    java.security.PublicKey pub = cert.getPublicKey();
    if (key instanceof java.security.interfaces.RSAPrivateCrtKey rsa
        && pub instanceof java.security.interfaces.RSAPublicKey rsaPub) {
      return rsa.getModulus().equals(rsaPub.getModulus()) && rsa.getPublicExponent().equals(rsaPub.getPublicExponent());
    }
    if (key instanceof java.security.interfaces.ECPrivateKey ec
        && pub instanceof java.security.interfaces.ECPublicKey ecPub) {
      try {
        org.bouncycastle.jce.spec.ECParameterSpec spec = org.bouncycastle.jcajce.provider.asymmetric.util.EC5Util
            .convertSpec(ec.getParams());
        org.bouncycastle.math.ec.ECPoint q = new org.bouncycastle.math.ec.FixedPointCombMultiplier()
            .multiply(spec.getG(), ec.getS()).normalize();
        return q.getAffineXCoord().toBigInteger().equals(ecPub.getW().getAffineX())
            && q.getAffineYCoord().toBigInteger().equals(ecPub.getW().getAffineY());
      } catch (RuntimeException e) {
        return false;
      }
    }
    String alg = switch (key.getAlgorithm()) {
      case "RSA" -> "SHA256withRSA";
      case "EC", "ECDSA" -> "SHA256withECDSA";
      case "Ed25519", "EdDSA" -> "Ed25519";
      default -> null;
    };
    if (alg == null) {
      return true; // unknown algorithm: the TLS provider will refuse it if it does not fit
    }
    try {
      byte[] probe = "portcullis key check".getBytes(StandardCharsets.US_ASCII);
      Signature s = Signature.getInstance(alg);
      s.initSign(key);
      s.update(probe);
      byte[] sig = s.sign();
      Signature v = Signature.getInstance(alg);
      v.initVerify(pub);
      v.update(probe);
      return v.verify(sig);
    } catch (Exception e) {
      return false;
    }
  }

  @Override
  public String toString() {
    return "Credential{subject=" + leaf().getSubjectX500Principal().getName() + ", sans=" + subjectAltNames()
        + ", notAfter=" + notAfter() + ", key=<redacted>}";
  }
}
