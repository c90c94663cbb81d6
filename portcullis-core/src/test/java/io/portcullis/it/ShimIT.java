package io.portcullis.it;

import static io.portcullis.testing.Gateways.admin;
import static io.portcullis.testing.Gateways.ready;
import static io.portcullis.testing.Gateways.servedSerial;
import static io.portcullis.testing.Gateways.status;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.portcullis.IssuanceOptions;
import io.portcullis.Portcullis;
import io.portcullis.certs.DefaultIssuer;
import io.portcullis.proxy.AccessLog;
import io.portcullis.proxy.Transport;
import io.portcullis.storage.DirectoryStorage;
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
 * Issue 15, point 3, end to end: cert-manager's ingress-shim and gateway-shim answered in-process. An Ingress
 * (class istio) and a Gateway API Gateway annotated {@code cert-manager.io/cluster-issuer} get their Certificates
 * from a real Pebble, HTTP-01 answered by the gateway itself on port 80 (+ offset): no solver pod, no temporary
 * Ingress; an Ingress annotated only {@code kubernetes.io/tls-acme: "true"} added while the gateway runs gets one
 * from {@code --default-issuer-name}, a CA ClusterIssuer. Each is in {@code /certs} and served on the next handshake
 * on 443 (+ offset), without a restart.
 */
class ShimIT {
  private static final String CA_BOOTSTRAP = """
      apiVersion: cert-manager.io/v1
      kind: ClusterIssuer
      metadata: {name: selfsigned}
      spec: {selfSigned: {}}
      ---
      apiVersion: cert-manager.io/v1
      kind: Certificate
      metadata: {name: shim-root, namespace: istio-system}
      spec:
        isCA: true
        commonName: ShimIT root
        secretName: shim-root
        issuerRef: {name: selfsigned, kind: ClusterIssuer}
      ---
      apiVersion: cert-manager.io/v1
      kind: ClusterIssuer
      metadata: {name: local-ca}
      spec: {ca: {secretName: shim-root}}
      """;

  @TempDir Path tmp;
  Pebble pebble;
  Portcullis gateway;
  RecordingBackend backend;

  @AfterEach
  void stop() throws Exception {
    if (gateway != null) {
      gateway.close();
    }
    if (pebble != null) {
      System.out.println("pebble log:\n" + pebble.log()); // kept in the Failsafe report
      pebble.close();
    }
    if (backend != null) {
      backend.close();
    }
  }

  private int start(Path config, DefaultIssuer defaults) throws Exception {
    int offset = Ports.freeOffset(80, 443);
    pebble = new Pebble(tmp.resolve("pebble"), 80 + offset).start();
    backend = new RecordingBackend();
    Files.writeString(config.resolve("issuers.yaml"), """
        apiVersion: cert-manager.io/v1
        kind: ClusterIssuer
        metadata: {name: pebble}
        spec:
          acme:
            server: %s
            caBundle: %s
            privateKeySecretRef: {name: pebble-account}
            solvers: [{http01: {ingress: {}}}]
        ---
        """.formatted(pebble.directory(), pebble.caBundle()) + CA_BOOTSTRAP + """
        ---
        apiVersion: v1
        kind: Service
        metadata: {name: web, namespace: default}
        spec: {ports: [{name: http, port: 80}]}
        ---
        apiVersion: discovery.k8s.io/v1
        kind: EndpointSlice
        metadata: {name: web-1, namespace: default, labels: {kubernetes.io/service-name: web}}
        addressType: IPv4
        ports: [{name: http, port: %d}]
        endpoints: [{addresses: [127.0.0.1]}]
        """.formatted(backend.port()));
    gateway = Portcullis.start(new Portcullis.Options(List.of(config), "istio-system", offset, "127.0.0.1",
        new InetSocketAddress("127.0.0.1", 0), AccessLog.disabled(), 1, Transport.AUTO, tmp.resolve("state"),
        Duration.ofSeconds(1), IssuanceOptions.defaults().withDefaultIssuer(defaults)));
    return offset;
  }

  private static String ingress(String name, String annotation, String host, String secret) {
    return """
        apiVersion: networking.k8s.io/v1
        kind: Ingress
        metadata:
          name: %s
          namespace: default
          annotations: {kubernetes.io/ingress.class: istio, %s}
        spec:
          tls: [{hosts: [%s], secretName: %s}]
          rules:
          - host: %3$s
            http:
              paths: [{path: /, pathType: Prefix, backend: {service: {name: web, port: {number: 80}}}}]
        """.formatted(name, annotation, host, secret);
  }

