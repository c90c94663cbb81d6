package io.portcullis.it;

import static io.portcullis.testing.Gateways.ready;
import static io.portcullis.testing.Gateways.status;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.portcullis.IssuanceOptions;
import io.portcullis.Portcullis;
import io.portcullis.certs.CertificateStatus;
import io.portcullis.dns.DnsLookup;
import io.portcullis.storage.IssuanceLocks;
import io.portcullis.testing.Bind;
import io.portcullis.testing.Gateways;
import io.portcullis.testing.Pebble;
import io.portcullis.testing.Ports;
import io.portcullis.testing.Proc;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * DNS-01 end to end: a real BIND 9 authoritative for {@code example.test} takes RFC 2136 updates signed with TSIG,
 * and a real Pebble validates against that same BIND ({@code -dnsserver}).
 */
class Dns01IT {
  @TempDir Path tmp;
  Bind bind;
  Pebble pebble;
  int http;
  int https;

  @BeforeEach
  void start() throws Exception {
    bind = new Bind(tmp.resolve("bind")).start();
    http = Ports.free();
    https = Ports.free();
    pebble = new Pebble(tmp.resolve("pebble"), http).dnsServer(bind.address()).start();
  }

  @AfterEach
  void stop() {
    if (pebble != null) {
      System.out.println("pebble log:\n" + pebble.log()); // kept in the Failsafe report
      pebble.close();
    }
    if (bind != null) {
      System.out.println("named log:\n" + bind.log());
      bind.close();
    }
  }

  Portcullis gateway(String tsigSecret, String certificates, Duration propagationTimeout) throws Exception {
    Path config = writeConfig(tsigSecret, certificates, "{}");
    // SOA/NS look-ups go to BIND, and BIND is asked as each nameserver of the zone (127.0.0.1 and ::1).
    return Gateways.start(config, tmp.resolve("state"), new IssuanceOptions("cert-manager",
        List.of(new InetSocketAddress("127.0.0.1", bind.port())), false, bind.port(), propagationTimeout));
  }

  Path writeConfig(String tsigSecret, String certificates, String gatewayAnnotations) throws Exception {
    Path config = Files.createDirectories(tmp.resolve("config"));
    Files.writeString(config.resolve("all.yaml.tmp"), """
        apiVersion: v1
        kind: Secret
        metadata: {name: tsig, namespace: cert-manager}
        stringData: {secret: "%s"}
        ---
        apiVersion: cert-manager.io/v1
        kind: ClusterIssuer
        metadata: {name: pebble-dns}
        spec:
          acme:
            server: %s
            caBundle: %s
            privateKeySecretRef: {name: pebble-account}
            solvers:
            - dns01:
                rfc2136:
                  nameserver: %s
                  tsigKeyName: %s
                  tsigAlgorithm: HMACSHA256
                  tsigSecretSecretRef: {name: tsig, key: secret}
            - http01: {}
              selector: {dnsNames: [web.example.test]}
            - dns01:
                cnameStrategy: Follow
                rfc2136:
                  nameserver: %4$s
                  tsigKeyName: %5$s
                  tsigAlgorithm: hmac-sha256
                  tsigSecretSecretRef: {name: tsig, key: secret}
              selector: {dnsNames: [followed.example.test]}
        ---
        %s
        ---
        apiVersion: networking.istio.io/v1
        kind: Gateway
        metadata:
          name: web
          annotations: %s
        spec:
          servers:
          - port: {number: %d, name: http, protocol: HTTP}
            hosts: ["*"]
          - port: {number: %d, name: https, protocol: HTTPS}
            tls: {mode: SIMPLE, credentialName: wild-credential}
            hosts: [example.test, "*.example.test"]
        ---
        """.formatted(tsigSecret, pebble.directory(), pebble.caBundle(), bind.address(), Bind.KEY_NAME,
        certificates, gatewayAnnotations, http, https)
        + Gateways.directResponse("web", "hello over DNS-01\n"));
    Files.move(config.resolve("all.yaml.tmp"), config.resolve("all.yaml"),
        java.nio.file.StandardCopyOption.ATOMIC_MOVE);
    return config;
  }

