package io.portcullis.testing;

import io.portcullis.IssuanceOptions;
import io.portcullis.Portcullis;
import io.portcullis.admin.AdminToken;
import io.portcullis.certs.CertificateStatus;
import io.portcullis.proxy.AccessLog;
import io.portcullis.proxy.PathNormalization;
import io.portcullis.proxy.ProxyLimits;
import io.portcullis.proxy.Transport;
import io.portcullis.routing.SafeRegex;
import java.math.BigInteger;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/** A gateway in the test's JVM, and what the end-to-end tests ask of it: certificate status, admin, curl, openssl. */
public final class Gateways {
  private Gateways() {}

  /**
   * Starts a gateway on {@code config} in namespace {@code istio-system}: Gateway ports on 127.0.0.1 plus
   * {@code portOffset}, admin on a free port, one event loop, no access log, issuance back-off 1 s.
   */
  public static Portcullis start(Path config, Path state, int portOffset) throws Exception {
    return Portcullis.start(new Portcullis.Options(List.of(config), "istio-system", portOffset, "127.0.0.1",
        new InetSocketAddress("127.0.0.1", 0), AccessLog.disabled(), 1, Transport.AUTO, state,
        Duration.ofSeconds(1)));
  }

  /** As {@link #start(Path, Path, int)} without a port offset, with {@code issuance} settings. */
  public static Portcullis start(Path config, Path state, IssuanceOptions issuance) throws Exception {
    return Portcullis.start(new Portcullis.Options(List.of(config), "istio-system", 0, "127.0.0.1",
        new InetSocketAddress("127.0.0.1", 0), AccessLog.disabled(), 1, Transport.AUTO, state,
        Duration.ofSeconds(1), issuance));
  }

  /** As {@link #start(Path, Path, int)} without a port offset, with the data plane's {@code limits}. */
  public static Portcullis start(Path config, Path state, ProxyLimits limits) throws Exception {
    return Portcullis.start(new Portcullis.Options(List.of(config), "istio-system", 0, "127.0.0.1",
        new InetSocketAddress("127.0.0.1", 0), AccessLog.disabled(), 1, Transport.AUTO, state,
        Duration.ofSeconds(1), IssuanceOptions.defaults(), limits,
        PathNormalization.DEFAULT, SafeRegex.DEFAULT_MAX_PROGRAM_SIZE, AdminToken.defaultFile(state)));
  }

  /** As {@link #start(Path, Path, int)} without a port offset, with paths normalised as {@code normalization}. */
  public static Portcullis start(Path config, Path state, PathNormalization normalization) throws Exception {
    return Portcullis.start(new Portcullis.Options(List.of(config), "istio-system", 0, "127.0.0.1",
        new InetSocketAddress("127.0.0.1", 0), AccessLog.disabled(), 1, Transport.AUTO, state,
        Duration.ofSeconds(1), IssuanceOptions.defaults(), ProxyLimits.defaults(), normalization,
        SafeRegex.DEFAULT_MAX_PROGRAM_SIZE, AdminToken.defaultFile(state)));
  }

  /** As {@link #start(Path, Path, int)} without a port offset. */
  public static Portcullis start(Path config, Path state) throws Exception {
    return start(config, state, 0);
  }

  /**
   * Returns the YAML of a VirtualService {@code hello} that answers every host of Gateway {@code gateway} with 200
   * and {@code body}, to end a multi-document manifest after a {@code ---} line.
   */
  public static String directResponse(String gateway, String body) {
    return """
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata: {name: hello}
        spec:
          hosts: ["*"]
          gateways: [%s]
          http:
          - directResponse: {status: 200, body: {string: "%s"}}
        """.formatted(gateway, body.replace("\n", "\\n"));
  }

