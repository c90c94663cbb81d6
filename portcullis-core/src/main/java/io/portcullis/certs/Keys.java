package io.portcullis.certs;

import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.SecureRandom;
import java.security.interfaces.ECKey;
import java.security.interfaces.RSAKey;
import java.security.spec.ECGenParameterSpec;

/** Private keys as {@code spec.privateKey} asks for them. */
final class Keys {
  private static final SecureRandom RANDOM = new SecureRandom();

  private Keys() {}

  /**
   * Generates a key pair.
   *
   * @throws GeneralSecurityException when the JDK lacks the algorithm
   */
  static KeyPair generate(CertificateConfig.KeySpec spec) throws GeneralSecurityException {
    switch (spec.algorithm()) {
      case "RSA" -> {
        KeyPairGenerator g = KeyPairGenerator.getInstance("RSA");
        g.initialize(spec.size(), RANDOM);
        return g.generateKeyPair();
      }
      case "Ed25519" -> {
        return KeyPairGenerator.getInstance("Ed25519").generateKeyPair();
      }
      default -> {
        KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
        g.initialize(new ECGenParameterSpec(switch (spec.size()) {
          case 384 -> "secp384r1";
          case 521 -> "secp521r1";
          default -> "secp256r1";
        }), RANDOM);
        return g.generateKeyPair();
      }
    }
  }

  /**
   * Derives the public key of {@code key} (EC: the point d·G; RSA: modulus and public exponent from a CRT key).
   *
   * @throws GeneralSecurityException when it cannot be derived (an RSA key without its public exponent, Ed25519)
   */
  static PublicKey publicKeyOf(PrivateKey key) throws GeneralSecurityException {
    if (key instanceof java.security.interfaces.RSAPrivateCrtKey rsa) {
      return java.security.KeyFactory.getInstance("RSA").generatePublic(new java.security.spec.RSAPublicKeySpec(
          rsa.getModulus(), rsa.getPublicExponent()));
    }
    if (key instanceof java.security.interfaces.ECPrivateKey ec) {
      var spec = org.bouncycastle.jcajce.provider.asymmetric.util.EC5Util.convertSpec(ec.getParams());
      var q = spec.getG().multiply(ec.getS()).normalize();
      var w = new java.security.spec.ECPoint(q.getAffineXCoord().toBigInteger(), q.getAffineYCoord().toBigInteger());
      return java.security.KeyFactory.getInstance("EC").generatePublic(new java.security.spec.ECPublicKeySpec(w,
          ec.getParams()));
    }
    throw new GeneralSecurityException("cannot derive the public key of a " + key.getAlgorithm() + " key");
  }

  /** Returns whether {@code key} is of the algorithm and size {@code spec} asks for. */
  static boolean matches(PublicKey key, CertificateConfig.KeySpec spec) {
    return switch (spec.algorithm()) {
      case "RSA" -> key instanceof RSAKey r && r.getModulus().bitLength() == spec.size();
      case "Ed25519" -> key.getAlgorithm().equals("Ed25519") || key.getAlgorithm().equals("EdDSA");
      default -> key instanceof ECKey e && e.getParams().getCurve().getField().getFieldSize() == spec.size();
    };
  }

  /** Returns the JCA signature algorithm an issuer with {@code key} signs with. */
  static String signatureAlgorithm(PrivateKey key) {
    if (key instanceof RSAKey) {
      return "SHA256withRSA";
    }
    if (key instanceof ECKey e) {
      int bits = e.getParams().getCurve().getField().getFieldSize();
      return bits > 384 ? "SHA512withECDSA" : bits > 256 ? "SHA384withECDSA" : "SHA256withECDSA";
    }
    return "Ed25519";
  }
}
