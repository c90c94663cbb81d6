package io.portcullis.it;

import static io.portcullis.testing.Gateways.ready;
import static io.portcullis.testing.Gateways.status;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.portcullis.IssuanceOptions;
import io.portcullis.Portcullis;
import io.portcullis.testing.Gateways;
import io.portcullis.testing.Pebble;
import io.portcullis.testing.Ports;
import io.portcullis.testing.PowerDns;
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
 * DNS-01 through the PowerDNS HTTP API ({@code powerdns}, a Portcullis extension) against a real
 * {@code pdns_server} (sqlite3 backend), with a real Pebble validating against that same server.
 */
class PowerDnsIT {
  @TempDir Path tmp;
  PowerDns pdns;
  Pebble pebble;

  @BeforeEach
  void start() throws Exception {
    pdns = new PowerDns(tmp.resolve("pdns")).start();
    pdns.createZone("example.test.");
    pebble = new Pebble(tmp.resolve("pebble"), Ports.free()).dnsServer("127.0.0.1:" + pdns.port()).start();
  }

  @AfterEach
  void stop() {
    if (pebble != null) {
      System.out.println("pebble log:\n" + pebble.log()); // kept in the Failsafe report
      pebble.close();
    }
    if (pdns != null) {
      System.out.println("pdns log:\n" + pdns.log());
      pdns.close();
    }
  }

  @Test
  void apexAndWildcardAreIssuedThroughThePowerDnsApiAndTheTxtRecordsAreRemoved() throws Exception {
    int https = Ports.free();
    Path config = Files.createDirectories(tmp.resolve("config"));
    Files.writeString(config.resolve("all.yaml"), """
        apiVersion: v1
        kind: Secret
        metadata: {name: pdns-api, namespace: istio-system}
        stringData: {key: "%s"}
        ---
        apiVersion: cert-manager.io/v1
        kind: Issuer
        metadata: {name: pebble-pdns, namespace: istio-system}
        spec:
          acme:
            server: %s
            caBundle: %s
            privateKeySecretRef: {name: pebble-account}
            solvers:
            - dns01:
                powerdns:
                  apiUrl: %s
                  apiKeySecretRef: {name: pdns-api, key: key}
        ---
        apiVersion: cert-manager.io/v1
        kind: Certificate
        metadata: {name: wild, namespace: istio-system}
        spec:
          secretName: wild-credential
          dnsNames: [example.test, "*.example.test"]
          issuerRef: {name: pebble-pdns}
        ---
        apiVersion: networking.istio.io/v1
        kind: Gateway
        metadata: {name: web}
        spec:
          servers:
          - port: {number: %d, name: https, protocol: HTTPS}
            tls: {mode: SIMPLE, credentialName: wild-credential}
            hosts: [example.test, "*.example.test"]
        ---
        """.formatted(PowerDns.API_KEY, pebble.directory(), pebble.caBundle(), pdns.apiUrl(), https)
        + Gateways.directResponse("web", "hello over PowerDNS\n"));
    try (Portcullis p = Gateways.start(config, tmp.resolve("state"), new IssuanceOptions("",
        List.of(new InetSocketAddress("127.0.0.1", pdns.port())), false, pdns.port(), Duration.ofSeconds(30)))) {
      await().atMost(Duration.ofSeconds(60)).until(() -> ready(p, "wild")
          || status(p, "wild").orElseThrow().failedIssuanceAttempts() > 0);
      assertThat(ready(p, "wild")).as(String.valueOf(status(p, "wild"))).isTrue();
      for (String host : List.of("a.example.test", "example.test")) {
        Proc.Result r = Gateways.curl(https, host, pebble.root());
        assertThat(r.exitCode()).as(host + ": " + r.stderr()).isZero();
        assertThat(r.stdout()).isEqualTo("hello over PowerDNS\n");
      }
      assertThat(pdns.dig("_acme-challenge.example.test", "TXT")).isEmpty();
    }
  }

  @Test
  void addressRecordsAreSetAndRemovedThroughTheApi() throws Exception {
    io.portcullis.dns.PowerDnsProvider p = new io.portcullis.dns.PowerDnsProvider(pdns.apiUrl(), "localhost",
        PowerDns.API_KEY, Duration.ofSeconds(10));
    p.setAddresses("example.test.", "www.example.test.", List.of(java.net.InetAddress.getByName("192.0.2.7"),
        java.net.InetAddress.getByName("2001:db8::7")), 300);
    assertThat(pdns.dig("www.example.test", "A")).isEqualTo("192.0.2.7");
    assertThat(pdns.dig("www.example.test", "AAAA")).isEqualTo("2001:db8::7");
    p.deleteAddresses("example.test.", "www.example.test.");
    assertThat(pdns.dig("www.example.test", "A")).isEmpty();
    assertThat(pdns.dig("www.example.test", "AAAA")).isEmpty();
  }
}
