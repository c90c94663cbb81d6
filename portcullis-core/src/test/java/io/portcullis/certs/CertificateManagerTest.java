package io.portcullis.certs;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.portcullis.acme.AcmeClient;
import io.portcullis.acme.Http01Challenges;
import io.portcullis.config.Manifests;
import io.portcullis.storage.DirectoryStorage;
import io.portcullis.storage.StoredSecret;
import io.portcullis.tls.Pem;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.CertPathValidator;
import java.security.cert.CertificateFactory;
import java.security.cert.PKIXParameters;
import java.security.cert.TrustAnchor;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.Date;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CertificateManagerTest {
  /** DNS-01 look-ups for tests whose issuers have only HTTP-01 solvers. */
  static final io.portcullis.dns.Dns01 NO_DNS = new io.portcullis.dns.Dns01(new io.portcullis.dns.DnsLookup(
      List.of(), false, 53, Duration.ofSeconds(1)), Duration.ofSeconds(5));
  @TempDir Path tmp;
  final MutableClock clock = new MutableClock(Instant.now());
  final AtomicInteger changes = new AtomicInteger();
  CertificateManager manager;

  /** A clock the test moves forward. */
  static final class MutableClock extends Clock {
    volatile Instant now;

    MutableClock(Instant now) {
      this.now = now;
    }

    @Override
    public Instant instant() {
      return now;
    }

    @Override
    public java.time.ZoneId getZone() {
      return ZoneOffset.UTC;
    }

    @Override
    public Clock withZone(java.time.ZoneId zone) {
      return this;
    }
  }

  @AfterEach
  void stop() {
    if (manager != null) {
      manager.close();
    }
  }

  CertificateManager start(Path state) {
    manager = new CertificateManager(new DirectoryStorage(state), clock, Duration.ofSeconds(10),
        new AcmeClient(new Http01Challenges(), NO_DNS, Duration.ofSeconds(30)), changes::incrementAndGet);
    return manager;
  }

  void update(CertManagerConfig config) throws Exception {
    manager.update(config, Map.of());
    manager.sync().get(10, TimeUnit.SECONDS);
  }

  static CertManagerConfig bootstrap() {
    return CertManagerTranslatorTest.translate(CertManagerTranslatorTest.BOOTSTRAP);
  }

  static List<X509Certificate> chain(StoredSecret s) {
    return Pem.certificates(s.data().get("tls.crt"));
  }

  CertificateStatus status(String name) {
    return manager.statuses().stream().filter(s -> s.name().equals(name)).findFirst().orElseThrow();
  }

  @Test
  void issuesTheBootstrapChainInOnePassAndTheLeafVerifiesAgainstTheRoot() throws Exception {
    start(tmp);
    update(bootstrap());

    StoredSecret root = manager.storedSecrets().get("istio-system/root-ca");
    StoredSecret web = manager.storedSecrets().get("istio-system/web-credential");
    assertThat(root).isNotNull();
    assertThat(web).isNotNull();
    assertThat(web.type()).isEqualTo("kubernetes.io/tls");
    assertThat(web.data()).containsKeys("tls.crt", "tls.key", "ca.crt");
    X509Certificate rootCert = chain(root).get(0);
    assertThat(rootCert.getBasicConstraints()).isGreaterThanOrEqualTo(0);
    List<X509Certificate> webChain = chain(web);
    assertThat(webChain.get(0).getSubjectAlternativeNames().stream().map(l -> String.valueOf(l.get(1))).toList())
        .containsExactlyInAnyOrder("www.example.test", "mobile.example.test");
    assertThat(Pem.certificates(web.data().get("ca.crt")).get(0)).isEqualTo(rootCert);

    PKIXParameters params = new PKIXParameters(Set.of(new TrustAnchor(rootCert, null)));
    params.setRevocationEnabled(false);
    params.setDate(Date.from(clock.instant().plusSeconds(60)));
    CertPathValidator.getInstance("PKIX").validate(CertificateFactory.getInstance("X.509")
        .generateCertPath(List.of(webChain.get(0))), params); // throws when the chain does not verify

    assertThat(status("web").ready().status()).isEqualTo("True");
    assertThat(status("web").revision()).isEqualTo(1);
    assertThat(status("web").renewalTime()).contains(status("web").notAfter().get().minus(Duration.ofDays(15)));
    assertThat(changes.get()).isPositive();
    assertThat(Files.exists(tmp.resolve("istio-system_web-credential.yaml"))).isTrue();
  }

  @Test
  void aRestartReusesTheStoredCertificates() throws Exception {
    start(tmp);
    update(bootstrap());
    String serial = status("web").serial().orElseThrow();
    manager.close();

    start(tmp);
    update(bootstrap());
    assertThat(status("web").serial()).contains(serial);
    assertThat(status("web").revision()).isEqualTo(1);
    assertThat(status("web").ready().status()).isEqualTo("True");
  }

  @Test
  void renewsAtTheRenewalTimeAndWhenForced() throws Exception {
    start(tmp);
    update(bootstrap());
    CertificateStatus first = status("web");

    clock.now = first.renewalTime().orElseThrow().plusSeconds(1);
    update(bootstrap());
    CertificateStatus renewed = status("web");
    assertThat(renewed.revision()).isEqualTo(2);
    assertThat(renewed.serial()).isNotEqualTo(first.serial());
    assertThat(renewed.notAfter().get()).isAfter(first.notAfter().get());

    assertThat(manager.renew("istio-system", "web").get(10, TimeUnit.SECONDS)).contains("renewed (revision 3)");
    assertThat(status("web").serial()).isNotEqualTo(renewed.serial());
    assertThatThrownBy(() -> manager.renew("istio-system", "nope").get(10, TimeUnit.SECONDS))
        .isInstanceOf(ExecutionException.class).hasMessageContaining("no Certificate istio-system/nope");
  }

  @Test
  void aChangedSpecIsReissued() throws Exception {
    start(tmp);
    update(bootstrap());
    String serial = status("web").serial().orElseThrow();
    update(CertManagerTranslatorTest.translate(CertManagerTranslatorTest.BOOTSTRAP.replace(
        "[www.example.test, Mobile.Example.Test]", "[www.example.test, api.example.test]")));
    assertThat(status("web").serial()).isNotEqualTo(java.util.Optional.of(serial));
    assertThat(status("web").subjectAltNames()).containsExactlyInAnyOrder("www.example.test", "api.example.test");
  }

  @Test
  void aMissingIssuerWaitsWithoutBackoffAndACaIssuerWaitsForItsSecret() throws Exception {
    start(tmp);
    update(CertManagerTranslatorTest.translate("""
        apiVersion: cert-manager.io/v1
        kind: ClusterIssuer
        metadata: {name: ca}
        spec: {ca: {secretName: no-such-secret}}
        ---
        apiVersion: cert-manager.io/v1
        kind: Certificate
        metadata: {name: web, namespace: istio-system}
        spec:
          secretName: web
          dnsNames: [www.example.test]
          issuerRef: {name: ca, kind: ClusterIssuer}
        ---
        apiVersion: cert-manager.io/v1
        kind: Certificate
        metadata: {name: orphan, namespace: istio-system}
        spec:
          secretName: orphan
          dnsNames: [orphan.example.test]
          issuerRef: {name: missing}
        """));
    assertThat(status("web").ready().status()).isEqualTo("False");
    assertThat(status("web").ready().reason()).isEqualTo("IssuerNotReady");
    assertThat(status("web").ready().message()).contains("Secret istio-system/no-such-secret does not exist");
    assertThat(status("web").failedIssuanceAttempts()).isZero();
    assertThat(status("orphan").ready().reason()).isEqualTo("IssuerNotFound");
    assertThat(status("orphan").ready().message()).contains("Issuer istio-system/missing does not exist");
    assertThat(manager.storedSecrets()).isEmpty();
  }

  @Test
  void aFailedIssuanceBacksOffExponentiallyAndKeepsTheOldCertificateServing() throws Exception {
    Path state = tmp.resolve("state");
    start(state);
    update(bootstrap());
    String serial = status("web").serial().orElseThrow();

    // The state directory becomes unwritable: storing the renewal fails.
    Files.walk(state).sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    Files.writeString(state, "not a directory");
    clock.now = status("web").renewalTime().orElseThrow().plusSeconds(1);
    update(bootstrap());
    CertificateStatus failed = status("web");
    assertThat(failed.failedIssuanceAttempts()).isEqualTo(1);
    assertThat(failed.lastFailureTime()).contains(clock.now);
    assertThat(failed.nextAttempt()).contains(clock.now.plusSeconds(10));
    assertThat(failed.ready().status()).isEqualTo("True"); // the old certificate still serves
    assertThat(failed.serial()).contains(serial);
    assertThat(failed.issuing().orElseThrow().reason()).isEqualTo("Failed");

    clock.now = clock.now.plusSeconds(5); // inside the back-off: no attempt
    update(bootstrap());
    assertThat(status("web").failedIssuanceAttempts()).isEqualTo(1);
    clock.now = clock.now.plusSeconds(6); // after it: attempt 2, back-off doubled
    update(bootstrap());
    assertThat(status("web").failedIssuanceAttempts()).isEqualTo(2);
    assertThat(status("web").nextAttempt()).contains(clock.now.plusSeconds(20));

    Files.delete(state); // writable again: the next attempt succeeds
    clock.now = clock.now.plusSeconds(21);
    update(bootstrap());
    assertThat(status("web").failedIssuanceAttempts()).isZero();
    assertThat(status("web").serial()).isNotEqualTo(java.util.Optional.of(serial));
    assertThat(status("web").issuing()).isEmpty();
  }
}