  @Test
  void anIngressGetsItsCertificateFromPebbleAndALaterTlsAcmeOneFromTheDefaultIssuerWithoutARestart()
      throws Exception {
    Path config = Files.createDirectories(tmp.resolve("config"));
    int offset = start(config, new DefaultIssuer("local-ca", "ClusterIssuer", "cert-manager.io"));
    Files.writeString(config.resolve("www.yaml"), ingress("www", "cert-manager.io/cluster-issuer: pebble",
        "www.shim.test", "www-tls"));
    await().atMost(Duration.ofSeconds(60)).until(() -> ready(gateway, "www-tls"));
    assertThat(pebble.log()).contains("/order-plz");
    assertThat(status(gateway, "www-tls").orElseThrow().namespace()).isEqualTo("istio-system");
    assertThat(status(gateway, "www-tls").orElseThrow().subjectAltNames()).containsExactly("www.shim.test");
    int https = 443 + offset;
    Proc.Result www = Gateways.curl(https, "www.shim.test", pebble.root());
    assertThat(www.exitCode()).as(www.stderr()).isZero();
    assertThat(backend.received()).singleElement().satisfies(r -> assertThat(r.headers().get("host"))
        .containsExactly("www.shim.test:" + https));
    String certs = admin(gateway, "GET", "/certs");
    assertThat(certs).contains("www-tls", "Ingress default/www (cert-manager.io/cluster-issuer)");

    // added while running: issued by --default-issuer-name's CA and served on the next handshake
    Files.writeString(config.resolve("api.yaml"), ingress("api", "kubernetes.io/tls-acme: \"true\"",
        "api.shim.test", "api-tls"));
    await().atMost(Duration.ofSeconds(30)).until(() -> ready(gateway, "api-tls"));
    assertThat(status(gateway, "api-tls").orElseThrow().issuer()).contains("local-ca");
    assertThat(status(gateway, "api-tls").orElseThrow().origin()).isEqualTo("Ingress default/api (kubernetes.io/tls-acme)");
    Path root = tmp.resolve("root.pem");
    Files.write(root, new DirectoryStorage(tmp.resolve("state")).load().secrets().get("istio-system/shim-root")
        .data().get("ca.crt"));
    await().atMost(Duration.ofSeconds(10)).until(() -> Gateways.curl(https, "api.shim.test", root).exitCode() == 0);
    assertThat(servedSerial(https, "api.shim.test"))
        .isEqualTo(status(gateway, "api-tls").orElseThrow().serial().orElseThrow());
    assertThat(servedSerial(https, "www.shim.test"))
        .isEqualTo(status(gateway, "www-tls").orElseThrow().serial().orElseThrow());
  }

  @Test
  void aGatewayApiGatewayGetsACertificatePerSecretFromPebbleOverItsOwnHttpListener() throws Exception {
    Path config = Files.createDirectories(tmp.resolve("config"));
    int offset = start(config, DefaultIssuer.NONE);
    Files.writeString(config.resolve("gateway.yaml"), """
        apiVersion: gateway.networking.k8s.io/v1
        kind: GatewayClass
        metadata: {name: portcullis}
        spec: {controllerName: portcullis.io/gateway-controller}
        ---
        apiVersion: gateway.networking.k8s.io/v1
        kind: Gateway
        metadata:
          name: edge
          namespace: default
          annotations: {cert-manager.io/cluster-issuer: pebble}
        spec:
          gatewayClassName: portcullis
          listeners:
          - {name: http, port: 80, protocol: HTTP}
          - name: shop
            port: 443
            protocol: HTTPS
            hostname: shop.shim.test
            tls: {mode: Terminate, certificateRefs: [{name: shop-tls}]}
          - name: cart
            port: 443
            protocol: HTTPS
            hostname: cart.shim.test
            tls: {mode: Terminate, certificateRefs: [{name: shop-tls}]}
        ---
        apiVersion: gateway.networking.k8s.io/v1
        kind: HTTPRoute
        metadata: {name: shop, namespace: default}
        spec:
          parentRefs: [{name: edge}]
          rules: [{backendRefs: [{name: web, port: 80}]}]
        """);
    await().atMost(Duration.ofSeconds(60)).until(() -> ready(gateway, "shop-tls"));
    assertThat(status(gateway, "shop-tls").orElseThrow().namespace()).isEqualTo("default");
    assertThat(status(gateway, "shop-tls").orElseThrow().subjectAltNames())
        .containsExactlyInAnyOrder("shop.shim.test", "cart.shim.test");
    int https = 443 + offset;
    for (String host : List.of("shop.shim.test", "cart.shim.test")) {
      Proc.Result r = Gateways.curl(https, host, pebble.root());
      assertThat(r.exitCode()).as(host + ": " + r.stderr()).isZero();
    }
    assertThat(backend.received()).hasSize(2);
    // as in a cluster once cert-manager created the Secret: the listeners' references resolve, all are programmed
    await().atMost(Duration.ofSeconds(10)).until(() -> !admin(gateway, "GET",
        "/apis/gateway.networking.k8s.io/v1/namespaces/default/gateways/edge").contains("InvalidCertificateRef"));
    assertThat(admin(gateway, "GET", "/apis/gateway.networking.k8s.io/v1/namespaces/default/gateways/edge"))
        .doesNotContain("\"type\":\"ResolvedRefs\",\"status\":\"False\"",
            "\"type\":\"Programmed\",\"status\":\"False\"");
    assertThat(admin(gateway, "GET", "/certs")).contains("shop-tls",
        "Gateway gateway.networking.k8s.io default/edge (cert-manager.io/cluster-issuer)");
  }
}
