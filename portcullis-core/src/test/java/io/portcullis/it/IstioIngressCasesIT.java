package io.portcullis.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.portcullis.Portcullis;
import io.portcullis.testing.Gateways;
import io.portcullis.testing.Ports;
import io.portcullis.testing.Proc;
import io.portcullis.testing.TestPki;
import io.portcullis.testing.TestPki.Ca;
import io.portcullis.testing.TestPki.Leaf;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The cases of Istio's ingress TLS suite ({@code tests/integration/security/sds_ingress}) against one gateway with
 * real curl and openssl: Secret rotation (old CA refused with an unknown-authority alert, new one works), server
 * key/cert rotation with a separate {@code -cacert} Secret, compound Secrets in both key formats with CRLs, five hosts
 * on one port in SIMPLE and MUTUAL, every invalid-Secret case (only its host fails; a working Secret turned invalid
 * keeps its last good credential), CRL revocation, client-certificate SAN / SPKI / hash checks, an RSA + ECDSA pair,
 * file-path credentials, a ConfigMap client CA, and PASSTHROUGH to a backend whose own certificate reaches the client.
 */
class IstioIngressCasesIT {
  static final List<String> INVALID = List.of("invalid-key", "invalid-cert", "mismatched-key", "missing-key",
      "missing-cert", "invalid-ca", "missing-ca", "crl-unknown-ca");
  @TempDir static Path tmp;
  static Path config;
  static Portcullis gateway;
  static int https;
  static Ca caA;
  static Ca caB;
  static Leaf clientA;
  static Leaf clientB;
  static Proc backend;
  static Leaf backendCert;
  static Leaf keyCertFirst;

