package io.portcullis.tls;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.portcullis.testing.DevCertificates;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.List;
import org.bouncycastle.asn1.x500.X500Name;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class CredentialTest {
  static KeyPair pair(String algorithm) throws Exception {
    if (algorithm.equals("EC")) {
      return DevCertificates.newKeyPair();
    }
    KeyPairGenerator g = KeyPairGenerator.getInstance("RSA");
    g.initialize(2048);
    return g.generateKeyPair();
  }

  static X509Certificate selfSigned(KeyPair kp) throws Exception {
    // DevCertificates signs with ECDSA; an RSA subject key is certified by a separate EC issuer.
    KeyPair issuer = DevCertificates.newKeyPair();
    return DevCertificates.sign(new X500Name("CN=test"), kp, null, issuer, false, Duration.ofDays(1),
        List.of("test.example.com"));
  }

  @ParameterizedTest
  @ValueSource(strings = {"EC", "RSA"})
  void acceptsTheMatchingKeyAndRejectsAnother(String algorithm) throws Exception {
    KeyPair kp = pair(algorithm);
    X509Certificate cert = selfSigned(kp);
    Credential c = new Credential(kp.getPrivate(), List.of(cert));
    assertThat(c.subjectAltNames()).containsExactly("test.example.com");
    assertThat(c.toString()).contains("key=<redacted>").doesNotContain("PRIVATE");
    KeyPair other = pair(algorithm);
    assertThatThrownBy(() -> new Credential(other.getPrivate(), List.of(cert)))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("does not match");
  }

  @org.junit.jupiter.params.ParameterizedTest(name = "{0} -> {1}")
  @org.junit.jupiter.params.provider.CsvSource({"a.example.com, true", "A.Example.COM, true", "x.wild.example.com, true",
      "wild.example.com, false", "x.y.wild.example.com, false", "b.example.com, false", "127.0.0.1, true"})
  void coversItsNamesAndOneLabelUnderAWildcard(String host, boolean covered) throws Exception {
    KeyPair kp = pair("EC");
    X509Certificate cert = DevCertificates.sign(new X500Name("CN=test"), kp, null, kp, false, Duration.ofDays(1),
        List.of("a.example.com", "*.wild.example.com", "127.0.0.1"));
    assertThat(new Credential(kp.getPrivate(), List.of(cert)).covers(host)).isEqualTo(covered);
  }
}
