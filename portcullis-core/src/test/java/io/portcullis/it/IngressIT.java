package io.portcullis.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.portcullis.Portcullis;
import io.portcullis.proxy.AccessLog;
import io.portcullis.proxy.Transport;
import io.portcullis.testing.DevCertificates;
import io.portcullis.testing.Gateways;
import io.portcullis.testing.Ports;
import io.portcullis.testing.Proc;
import io.portcullis.testing.RecordingBackend;
import io.portcullis.tls.Pem;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import org.bouncycastle.asn1.x500.X500Name;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Issue 15, point 1, end to end: Kubernetes Ingresses of class {@code istio} through the gateway in this JVM, with
 * real backends on free ports behind Services and EndpointSlices, and real curl. Plain HTTP on 80 and TLS from
 * {@code tls[].secretName} (a Secret in the gateway namespace, named {@code istio-ingress-certs} as in the
 * cert-manager walkthrough) on 443, both + {@code --port-offset}; every pathType form; hosts and {@code *};
 * backends by port number and name; defaultBackend; class selection; a v1beta1 Ingress.
 */
class IngressIT {
  private static final ObjectMapper JSON = new ObjectMapper();

  @TempDir static Path tmp;
  private static Portcullis gateway;
  private static int offset;
  private static Path ca;
  private static RecordingBackend a;
  private static RecordingBackend b;
  private static RecordingBackend c;

  @BeforeAll
  static void start() throws Exception {
    a = new RecordingBackend();
    b = new RecordingBackend();
    c = new RecordingBackend();
    offset = Ports.freeOffset(80, 443);
    Path config = Files.createDirectories(tmp.resolve("config"));
    Files.writeString(config.resolve("services.yaml"), service("shop", "[{name: http, port: 8080, targetPort: 9000}]",
        "[{name: http, port: " + a.port() + "}]", "shop") + "---\n"
        + service("cart", "[{name: web, port: 81, targetPort: 9001}, {name: admin, port: 82, targetPort: 9002}]",
        "[{name: web, port: " + b.port() + "}]", "cart-web") + "---\n"
        + service("cart", "[]", "[{name: admin, port: " + c.port() + "}]", "cart-admin").split("---\n", 2)[1]);
    Files.writeString(config.resolve("tls.yaml"), secret("shop.example.com"));
    Files.writeString(config.resolve("ingress.yaml"), """
        apiVersion: networking.k8s.io/v1
        kind: Ingress
        metadata:
          name: web
          namespace: default
          annotations: {kubernetes.io/ingress.class: istio}
        spec:
          tls:
          - {hosts: [shop.example.com], secretName: istio-ingress-certs}
          rules:
          - host: shop.example.com
            http:
              paths:
              - {path: /foo, pathType: Prefix, backend: {service: {name: shop, port: {number: 8080}}}}
              - {path: /foo/bar, pathType: Prefix, backend: {service: {name: cart, port: {name: web}}}}
              - {path: /exact, pathType: Exact, backend: {service: {name: cart, port: {name: web}}}}
              - {path: /legacy/*, pathType: ImplementationSpecific, backend: {service: {name: cart, port: {number: 82}}}}
              - {path: /dot.*, pathType: ImplementationSpecific, backend: {service: {name: cart, port: {name: admin}}}}
              - {path: /plain, pathType: ImplementationSpecific, backend: {service: {name: shop, port: {name: http}}}}
          - host: "*.wild.example.com"
            http:
              paths:
              - {path: /, pathType: Prefix, backend: {service: {name: cart, port: {number: 81}}}}
          - host: all.example.com
            http:
              paths:
              - {path: .*, pathType: ImplementationSpecific, backend: {service: {name: cart, port: {number: 82}}}}
        ---
        apiVersion: networking.k8s.io/v1
        kind: IngressClass
        metadata: {name: istio}
        spec: {controller: istio.io/ingress-controller}
        ---
        apiVersion: networking.k8s.io/v1
        kind: IngressClass
        metadata: {name: nginx}
        spec: {controller: k8s.io/ingress-nginx}
        ---
        apiVersion: networking.k8s.io/v1
        kind: Ingress
        metadata: {name: byclass, namespace: default}
        spec:
          ingressClassName: istio
          defaultBackend: {service: {name: shop, port: {number: 8080}}}
          rules:
          - host: class.example.com
            http:
              paths:
              - {path: /, pathType: Prefix, backend: {service: {name: cart, port: {name: web}}}}
        ---
        apiVersion: networking.k8s.io/v1
        kind: Ingress
        metadata: {name: foreign, namespace: default}
        spec:
          ingressClassName: nginx
          rules:
          - host: class.example.com
            http:
              paths:
              - {path: /foreign, pathType: Exact, backend: {service: {name: cart, port: {name: admin}}}}
        ---
        apiVersion: extensions/v1beta1
        kind: Ingress
        metadata: {name: old, namespace: default, annotations: {kubernetes.io/ingress.class: istio}}
        spec:
          rules:
          - host: old.example.com
            http:
              paths:
              - {path: /old/*, backend: {serviceName: cart, servicePort: admin}}
        """);
    gateway = Portcullis.start(new Portcullis.Options(List.of(config), "istio-system", offset, "127.0.0.1",
        new InetSocketAddress("127.0.0.1", 0), AccessLog.disabled(), 1, Transport.AUTO, tmp.resolve("state"),
        Duration.ofSeconds(1)));
    await().atMost(Duration.ofSeconds(10)).until(() -> gateway.ready() && Ports.listening(80 + offset)
        && Ports.listening(443 + offset));
  }

