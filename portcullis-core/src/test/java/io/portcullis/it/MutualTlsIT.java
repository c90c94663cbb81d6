package io.portcullis.it;

import static org.assertj.core.api.Assertions.assertThat;

import io.portcullis.Portcullis;
import io.portcullis.testing.Gateways;
import io.portcullis.testing.Ports;
import io.portcullis.testing.Proc;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Gateway {@code tls.mode} MUTUAL and OPTIONAL_MUTUAL with real curl: the seed walkthrough's mutual-TLS part (no
 * client certificate: the handshake fails with "certificate required"; with one: 418), Istio's client CA forms
 * ({@code <name>-cacert}, and {@code ca.crt} inside the credential Secret), a client of an unknown CA refused, and a
 * MUTUAL server without a CA failing alone while the other hosts of its port keep working.
 */
class MutualTlsIT {
  @TempDir static Path tmp;
  static Portcullis gateway;
  static int https;

  static Path certs(String host) {
    return tmp.resolve("certs/" + host);
  }

  static String clientCert(String host) {
    return certs(host).resolve("4_client/certs/" + host + ".cert.pem").toString();
  }

  static String clientKey(String host) {
    return certs(host).resolve("4_client/private/" + host + ".key.pem").toString();
  }

  static String caChain(String host) {
    return certs(host).resolve("2_intermediate/certs/ca-chain.cert.pem").toString();
  }

  static String indented(String file) throws Exception {
    return Files.readString(Path.of(file)).indent(4).stripTrailing();
  }

  @BeforeAll
  static void start() throws Exception {
    Path config = Files.createDirectories(tmp.resolve("config"));
    for (String host : List.of("mtls.example.com", "optional.example.com", "noca.example.com", "simple.example.com",
        "stranger.example.com")) {
      GatewayIT.makeCerts(host, host.substring(0, host.indexOf('.')) + "-credential", certs(host),
          config.resolve("secret-" + host + ".yaml"));
    }
    // optional.example.com: one compound Secret in the tls.crt/tls.key/ca.crt form, trusting mtls's client CA.
    Files.delete(config.resolve("secret-optional.example.com.yaml"));
    Path optional = certs("optional.example.com");
    Files.writeString(config.resolve("secret-optional-compound.yaml"), """
        apiVersion: v1
        kind: Secret
        metadata: {name: optional-credential, namespace: istio-system}
        type: kubernetes.io/tls
        stringData:
          tls.crt: |
        %s
        %s
          tls.key: |
        %s
          ca.crt: |
        %s
        """.formatted(indented(optional.resolve("3_application/certs/optional.example.com.cert.pem").toString()),
        indented(optional.resolve("2_intermediate/certs/intermediate.cert.pem").toString()),
        indented(optional.resolve("3_application/private/optional.example.com.key.pem").toString()),
        indented(caChain("mtls.example.com"))));
    // mtls.example.com: the client CA in a separate <name>-cacert Secret, as the seed walkthrough makes it.
    Files.writeString(config.resolve("secret-mtls-cacert.yaml"), """
        apiVersion: v1
        kind: Secret
        metadata: {name: mtls-credential-cacert, namespace: istio-system}
        stringData:
          cacert: |
        %s
        """.formatted(indented(caChain("mtls.example.com"))));
    https = Ports.free();
    Files.writeString(config.resolve("gateway.yaml"), """
        apiVersion: networking.istio.io/v1
        kind: Gateway
        metadata: {name: mygateway}
        spec:
          servers:
          - port: {number: %1$d, name: https-mtls, protocol: HTTPS}
            tls: {mode: MUTUAL, credentialName: mtls-credential}
            hosts: [mtls.example.com]
          - port: {number: %1$d, name: https-optional, protocol: HTTPS}
            tls: {mode: OPTIONAL_MUTUAL, credentialName: optional-credential}
            hosts: [optional.example.com]
          - port: {number: %1$d, name: https-noca, protocol: HTTPS}
            tls: {mode: MUTUAL, credentialName: noca-credential}
            hosts: [noca.example.com]
          - port: {number: %1$d, name: https-simple, protocol: HTTPS}
            tls: {mode: SIMPLE, credentialName: simple-credential}
            hosts: [simple.example.com]
        ---
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata: {name: teapot}
        spec:
          hosts: ["*"]
          gateways: [mygateway]
          http:
          - directResponse: {status: 418, body: {string: "-=[ teapot ]=-\\n"}}
        """.formatted(https));
    gateway = Gateways.start(config, tmp.resolve("state"));
  }

  @AfterAll
  static void stop() {
    if (gateway != null) {
      gateway.close();
    }
  }

