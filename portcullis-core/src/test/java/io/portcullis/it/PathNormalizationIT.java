package io.portcullis.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.portcullis.Portcullis;
import io.portcullis.proxy.PathNormalization;
import io.portcullis.testing.Bystander;
import io.portcullis.testing.DevSecret;
import io.portcullis.testing.Gateways;
import io.portcullis.testing.H2Probe;
import io.portcullis.testing.Ports;
import io.portcullis.testing.Proc;
import io.portcullis.testing.RawClient;
import io.portcullis.testing.RecordingBackend;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Issue 12, finding 2: a {@code prefix: /status/418} route that answers 403 cannot be bypassed by the way the target
 * is written. Routing, rewrite and the upstream request use one normalised path (Istio's {@code BASE} by default,
 * {@code MERGE_SLASHES} on a second gateway); absolute-form targets are reduced to origin form with their authority;
 * an HTTP/2 {@code :path} must start with {@code /}. Raw sockets, curl (TLS, HTTP/2) and python3-h2; a
 * {@link Bystander} is served throughout.
 */
class PathNormalizationIT {
  @TempDir static Path tmp;
  static RecordingBackend backend;
  static Portcullis base;
  static Portcullis merging;
  static int http;
  static int https;
  static int mergingHttp;
  static Path ca;
  Bystander bystander;

  @BeforeAll
  static void start() throws Exception {
    backend = new RecordingBackend();
    http = Ports.free();
    https = Ports.free();
    mergingHttp = Ports.free();
    Files.createDirectories(tmp.resolve("base"));
    ca = DevSecret.write(tmp.resolve("dev"), tmp.resolve("base/secret.yaml"));
    String routes = """
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata: {name: rec}
        spec:
          hosts: ["*"]
          gateways: [gw]
          http:
          - match: [{uri: {prefix: /status/418}}]
            directResponse: {status: 403, body: {string: "denied"}}
          - match: [{uri: {prefix: /old/}}]
            rewrite: {uri: /new/}
            route: [{destination: {host: rec.internal, port: {number: 80}}}]
          - route: [{destination: {host: rec.internal, port: {number: 80}}}]
        ---
        """ + Gateways.staticService("rec", "rec.internal", backend.port());
    Files.writeString(tmp.resolve("base/config.yaml"), """
        apiVersion: networking.istio.io/v1
        kind: Gateway
        metadata: {name: gw}
        spec:
          servers:
          - port: {number: %d, name: http, protocol: HTTP}
            hosts: ["*"]
          - port: {number: %d, name: https, protocol: HTTPS}
            tls: {mode: SIMPLE, credentialName: localhost-credential}
            hosts: ["*"]
        ---
        """.formatted(http, https) + routes);
    Files.createDirectories(tmp.resolve("merging"));
    Files.writeString(tmp.resolve("merging/config.yaml"), Gateways.plainGateway(mergingHttp) + "---\n" + routes);
    base = Gateways.start(tmp.resolve("base"), tmp.resolve("base-state"));
    merging = Gateways.start(tmp.resolve("merging"), tmp.resolve("merging-state"),
        PathNormalization.of(PathNormalization.Type.MERGE_SLASHES));
    await().atMost(Duration.ofSeconds(10)).until(() -> Ports.listening(http) && Ports.listening(https)
        && Ports.listening(mergingHttp));
  }

  @AfterAll
  static void stop() throws IOException {
    for (Portcullis p : new Portcullis[] {base, merging}) {
      if (p != null) {
        p.close();
      }
    }
    backend.close();
  }

  @BeforeEach
  void bystander() throws IOException {
    backend.clear();
    bystander = new Bystander(http, "bystander.example", "/bystander", 200);
  }

  @AfterEach
  void bystanderWasServedThroughout() {
    bystander.assertServedThroughout();
  }