  @BeforeAll
  static void start() throws Exception {
    config = Files.createDirectories(tmp.resolve("config"));
    caA = TestPki.ca("Client CA A");
    caB = TestPki.ca("Client CA B");
    clientA = caA.client("client-a", "spiffe://example.com/client-a");
    clientB = caB.client("client-b", "spiffe://example.com/client-b");
    https = Ports.free();
    StringBuilder servers = new StringBuilder();
    List<String> simpleHosts = new ArrayList<>();
    for (int i = 1; i <= 5; i++) {
      simpleHosts.add("simple" + i);
      simpleHosts.add("mutual" + i);
    }
    for (String h : simpleHosts) {
      servers.append(server(h, h.startsWith("simple") ? "SIMPLE" : "MUTUAL", "credentialName: " + h));
      compound(h, h, caA, "tls.crt", "tls.key", "ca.crt", null);
    }
    for (String h : List.of("rotate", "keycert", "lastgood")) {
      servers.append(server(h, "MUTUAL", "credentialName: " + h));
    }
    compound("rotate", "rotate", caA, "tls.crt", "tls.key", "ca.crt", null);
    keyCertFirst = caA.server("keycert.example.com", "EC");
    keyCert(keyCertFirst);
    secret("keycert-cacert", Map.of("cacert", caA.pem()));
    compound("lastgood", "lastgood", caA, "tls.crt", "tls.key", "ca.crt", null);
    // Compound Secrets with CRLs, in both key formats; clientA is revoked in both.
    servers.append(server("crl1", "MUTUAL", "credentialName: crl1"));
    servers.append(server("crl2", "MUTUAL", "credentialName: crl2"));
    compound("crl1", "crl1", caA, "cert", "key", "cacert", caA.crl(revokedA()));
    compound("crl2", "crl2", caA, "tls.crt", "tls.key", "ca.crt", caA.crl(revokedA()));
    for (String c : INVALID) {
      servers.append(server(c, "MUTUAL", "credentialName: " + c));
      invalid(c);
    }
    // Client-certificate checks beyond the CA.
    servers.append(server("san", "MUTUAL", "credentialName: san, subjectAltNames: [spiffe://example.com/client-a]"));
    servers.append(server("spki", "MUTUAL", "credentialName: spki, verifyCertificateSpki: ["
        + Base64.getEncoder().encodeToString(sha256(clientA.cert().getPublicKey().getEncoded())) + "]"));
    servers.append(server("hash", "MUTUAL", "credentialName: hash, verifyCertificateHash: [\""
        + HexFormat.ofDelimiter(":").withUpperCase().formatHex(sha256(clientA.cert().getEncoded())) + "\"]"));
    Ca both = TestPki.ca("Both");
    // san/spki/hash trust both client CAs, so that clientB passes the CA check and fails only the extra one.
    for (String h : List.of("san", "spki", "hash")) {
      Leaf server = both.server(h + ".example.com", "EC");
      secret(h, Map.of("tls.crt", server.certPem() + both.pem(), "tls.key", server.keyPem(), "ca.crt", caA.pem()
          + caB.pem()));
    }
    // An RSA + ECDSA pair (credentialNames).
    servers.append(server("dual", "SIMPLE", "credentialNames: [dual-rsa, dual-ec]"));
    Leaf rsa = both.server("dual.example.com", "RSA");
    Leaf ec = both.server("dual.example.com", "EC");
    secret("dual-rsa", Map.of("tls.crt", rsa.certPem(), "tls.key", rsa.keyPem()));
    secret("dual-ec", Map.of("tls.crt", ec.certPem(), "tls.key", ec.keyPem()));
    // The same pair from files (tlsCertificates[]).
    Path pair = Files.createDirectories(tmp.resolve("pair"));
    for (Leaf l : List.of(rsa, ec)) {
      String alg = l.keys().getPrivate().getAlgorithm();
      Files.writeString(pair.resolve(alg + ".crt"), l.certPem());
      Files.writeString(pair.resolve(alg + ".key"), l.keyPem());
    }
    servers.append(server("dualfiles", "SIMPLE", "tlsCertificates: [{serverCertificate: " + pair.resolve("RSA.crt")
        + ", privateKey: " + pair.resolve("RSA.key") + "}, {serverCertificate: " + pair.resolve("EC.crt")
        + ", privateKey: " + pair.resolve("EC.key") + "}]"));
    // File-path credentials, and a client CA from a ConfigMap.
    Path files = Files.createDirectories(tmp.resolve("files"));
    Leaf fileLeaf = both.server("files.example.com", "EC");
    Files.writeString(files.resolve("tls.crt"), fileLeaf.certPem());
    Files.writeString(files.resolve("tls.key"), fileLeaf.keyPem());
    Files.writeString(files.resolve("ca.crt"), caA.pem());
    servers.append(server("files", "MUTUAL", "serverCertificate: " + files.resolve("tls.crt") + ", privateKey: "
        + files.resolve("tls.key") + ", caCertificates: " + files.resolve("ca.crt")));
    servers.append(server("configmap", "MUTUAL", "credentialName: configmap, caCertCredentialName: client-cas"));
    Leaf cmLeaf = both.server("configmap.example.com", "EC");
    secret("configmap", Map.of("tls.crt", cmLeaf.certPem(), "tls.key", cmLeaf.keyPem(), "ca.crt", caA.pem()));
    Files.writeString(config.resolve("configmap.yaml"), """
        apiVersion: v1
        kind: ConfigMap
        metadata: {name: client-cas, namespace: istio-system}
        data:
          ca.crt: |
        %s
        """.formatted(caB.pem().indent(4).stripTrailing()));
    // One server for two hosts, with a certificate for only one of them (421 for the other on its connection).
    servers.append(server("cover", "SIMPLE", "credentialName: cover").replace("hosts: [cover.example.com]",
        "hosts: [cover.example.com, uncovered.example.com]"));
    compound("cover", "cover", caA, "tls.crt", "tls.key", "ca.crt", null);
    // PASSTHROUGH: an openssl s_server with its own certificate behind the gateway.
    Ca backendCa = TestPki.ca("Backend CA");
    backendCert = backendCa.server("pass.example.com", "EC");
    Files.writeString(tmp.resolve("backend.crt"), backendCert.certPem());
    Files.writeString(tmp.resolve("backend.key"), backendCert.keyPem());
    Files.writeString(tmp.resolve("backend-ca.crt"), backendCa.pem());
    int backendPort = Ports.free();
    backend = Proc.start(List.of("openssl", "s_server", "-accept", "127.0.0.1:" + backendPort, "-cert",
        tmp.resolve("backend.crt").toString(), "-key", tmp.resolve("backend.key").toString(), "-www", "-quiet"), tmp,
        Map.of());
    servers.append("""
          - port: {number: %d, name: tls-pass, protocol: TLS}
            tls: {mode: PASSTHROUGH}
            hosts: [pass.example.com]
        """.formatted(https));
    Files.writeString(config.resolve("gateway.yaml"), """
        apiVersion: networking.istio.io/v1
        kind: Gateway
        metadata: {name: mygateway}
        spec:
          servers:
        %s
        ---
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata: {name: teapot}
        spec:
          hosts: ["*"]
          gateways: [mygateway]
          http:
          - directResponse: {status: 418}
        ---
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata: {name: pass}
        spec:
          hosts: [pass.example.com]
          gateways: [mygateway]
          tls:
          - match: [{sniHosts: [pass.example.com]}]
            route: [{destination: {host: backend.internal, port: {number: 443}}}]
        ---
        apiVersion: networking.istio.io/v1
        kind: ServiceEntry
        metadata: {name: backend}
        spec:
          hosts: [backend.internal]
          ports: [{number: 443, name: tls, protocol: TLS, targetPort: %d}]
          resolution: STATIC
          endpoints: [{address: 127.0.0.1}]
        """.formatted(servers.toString().stripTrailing(), backendPort));
    Files.writeString(tmp.resolve("both.crt"), both.pem());
    writePem("clientA", clientA);
    writePem("clientB", clientB);
    gateway = Gateways.start(config, tmp.resolve("state"));
    await().atMost(Duration.ofSeconds(10)).until(() -> Ports.listening(backendPort));
  }