  static final String WILDCARD = """
      apiVersion: cert-manager.io/v1
      kind: Certificate
      metadata: {name: wild, namespace: istio-system}
      spec:
        secretName: wild-credential
        dnsNames: [example.test, "*.example.test", web.example.test]
        issuerRef: {name: pebble-dns, kind: ClusterIssuer}
      """;

  @Test
  void apexAndWildcardAreIssuedOverRfc2136WithAnHttp01NameBesideThemAndTheTxtRecordsAreRemoved() throws Exception {
    try (Portcullis p = gateway(bind.secret(), WILDCARD, Duration.ofSeconds(30))) {
      await().atMost(Duration.ofSeconds(60)).until(() -> ready(p, "wild") || failures(p, "wild") > 0);
      assertThat(ready(p, "wild")).as(String.valueOf(status(p, "wild"))).isTrue();
      assertThat(status(p, "wild").orElseThrow().subjectAltNames()).containsExactlyInAnyOrder("example.test",
          "*.example.test", "web.example.test");
      Path root = pebble.root();
      for (String host : List.of("x.example.test", "example.test", "web.example.test")) {
        Proc.Result r = Gateways.curl(https, host, root);
        assertThat(r.exitCode()).as(host + ": " + r.stderr()).isZero();
        assertThat(r.stdout()).isEqualTo("hello over DNS-01\n");
      }
      // Both values were written at the one name (two authorizations), and both are gone, at both nameservers.
      assertThat(bind.log().split("adding an RR at '_acme-challenge.example.test' TXT", -1)).hasSize(3);
      for (String ns : List.of("127.0.0.1", "::1")) {
        assertThat(bind.dig(ns, "_acme-challenge.example.test", "TXT")).as(ns).isEmpty();
      }
      // The HTTP-01 name was validated over HTTP (Pebble's log), the others not.
      assertThat(pebble.log()).contains("validate w/ HTTP: http://web.example.test:")
          .doesNotContain("validate w/ HTTP: http://example.test:");
    }
  }

  /**
   * Replicas: the previous holder of the Certificate's issuance lock died mid-order, leaving its notes (ordering,
   * and the TXT record it wrote before asking the CA to look). The replica that takes the lock over removes that
   * record before it orders again, and its own records after.
   */
  @Test
  void aReplicaTakingOverFromADeadHolderRemovesTheTxtRecordItsNotesName() throws Exception {
    Path update = tmp.resolve("nsupdate.txt");
    Files.writeString(update, "server 127.0.0.1 " + bind.port() + "\nupdate add _acme-challenge.example.test. 60 TXT "
        + "\"left-by-a-dead-replica\"\nsend\n");
    Proc.Result added = Proc.run(20, "nsupdate", "-y", "hmac-sha256:" + Bind.KEY_NAME + ":" + bind.secret(),
        update.toString());
    assertThat(added.exitCode()).as(added.stderr()).isZero();
    assertThat(bind.dig("127.0.0.1", "_acme-challenge.example.test", "TXT")).contains("left-by-a-dead-replica");
    IssuanceLocks locks = IssuanceLocks.local("replica-b");
    IssuanceLocks.Acquired dead = (IssuanceLocks.Acquired) locks.tryAcquire("istio-system/wild");
    dead.lock().release(java.util.Map.of("ordering", "replica-a", "txt-records",
        "example.test example.test. _acme-challenge.example.test. left-by-a-dead-replica"));
    Path config = writeConfig(bind.secret(), WILDCARD, "{}");
    Path state = tmp.resolve("state");
    Portcullis.Options options = new Portcullis.Options(List.of(config), "istio-system", 0, "127.0.0.1",
        new InetSocketAddress("127.0.0.1", 0), io.portcullis.proxy.AccessLog.disabled(), 1,
        io.portcullis.proxy.Transport.AUTO, state, Duration.ofSeconds(1), new IssuanceOptions("cert-manager",
        List.of(new InetSocketAddress("127.0.0.1", bind.port())), false, bind.port(), Duration.ofSeconds(30)));
    try (Portcullis p = Portcullis.start(options, new io.portcullis.config.DirectoryConfigSource(List.of(config)),
        new io.portcullis.certs.CertificateManager.Shared(new io.portcullis.storage.DirectoryStorage(state), locks,
        java.util.Optional.empty()))) {
      await().atMost(Duration.ofSeconds(60)).until(() -> ready(p, "wild") || failures(p, "wild") > 0);
      assertThat(ready(p, "wild")).as(String.valueOf(status(p, "wild"))).isTrue();
      for (String ns : List.of("127.0.0.1", "::1")) {
        assertThat(bind.dig(ns, "_acme-challenge.example.test", "TXT")).as(ns).isEmpty();
      }
    }
  }

