package io.portcullis.it;

import static io.portcullis.testing.Gateways.admin;
import static io.portcullis.testing.Gateways.curl;
import static io.portcullis.testing.Gateways.ready;
import static io.portcullis.testing.Gateways.servedSerial;
import static io.portcullis.testing.Gateways.start;
import static io.portcullis.testing.Gateways.status;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.portcullis.Portcullis;
import io.portcullis.storage.DirectoryStorage;
import io.portcullis.storage.StoredSecret;
import io.portcullis.testing.Ports;
import io.portcullis.testing.Proc;
import io.portcullis.testing.RequestLoop;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * cert-manager's bootstrap pattern end to end: SelfSigned ClusterIssuer, an isCA Certificate, a CA ClusterIssuer, a
 * leaf Certificate and a secured-host Gateway; served to real curl, verified by real openssl, renewed under load and
 * kept across a restart.
 */
class CertificatesIT {
  @TempDir Path tmp;

  static final String MANIFESTS = """
      apiVersion: cert-manager.io/v1
      kind: ClusterIssuer
      metadata: {name: selfsigned}
      spec: {selfSigned: {}}
      ---
      apiVersion: cert-manager.io/v1
      kind: Certificate
      metadata: {name: root-ca, namespace: istio-system}
      spec:
        isCA: true
        commonName: Portcullis IT root
        secretName: root-ca
        issuerRef: {name: selfsigned, kind: ClusterIssuer}
      ---
      apiVersion: cert-manager.io/v1
      kind: ClusterIssuer
      metadata: {name: ca}
      spec: {ca: {secretName: root-ca}}
      ---
      apiVersion: cert-manager.io/v1
      kind: Certificate
      metadata: {name: app, namespace: istio-system}
      spec:
        secretName: app-credential
        dnsNames: [app.example.test]
        issuerRef: {name: ca, kind: ClusterIssuer}
      ---
      apiVersion: networking.istio.io/v1
      kind: Gateway
      metadata:
        name: web
        annotations: {cert-manager.io/cluster-issuer: ca}
      spec:
        servers:
        - port: {number: %1$d, name: https-app, protocol: HTTPS}
          tls: {mode: SIMPLE, credentialName: app-credential}
          hosts: [app.example.test]
        - port: {number: %1$d, name: https-secured, protocol: HTTPS}
          tls: {mode: SIMPLE, credentialName: secured-credential}
          hosts: [secured.example.test]
      ---
      apiVersion: networking.istio.io/v1
      kind: VirtualService
      metadata: {name: hello}
      spec:
        hosts: [app.example.test, secured.example.test]
        gateways: [web]
        http:
        - directResponse: {status: 200, body: {string: "hello over managed TLS\\n"}}
      """;

  @Test
  void bootstrapChainIsIssuedServedVerifiedRenewedUnderLoadAndKeptAcrossRestarts() throws Exception {
    int port = Ports.free();
    Path config = Files.createDirectories(tmp.resolve("config"));
    Path state = tmp.resolve("state");
    Files.writeString(config.resolve("all.yaml"), MANIFESTS.formatted(port));
    Path root = tmp.resolve("root.pem");
    String renewedSerial;
    try (Portcullis p = start(config, state)) {
      await().atMost(Duration.ofSeconds(20)).until(() -> ready(p, "root-ca", "app", "secured-credential"));
      StoredSecret rootSecret = new DirectoryStorage(state).load().secrets().get("istio-system/root-ca");
      Files.write(root, rootSecret.data().get("ca.crt"));

      // Served: curl trusts the chain through the root alone, for the explicit Certificate and the secured host.
      await().atMost(Duration.ofSeconds(10)).until(() -> curl(port, "app.example.test", root).exitCode() == 0);
      assertThat(curl(port, "app.example.test", root).stdout()).isEqualTo("hello over managed TLS\n");
      Proc.Result secured = curl(port, "secured.example.test", root);
      assertThat(secured.exitCode()).as(secured.stderr()).isZero();
      assertThat(status(p, "secured-credential").orElseThrow().origin()).contains("Gateway default/web");
      assertThat(p.certificates().statuses()).hasSize(3); // app-credential stays with its Certificate manifest

      // openssl verifies the leaf against the root, with the chain as stored.
      StoredSecret app = new DirectoryStorage(state).load().secrets().get("istio-system/app-credential");
      Path leaf = tmp.resolve("app.pem");
      Files.write(leaf, app.data().get("tls.crt"));
      Proc.Result verify = Proc.run(20, "openssl", "verify", "-CAfile", root.toString(), leaf.toString());
      assertThat(verify.stdout()).as(verify.stderr()).contains(": OK");
      assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(
          state.resolve("istio-system_app-credential.yaml")))).isEqualTo("rw-------");

