package io.portcullis.it;

import static io.portcullis.testing.Gateways.ready;
import static io.portcullis.testing.Gateways.servedSerial;
import static io.portcullis.testing.Gateways.status;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.portcullis.Portcullis;
import io.portcullis.proxy.AccessLog;
import io.portcullis.proxy.Transport;
import io.portcullis.testing.Gateways;
import io.portcullis.testing.Pebble;
import io.portcullis.testing.Ports;
import io.portcullis.testing.Proc;
import io.portcullis.testing.RecordingBackend;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 15, point 4, end to end: seed 004's walkthrough as written for cert-manager 0.2 ({@code certmanager.k8s.io/
 * v1alpha1} ClusterIssuer with {@code http01: {}}, Certificate with {@code acme.config[]}, fixed of their typos), its
 * Services and {@code extensions/v1beta1} Ingresses unchanged, the staging ClusterIssuer pointed at a real Pebble:
 * the certificate is issued over HTTP-01 answered by the gateway itself on the Ingress's port 80 (no solver pod, no
 * Service, no Ingress of cert-manager's) and served on the next handshake on 443, both + the port offset.
 */
class LegacyCertManagerIT {
  static final Path SEED = Path.of("src/test/resources/seed004");

  @TempDir Path tmp;
  Pebble pebble;
  Portcullis gateway;
  RecordingBackend v1;
  RecordingBackend v2;

  @AfterEach
  void stop() throws Exception {
    if (gateway != null) {
      gateway.close();
    }
    if (pebble != null) {
      System.out.println("pebble log:\n" + pebble.log()); // kept in the Failsafe report
      pebble.close();
    }
    for (RecordingBackend b : new RecordingBackend[] {v1, v2}) {
      if (b != null) {
        b.close();
      }
    }
  }

  @Test
  void theSeedsLegacyCertificateIsIssuedThroughTheGatewaysHttp01AndServedOnTheNextHandshake() throws Exception {
    int offset = Ports.freeOffset(80, 443);
    pebble = new Pebble(tmp.resolve("pebble"), 80 + offset).start();
    v1 = new RecordingBackend();
    v2 = new RecordingBackend();
    Path config = Files.createDirectories(tmp.resolve("config"));
    String issuers = Files.readString(SEED.resolve("fixed/certificate-issuer.yml"));
    String staging = "    server: https://acme-staging.api.letsencrypt.org/directory\n";
    assertThat(issuers).contains(staging);
    // v1alpha1 has no caBundle: its skipTLSVerify trusts Pebble's own TLS certificate
    Files.writeString(config.resolve("certificate-issuer.yml"), issuers.replace(staging, "    server: "
        + pebble.directory() + "\n    skipTLSVerify: true\n"));
    Files.copy(SEED.resolve("fixed/certificate-istio.yml"), config.resolve("certificate-istio.yml"));
    Files.copy(SEED.resolve("helloworld.yml"), config.resolve("helloworld.yml"));
    Files.writeString(config.resolve("endpoints.yaml"), slice("helloworld-v1", v1.port()) + "---\n"
        + slice("helloworld-v2", v2.port()));

    gateway = Portcullis.start(new Portcullis.Options(List.of(config), "istio-system", offset, "127.0.0.1",
        new InetSocketAddress("127.0.0.1", 0), AccessLog.disabled(), 1, Transport.AUTO, tmp.resolve("state"),
        Duration.ofSeconds(1)));
    await().atMost(Duration.ofSeconds(60)).until(() -> ready(gateway, "istio-ingress-certs"));
    assertThat(status(gateway, "istio-ingress-certs").orElseThrow().subjectAltNames())
        .containsExactlyInAnyOrder("www.mydomain.com", "mobile.mydomain.com");
    assertThat(pebble.log()).contains("/order-plz");

    Path root = pebble.root();
    int https = 443 + offset;
    Proc.Result www = Gateways.curl(https, "www.mydomain.com", root);
    assertThat(www.exitCode()).as(www.stderr()).isZero();
    Proc.Result mobile = Gateways.curl(https, "mobile.mydomain.com", root);
    assertThat(mobile.exitCode()).as(mobile.stderr()).isZero();
    // the seed's istio-ingress-https: www to helloworld-v1, mobile to helloworld-v2
    assertThat(v1.received()).singleElement().satisfies(r -> assertThat(r.requestLine()).isEqualTo("GET / HTTP/1.1"));
    assertThat(v2.received()).singleElement().satisfies(r -> assertThat(r.requestLine()).isEqualTo("GET / HTTP/1.1"));
    assertThat(servedSerial(https, "www.mydomain.com"))
        .isEqualTo(status(gateway, "istio-ingress-certs").orElseThrow().serial().orElseThrow());
  }

  private static String slice(String service, int port) {
    return """
        apiVersion: discovery.k8s.io/v1
        kind: EndpointSlice
        metadata: {name: %1$s, namespace: default, labels: {kubernetes.io/service-name: %1$s}}
        addressType: IPv4
        ports: [{name: http, port: %2$d}]
        endpoints: [{addresses: [127.0.0.1]}]
        """.formatted(service, port);
  }

  /** An offset with 80 + offset and 443 + offset both free: Pebble validates HTTP-01 on 80 + offset. */
}
