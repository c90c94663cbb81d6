package io.portcullis.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.classic.spi.ThrowableProxyUtil;
import ch.qos.logback.core.read.ListAppender;
import io.portcullis.Portcullis;
import io.portcullis.testing.Gateways;
import io.portcullis.testing.KeyLeaks;
import io.portcullis.testing.Ports;
import io.portcullis.testing.Proc;
import io.portcullis.testing.TestPki;
import io.portcullis.testing.TestPki.Ca;
import io.portcullis.testing.TestPki.Leaf;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.slf4j.LoggerFactory;

/**
 * A Secret that does not parse, or parses but holds no usable key, is reported by file, line and column or by field,
 * and never by quoting it: every log line (DEBUG and up) and the admin {@code /config_dump} are searched for any 8
 * bytes of the private key in hex or base64 (of its DER and of its PEM text as the manifest holds it). Meanwhile a new
 * client still gets 200 with the last good credential. The same holds for a key file a Gateway names and for a Secret
 * in the state directory.
 */
class SecretErrorsIT {
  @TempDir Path tmp;
  static Ca ca;
  static Leaf web;
  static Leaf other;
  private final ListAppender<ILoggingEvent> logs = new ListAppender<>();
  private Level rootLevel;

  @BeforeAll
  static void pki() throws Exception {
    ca = TestPki.ca("Secret errors CA");
    web = ca.server("localhost", "EC");
    other = ca.server("localhost", "EC");
  }

