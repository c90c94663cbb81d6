package io.portcullis.testing;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.List;
import java.util.Map;

/**
 * A real Pebble ACME server (Debian's {@code pebble}) with {@code pebble-challtestsrv} as its DNS server (every name
 * resolves to 127.0.0.1 unless told otherwise), on free ports, with a TLS certificate made for it here (Debian ships
 * none). Runs with {@code PEBBLE_VA_NOSLEEP=1} and {@code PEBBLE_WFE_NONCEREJECT=20}: one nonce in five is rejected,
 * which the client must survive. Stopped by PID on {@link #close()}.
 */
public final class Pebble implements AutoCloseable {
  private final Path dir;
  private final int httpPort;
  private final int acmePort = Ports.free();
  private final int managementPort = Ports.free();
  private final int dnsPort = Ports.free();
  private final int challtestManagementPort = Ports.free();
  private Proc challtestsrv;
  private Proc pebble;
  private String dnsServer;

  /**
   * Prepares (does not start) a Pebble that validates HTTP-01 challenges on {@code httpPort} (Pebble's
   * {@code httpPort}: where the gateway's plain-HTTP listener is).
   */
  public Pebble(Path dir, int httpPort) throws Exception {
    this(dir, httpPort, "");
  }

  /**
   * As {@link #Pebble(Path, int)}, with more of Pebble's settings: {@code extraConfig} is JSON members added to its
   * {@code pebble} object, e.g. {@code "certificateValidityPeriod": 15} (seconds) or
   * {@code "externalAccountBindingRequired": true, "externalAccountMACKeys": {"kid-1": "<base64url>"}}.
   */
  public Pebble(Path dir, int httpPort, String extraConfig) throws Exception {
    this.dir = Files.createDirectories(dir);
    this.httpPort = httpPort;
    Proc.Result r = Proc.run(30, "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
        "-nodes", "-days", "2", "-subj", "/CN=pebble", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
        "-keyout", dir.resolve("pebble.key").toString(), "-out", dir.resolve("pebble.crt").toString());
    if (r.exitCode() != 0) {
      throw new IllegalStateException("openssl: " + r.stderr());
    }
    Files.writeString(dir.resolve("pebble.json"), """
        {"pebble": {"listenAddress": "127.0.0.1:%d", "managementListenAddress": "127.0.0.1:%d",
          "certificate": "%s", "privateKey": "%s", "httpPort": %d, "tlsPort": %d,
          "ocspResponderURL": ""%s}}
        """.formatted(acmePort, managementPort, dir.resolve("pebble.crt"), dir.resolve("pebble.key"), httpPort,
        Ports.free(), extraConfig.isBlank() ? "" : ", " + extraConfig));
  }

  /**
   * Makes Pebble ask {@code hostPort} (a real DNS server, e.g. a test's BIND) for everything, DNS-01 TXT records
   * included, instead of pebble-challtestsrv; call before {@link #start()}.
   */
  public Pebble dnsServer(String hostPort) {
    this.dnsServer = hostPort;
    return this;
  }

  /** Starts pebble-challtestsrv (DNS, unless {@link #dnsServer} was set) and Pebble, and waits until Pebble listens. */
  public Pebble start() throws Exception {
    if (dnsServer == null && (challtestsrv == null || !challtestsrv.alive())) {
      challtestsrv = Proc.start(List.of("pebble-challtestsrv", "-defaultIPv4", "127.0.0.1", "-defaultIPv6", "",
          "-dns01", "127.0.0.1:" + dnsPort, "-http01", "", "-https01", "", "-tlsalpn01", "",
          "-management", "127.0.0.1:" + challtestManagementPort), dir, Map.of());
    }
    pebble = Proc.start(List.of("pebble", "-config", dir.resolve("pebble.json").toString(), "-dnsserver",
        dnsServer != null ? dnsServer : "127.0.0.1:" + dnsPort), dir, Map.of("PEBBLE_VA_NOSLEEP", "1",
        "PEBBLE_WFE_NONCEREJECT", "20"));
    Instant deadline = Instant.now().plus(Duration.ofSeconds(20));
    while (!Ports.listening(acmePort) || !Ports.listening(managementPort)
        || (dnsServer == null && !Ports.listening(challtestManagementPort))) {
      if (Instant.now().isAfter(deadline) || !pebble.alive()) {
        String out = "pebble did not start: " + pebble.output() + "\nchalltestsrv: "
            + (challtestsrv == null ? "not started" : challtestsrv.output());
        close(); // a failed start leaves no process behind
        throw new IllegalStateException(out);
      }
      Thread.sleep(50);
    }
    return this;
  }

  /** Stops Pebble only (challtestsrv keeps running), as when the CA goes away. */
  public void stopPebble() {
    if (pebble != null) {
      pebble.close();
    }
  }

  /** The ACME directory URL. */
  public String directory() {
    return "https://127.0.0.1:" + acmePort + "/dir";
  }

  /** Base64 of the PEM certificate Pebble serves, for an Issuer's {@code caBundle}. */
  public String caBundle() throws IOException {
    return Base64.getEncoder().encodeToString(Files.readAllBytes(dir.resolve("pebble.crt")));
  }

  /** Pebble's current issuing root (management {@code /roots/0}), written to a PEM file for curl. */
  public Path root() throws Exception {
    Path out = dir.resolve("root.pem");
    Proc.Result r = Proc.run(20, "curl", "-sS", "--fail", "--cacert", dir.resolve("pebble.crt").toString(), "-o",
        out.toString(), "https://127.0.0.1:" + managementPort + "/roots/0");
    if (r.exitCode() != 0) {
      throw new IllegalStateException("pebble /roots/0: " + r.stderr());
    }
    return out;
  }

  /** Makes challtestsrv answer {@code host} with {@code address} (a wrong address fails HTTP-01 for it). */
  public void addA(String host, String address) throws Exception {
    Proc.Result r = Proc.run(20, "curl", "-sS", "--fail", "-d", "{\"host\":\"" + host + ".\",\"addresses\":[\""
        + address + "\"]}", "http://127.0.0.1:" + challtestManagementPort + "/add-a");
    if (r.exitCode() != 0) {
      throw new IllegalStateException("challtestsrv /add-a: " + r.stderr());
    }
  }

  /**
   * How many orders Pebble has created so far (its log lines {@code Added order ... to the db}; not the
   * {@code POST /order-plz} lines, which also count requests refused for a bad nonce and sent again).
   */
  public long orders() {
    return pebble == null ? 0 : pebble.output().lines().filter(l -> l.contains("Added order")).count();
  }

  /** What Pebble printed. */
  public String log() {
    return pebble == null ? "" : pebble.output();
  }

  /** Returns the port Pebble validates HTTP-01 on. */
  public int httpPort() {
    return httpPort;
  }

  @Override
  public void close() {
    if (pebble != null) {
      pebble.close();
    }
    if (challtestsrv != null) {
      challtestsrv.close();
    }
  }
}