  @AfterAll
  static void stop() throws Exception {
    if (gateway != null) {
      gateway.close();
    }
    for (RecordingBackend r : new RecordingBackend[] {a, b, c}) {
      if (r != null) {
        r.close();
      }
    }
  }

  /** An offset that makes both 80 and 443 free ports. */

  private static String service(String name, String ports, String slicePorts, String slice) {
    return """
        apiVersion: v1
        kind: Service
        metadata: {name: %s, namespace: default}
        spec: {ports: %s}
        ---
        apiVersion: discovery.k8s.io/v1
        kind: EndpointSlice
        metadata: {name: %s, namespace: default, labels: {kubernetes.io/service-name: %s}}
        addressType: IPv4
        ports: %s
        endpoints: [{addresses: [127.0.0.1]}]
        """.formatted(name, ports, slice, name, slicePorts);
  }

  /** A CA and a leaf for {@code host}, as Secret istio-system/istio-ingress-certs; the CA goes to {@link #ca}. */
  private static String secret(String host) throws Exception {
    KeyPair caKeys = DevCertificates.newKeyPair();
    X509Certificate caCert = DevCertificates.sign(new X500Name("CN=IngressIT CA"), caKeys, null, caKeys, true,
        Duration.ofDays(1), List.of());
    KeyPair leafKeys = DevCertificates.newKeyPair();
    X509Certificate leaf = DevCertificates.sign(new X500Name("CN=" + host), leafKeys, caCert, caKeys, false,
        Duration.ofDays(1), List.of(host));
    ca = tmp.resolve("ca.pem");
    Files.writeString(ca, Pem.encode(caCert));
    Base64.Encoder b64 = Base64.getEncoder();
    return """
        apiVersion: v1
        kind: Secret
        metadata: {name: istio-ingress-certs, namespace: istio-system}
        type: kubernetes.io/tls
        data: {tls.crt: %s, tls.key: %s}
        """.formatted(b64.encodeToString(Pem.encode(leaf, caCert).getBytes(StandardCharsets.US_ASCII)),
        b64.encodeToString(Pem.encode(leafKeys.getPrivate()).getBytes(StandardCharsets.US_ASCII)));
  }

  /** Sends {@code GET path} for {@code host} over plain HTTP; returns the backend that got it (a, b, c) or the status. */
  private static String http(String host, String path) throws Exception {
    return reached(Proc.run(20, "curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "-H", "Host: " + host,
        "http://127.0.0.1:" + (80 + offset) + path));
  }

