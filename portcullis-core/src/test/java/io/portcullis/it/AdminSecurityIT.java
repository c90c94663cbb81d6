package io.portcullis.it;

import static io.portcullis.testing.Gateways.ready;
import static io.portcullis.testing.Gateways.status;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import io.portcullis.Portcullis;
import io.portcullis.admin.AdminToken;
import io.portcullis.testing.Gateways;
import io.portcullis.testing.Ports;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.slf4j.LoggerFactory;

/**
 * The admin server against what issue 12 found: a renewal from a browser page ({@code Origin}, a rebound
 * {@code Host}) or without the token is refused, {@code /config_dump} answers only its own {@code Host}, and
 * renewals are limited to one per Certificate per minute unless forced. Raw sockets, so that {@code Host},
 * {@code Origin} and the HTTP version are exactly what a browser or an old health checker would send; after every
 * refusal, with the refused connection still open, another client is served by the admin and by the data plane.
 * No log line of the run holds the token.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class AdminSecurityIT {
  static final String RENEW = "/certs/renew?namespace=istio-system&name=app";

  /** Every log event of the run, to show the token is never among them. */
  final ListAppender<ILoggingEvent> logs = new ListAppender<>();
  Portcullis gateway;
  Path state;
  int http;
  int admin;
  String token;

  @BeforeAll
  void start(@TempDir Path tmp) throws Exception {
    logs.start();
    ((Logger) LoggerFactory.getLogger(Logger.ROOT_LOGGER_NAME)).addAppender(logs);
    http = Ports.free();
    Path config = Files.createDirectories(tmp.resolve("config"));
    state = tmp.resolve("state");
    Files.writeString(config.resolve("all.yaml"), """
        apiVersion: cert-manager.io/v1
        kind: ClusterIssuer
        metadata: {name: selfsigned}
        spec: {selfSigned: {}}
        ---
        apiVersion: cert-manager.io/v1
        kind: Certificate
        metadata: {name: app, namespace: istio-system}
        spec:
          secretName: app-credential
          dnsNames: [app.example.test]
          issuerRef: {name: selfsigned, kind: ClusterIssuer}
        ---
        apiVersion: networking.istio.io/v1
        kind: Gateway
        metadata: {name: web}
        spec:
          servers:
          - port: {number: %d, name: http, protocol: HTTP}
            hosts: ["*"]
        ---
        """.formatted(http) + Gateways.directResponse("web", "hello\n"));
    gateway = Gateways.start(config, state);
    await().atMost(Duration.ofSeconds(20)).until(() -> gateway.ready() && ready(gateway, "app"));
    admin = gateway.adminAddress().getPort();
    token = Files.readString(state.resolve("admin-token")).strip();
  }

  @AfterAll
  void stop() {
    if (gateway != null) {
      gateway.close();
    }
    ((Logger) LoggerFactory.getLogger(Logger.ROOT_LOGGER_NAME)).detachAppender(logs);
    assertThat(logs.list).isNotEmpty().noneMatch(e -> e.getFormattedMessage().contains(token));
  }

  @Test
  void theTokenFileIsCreatedAtFirstStartWithMode0600() throws Exception {
    Path file = state.resolve("admin-token");
    assertThat(gateway.adminTokenFile()).isEqualTo(file);
    assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(file))).isEqualTo("rw-------");
    assertThat(token).matches("[A-Za-z0-9_-]{43}");
    assertThat(AdminToken.read(file).matches("Bearer " + token)).isTrue();
  }

  @ParameterizedTest(name = "{0} {1} {2}, Host {3}, Origin {4}, token {5}: {6}")
  @CsvSource(delimiter = '|', nullValues = "-", value = {
      // method | path | version | Host | Origin | token | status | reason
      "POST | RENEW | HTTP/1.1 | OWN | - | - | 401 | needs the admin token",
      "POST | RENEW | HTTP/1.1 | OWN | - | wrong | 401 | does not match",
      "POST | RENEW | HTTP/1.1 | localhost | - | wrong | 401 | does not match",
      "POST | RENEW | HTTP/1.1 | OWN | http://evil.example | right | 403 | Origin: http://evil.example",
      "POST | RENEW | HTTP/1.1 | OWN | null | right | 403 | Origin: null",
      "POST | RENEW | HTTP/1.1 | evil.example | - | right | 403 | Host: evil.example is not",
      "POST | RENEW | HTTP/1.1 | evil.example:ADMIN | http://evil.example | right | 403 | Host: evil.example:",
      "POST | RENEW | HTTP/1.1 | - | - | right | 400 | no Host header",
      "GET | RENEW | HTTP/1.1 | OWN | - | right | 405 | expected: POST /certs/renew",
      "GET | /config_dump | HTTP/1.1 | evil.example | - | - | 403 | Host: evil.example is not",
      "GET | /config_dump | HTTP/1.1 | evil.example:ADMIN | - | - | 403 | is not this admin server",
      "GET | /config_dump | HTTP/1.0 | evil.example | - | - | 403 | is not this admin server",
      "GET | /certs | HTTP/1.1 | evil.example:ADMIN | - | - | 403 | is not this admin server",
      "GET | /ready | HTTP/1.1 | evil.example:ADMIN | - | - | 403 | is not this admin server",
      "GET | /nope | HTTP/1.1 | evil.example:ADMIN | - | - | 403 | is not this admin server",
      "GET | /config_dump | HTTP/1.1 | - | - | - | 400 | no Host header",
  })
  void refusedRequestsIssueNothingAndHoldUpNoOtherClient(String method, String path, String version, String host,
      String origin, String tokenKind, int status, String reason) throws Exception {
    int before = status(gateway, "app").orElseThrow().revision();
    try (RawClient refused = new RawClient(admin)) {
      RawResponse r = refused.send(method, path.equals("RENEW") ? RENEW : path, version, headers(host, origin,
          tokenKind));
      assertThat(r.status()).as(r.toString()).isEqualTo(status);
      assertThat(r.body()).contains(reason).doesNotContain(token);
      if (status == 401) {
        assertThat(r.headers().get("www-authenticate")).startsWith("Bearer realm=");
      }
      assertOthersServed(); // the refused connection is still open
    }
    gateway.certificates().sync().get();
    assertThat(status(gateway, "app").orElseThrow().revision()).isEqualTo(before);
  }

  @ParameterizedTest(name = "{0} {1} {2}, Host {3}")
  @CsvSource(delimiter = '|', nullValues = "-", value = {
      "GET | /config_dump | HTTP/1.1 | OWN",
      "GET | /config_dump | HTTP/1.1 | localhost:ADMIN",
      "GET | /config_dump | HTTP/1.1 | localhost:8080", // kubectl port-forward 8080:15000
      "GET | /certs       | HTTP/1.1 | [::1]:ADMIN",
      "GET | /ready       | HTTP/1.0 | -", // old health checkers (HAProxy's httpchk) send no Host
      "GET | /admin/ping  | HTTP/1.1 | 127.0.0.1",
  })
  void readEndpointsAnswerTheirOwnHostWithoutAToken(String method, String path, String version, String host)
      throws Exception {
    try (RawClient c = new RawClient(admin)) {
      RawResponse r = c.send(method, path, version, headers(host, null, null));
      assertThat(r.status()).as(r.toString()).isEqualTo(200);
      assertThat(r.body()).doesNotContain(token);
    }
  }

  @Test
  void theRightTokenAndHostRenewOnceThenAMinuteMustPassUnlessForced() throws Exception {
    gateway.certificates().sync().get();
    int before = status(gateway, "app").orElseThrow().revision();
    try (RawClient c = new RawClient(admin)) {
      RawResponse renewed = c.send("POST", RENEW, "HTTP/1.1", headers("OWN", null, "right"));
      assertThat(renewed.status()).as(renewed.toString()).isEqualTo(200);
      assertThat(renewed.body()).contains("renewed (revision " + (before + 1) + ")");
      gateway.certificates().sync().get();
      assertThat(status(gateway, "app").orElseThrow().revision()).isEqualTo(before + 1); // exactly one issuance

      // Within the minute: 429 with Retry-After, on the same connection and on a new one; nothing issued.
      RawResponse again = c.send("POST", RENEW, "HTTP/1.1", headers("OWN", null, "right"));
      assertThat(again.status()).as(again.toString()).isEqualTo(429);
      assertThat(Integer.parseInt(again.headers().get("retry-after"))).isBetween(1, 60);
      assertThat(again.body()).contains("Certificate istio-system/app").contains("--force");
      try (RawClient other = new RawClient(admin)) {
        RawResponse viaLocalhost = other.send("POST", RENEW + "&force=false", "HTTP/1.1",
            headers("localhost:ADMIN", null, "right"));
        assertThat(viaLocalhost.status()).as(viaLocalhost.toString()).isEqualTo(429);
      }
      assertOthersServed();
      gateway.certificates().sync().get();
      assertThat(status(gateway, "app").orElseThrow().revision()).isEqualTo(before + 1);

      // Another Certificate name is limited on its own: an unknown one is 404 and uses up nothing.
      RawResponse unknown = c.send("POST", "/certs/renew?namespace=istio-system&name=nope", "HTTP/1.1",
          headers("OWN", null, "right"));
      assertThat(unknown.status()).isEqualTo(404);
      assertThat(c.send("POST", "/certs/renew?namespace=istio-system&name=nope", "HTTP/1.1",
          headers("OWN", null, "right")).status()).isEqualTo(404);

      // Forced: a second issuance now.
      RawResponse forced = c.send("POST", RENEW + "&force=true", "HTTP/1.1", headers("OWN", null, "right"));
      assertThat(forced.status()).as(forced.toString()).isEqualTo(200);
      assertThat(forced.body()).contains("renewed (revision " + (before + 2) + ")");
      RawResponse badForce = c.send("POST", RENEW + "&force=yes", "HTTP/1.1", headers("OWN", null, "right"));
      assertThat(badForce.status()).isEqualTo(400);
      assertThat(badForce.body()).contains("force: yes (expected: true or false)");
      assertOthersServed();
    }
    gateway.certificates().sync().get();
    assertThat(status(gateway, "app").orElseThrow().revision()).isEqualTo(before + 2);
  }

  /** Another admin client ({@code /ready}, its own Host) and a data-plane client are served, each within 10 s. */
  void assertOthersServed() throws Exception {
    try (RawClient c = new RawClient(admin)) {
      RawResponse ready = c.send("GET", "/ready", "HTTP/1.1", headers("OWN", null, null));
      assertThat(ready.status()).isEqualTo(200);
      assertThat(ready.body()).isEqualTo("LIVE\n");
    }
    HttpResponse<String> data = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
        URI.create("http://127.0.0.1:" + http + "/")).timeout(Duration.ofSeconds(10)).build(),
        HttpResponse.BodyHandlers.ofString());
    assertThat(data.statusCode()).isEqualTo(200);
    assertThat(data.body()).isEqualTo("hello\n");
  }

  private Map<String, String> headers(String host, String origin, String tokenKind) {
    Map<String, String> h = new LinkedHashMap<>();
    if (host != null) {
      h.put("Host", host.replace("OWN", "127.0.0.1:" + admin).replace("ADMIN", String.valueOf(admin)));
    }
    if (origin != null) {
      h.put("Origin", origin);
    }
    if (tokenKind != null) {
      h.put("Authorization", "Bearer " + (tokenKind.equals("right") ? token
          : (token.charAt(0) == 'x' ? "y" : "x") + token.substring(1)));
    }
    return h;
  }

  record RawResponse(int status, Map<String, String> headers, String body) {}

  /** One TCP connection to the admin server; requests are written byte for byte as given. */
  static final class RawClient implements AutoCloseable {
    private final Socket socket;
    private final InputStream in;
    private final OutputStream out;

    RawClient(int port) throws IOException {
      socket = new Socket(InetAddress.getLoopbackAddress(), port);
      socket.setSoTimeout(10_000); // does not hang
      in = socket.getInputStream();
      out = socket.getOutputStream();
    }

    RawResponse send(String method, String path, String version, Map<String, String> headers) throws IOException {
      StringBuilder req = new StringBuilder(method + " " + path + " " + version + "\r\n");
      headers.forEach((k, v) -> req.append(k).append(": ").append(v).append("\r\n"));
      if (method.equals("POST")) {
        req.append("Content-Length: 0\r\n");
      }
      out.write(req.append("\r\n").toString().getBytes(StandardCharsets.US_ASCII));
      out.flush();
      String statusLine = line();
      Map<String, String> respHeaders = new LinkedHashMap<>();
      for (String l = line(); !l.isEmpty(); l = line()) {
        int colon = l.indexOf(':');
        respHeaders.put(l.substring(0, colon).toLowerCase(Locale.ROOT), l.substring(colon + 1).strip());
      }
      byte[] body = in.readNBytes(Integer.parseInt(respHeaders.getOrDefault("content-length", "0")));
      return new RawResponse(Integer.parseInt(statusLine.split(" ")[1]), respHeaders,
          new String(body, StandardCharsets.UTF_8));
    }

    private String line() throws IOException {
      ByteArrayOutputStream b = new ByteArrayOutputStream();
      for (int c = in.read(); c != '\n'; c = in.read()) {
        if (c < 0) {
          throw new IOException("connection closed after " + b);
        }
        if (c != '\r') {
          b.write(c);
        }
      }
      return b.toString(StandardCharsets.US_ASCII);
    }

    @Override
    public void close() throws IOException {
      socket.close();
    }
  }
}
