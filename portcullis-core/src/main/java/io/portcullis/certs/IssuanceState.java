package io.portcullis.certs;

import io.portcullis.certs.CertificateStatus.Condition;
import io.portcullis.tls.Credential;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;

/**
 * What the certificate manager keeps per Certificate beyond its stored Secret: back-off, the order in flight, why an
 * issuance waits, the CA's renewal window, and the {@code Ready} condition's last transition; and the status made of
 * them ({@link #status}). Confined to the manager's thread.
 */
final class IssuanceState {
  CertificateConfig config;
  int failures;
  Instant lastFailure;
  Instant backoffUntil;
  String failureMessage;
  String waiting; // why an issuance that is due cannot start (issuer missing or not ready)
  boolean manual;
  CompletableFuture<?> inFlight; // the ACME order being placed: at most one per Certificate
  io.portcullis.storage.IssuanceLocks.Lock lock; // held while inFlight
  Instant recheck; // another replica holds the lock (or it could not be reached): look again then
  String ordering;
  Instant suggestedRenewal; // from the CA's renewal window (RFC 9773), for the certificate of suggestedFor
  String suggestedFor; // serial
  Instant renewalInfoCheck; // when to ask the CA for the window again
  boolean renewalInfoFetching;
  Instant readySince;
  String readyStatus = "";

  /**
   * The status of Certificate {@code c} now, with cert-manager's {@code Ready} and {@code Issuing} conditions;
   * records when {@code Ready} last changed.
   *
   * @param check the renewal decision for its stored Secret
   * @param revision the stored Secret's revision (0 for none)
   */
  CertificateStatus status(CertificateConfig c, Renewal.Check check, int revision, Instant now) {
    Optional<Renewal.Current> cur = check.current();
    boolean ready = !check.due() || (check.reason().get().equals("Renewing") && cur.isPresent());
    String status = ready ? "True" : "False";
    if (!status.equals(readyStatus)) {
      readyStatus = status;
      readySince = now;
    }
    Condition readyCond = ready
        ? new Condition("Ready", "True", "Ready", "Certificate is up to date and has not expired", readySince)
        : new Condition("Ready", "False", check.reason().get(), check.message(), readySince);
    Optional<Condition> issuing = Optional.empty();
    if (failureMessage != null) {
      issuing = Optional.of(new Condition("Issuing", "False", "Failed", "The certificate request has failed to "
          + "complete and will be retried: " + failureMessage, lastFailure));
      if (!ready) {
        readyCond = new Condition("Ready", "False", "Failed", failureMessage, readySince);
      }
    } else if (ordering != null) {
      issuing = Optional.of(new Condition("Issuing", "True", check.reason().orElse("ManuallyTriggered"), ordering,
          now));
    } else if (waiting != null) {
      String reason = waiting.contains(":") ? waiting.substring(0, waiting.indexOf(':')) : "Pending";
      issuing = Optional.of(new Condition("Issuing", "True", reason, waiting, now));
      if (!ready) {
        readyCond = new Condition("Ready", "False", reason, waiting, readySince);
      }
    } else if (check.due() || manual) {
      issuing = Optional.of(new Condition("Issuing", "True", check.reason().orElse("ManuallyTriggered"),
          check.message(), now));
    }
    Optional<Credential> cred = cur.map(Renewal.Current::credential);
    return new CertificateStatus(c.namespace(), c.name(), c.secretName(), c.issuer().toString(), c.dnsNames(),
        c.origin(), readyCond, issuing, cur.map(Renewal.Current::notBefore), cur.map(Renewal.Current::notAfter),
        cur.map(Renewal.Current::renewalTime), revision, Optional.ofNullable(lastFailure), failures,
        Optional.ofNullable(backoffUntil), cred.map(Credential::serialHex),
        cred.map(x -> x.leaf().getIssuerX500Principal().getName()),
        cred.map(Credential::subjectAltNames).orElse(List.of()));
  }
}