  /**
   * Returns the YAML of a ServiceEntry {@code name} that puts {@code host} port 80 at 127.0.0.1:{@code targetPort}
   * (STATIC resolution), to join a multi-document manifest with {@code ---} lines.
   */
  public static String staticService(String name, String host, int targetPort) {
    return staticService(name, host, targetPort, "HTTP");
  }

  /**
   * As {@link #staticService(String, String, int)} with Istio's {@code ports[].protocol} {@code protocol} (such as
   * {@code HTTP2}: the gateway speaks h2c with prior knowledge to it).
   */
  public static String staticService(String name, String host, int targetPort, String protocol) {
    return """
        apiVersion: networking.istio.io/v1
        kind: ServiceEntry
        metadata: {name: %s}
        spec:
          hosts: [%s]
          ports: [{number: 80, name: %s, protocol: %s, targetPort: %d}]
          resolution: STATIC
          endpoints: [{address: 127.0.0.1}]
        """.formatted(name, host, protocol.toLowerCase(java.util.Locale.ROOT), protocol, targetPort);
  }

  /** Returns the YAML of a Gateway {@code gw} with one plain HTTP server on {@code port} for every host. */
  public static String plainGateway(int port) {
    return """
        apiVersion: networking.istio.io/v1
        kind: Gateway
        metadata: {name: gw}
        spec:
          servers:
          - port: {number: %d, name: http, protocol: HTTP}
            hosts: ["*"]
        """.formatted(port);
  }

  /** Returns the status of Certificate {@code name}, if the gateway manages one. */
  public static Optional<CertificateStatus> status(Portcullis p, String name) {
    return p.certificates().statuses().stream().filter(s -> s.name().equals(name)).findFirst();
  }

  /** Returns whether every Certificate of {@code names} is {@code Ready=True}. */
  public static boolean ready(Portcullis p, String... names) {
    for (String n : names) {
      if (!status(p, n).map(s -> s.ready().status().equals("True")).orElse(false)) {
        return false;
      }
    }
    return true;
  }

  /**
   * Sends {@code method path} to the admin server as the CLI does ({@code Host: 127.0.0.1:PORT}, the admin token
   * from the gateway's token file) and returns the body; fails unless the status is 200.
   */
  public static String admin(Portcullis p, String method, String path) throws Exception {
    HttpRequest req = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + p.adminAddress().getPort() + path))
        .header("Authorization", AdminToken.read(p.adminTokenFile()).authorization())
        .method(method, HttpRequest.BodyPublishers.noBody()).timeout(Duration.ofSeconds(20)).build();
    HttpResponse<String> r = HttpClient.newHttpClient().send(req, HttpResponse.BodyHandlers.ofString());
    if (r.statusCode() != 200) {
      throw new AssertionError(method + " " + path + ": " + r.statusCode() + " " + r.body());
    }
    return r.body();
  }

  /** {@code curl https://host:port/} with {@code host} resolved to 127.0.0.1 and {@code ca} as the only trust anchor. */
  public static Proc.Result curl(int port, String host, Path ca, String... extra) throws Exception {
    List<String> cmd = new ArrayList<>(List.of("curl", "-sS", "--max-time", "10", "--resolve",
        host + ":" + port + ":127.0.0.1", "--cacert", ca.toString()));
    cmd.addAll(List.of(extra));
    cmd.add("https://" + host + ":" + port + "/");
    return Proc.run(20, cmd.toArray(String[]::new));
  }

  /** The serial of the certificate served for SNI {@code host}, from openssl, in lower-case hex. */
  public static String servedSerial(int port, String host) throws Exception {
    Proc.Result r = Proc.run(20, "bash", "-c", "openssl s_client -connect 127.0.0.1:" + port + " -servername " + host
        + " </dev/null 2>/dev/null | openssl x509 -noout -serial");
    if (r.exitCode() != 0) {
      throw new AssertionError("openssl: " + r.stderr());
    }
    return new BigInteger(r.stdout().trim().replace("serial=", ""), 16).toString(16);
  }
}
