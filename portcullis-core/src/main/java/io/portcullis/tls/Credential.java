package io.portcullis.tls;

import static java.util.Objects.requireNonNull;

import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.Signature;
import java.security.cert.CertificateParsingException;
import java.security.cert.X509Certificate;
import java.security.interfaces.ECPrivateKey;
import java.security.interfaces.ECPublicKey;
import java.security.interfaces.RSAPrivateCrtKey;
import java.security.interfaces.RSAPublicKey;
import java.security.spec.ECPoint;
import java.security.spec.ECPublicKeySpec;
import java.security.spec.RSAPublicKeySpec;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

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

  /**
   * Returns whether the leaf's DNS or IP subject alternative names cover {@code host} (RFC 6125 §6.4: exact, or a
   * {@code *.} wildcard for exactly one left-most label), ignoring case.
   */
  public boolean covers(String host) {
    String h = host.toLowerCase(java.util.Locale.ROOT);
    for (String san : subjectAltNames()) {
      String n = san.toLowerCase(java.util.Locale.ROOT);
      if (n.equals(h)) {
        return true;
      }
      int dot = h.indexOf('.');
      if (n.startsWith("*.") && dot > 0 && h.substring(dot).equals(n.substring(1))) {
        return true;
      }
    }
    return false;
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
   * Derives the public key of an RSA (CRT) private key from its modulus and public exponent, or of an EC private key
   * by computing its point d·G (BouncyCastle's fixed-point multiplier, about 0.1 ms).
   *
   * @return empty for other kinds of key (Ed25519, a non-CRT RSA key) or when the key cannot be read
   */
  public static Optional<PublicKey> publicKeyOf(PrivateKey key) {
    try {
      if (key instanceof RSAPrivateCrtKey rsa) {
        return Optional.of(KeyFactory.getInstance("RSA").generatePublic(new RSAPublicKeySpec(rsa.getModulus(),
            rsa.getPublicExponent())));
      }
      if (key instanceof ECPrivateKey ec) {
        org.bouncycastle.jce.spec.ECParameterSpec spec = org.bouncycastle.jcajce.provider.asymmetric.util.EC5Util
            .convertSpec(ec.getParams());
        org.bouncycastle.math.ec.ECPoint q = new org.bouncycastle.math.ec.FixedPointCombMultiplier()
            .multiply(spec.getG(), ec.getS()).normalize();
        return Optional.of(KeyFactory.getInstance("EC").generatePublic(new ECPublicKeySpec(new ECPoint(
            q.getAffineXCoord().toBigInteger(), q.getAffineYCoord().toBigInteger()), ec.getParams())));
      }
    } catch (GeneralSecurityException | RuntimeException e) {
      return Optional.empty();
    }
    return Optional.empty();
  }

  /**
   * Returns whether {@code key} is the private half of the certificate's public key: RSA and EC by deriving the
   * public key ({@link #publicKeyOf}; a sign and verify through the JDK took 1.7 ms), other algorithms by a signature.
   */
  private static boolean matches(PrivateKey key, X509Certificate cert) {
    PublicKey pub = cert.getPublicKey();
    Optional<PublicKey> derived = publicKeyOf(key);
    if (derived.isPresent() && derived.get() instanceof RSAPublicKey d && pub instanceof RSAPublicKey p) {
      return d.getModulus().equals(p.getModulus()) && d.getPublicExponent().equals(p.getPublicExponent());
    }
    if (derived.isPresent() && derived.get() instanceof ECPublicKey d && pub instanceof ECPublicKey p) {
      return d.getW().equals(p.getW());
    }
    if (derived.isPresent()) {
      return false; // an RSA key for an EC certificate, or the reverse
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
