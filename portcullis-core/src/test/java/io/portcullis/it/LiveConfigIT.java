package io.portcullis.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.portcullis.Portcullis;
import io.portcullis.proxy.AccessLog;
import io.portcullis.proxy.Transport;
import io.portcullis.testing.DevSecret;
import io.portcullis.testing.Ports;
import io.portcullis.testing.Proc;
import java.io.FileOutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.cert.CertificateFactory;
import java.time.Duration;
import java.util.List;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Configuration changes apply live: no restart, established connections kept; /ready reflects binding. */
class LiveConfigIT {
  @TempDir Path tmp;

  private String gateway(int port, String body) {
    return """
        apiVersion: networking.istio.io/v1
        kind: Gateway
        metadata: {name: gw}
        spec:
          servers:
          - port: {number: %d, name: https, protocol: HTTPS}
            tls: {mode: SIMPLE, credentialName: localhost-credential}
            hosts: ["*"]
        ---
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata: {name: vs}
        spec:
          hosts: ["localhost"]
          gateways: [gw]
          http:
          - match: [{uri: {prefix: /one}}]
            directResponse: {status: 200, body: {string: "%s"}}
        """.formatted(port, body);
  }

  private void secret(Path dir) throws Exception {
    DevSecret.write(tmp.resolve("dev"), dir.resolve("secret.yaml"));
  }

  private HttpClient client() throws Exception {
    KeyStore ks = KeyStore.getInstance(KeyStore.getDefaultType());
    ks.load(null, null);
    try (var in = Files.newInputStream(tmp.resolve("dev/ca.crt"))) {
      ks.setCertificateEntry("ca", CertificateFactory.getInstance("X.509").generateCertificate(in));
    }
    TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
    tmf.init(ks);
    SSLContext ssl = SSLContext.getInstance("TLS");
    ssl.init(null, tmf.getTrustManagers(), null);
    return HttpClient.newBuilder().sslContext(ssl).version(HttpClient.Version.HTTP_2).build();
  }

  @Test
  void anEditAppliesWithoutDroppingTheOpenConnection() throws Exception {
    Path config = Files.createDirectories(tmp.resolve("config"));
    secret(config);
    int port = Ports.free();
    Files.writeString(config.resolve("gw.yaml"), gateway(port, "first"));
    Path log = tmp.resolve("access.log");
    try (Portcullis p = Portcullis.start(new Portcullis.Options(List.of(config), "istio-system", 0, "127.0.0.1",
        new InetSocketAddress("127.0.0.1", 0), new AccessLog(new FileOutputStream(log.toFile())),
        1, Transport.AUTO, tmp.resolve("state"), Duration.ofSeconds(1)))) {
      HttpClient client = client();
      URI one = URI.create("https://localhost:" + port + "/one");
      HttpResponse<String> first = client.send(HttpRequest.newBuilder(one).build(), HttpResponse.BodyHandlers.ofString());
      assertThat(first.body()).isEqualTo("first");
      Files.writeString(config.resolve("gw.yaml"), gateway(port, "second"));
      // Served on the open connection once applied. Not keyed on the generation: the watcher may still report the
      // file's first write (made just before the start) as one more snapshot of "first".
      int[] sent = {1};
      await().atMost(Duration.ofSeconds(5)).pollInterval(Duration.ofMillis(20)).until(() -> {
        sent[0]++;
        return client.send(HttpRequest.newBuilder(one).build(), HttpResponse.BodyHandlers.ofString()).body()
            .equals("second");
      });
      List<JsonNode> lines = await().atMost(Duration.ofSeconds(5)).until(() -> Files.readAllLines(log).stream()
          .map(LiveConfigIT::json).toList(), l -> l.size() == sent[0]);
      assertThat(lines).extracting(l -> l.get("downstream_remote_address").asText()).as("same downstream connection")
          .containsOnly(lines.get(0).get("downstream_remote_address").asText());
      assertThat(lines.get(lines.size() - 1).get("protocol").asText()).isEqualTo("HTTP/2");
      Files.delete(config.resolve("gw.yaml"));
      await().atMost(Duration.ofSeconds(2)).until(() -> !Ports.listening(port));
    }
  }

  @Test
  void withNothingValidTheLastGoodConfigKeepsServing() throws Exception {
    Path config = Files.createDirectories(tmp.resolve("lastgood"));
    secret(config);
    int port = Ports.free();
    Files.writeString(config.resolve("gw.yaml"), gateway(port, "good"));
    try (Portcullis p = Portcullis.start(new Portcullis.Options(List.of(config), "istio-system", 0, "127.0.0.1",
        new InetSocketAddress("127.0.0.1", 0), AccessLog.disabled(), 1, Transport.AUTO,
        tmp.resolve("state"), Duration.ofSeconds(1)))) {
      long generation = p.generation();
      // Parses, but the only Gateway fails validation: nothing valid would remain.
      Files.writeString(config.resolve("gw.yaml"), gateway(port, "bad").replace("number: " + port, "number: 70000"));
      await().atMost(Duration.ofSeconds(2)).until(() -> p.lastSnapshotGeneration() > generation);
      assertThat(p.generation()).as("the snapshot with nothing valid is not applied").isEqualTo(generation);
      HttpResponse<String> r = client().send(HttpRequest.newBuilder(URI.create("https://localhost:" + port + "/one"))
          .build(), HttpResponse.BodyHandlers.ofString());
      assertThat(r.body()).isEqualTo("good");
    }
  }

  private static JsonNode json(String s) {
    try {
      return new ObjectMapper().readTree(s);
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  @Test
  void readyIsUnavailableWhileAListenerCannotBind() throws Exception {
    Path config = Files.createDirectories(tmp.resolve("busy"));
    secret(config);
    try (ServerSocket taken = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      Files.writeString(config.resolve("gw.yaml"), gateway(taken.getLocalPort(), "x"));
      try (Portcullis p = Portcullis.start(new Portcullis.Options(List.of(config), "istio-system", 0, "127.0.0.1",
          new InetSocketAddress("127.0.0.1", 0), AccessLog.disabled(), 1, Transport.AUTO,
        tmp.resolve("state"), Duration.ofSeconds(1)))) {
        Proc.Result r = Proc.run(10, "curl", "-s", "-w", " %{http_code}",
            "http://127.0.0.1:" + p.adminAddress().getPort() + "/ready");
        assertThat(r.stdout()).isEqualTo("PRE_INITIALIZING\n 503");
      }
    }
  }
}