  @Test
  void withCnameStrategyFollowTheRecordIsWrittenWhereTheCnameOfTheChallengeNamePoints() throws Exception {
    try (Portcullis p = gateway(bind.secret(), """
        apiVersion: cert-manager.io/v1
        kind: Certificate
        metadata: {name: followed, namespace: istio-system}
        spec:
          secretName: followed-credential
          dnsNames: [followed.example.test]
          issuerRef: {name: pebble-dns, kind: ClusterIssuer}
        """, Duration.ofSeconds(30))) {
      await().atMost(Duration.ofSeconds(60)).until(() -> ready(p, "followed") || failures(p, "followed") > 0);
      assertThat(ready(p, "followed")).as(String.valueOf(status(p, "followed"))).isTrue();
      // _acme-challenge.followed.example.test is a CNAME to challenges.example.test (BIND, not recursive, answers
      // the CA's query with the TXT records of the target only within one zone).
      assertThat(bind.log()).contains("adding an RR at 'challenges.example.test' TXT");
      assertThat(bind.dig("127.0.0.1", "challenges.example.test", "TXT")).isEmpty();
    }
  }

  @Test
  void aWrongTsigSecretFailsTheCertificateWithBindsRefusal() throws Exception {
    String wrong = java.util.Base64.getEncoder().encodeToString(new byte[32]);
    try (Portcullis p = gateway(wrong, WILDCARD, Duration.ofSeconds(30))) {
      await().atMost(Duration.ofSeconds(30)).until(() -> failures(p, "wild") > 0);
      CertificateStatus s = status(p, "wild").orElseThrow();
      assertThat(s.ready().status()).isEqualTo("False");
      assertThat(s.ready().message()).contains("rfc2136 " + bind.address()).contains("refused: NOTAUTH")
          .contains("BADSIG");
      assertThat(bind.log()).contains("BADSIG");
    }
  }

  @Test
  void withBindStoppedIssuanceBacksOffAndSucceedsOnceItIsBack() throws Exception {
    bind.stop();
    try (Portcullis p = gateway(bind.secret(), WILDCARD, Duration.ofSeconds(30))) {
      await().atMost(Duration.ofSeconds(30)).until(() -> failures(p, "wild") > 0);
      CertificateStatus failed = status(p, "wild").orElseThrow();
      assertThat(failed.ready().status()).isEqualTo("False");
      assertThat(failed.nextAttempt()).isPresent();
      bind.start();
      await().atMost(Duration.ofSeconds(60)).until(() -> ready(p, "wild"));
      assertThat(status(p, "wild").orElseThrow().failedIssuanceAttempts()).isZero();
      assertThat(Gateways.curl(https, "y.example.test", pebble.root()).stdout()).isEqualTo("hello over DNS-01\n");
    }
  }

  @Test
  void aNameserverThatNeverAnswersFailsTheChallengeAtThePropagationTimeoutAndSaysWhich() throws Exception {
    try (Portcullis p = gateway(bind.secret(), """
        apiVersion: cert-manager.io/v1
        kind: Certificate
        metadata: {name: lame, namespace: istio-system}
        spec:
          secretName: lame-credential
          dnsNames: [lame.test]
          issuerRef: {name: pebble-dns, kind: ClusterIssuer}
        """, Duration.ofSeconds(2))) {
      await().atMost(Duration.ofSeconds(30)).until(() -> failures(p, "lame") > 0);
      String message = status(p, "lame").orElseThrow().ready().message();
      assertThat(message).contains("TXT _acme-challenge.lame.test. ").contains("not seen after 2 s at 127.0.0.3:"
          + bind.port());
      assertThat(message).doesNotContain("127.0.0.1:" + bind.port() + " (");
      // Cleaned up even though the order failed.
      await().atMost(Duration.ofSeconds(10)).until(() -> bind.dig("127.0.0.1", "_acme-challenge.lame.test", "TXT")
          .isEmpty());
    }
  }