  static Leaf[] revokedA() {
    return new Leaf[] {clientA};
  }

  @AfterAll
  static void stop() {
    if (gateway != null) {
      gateway.close();
    }
    if (backend != null) {
      backend.close();
    }
  }

  static String server(String host, String mode, String tls) {
    return """
          - port: {number: %d, name: https-%s, protocol: HTTPS}
            tls: {mode: %s, %s}
            hosts: [%s.example.com]
        """.formatted(https, host, mode, tls, host);
  }

  static byte[] sha256(byte[] b) throws Exception {
    return MessageDigest.getInstance("SHA-256").digest(b);
  }

  static void writePem(String name, Leaf l) throws Exception {
    Files.writeString(tmp.resolve(name + ".crt"), l.certPem());
    Files.writeString(tmp.resolve(name + ".key"), l.keyPem());
  }

  /** Writes Secret {@code istio-system/name} with {@code data} as stringData, renamed into place. */
  static void secret(String name, Map<String, String> data) throws Exception {
    StringBuilder y = new StringBuilder("apiVersion: v1\nkind: Secret\nmetadata: {name: " + name
        + ", namespace: istio-system}\nstringData:\n");
    data.forEach((k, v) -> y.append("  ").append(k).append(": |\n").append(v.isEmpty() ? "    \n" : v.indent(4)));
    Path next = config.resolve("." + name + ".tmp");
    Files.writeString(next, y.toString());
    Files.move(next, config.resolve("secret-" + name + ".yaml"), StandardCopyOption.ATOMIC_MOVE,
        StandardCopyOption.REPLACE_EXISTING);
  }

  /** A compound Secret: a server certificate from {@code serverCa}, its key, and {@code clientCa} (and a CRL). */
  static Leaf compound(String name, String host, Ca clientCa, String certKey, String keyKey, String caKey, String crl)
      throws Exception {
    Ca serverCa = TestPki.ca("Server CA " + name);
    Leaf server = serverCa.server(host + ".example.com", "EC");
    Files.writeString(tmp.resolve("server-ca-" + name + ".crt"), serverCa.pem());
    Map<String, String> data = new LinkedHashMap<>(Map.of(certKey, server.certPem(), keyKey, server.keyPem(), caKey,
        clientCa.pem()));
    if (crl != null) {
      data.put(caKey.equals("cacert") ? "crl" : "ca.crl", crl);
    }
    secret(name, data);
    return server;
  }