      // /certs says the same as the status.
      JsonNode certs = new ObjectMapper().readTree(admin(p, "GET", "/certs"));
      JsonNode appJson = null;
      for (JsonNode c : certs.path("certificates")) {
        if (c.path("name").asText().equals("app")) {
          appJson = c;
        }
      }
      assertThat(appJson).isNotNull();
      assertThat(appJson.path("status").path("conditions").path(0).path("status").asText()).isEqualTo("True");
      assertThat(appJson.path("served").path("serial_number").asText())
          .isEqualToIgnoringCase(status(p, "app").orElseThrow().serial().orElseThrow());
      assertThat(appJson.path("served").path("days_until_expiration").asLong()).isBetween(88L, 90L);
      assertThat(appJson.toString()).doesNotContain("PRIVATE KEY");

      // A forced renewal while requests run: the new serial is served and no request fails.
      String before = servedSerial(port, "app.example.test");
      assertThat(before).isEqualToIgnoringCase(status(p, "app").orElseThrow().serial().orElseThrow());
      RequestLoop loop = new RequestLoop(() -> curl(port, "app.example.test", root).exitCode() == 0);
      await().atMost(Duration.ofSeconds(10)).until(() -> loop.ok() >= 3);
      assertThat(admin(p, "POST", "/certs/renew?namespace=istio-system&name=app")).contains("renewed (revision 2)");
      await().atMost(Duration.ofSeconds(10)).until(() -> !servedSerial(port, "app.example.test")
          .equalsIgnoreCase(before));
      int okAtRenewal = loop.ok();
      await().atMost(Duration.ofSeconds(10)).until(() -> loop.ok() >= okAtRenewal + 3);
      loop.close();
      assertThat(loop.failed()).as("failed requests during the renewal, of %d", loop.ok()).isZero();
      renewedSerial = servedSerial(port, "app.example.test");
      assertThat(renewedSerial).isEqualToIgnoringCase(status(p, "app").orElseThrow().serial().orElseThrow());
      assertThat(status(p, "app").orElseThrow().revision()).isEqualTo(2);
    }

    // A restart reuses what is stored: same serial, same revision, nothing issued.
    try (Portcullis p = start(config, state)) {
      await().atMost(Duration.ofSeconds(10)).until(() -> ready(p, "root-ca", "app", "secured-credential"));
      assertThat(servedSerial(port, "app.example.test")).isEqualTo(renewedSerial);
      assertThat(status(p, "app").orElseThrow().revision()).isEqualTo(2);
      assertThat(status(p, "root-ca").orElseThrow().revision()).isEqualTo(1);
      assertThat(curl(port, "app.example.test", root).exitCode()).isZero();
    }
  }

  @Test
  void aCorruptStateFileIsReportedAndReissuedWhileOtherHostsServe() throws Exception {
    int port = Ports.free();
    Path config = Files.createDirectories(tmp.resolve("config"));
    Path state = tmp.resolve("state");
    Files.writeString(config.resolve("all.yaml"), MANIFESTS.formatted(port));
    String securedSerial;
    try (Portcullis p = start(config, state)) {
      await().atMost(Duration.ofSeconds(20)).until(() -> ready(p, "root-ca", "app", "secured-credential"));
      securedSerial = status(p, "secured-credential").orElseThrow().serial().orElseThrow();
    }
    Files.writeString(state.resolve("istio-system_app-credential.yaml"), "apiVersion: v1\nkind: Secret\ndata: [");
    try (Portcullis p = start(config, state)) {
      await().atMost(Duration.ofSeconds(20)).until(() -> ready(p, "root-ca", "app", "secured-credential"));
      assertThat(status(p, "app").orElseThrow().revision()).isEqualTo(1); // issued afresh
      assertThat(status(p, "secured-credential").orElseThrow().serial()).contains(securedSerial); // untouched
      Path root = tmp.resolve("root.pem");
      Files.write(root, new DirectoryStorage(state).load().secrets().get("istio-system/root-ca").data()
          .get("ca.crt"));
      await().atMost(Duration.ofSeconds(10)).until(() -> curl(port, "app.example.test", root).exitCode() == 0);
    }
  }
}