  @Test
  void aChallengeStuckInPropagationDoesNotHoldUpAnotherCertificate() throws Exception {
    try (Portcullis p = gateway(bind.secret(), WILDCARD + """
        ---
        apiVersion: cert-manager.io/v1
        kind: Certificate
        metadata: {name: lame, namespace: istio-system}
        spec:
          secretName: lame-credential
          dnsNames: [lame.test]
          issuerRef: {name: pebble-dns, kind: ClusterIssuer}
        """, Duration.ofSeconds(60))) {
      await().atMost(Duration.ofSeconds(30)).until(() -> ready(p, "wild"));
      CertificateStatus lame = status(p, "lame").orElseThrow();
      assertThat(lame.ready().status()).isEqualTo("False");
      assertThat(lame.failedIssuanceAttempts()).isZero();
      // Its status says what it is waiting for.
      assertThat(lame.issuing().orElseThrow().message()).contains("waiting for TXT _acme-challenge.lame.test. at "
          + "127.0.0.3:" + bind.port());
    }
  }

  @Test
  void whenOneAuthorizationFailsTheOthersAreStoppedAndEveryRecordTheyWroteIsRemoved() throws Exception {
    // b's provider takes 1 s to write its record and ignores interrupts meanwhile (a network call); a's refuses as
    // soon as b's write has begun. The order fails on a's refusal; b's record, written after that, must still be
    // cleaned up.
    java.util.concurrent.CountDownLatch writing = new java.util.concurrent.CountDownLatch(1);
    java.util.Set<String> written = java.util.concurrent.ConcurrentHashMap.newKeySet();
    java.util.concurrent.atomic.AtomicInteger cleanedUp = new java.util.concurrent.atomic.AtomicInteger();
    io.portcullis.dns.DnsProvider refusing = new io.portcullis.dns.DnsProvider() {
      @Override
      public void present(String zone, String fqdn, String value) throws io.portcullis.dns.DnsException {
        try {
          writing.await(10, java.util.concurrent.TimeUnit.SECONDS);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
        throw new io.portcullis.dns.DnsException("refusing: REFUSED");
      }

      @Override
      public void cleanUp(String zone, String fqdn, String value) { }

      @Override
      public String describe() {
        return "refusing";
      }
    };
    io.portcullis.dns.DnsProvider slow = new io.portcullis.dns.DnsProvider() {
      @Override
      public void present(String zone, String fqdn, String value) {
        writing.countDown();
        long end = System.nanoTime() + 1_000_000_000L;
        while (System.nanoTime() < end) {
          java.util.concurrent.locks.LockSupport.parkNanos(end - System.nanoTime()); // returns early on interrupt
        }
        written.add(fqdn + " " + value);
      }

      @Override
      public void cleanUp(String zone, String fqdn, String value) {
        written.remove(fqdn + " " + value);
        cleanedUp.incrementAndGet();
      }

      @Override
      public String describe() {
        return "slow";
      }
    };
    var ec = java.security.KeyPairGenerator.getInstance("EC");
    ec.initialize(256);
    io.portcullis.certs.IssuerConfig.Acme issuer = new io.portcullis.certs.IssuerConfig.Acme(
        new io.portcullis.certs.IssuerConfig.IssuerRef("ClusterIssuer", "", "t"), pebble.directory(), "", "ns/account",
        false, java.util.Base64.getDecoder().decode(pebble.caBundle()), java.util.Optional.empty(), "", List.of());
    DnsLookup lookup = new DnsLookup(List.of(new InetSocketAddress("127.0.0.1", bind.port())), false, bind.port(),
        Duration.ofSeconds(2));
    io.portcullis.acme.AcmeClient client = new io.portcullis.acme.AcmeClient(
        new io.portcullis.acme.Http01Challenges(), new io.portcullis.dns.Dns01(lookup, Duration.ofSeconds(30)),
        Duration.ofSeconds(60));
    org.assertj.core.api.Assertions.assertThatThrownBy(() -> client.order(issuer, ec.generateKeyPair(),
        java.util.Optional.empty(), List.of("a.example.test", "b.example.test"), ec.generateKeyPair(),
        java.util.Optional.empty(), name -> java.util.Optional.of(new io.portcullis.acme.AcmeClient.DnsSolver(
        name.startsWith("a.") ? refusing : slow, false)), step -> { }))
        .hasMessageContaining("challenge a.example.test (dns-01): refusing: REFUSED");
    assertThat(cleanedUp.get()).isEqualTo(1);
    assertThat(written).isEmpty();
  }

  @Test
  void zonesAreFoundBySoaForDeepNamesAndDelegatedSubZonesAndCnamesAreFollowed() throws Exception {
    DnsLookup lookup = new DnsLookup(List.of(new InetSocketAddress("127.0.0.1", bind.port())), false, bind.port(),
        Duration.ofSeconds(2));
    assertThat(lookup.findZone("_acme-challenge.a.b.c.example.test")).isEqualTo("example.test.");
    assertThat(lookup.findZone("_acme-challenge.x.y.sub.example.test")).isEqualTo("sub.example.test.");
    assertThat(lookup.findZone("sub.example.test")).isEqualTo("sub.example.test.");
    assertThat(lookup.followCnames("_acme-challenge.followed.example.test")).isEqualTo("challenges.example.test.");
    assertThat(lookup.followCnames("_acme-challenge.www.example.test")).isEqualTo("_acme-challenge.www.example.test.");
    assertThat(lookup.checkServers("example.test.")).containsExactlyInAnyOrder(
        new InetSocketAddress("127.0.0.1", bind.port()), new InetSocketAddress("::1", bind.port()));
    assertThat(lookup.checkServers("sub.example.test.")).containsExactly(
        new InetSocketAddress("127.0.0.1", bind.port()));
  }

  @Test
  void externalDnsAnnotationsGetARecordsForTheSecuredHostsThroughTheSameProviderRemovedWithTheHost()
      throws Exception {
    String annotations = "{cert-manager.io/cluster-issuer: pebble-dns, external-dns.alpha.kubernetes.io/target: "
        + "'192.0.2.10,2001:db8::10', external-dns.alpha.kubernetes.io/hostname: '%s'}";
    try (Portcullis p = gateway(bind.secret(), WILDCARD, Duration.ofSeconds(30))) {
      writeConfig(bind.secret(), WILDCARD, annotations.formatted("extra.example.test"));
      await().atMost(Duration.ofSeconds(20)).until(() -> bind.dig("127.0.0.1", "extra.example.test", "A")
          .equals("192.0.2.10"));
      for (String host : List.of("example.test", "extra.example.test")) {
        assertThat(bind.dig("127.0.0.1", host, "A")).as(host).isEqualTo("192.0.2.10");
        assertThat(bind.dig("::1", host, "AAAA")).as(host).isEqualTo("2001:db8::10");
      }
      assertThat(p.addressRecords().published()).containsOnlyKeys("example.test", "extra.example.test");
      // The host goes away: its records go too; the other host's stay.
      writeConfig(bind.secret(), WILDCARD, annotations.formatted(""));
      await().atMost(Duration.ofSeconds(20)).until(() -> bind.dig("127.0.0.1", "extra.example.test", "A")
          .isEmpty());
      assertThat(bind.dig("127.0.0.1", "extra.example.test", "AAAA")).isEmpty();
      assertThat(bind.dig("127.0.0.1", "example.test", "A")).isEqualTo("192.0.2.10");
    }
  }

  static int failures(Portcullis p, String name) {
    return status(p, name).map(CertificateStatus::failedIssuanceAttempts).orElse(0);
  }
}