  static void keyCert(Leaf server) throws Exception {
    Files.writeString(tmp.resolve("server-ca-keycert.crt"), server.ca().pem());
    secret("keycert", Map.of("cert", server.certPem(), "key", server.keyPem()));
  }

  static void invalid(String c) throws Exception {
    Ca serverCa = TestPki.ca("Server CA " + c);
    Files.writeString(tmp.resolve("server-ca-" + c + ".crt"), serverCa.pem());
    Leaf server = serverCa.server(c + ".example.com", "EC");
    Leaf other = serverCa.server(c + ".example.com", "EC");
    Map<String, String> data = new LinkedHashMap<>(Map.of("tls.crt", server.certPem(), "tls.key", server.keyPem(),
        "ca.crt", caA.pem()));
    switch (c) {
      case "invalid-key" -> data.put("tls.key", "-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5\n-----END PRIVATE KEY-----\n");
      case "invalid-cert" -> data.put("tls.crt", "-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydA==\n-----END CERTIFICATE-----\n");
      case "mismatched-key" -> data.put("tls.key", other.keyPem());
      case "missing-key" -> data.remove("tls.key");
      case "missing-cert" -> data.remove("tls.crt");
      case "invalid-ca" -> data.put("ca.crt", "-----BEGIN CERTIFICATE-----\nbm90IGEgY2E=\n-----END CERTIFICATE-----\n");
      case "missing-ca" -> data.remove("ca.crt");
      case "crl-unknown-ca" -> data.put("ca.crl", caB.crl());
      default -> throw new IllegalArgumentException(c);
    }
    secret(c, data);
  }

  /** curl to {@code host}.example.com trusting {@code serverCa}; stdout is the HTTP status. */
  static Proc.Result curl(String host, Path serverCa, String client, String... extra) throws Exception {
    List<String> args = new ArrayList<>(List.of("-o", "/dev/null", "-w", "%{http_code}"));
    if (client != null) {
      args.addAll(List.of("--cert", tmp.resolve(client + ".crt").toString(), "--key",
          tmp.resolve(client + ".key").toString()));
    }
    args.addAll(List.of(extra));
    return Gateways.curl(https, host + ".example.com", serverCa, args.toArray(String[]::new));
  }

  static String status(String host, String client, String... extra) throws Exception {
    return curl(host, tmp.resolve("server-ca-" + host + ".crt"), client, extra).stdout();
  }

  @Test
  void fiveHostsOnOnePortServeInSimpleAndMutual() throws Exception {
    for (int i = 1; i <= 5; i++) {
      assertThat(status("simple" + i, null)).as("simple" + i).isEqualTo("418");
      assertThat(status("mutual" + i, "clientA")).as("mutual" + i).isEqualTo("418");
      Proc.Result without = curl("mutual" + i, tmp.resolve("server-ca-mutual" + i + ".crt"), null);
      assertThat(without.exitCode()).as("mutual" + i + " without a client certificate").isNotZero();
      assertThat(without.stderr()).contains("certificate required");
    }
  }

  @Test
  void secretRotationOldCaFailsWithUnknownAuthorityNewOneWorks() throws Exception {
    assertThat(status("rotate", "clientA")).isEqualTo("418");
    compound("rotate", "rotate", caB, "tls.crt", "tls.key", "ca.crt", null);
    await().atMost(Duration.ofSeconds(10)).until(() -> status("rotate", "clientB").equals("418"));
    Proc.Result old = curl("rotate", tmp.resolve("server-ca-rotate.crt"), "clientA", "--tls-max", "1.2");
    assertThat(old.exitCode()).isNotZero();
    assertThat(old.stderr()).contains("unknown ca");
  }

