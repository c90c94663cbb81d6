package io.portcullis.certs;

import io.portcullis.storage.StoredSecret;
import io.portcullis.tls.Credential;
import io.portcullis.tls.Pem;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;

/**
 * Whether a Certificate needs issuing, as cert-manager's readiness and trigger policies decide it. Pure: the stored
 * Secret, the spec and the time in, a decision out.
 */
final class Renewal {
  static final String ISSUER_NAME = "cert-manager.io/issuer-name";
  static final String ISSUER_KIND = "cert-manager.io/issuer-kind";

  private Renewal() {}

  /**
   * The stored certificate, parsed.
   *
   * @param credential key and chain (the key matches the leaf)
   * @param renewalTime when to renew: {@code notAfter - renewBefore}, else at 2/3 of the lifetime
   */
  record Current(Credential credential, Instant notBefore, Instant notAfter, Instant renewalTime) {}

  /**
   * The decision.
   *
   * @param reason why to issue (cert-manager's reasons: {@code DoesNotExist}, {@code MissingData},
   *     {@code InvalidKeyPair}, {@code InvalidCertificate}, {@code IncorrectIssuer}, {@code RequestChanged},
   *     {@code Expired}, {@code Renewing}), or empty when the stored certificate is good
   * @param message a sentence for the Issuing condition
   * @param current the stored certificate when it parses (it keeps serving until a new one is stored)
   */
  record Check(Optional<String> reason, String message, Optional<Current> current) {
    boolean due() {
      return reason.isPresent();
    }
  }

  /** Returns when a certificate valid from {@code notBefore} to {@code notAfter} is to be renewed. */
  static Instant renewalTime(Instant notBefore, Instant notAfter, Optional<Duration> renewBefore) {
    Duration lifetime = Duration.between(notBefore, notAfter);
    Instant at = renewBefore.isPresent() && renewBefore.get().compareTo(lifetime) < 0
        ? notAfter.minus(renewBefore.get()) : notBefore.plus(lifetime.multipliedBy(2).dividedBy(3));
    return at.truncatedTo(java.time.temporal.ChronoUnit.SECONDS); // RFC 3339 seconds, as cert-manager shows it
  }

  /**
   * A stored Secret parsed once: its credential, or why it has none (cert-manager's {@code MissingData},
   * {@code InvalidKeyPair}, {@code InvalidCertificate}). Parsing costs a PEM decode and a key check (about 0.1–0.5 ms),
   * so the manager keeps one per stored Secret rather than parsing at every decision.
   *
   * @param secret the Secret it was parsed from
   */
  record Parsed(StoredSecret secret, Optional<Credential> credential, Optional<Check> unusable) {}

  /** Parses {@code s}. */
  static Parsed parse(StoredSecret s) {
    byte[] crt = s.data().get("tls.crt");
    byte[] key = s.data().get("tls.key");
    if (crt == null || crt.length == 0 || key == null || key.length == 0) {
      return new Parsed(s, Optional.empty(), Optional.of(due("MissingData", "Issuing certificate as Secret does not "
          + "contain " + (crt == null || crt.length == 0 ? "a certificate" : "a private key"), null)));
    }
    try {
      return new Parsed(s, Optional.of(new Credential(Pem.privateKey(key), Pem.certificates(crt))), Optional.empty());
    } catch (IllegalArgumentException e) {
      boolean keyProblem = e.getMessage() != null && e.getMessage().contains("key");
      return new Parsed(s, Optional.empty(), Optional.of(due(keyProblem ? "InvalidKeyPair" : "InvalidCertificate",
          "Issuing certificate as Secret holds " + (keyProblem ? "an invalid key pair" : "an invalid certificate")
          + ": " + e.getMessage(), null)));
    }
  }

  /** Decides whether {@code c} needs issuing at {@code now}, given its stored Secret. */
  static Check check(CertificateConfig c, Optional<StoredSecret> secret, Instant now) {
    return check(c, secret.map(Renewal::parse), now, Optional.empty());
  }

  /**
   * As {@link #check(CertificateConfig, Optional, Instant)} for a parsed Secret, with a renewal time the CA suggested
   * (ACME Renewal Information, RFC 9773): the earlier of it and the spec's renewal time is used.
   */
  static Check check(CertificateConfig c, Optional<Parsed> parsed, Instant now, Optional<Instant> suggested) {
    if (parsed.isEmpty()) {
      return due("DoesNotExist", "Issuing certificate as Secret does not exist", null);
    }
    if (parsed.get().unusable().isPresent()) {
      return parsed.get().unusable().get();
    }
    StoredSecret s = parsed.get().secret();
    Credential cred = parsed.get().credential().orElseThrow();
    X509Certificate leaf = cred.leaf();
    Instant notBefore = leaf.getNotBefore().toInstant();
    Instant notAfter = leaf.getNotAfter().toInstant();
    Instant renewal = renewalTime(notBefore, notAfter, c.renewBefore());
    if (suggested.isPresent() && suggested.get().isBefore(renewal)) {
      renewal = suggested.get().truncatedTo(java.time.temporal.ChronoUnit.SECONDS);
    }
    Current current = new Current(cred, notBefore, notAfter, renewal);
    String issuerName = s.annotations().getOrDefault(ISSUER_NAME, "");
    String issuerKind = s.annotations().getOrDefault(ISSUER_KIND, "");
    if (!issuerName.equals(c.issuer().name()) || !issuerKind.equals(c.issuer().kind())) {
      return due("IncorrectIssuer", "Issuing certificate as Secret was previously issued by " + issuerKind + "/"
          + issuerName + " (expected: " + c.issuer().kind() + "/" + c.issuer().name() + ")", current);
    }
    List<String> changed = new ArrayList<>();
    if (!new HashSet<>(cred.subjectAltNames()).equals(new HashSet<>(c.dnsNames()))) {
      changed.add("spec.dnsNames");
    }
    if (c.commonName().isPresent() && !leaf.getSubjectX500Principal().getName().contains("CN="
        + c.commonName().get())) {
      changed.add("spec.commonName");
    }
    if ((leaf.getBasicConstraints() >= 0) != c.isCa()) {
      changed.add("spec.isCA");
    }
    if (!Keys.matches(leaf.getPublicKey(), c.privateKey())) {
      changed.add("spec.privateKey");
    }
    if (!changed.isEmpty()) {
      return due("RequestChanged", "Issuing certificate as the stored certificate does not match " + changed, current);
    }
    if (!now.isBefore(notAfter)) {
      return due("Expired", "Issuing certificate as it expired at " + notAfter, current);
    }
    if (!now.isBefore(current.renewalTime())) {
      return due("Renewing", "Renewing certificate as renewal was scheduled at " + current.renewalTime(), current);
    }
    return new Check(Optional.empty(), "Certificate is up to date and has not expired", Optional.of(current));
  }

  private static Check due(String reason, String message, Current current) {
    return new Check(Optional.of(reason), message, Optional.ofNullable(current));
  }
}