  @ParameterizedTest(name = "{0} -> {1}")
  @CsvSource({
      "/status/418,              403",
      "/status/%34%31%38,        403",
      "/status/./418,            403",
      "/x/../status/418,         403",
      "/status/%2e/418,          403",
      "http://a.example/status/418, 403",
      "HTTP://a.example:80/status/418?x=1, 403",
      "/status%2F418,            400",
      "/status%5c418,            400",
      "/status/41%zz,            400",
      "status/418,               400",
      "/status/418#frag,         400"})
  void aDenyRouteCannotBeBypassedByHowTheTargetIsWritten(String target, int status) throws Exception {
    try (RawClient c = RawClient.connect(http)) {
      RawClient.Response r = c.send("GET " + target + " HTTP/1.1\r\nHost: a.example\r\n\r\n")
          .readResponse(Duration.ofSeconds(5));
      assertThat(r).isNotNull();
      assertThat(r.status()).isEqualTo(status);
    }
    assertThat(backend.received()).noneMatch(x -> x.requestLine().contains("418"));
  }

  @Test
  void doubleSlashesAreKeptUnderBaseAndMergedUnderMergeSlashes() throws Exception {
    assertThat(RawClient.exchange(http, "GET //status/418 HTTP/1.1\r\nHost: a.example\r\n\r\n")
        .status()).isEqualTo(200);
    // BASE: the backend gets exactly the path that was routed.
    assertThat(backend.received()).anyMatch(x -> x.requestLine().equals("GET //status/418 HTTP/1.1"));
    assertThat(RawClient.exchange(mergingHttp, "GET //status//418 HTTP/1.1\r\nHost: a.example\r\n\r\n")
        .status()).isEqualTo(403);
  }

  @Test
  void anAbsoluteFormTargetIsForwardedInOriginFormWithItsAuthority() throws Exception {
    assertThat(RawClient.exchange(http,
        "GET http://target.example/abs/./a%7e?q=%2F HTTP/1.1\r\nHost: target.example\r\n\r\n").status())
        .isEqualTo(200);
    assertThat(backend.received()).anySatisfy(x -> {
      assertThat(x.requestLine()).isEqualTo("GET /abs/a~?q=%2F HTTP/1.1");
      assertThat(x.headers().get("host")).containsExactly("target.example");
    });
  }

  @Test
  void aHostThatDisagreesWithTheAbsoluteFormAuthorityIs400() throws Exception {
    try (RawClient c = RawClient.connect(http)) {
      RawClient.Response r = c.send("GET http://other.example/disagree HTTP/1.1\r\nHost: a.example\r\n\r\n")
          .readResponse(Duration.ofSeconds(5));
      assertThat(r.status()).isEqualTo(400);
      assertThat(r.body()).contains("disagrees");
    }
    assertThat(backend.received()).noneMatch(x -> x.requestLine().contains("/disagree"));
  }

  @Test
  void overTlsAndHttp2TheDenyRouteHoldsToo() throws Exception {
    String url = "https://localhost:" + https + "/";
    Proc.Result h1 = Proc.run(20, "curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "--http1.1", "--cacert",
        ca.toString(), "--request-target", "http://localhost/status/418", url);
    assertThat(h1.stdout()).isEqualTo("403");
    Proc.Result h2 = Proc.run(20, "curl", "-s", "-o", "/dev/null", "-w", "%{http_code} %{http_version}", "--http2",
        "--cacert", ca.toString(), "--request-target", "/status/%34%31%38", url);
    assertThat(h2.stdout()).isEqualTo("403 2");
    Proc.Result absoluteOverH2 = Proc.run(20, "curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "--http2",
        "--cacert", ca.toString(), "--request-target", "http://localhost/status/418", url);
    assertThat(absoluteOverH2.stdout()).isEqualTo("400");
    List<String> noSlash = H2Probe.run("request", http, "a.example", "status/418", 0);
    assertThat(noSlash).containsExactly("status 400");
    assertThat(backend.received()).noneMatch(x -> x.requestLine().contains("418"));
  }

  @Test
  void aRewrittenRequestCarriesTheRoutedPathInXEnvoyOriginalPath() throws Exception {
    assertThat(RawClient.exchange(http,
        "GET /old/./%61?x=1 HTTP/1.1\r\nHost: a.example\r\nx-envoy-original-path: /forged\r\n\r\n").status())
        .isEqualTo(200);
    assertThat(backend.received()).anySatisfy(x -> {
      assertThat(x.requestLine()).isEqualTo("GET /new/a?x=1 HTTP/1.1");
      assertThat(x.headers().get("x-envoy-original-path")).containsExactly("/old/a?x=1");
    });
  }
}