  @Test
  void serverKeyCertRotationWithASeparateCacertSecret() throws Exception {
    assertThat(status("keycert", "clientA")).isEqualTo("418");
    assertThat(Gateways.servedSerial(https, "keycert.example.com")).isEqualTo(keyCertFirst.serial());
    Leaf next = TestPki.ca("Server CA keycert 2").server("keycert.example.com", "EC");
    keyCert(next);
    await().atMost(Duration.ofSeconds(10)).until(() -> Gateways.servedSerial(https, "keycert.example.com")
        .equals(next.serial()));
    assertThat(status("keycert", "clientA")).isEqualTo("418");
    secret("keycert-cacert", Map.of("cacert", caB.pem()));
    await().atMost(Duration.ofSeconds(10)).until(() -> status("keycert", "clientB").equals("418"));
    assertThat(curl("keycert", tmp.resolve("server-ca-keycert.crt"), "clientA").exitCode()).isNotZero();
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource({"crl1, cert/key/cacert/crl", "crl2, tls.crt/tls.key/ca.crt/ca.crl"})
  void compoundSecretsWithACrlRefuseTheRevokedClient(String host, String format) throws Exception {
    writePem("clientA2", caA.client("client-a2"));
    assertThat(status(host, "clientA2")).as(format).isEqualTo("418");
    Proc.Result revoked = curl(host, tmp.resolve("server-ca-" + host + ".crt"), "clientA", "--tls-max", "1.2");
    assertThat(revoked.exitCode()).as(format).isNotZero();
    assertThat(revoked.stderr()).as(format).contains("certificate revoked");
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource(delimiter = '|', value = {
      "invalid-key|Secret istio-system/invalid-key (|tls.key: ",
      "invalid-cert|Secret istio-system/invalid-cert (|tls.crt: ",
      "mismatched-key|Secret istio-system/mismatched-key (|private key does not match",
      "missing-key|Secret istio-system/missing-key (|tls.key: missing",
      "missing-cert|Secret istio-system/missing-cert (|tls.crt: missing",
      "invalid-ca|Secret istio-system/invalid-ca: ca.crt: |fail until it is fixed",
      "missing-ca|no client CA for mutual TLS|Secret istio-system/missing-ca-cacert",
      "crl-unknown-ca|Secret istio-system/crl-unknown-ca: ca.crl: the CRL issued by O=Portcullis tests,CN=Client CA B|is not signed by "
          + "any certificate of the client CA",
  })
  void anInvalidSecretFailsOnlyItsHostAndSaysWhy(String c, String says, String andSays) throws Exception {
    Proc.Result r = curl(c, tmp.resolve("server-ca-" + c + ".crt"), "clientA");
    assertThat(r.exitCode()).as(r.stdout() + " " + r.stderr()).isNotZero();
    assertThat(status("simple1", null)).isEqualTo("418");
    assertThat(status("mutual1", "clientA")).isEqualTo("418");
    String dump = Gateways.admin(gateway, "GET", "/config_dump");
    assertThat(dump).contains(says).contains(andSays);
  }

  @Test
  void aWorkingSecretTurnedInvalidKeepsServingItsLastGoodCredentialAndSaysSo() throws Exception {
    assertThat(status("lastgood", "clientA")).isEqualTo("418");
    String serial = Gateways.servedSerial(https, "lastgood.example.com");
    secret("lastgood", Map.of("tls.crt", "-----BEGIN CERTIFICATE-----\nbm9wZQ==\n-----END CERTIFICATE-----\n",
        "tls.key", "x", "ca.crt", "-----BEGIN CERTIFICATE-----\nbm9wZQ==\n-----END CERTIFICATE-----\n"));
    await().atMost(Duration.ofSeconds(10)).until(() -> Gateways.admin(gateway, "GET", "/config_dump")
        .contains("still serving the last good credential (serial " + serial + ")"));
    assertThat(Gateways.admin(gateway, "GET", "/config_dump")).contains("still checking clients against the last "
        + "good client CA (Secret istio-system/lastgood: ca.crt)");
    assertThat(Gateways.servedSerial(https, "lastgood.example.com")).isEqualTo(serial);
    assertThat(status("lastgood", "clientA")).isEqualTo("418");
  }

  @Test
  void subjectAltNamesSpkiAndHashRestrictClientsOfATrustedCa() throws Exception {
    for (String h : List.of("san", "spki", "hash")) {
      Proc.Result ok = curl(h, tmp.resolve("both.crt"), "clientA");
      assertThat(ok.stdout()).as(h + ": " + ok.stderr()).isEqualTo("418");
      Proc.Result other = curl(h, tmp.resolve("both.crt"), "clientB", "--tls-max", "1.2");
      assertThat(other.exitCode()).as(h).isNotZero();
      assertThat(other.stderr()).as(h).contains("alert");
    }
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource({"ECDSA+SHA256, id-ecPublicKey", "RSA-PSS+SHA256:RSA+SHA256, rsaEncryption"})
  void anRsaAndEcdsaPairServesTheOneTheClientAccepts(String sigalgs, String keyAlgorithm) throws Exception {
    for (String host : List.of("dual.example.com", "dualfiles.example.com")) { // credentialNames, tlsCertificates
      for (String version : List.of("-tls1_2", "-tls1_3")) {
        Proc.Result r = Proc.run(20, "bash", "-c", "openssl s_client -connect 127.0.0.1:" + https + " -servername "
            + host + " " + version + " -sigalgs " + sigalgs + " </dev/null 2>/dev/null | openssl x509 -noout "
            + "-text | grep 'Public Key Algorithm'");
        assertThat(r.stdout()).as(host + " " + version + " " + sigalgs).contains(keyAlgorithm);
      }
    }
  }

  @Test
  void fileCredentialsServeAndARenameIntoPlaceRotatesThem() throws Exception {
    assertThat(curl("files", tmp.resolve("both.crt"), "clientA").stdout()).isEqualTo("418");
    Ca next = TestPki.ca("Files CA 2");
    Leaf rotated = next.server("files.example.com", "EC");
    Path files = tmp.resolve("files");
    Files.writeString(files.resolve(".tls.key"), rotated.keyPem());
    Files.writeString(files.resolve(".tls.crt"), rotated.certPem());
    Files.move(files.resolve(".tls.key"), files.resolve("tls.key"), StandardCopyOption.ATOMIC_MOVE,
        StandardCopyOption.REPLACE_EXISTING);
    Files.move(files.resolve(".tls.crt"), files.resolve("tls.crt"), StandardCopyOption.ATOMIC_MOVE,
        StandardCopyOption.REPLACE_EXISTING);
    await().atMost(Duration.ofSeconds(10)).until(() -> Gateways.servedSerial(https, "files.example.com")
        .equals(rotated.serial()));
  }

  @Test
  void caCertCredentialNameReadsAConfigMapAndOverridesTheSecretsCa() throws Exception {
    Path serverCa = tmp.resolve("both.crt");
    assertThat(curl("configmap", serverCa, "clientB").stdout()).isEqualTo("418");
    assertThat(curl("configmap", serverCa, "clientA").exitCode()).isNotZero();
    assertThat(Gateways.admin(gateway, "GET", "/config_dump")).contains("ConfigMap istio-system/client-cas: ca.crt");
  }

  @Test
  void passthroughRelaysTheStreamAndTheBackendsOwnCertificateReachesTheClient() throws Exception {
    Proc.Result r = Gateways.curl(https, "pass.example.com", tmp.resolve("backend-ca.crt"), "-o", "/dev/null", "-w",
        "%{http_code}");
    assertThat(r.stdout()).as(r.stderr()).isEqualTo("200");
    assertThat(Gateways.servedSerial(https, "pass.example.com")).isEqualTo(backendCert.serial());
    assertThat(status("simple1", null)).isEqualTo("418"); // terminated hosts on the same port are unaffected
    assertThat(Gateways.admin(gateway, "GET", "/config_dump")).contains("\"sni\" : \"pass.example.com\"");
  }

  @Test
  void aHostOfTheSameServerThatTheServedCertificateDoesNotCoverGets421() throws Exception {
    for (String proto : List.of("--http2", "--http1.1")) {
      assertThat(status("cover", null, proto, "-H", "Host: uncovered.example.com")).as(proto).isEqualTo("421");
      assertThat(status("cover", null, proto, "-H", "Host: cover.example.com")).as(proto).isEqualTo("418");
    }
  }
}