  @BeforeEach
  void captureLogs() {
    Logger root = ((LoggerContext) LoggerFactory.getILoggerFactory()).getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);
    rootLevel = root.getLevel();
    root.setLevel(Level.DEBUG);
    logs.start();
    root.addAppender(logs);
  }

  @AfterEach
  void stopCapture() {
    Logger root = ((LoggerContext) LoggerFactory.getILoggerFactory()).getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);
    root.detachAppender(logs);
    root.setLevel(rootLevel);
    logs.stop();
  }

  /** Every captured line: level, logger, message and the stack trace of its exception with every cause. */
  private String logText() {
    StringBuilder b = new StringBuilder();
    for (ILoggingEvent e : new ArrayList<>(logs.list)) {
      b.append(e.getLevel()).append(' ').append(e.getLoggerName()).append(" - ").append(e.getFormattedMessage())
          .append('\n');
      if (e.getThrowableProxy() != null) {
        b.append(ThrowableProxyUtil.asString(e.getThrowableProxy())).append('\n');
      }
    }
    return b.toString();
  }

  private static String b64(String s) {
    return Base64.getEncoder().encodeToString(s.getBytes(StandardCharsets.US_ASCII));
  }

  private static String gateway(int port, String tls) {
    return """
        apiVersion: networking.istio.io/v1
        kind: Gateway
        metadata: {name: gw}
        spec:
          servers:
          - port: {number: %d, name: https, protocol: HTTPS}
            tls: {mode: SIMPLE, %s}
            hosts: ["*"]
        ---
        """.formatted(port, tls) + Gateways.directResponse("gw", "hello");
  }

  private static String yamlSecret(String data) {
    return """
        apiVersion: v1
        kind: Secret
        metadata: {name: web, namespace: istio-system}
        type: kubernetes.io/tls
        """ + data;
  }

  private static String jsonSecret(String data) {
    return """
        {
          "apiVersion": "v1",
          "kind": "Secret",
          "metadata": {"name": "web", "namespace": "istio-system"},
          "type": "kubernetes.io/tls",
        """ + data + "\n}\n";
  }

  private static String good(boolean json) {
    return json ? jsonSecret("  \"data\": {\n    \"tls.crt\": \"" + b64(web.certPem()) + "\",\n    \"tls.key\": \""
        + b64(web.keyPem()) + "\"\n  }") : yamlSecret("data:\n  tls.crt: " + b64(web.certPem()) + "\n  tls.key: "
        + b64(web.keyPem()) + "\n");
  }

  /** The bad version of Secret istio-system/web for {@code name}, each holding a private key in some form. */
  private static String bad(String name) {
    String crt = b64(web.certPem());
    String key = b64(web.keyPem());
    String pem = web.keyPem();
    String crtLine = "  tls.crt: " + crt + "\n";
    String pemBody = pem.substring(pem.indexOf('\n') + 1, pem.lastIndexOf("-----END"));
    return switch (name) {
      // YAML syntax errors inside the key's value: the parser's snippet would show the line.
      case "yaml-colon-in-value" -> yamlSecret("data:\n" + crtLine + "  tls.key: " + key.substring(0, 40) + ": "
          + key.substring(40) + "\n");
      case "yaml-unclosed-quote" -> yamlSecret("data:\n" + crtLine + "  tls.key: \"" + key + "\n");
      case "yaml-bad-escape" -> yamlSecret("data:\n" + crtLine + "  tls.key: \"" + key.substring(0, 30) + "\\q"
          + key.substring(30) + "\"\n");
      case "yaml-pem-dedented" -> yamlSecret("stringData:\n  tls.crt: |\n" + web.certPem().indent(4) + "  tls.key: |\n"
          + "    -----BEGIN PRIVATE KEY-----\n" + pemBody.indent(2) + "    -----END PRIVATE KEY-----\n");
      case "yaml-tab-in-pem" -> yamlSecret("stringData:\n  tls.crt: |\n" + web.certPem().indent(4) + "  tls.key: |\n"
          + "    -----BEGIN PRIVATE KEY-----\n\t" + pemBody.replace("\n", "\n\t").stripTrailing()
          + "\n    -----END PRIVATE KEY-----\n");
      case "yaml-flow-unclosed" -> yamlSecret("data: {tls.crt: " + crt + ", tls.key: " + key + "\n");
      // Parses, but the value is not a key.
      case "yaml-pem-folded" -> yamlSecret("stringData:\n  tls.crt: |\n" + web.certPem().indent(4) + "  tls.key:\n"
          + pem.indent(4));
      case "data-not-base64" -> yamlSecret("data:\n" + crtLine + "  tls.key: " + notBase64(key) + "\n");
      case "key-is-der" -> yamlSecret("data:\n" + crtLine + "  tls.key: "
          + Base64.getEncoder().encodeToString(web.keys().getPrivate().getEncoded()) + "\n");
      case "key-and-cert-swapped" -> yamlSecret("data:\n  tls.crt: " + key + "\n  tls.key: " + crt + "\n");
      case "key-wrong-armour" -> yamlSecret("data:\n" + crtLine + "  tls.key: " + b64(pem.replace("PRIVATE KEY",
          "EC PRIVATE KEY")) + "\n");
      case "key-truncated" -> yamlSecret("data:\n" + crtLine + "  tls.key: " + b64(pem.substring(0, pem.length() / 2))
          + "\n");
      case "key-mismatch" -> yamlSecret("data:\n" + crtLine + "  tls.key: " + b64(other.keyPem()) + "\n");
      // The key in a field of the wrong type, or as a field name.
      case "key-in-immutable" -> yamlSecret("immutable: " + key + "\ndata:\n" + crtLine);
      case "data-is-the-key" -> yamlSecret("data: " + key + "\n");
      case "key-as-field-name" -> yamlSecret("data:\n" + crtLine + "  tls.key:\n    " + key + ": x\n");
      // JSON syntax errors inside the key's value.
      case "json-unquoted" -> jsonSecret("  \"data\": {\n    \"tls.crt\": \"" + crt + "\",\n    \"tls.key\": " + key
          + "\n  }");
      case "json-unclosed-string" -> jsonSecret("  \"data\": {\n    \"tls.crt\": \"" + crt + "\",\n    \"tls.key\": \""
          + key + "\n  }");
      case "json-newline-in-string" -> jsonSecret("  \"stringData\": {\n    \"tls.crt\": \"" + crt + "\",\n    "
          + "\"tls.key\": \"" + pem + "\"\n  }");
      case "json-bad-escape" -> jsonSecret("  \"data\": {\n    \"tls.crt\": \"" + crt + "\",\n    \"tls.key\": \""
          + key.substring(0, 30) + "\\q" + key.substring(30) + "\"\n  }");
      case "json-missing-comma" -> jsonSecret("  \"data\": {\n    \"tls.crt\": \"" + crt + "\"\n    \"tls.key\": \""
          + key + "\"\n  }");
      case "json-hex-number" -> jsonSecret("  \"data\": {\n    \"tls.crt\": \"" + crt + "\",\n    \"tls.key\": "
          + "9" + java.util.HexFormat.of().formatHex(web.keys().getPrivate().getEncoded()) + "\n  }");
      default -> throw new IllegalArgumentException(name);
    };
  }

  /** Base64 that no decoder takes: one character too many for its last 4-character unit. */
  private static String notBase64(String b64) {
    String s = b64.replace("=", "");
    while (s.length() % 4 != 1) {
      s = s.substring(0, s.length() - 1);
    }
    return s;
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource(delimiter = '|', textBlock = """
      yaml-colon-in-value    | secret.yaml | line 7
      yaml-unclosed-quote    | secret.yaml | line
      yaml-bad-escape        | secret.yaml | line 7
      yaml-pem-dedented      | secret.yaml | line
      yaml-tab-in-pem        | secret.yaml | line
      yaml-flow-unclosed     | secret.yaml | line
      yaml-pem-folded        | secret.yaml | tls.key
      data-not-base64        | secret.yaml | data.tls.key
      key-is-der             | secret.yaml | tls.key
      key-and-cert-swapped   | secret.yaml | tls.crt
      key-wrong-armour       | secret.yaml | tls.key
      key-truncated          | secret.yaml | tls.key
      key-mismatch           | secret.yaml | tls.key
      key-in-immutable       | secret.yaml | immutable
      data-is-the-key        | secret.yaml | data
      key-as-field-name      | secret.yaml | data.tls.key
      json-unquoted          | secret.json | line 8
      json-unclosed-string   | secret.json | line
      json-newline-in-string | secret.json | line
      json-bad-escape        | secret.json | line 8
      json-missing-comma     | secret.json | line 8
      json-hex-number        | secret.json | line 8
      """)
  void aBadSecretIsReportedByPlaceNeverByContent(String name, String file, String where) throws Exception {
    Path config = Files.createDirectories(tmp.resolve("config"));
    Files.writeString(config.resolve(file), good(file.endsWith(".json")));
    int port = Ports.free();
    Files.writeString(config.resolve("gw.yaml"), gateway(port, "credentialName: web"));
    Path caFile = Files.writeString(tmp.resolve("ca.crt"), ca.pem());
    try (Portcullis p = Gateways.start(config, tmp.resolve("state"))) {
      assertThat(Gateways.curl(port, "localhost", caFile).stdout()).isEqualTo("hello");
      long generation = p.generation();
      Files.writeString(config.resolve(file), bad(name));
      await().atMost(Duration.ofSeconds(5)).until(() -> p.lastSnapshotGeneration() > generation);
      String dump = Gateways.admin(p, "GET", "/config_dump");

      Proc.Result second = Gateways.curl(port, "localhost", caFile, "-w", " %{http_code}");
      assertThat(second.stdout()).as("a new client during the bad Secret gets the last good credential")
          .isEqualTo("hello 200");
      assertNoKey(name, dump, web, other);
      List<String> errors = problems(dump);
      assertThat(errors).as("the error names the file or Secret and where in it").anySatisfy(e -> {
        assertThat(e).containsAnyOf(file, "Secret istio-system/web");
        assertThat(e).contains(where);
      });
      String logged = logText();
      assertThat(logged).as("the error is logged").contains(where);
    }
  }

  /** The problems of {@code /config_dump}, each as {@code subject (source): field: message}. */
  private static List<String> problems(String dump) throws Exception {
    List<String> out = new ArrayList<>();
    for (var n : new com.fasterxml.jackson.databind.ObjectMapper().readTree(dump).path("problems")) {
      out.add(n.path("subject").asText() + " (" + n.path("source").asText() + "): " + n.path("field").asText() + ": "
          + n.path("message").asText());
    }
    return out;
  }

  private void assertNoKey(String name, String dump, Leaf... leaves) {
    String logged = logText();
    // The start of every PEM value, as text and as data holds it ("-----BEGI"): quoted source, even without key bytes.
    for (String start : List.of("-----BEGIN PRIVATE", b64("-----BEGIN").substring(0, 12))) {
      assertThat(logged).as(name + ": the log quotes a value").doesNotContain(start);
      assertThat(dump).as(name + ": /config_dump quotes a value").doesNotContain(start);
    }
    for (Leaf l : leaves) {
      KeyLeaks leaks = new KeyLeaks(l.keys().getPrivate(), l.keyPem());
      assertThat(leaks.size()).isGreaterThan(100);
      Optional<String> inLogs = leaks.findIn(logged);
      assertThat(inLogs).as(name + ": key bytes in the log:\n" + logged).isEmpty();
      Optional<String> inDump = leaks.findIn(dump);
      assertThat(inDump).as(name + ": key bytes in /config_dump:\n" + dump).isEmpty();
    }
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource({"key-truncated", "key-is-der", "key-mismatch", "key-and-cert-swapped"})
  void aBadKeyFileIsReportedByNameNeverByContent(String name) throws Exception {
    Path config = Files.createDirectories(tmp.resolve("config"));
    Path certs = Files.createDirectories(tmp.resolve("certs"));
    Path crtFile = Files.writeString(certs.resolve("tls.crt"), web.certPem());
    Path keyFile = Files.writeString(certs.resolve("tls.key"), web.keyPem());
    int port = Ports.free();
    Files.writeString(config.resolve("gw.yaml"), gateway(port, "serverCertificate: " + crtFile + ", privateKey: "
        + keyFile));
    Path caFile = Files.writeString(tmp.resolve("ca.crt"), ca.pem());
    try (Portcullis p = Gateways.start(config, tmp.resolve("state"))) {
      assertThat(Gateways.curl(port, "localhost", caFile).stdout()).isEqualTo("hello");
      String pem = web.keyPem();
      switch (name) {
        case "key-truncated" -> Files.writeString(keyFile, pem.substring(0, pem.length() / 2));
        case "key-is-der" -> Files.write(keyFile, web.keys().getPrivate().getEncoded());
        case "key-mismatch" -> Files.writeString(keyFile, other.keyPem());
        case "key-and-cert-swapped" -> {
          Files.writeString(keyFile, web.certPem());
          Files.writeString(crtFile, pem);
        }
        default -> throw new IllegalArgumentException(name);
      }
      await().atMost(Duration.ofSeconds(10)).until(() -> logText().contains("(credential files changed)")
          && logText().contains(name.equals("key-and-cert-swapped") ? crtFile.toString() : keyFile.toString()));
      String dump = Gateways.admin(p, "GET", "/config_dump");
      assertThat(Gateways.curl(port, "localhost", caFile, "-w", " %{http_code}").stdout())
          .as("a new client during the bad key file gets the last good credential").isEqualTo("hello 200");
      assertNoKey(name, dump, web, other);
      assertThat(problems(dump)).anySatisfy(e -> assertThat(e).contains(name.equals("key-and-cert-swapped") ? crtFile
          .toString() : keyFile.toString()));
    }
  }

  @Test
  void aBadSecretInTheStateDirectoryIsReportedByPlaceNeverByContent() throws Exception {
    Path config = Files.createDirectories(tmp.resolve("config"));
    Path state = Files.createDirectories(tmp.resolve("state"));
    int port = Ports.free();
    Files.writeString(config.resolve("gw.yaml"), gateway(port, "credentialName: stored"));
    String key = b64(web.keyPem());
    Path file = Files.writeString(state.resolve("istio-system_stored.yaml"), """
        apiVersion: v1
        kind: Secret
        metadata: {name: stored, namespace: istio-system}
        type: kubernetes.io/tls
        data:
          tls.crt: %s
          tls.key: %s: %s
        """.formatted(b64(web.certPem()), key.substring(0, 40), key.substring(40)));
    try (Portcullis p = Gateways.start(config, state)) {
      String dump = Gateways.admin(p, "GET", "/config_dump");
      assertNoKey("state", dump, web);
      assertThat(logText()).contains(file.toString()).contains("line 7");
    }
  }
}