  private static String reached(Proc.Result r) {
    Map<String, RecordingBackend> backends = Map.of("a", a, "b", b, "c", c);
    String hit = "none";
    for (var e : backends.entrySet()) {
      if (!e.getValue().received().isEmpty()) {
        hit = hit.equals("none") ? e.getKey() : hit + "+" + e.getKey();
      }
      e.getValue().clear();
    }
    return hit.equals("none") ? r.stdout() + (r.exitCode() == 0 ? "" : " curl exit " + r.exitCode() + " "
        + r.stderr()) : hit + " " + r.stdout();
  }

  @ParameterizedTest(name = "{0}{1} -> {2}")
  @CsvSource({
      "shop.example.com, /foo, a 200",
      "shop.example.com, /foo/, a 200",
      "shop.example.com, /foo/x, a 200",
      "shop.example.com, /foobar, 404", // Prefix is element-wise
      "shop.example.com, /foo/bar/x, b 200", // the longer prefix first
      "shop.example.com, /exact, b 200",
      "shop.example.com, /exact/x, 404",
      "shop.example.com, /legacy, c 200", // ImplementationSpecific /legacy/* -> prefix /legacy, by port number
      "shop.example.com, /legacy/x/y, c 200",
      "shop.example.com, /legacyx, 404",
      "shop.example.com, /dot/x, c 200", // /dot.* -> prefix /dot, by port name
      "shop.example.com, /dotty, 404", // element-wise, as Istio
      "shop.example.com, /plain, a 200", // anything else: exact
      "shop.example.com, /plain/x, 404",
      "a.wild.example.com, /x, b 200",
      "a.b.wild.example.com, /x, b 200", // any depth, as Envoy
      "all.example.com, /any/thing, c 200", // .* matches everything
      "class.example.com, /x, b 200", // ingressClassName naming an IngressClass of istio.io/ingress-controller
      "class.example.com, /foreign, b 200", // the nginx Ingress's Exact /foreign is not served
      "nowhere.example.com, /x, a 200", // defaultBackend: the last route of *
      "old.example.com, /old/1, c 200", // extensions/v1beta1, servicePort by name
  })
  void plainHttpOn80PlusOffset(String host, String path, String expected) throws Exception {
    assertThat(http(host, path)).isEqualTo(expected);
  }

  @ParameterizedTest(name = "https://shop.example.com{0} -> {1}")
  @CsvSource({"/foo/x, a 200", "/exact, b 200", "/exact/x, a 200", "/dot/x, c 200"})
  // On 443 the server's host is shop.example.com, and (as Istio merges a "*" VirtualService into each server host)
  // the "*" routes follow that host's own: /exact/x reaches the defaultBackend there, where on 80 it is a 404.
  void tlsFromTheSecretNamedByTlsSecretNameOn443PlusOffset(String path, String expected) throws Exception {
    int port = 443 + offset;
    Proc.Result r = Proc.run(20, "curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "--resolve",
        "shop.example.com:" + port + ":127.0.0.1", "--cacert", ca.toString(), "https://shop.example.com:" + port + path);
    assertThat(reached(r)).isEqualTo(expected);
  }

  @Test
  void theCertificateServedBySniIsTheIngressSecretsAndItsProblemsAreNamed() throws Exception {
    int port = 443 + offset;
    Proc.Result r = Proc.run(20, "curl", "-sv", "-o", "/dev/null", "--resolve", "shop.example.com:" + port
        + ":127.0.0.1", "--cacert", ca.toString(), "https://shop.example.com:" + port + "/foo");
    assertThat(r.exitCode()).as(r.stderr()).isZero();
    assertThat(r.stderr()).contains("subject: CN=shop.example.com").contains("issuer: CN=IngressIT CA");
    a.clear();
    String problems = JSON.readTree(Gateways.admin(gateway, "GET", "/config_dump")).path("problems").toString();
    assertThat(problems).contains("extensions/v1beta1 Ingress was removed in Kubernetes 1.22; read as "
        + "networking.k8s.io/v1").contains("Ingress default/foreign").doesNotContain("\"ERROR\"")
        .doesNotContain("not used by the gateway");
  }
}
