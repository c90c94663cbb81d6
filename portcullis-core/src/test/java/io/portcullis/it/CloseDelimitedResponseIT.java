package io.portcullis.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.portcullis.Portcullis;
import io.portcullis.proxy.AccessLog;
import io.portcullis.proxy.Transport;
import io.portcullis.testing.Gateways;
import io.portcullis.testing.Ports;
import io.portcullis.testing.Proc;
import io.portcullis.testing.ScriptedBackend;
import java.io.FileOutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * An HTTP/1.0-style upstream response, whose body ends when the upstream closes the connection (RFC 9112 §6.3 rule
 * 8), is a complete response: relayed whole, logged without a failure flag (Envoy logs none), over either client
 * protocol.
 */
class CloseDelimitedResponseIT {
  private static final ObjectMapper JSON = new ObjectMapper();
  @TempDir
  static Path tmp;
  static ScriptedBackend backend;
  static Portcullis gateway;
  static Path accessLog;
  static int port;

  @BeforeAll
  static void start() throws Exception {
    backend = new ScriptedBackend(s -> {
      ScriptedBackend.head(s.getInputStream());
      s.getOutputStream().write("HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nhello from 1.0"
          .getBytes(StandardCharsets.US_ASCII));
      s.getOutputStream().flush(); // then the script returns and the connection closes: the end of the body
    });
    port = Ports.free();
    Path config = Files.createDirectories(tmp.resolve("config"));
    Files.writeString(config.resolve("config.yaml"), Gateways.plainGateway(port) + """
        ---
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata: {name: old}
        spec:
          hosts: [old.test]
          gateways: [gw]
          http:
          - route: [{destination: {host: old.svc, port: {number: 80}}}]
        ---
        """ + Gateways.staticService("old", "old.svc", backend.port()));
    accessLog = tmp.resolve("access.log");
    gateway = Portcullis.start(new Portcullis.Options(List.of(config), "default", 0, "127.0.0.1",
        new InetSocketAddress("127.0.0.1", 0), new AccessLog(new FileOutputStream(accessLog.toFile())), 1,
        Transport.AUTO, tmp.resolve("state"), Duration.ofSeconds(1)));
    await().atMost(Duration.ofSeconds(10)).until(() -> gateway.ready() && Ports.listening(port));
  }

  @AfterAll
  static void stop() throws Exception {
    if (gateway != null) {
      gateway.close();
    }
    backend.close();
  }

  @ParameterizedTest
  @ValueSource(strings = {"--http1.1", "--http2-prior-knowledge"})
  void isRelayedWholeAndLoggedWithoutAFailureFlag(String protocol) throws Exception {
    long before = Files.readAllLines(accessLog).size();
    Proc.Result r = Proc.run(20, "curl", "-sS", protocol, "-w", "\n%{http_code}",
        "http://old.test:" + port + "/", "--resolve", "old.test:" + port + ":127.0.0.1");

    assertThat(r.exitCode()).as(r.stderr()).isZero();
    assertThat(r.stdout()).isEqualTo("hello from 1.0\n200");
    await().atMost(Duration.ofSeconds(5)).until(() -> Files.readAllLines(accessLog).size() > before);
    JsonNode line = JSON.readTree(Files.readAllLines(accessLog).get((int) before));
    assertThat(line.get("response_code").asInt()).isEqualTo(200);
    assertThat(line.get("response_flags").asText()).isEqualTo("-");
  }
}
