package io.portcullis.testing;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;

/**
 * A real BIND 9 ({@code named} from Debian's {@code bind9}) on a free port of 127.0.0.1 and ::1, authoritative
 * for {@code example.test} (nameservers {@code ns1} = 127.0.0.1 and {@code ns2} = ::1) and its delegated
 * sub-zone {@code sub.example.test}, both taking dynamic updates (RFC 2136) signed with the TSIG key
 * {@link #KEY_NAME} (hmac-sha256). Runs in the foreground ({@code -g}); stopped by PID on {@link #close()}.
 */
public final class Bind implements AutoCloseable {
  /** The TSIG key's name. */
  public static final String KEY_NAME = "portcullis-key";
  private final Path dir;
  private final int port = Ports.free();
  private final String secret;
  private Proc named;

  /**
   * Writes the configuration and zones into {@code dir} (does not start). A third zone, {@code lame.test}, has a
   * second nameserver {@code ns3.example.test} (127.0.0.3) where nothing listens.
   */
  public Bind(Path dir) throws IOException {
    this.dir = Files.createDirectories(dir);
    byte[] key = new byte[32];
    new SecureRandom().nextBytes(key);
    this.secret = Base64.getEncoder().encodeToString(key);
    Files.writeString(dir.resolve("named.conf"), """
        key "%1$s" { algorithm hmac-sha256; secret "%2$s"; };
        options {
          directory "%3$s";
          pid-file "%3$s/named.pid";
          session-keyfile "%3$s/session.key";
          listen-on port %4$d { 127.0.0.1; };
          listen-on-v6 port %4$d { ::1; };
          recursion no;
          dnssec-validation no;
          notify no;
        };
        controls { };
        zone "example.test" { type primary; file "example.test.db"; allow-update { key "%1$s"; }; };
        zone "sub.example.test" { type primary; file "sub.example.test.db"; allow-update { key "%1$s"; }; };
        zone "lame.test" { type primary; file "lame.test.db"; allow-update { key "%1$s"; }; };
        """.formatted(KEY_NAME, secret, dir, port));
    Files.writeString(dir.resolve("example.test.db"), """
        $TTL 60
        @     IN SOA ns1.example.test. hostmaster.example.test. 1 60 60 600 60
        @     IN NS  ns1.example.test.
        @     IN NS  ns2.example.test.
        ns1   IN A   127.0.0.1
        ns2   IN AAAA ::1
        ns3   IN A   127.0.0.3
        web   IN A   127.0.0.1
        sub   IN NS  ns1.example.test.
        alias IN CNAME target.sub.example.test.
        _acme-challenge.followed IN CNAME challenges.example.test.
        """);
    Files.writeString(dir.resolve("sub.example.test.db"), """
        $TTL 60
        @     IN SOA ns1.example.test. hostmaster.example.test. 1 60 60 600 60
        @     IN NS  ns1.example.test.
        """);
    lameZone();
  }

  /** Writes the zone {@code lame.test}, whose second nameserver (127.0.0.3) never answers. */
  private void lameZone() throws IOException {
    Files.writeString(dir.resolve("lame.test.db"), """
        $TTL 60
        @     IN SOA ns1.example.test. hostmaster.example.test. 1 60 60 600 60
        @     IN NS  ns1.example.test.
        @     IN NS  ns3.example.test.
        """);
  }

  /** Starts named (again, after {@link #stop()}, on the same port) and waits until it answers. */
  public Bind start() throws Exception {
    named = Proc.start(List.of(Proc.sbin("named"), "-g", "-n", "1", "-c", dir.resolve("named.conf").toString()), dir,
        Map.of());
    Instant deadline = Instant.now().plus(Duration.ofSeconds(20));
    while (!dig("127.0.0.1", "example.test", "SOA").contains("hostmaster")) {
      if (Instant.now().isAfter(deadline) || !named.alive()) {
        String out = named.output();
        named.close(); // a failed start leaves no process behind
        throw new IllegalStateException("named did not start: " + out.substring(Math.max(0, out.length() - 2000)));
      }
      Thread.sleep(50);
    }
    return this;
  }

  /** Stops named, as when the DNS server goes away. */
  public void stop() {
    if (named != null) {
      named.close();
    }
  }

  /** Returns the port named listens on (UDP and TCP). */
  public int port() {
    return port;
  }

  /** Returns {@code 127.0.0.1:port}. */
  public String address() {
    return "127.0.0.1:" + port;
  }

  /** Returns the TSIG secret, base64. */
  public String secret() {
    return secret;
  }

  /**
   * Asks {@code server} (127.0.0.1 or ::1) with {@code dig +short} for {@code type} records at {@code name}.
   *
   * @return dig's output; empty when there are none
   */
  public String dig(String server, String name, String type) throws Exception {
    Proc.Result r = Proc.run(20, "dig", "+short", "+norecurse", "+time=1", "+tries=1", "-p", String.valueOf(port),
        "@" + server, name, type);
    return r.stdout().trim();
  }

  /** What named printed. */
  public String log() {
    return named == null ? "" : named.output();
  }

  @Override
  public void close() {
    stop();
  }

}
