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