  /** curl to {@code host} trusting its CA chain; standard output is the HTTP status. */
  static Proc.Result curl(String host, String... extra) throws Exception {
    List<String> args = new ArrayList<>(List.of("-o", "/dev/null", "-w", "%{http_code}"));
    args.addAll(List.of(extra));
    return Gateways.curl(https, host, Path.of(caChain(host)), args.toArray(String[]::new));
  }

  @Test
  void mutualWithoutAClientCertificateFailsWithCertificateRequired() throws Exception {
    for (int i = 0; i < 5; i++) { // the TLS 1.3 alert must reach the client every time (LingerOnHandshakeFailure)
      Proc.Result r = curl("mtls.example.com");
      assertThat(r.exitCode()).isNotZero();
      assertThat(r.stderr()).contains("certificate required");
    }
  }

  @Test
  void mutualWithTheClientCertificateAnswersTheTeapot() throws Exception {
    Proc.Result r = curl("mtls.example.com", "--cert", clientCert("mtls.example.com"), "--key",
        clientKey("mtls.example.com"));
    assertThat(r.stdout()).as(r.stderr()).isEqualTo("418");
  }

  @Test
  void aClientCertificateOfAnotherCaIsRefused() throws Exception {
    Proc.Result r = curl("mtls.example.com", "--cert", clientCert("stranger.example.com"), "--key",
        clientKey("stranger.example.com"));
    assertThat(r.exitCode()).isNotZero();
    assertThat(r.stdout()).isNotEqualTo("418");
    // Over TLS 1.2 the client reads the alert within the handshake (over 1.3 it may find the connection already
    // closed when it reads): unknown_ca (RFC 8446 §6.2), not internal_error.
    Proc.Result tls12 = curl("mtls.example.com", "--tls-max", "1.2", "--cert", clientCert("stranger.example.com"),
        "--key", clientKey("stranger.example.com"));
    assertThat(tls12.exitCode()).isNotZero();
    assertThat(tls12.stderr()).contains("unknown ca");
  }

  @Test
  void optionalMutualTakesClientsWithAndWithoutACertificateButVerifiesOneThatIsSent() throws Exception {
    assertThat(curl("optional.example.com").stdout()).isEqualTo("418");
    assertThat(curl("optional.example.com", "--cert", clientCert("mtls.example.com"), "--key",
        clientKey("mtls.example.com")).stdout()).isEqualTo("418");
    Proc.Result stranger = curl("optional.example.com", "--tls-max", "1.2", "--cert", clientCert(
        "stranger.example.com"), "--key", clientKey("stranger.example.com"));
    assertThat(stranger.exitCode()).isNotZero();
    assertThat(stranger.stderr()).contains("unknown ca");
  }

  @Test
  void aRequestForAnotherServerBlocksHostOnThisConnectionGets421() throws Exception {
    for (String proto : List.of("--http2", "--http1.1")) {
      // SNI simple.example.com, then a request for optional.example.com on that connection.
      Proc.Result r = curl("simple.example.com", proto, "-H", "Host: optional.example.com");
      assertThat(r.stdout()).as(proto + ": " + r.stderr()).isEqualTo("421");
      Proc.Result same = curl("simple.example.com", proto, "-H", "Host: simple.example.com");
      assertThat(same.stdout()).as(proto).isEqualTo("418");
      Proc.Result unknown = curl("simple.example.com", proto, "-H", "Host: nowhere.example.com");
      assertThat(unknown.stdout()).as(proto).isEqualTo("421");
    }
  }

  @Test
  void aMutualServerWithoutAClientCaFailsAloneAndSaysWhy() throws Exception {
    Proc.Result noca = curl("noca.example.com", "--cert", clientCert("noca.example.com"), "--key",
        clientKey("noca.example.com"));
    assertThat(noca.exitCode()).isNotZero();
    assertThat(curl("simple.example.com").stdout()).isEqualTo("418");
    assertThat(curl("mtls.example.com", "--cert", clientCert("mtls.example.com"), "--key",
        clientKey("mtls.example.com")).stdout()).isEqualTo("418");
    String dump = Gateways.admin(gateway, "GET", "/config_dump");
    assertThat(dump).contains("\"client_certificate\" : \"required\"", "\"client_certificate\" : \"optional\"")
        .contains("\"client_ca\" : [ {\n", "O=Portcullis example");
    assertThat(dump).contains("no client CA for mutual TLS (expected: Secret istio-system/noca-credential-"
        + "cacert with key cacert or ca.crt, key cacert or ca.crt in Secret istio-system/noca-credential, "
        + "caCertCredentialName or caCertificates)");
  }
}
