package io.portcullis.testing;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;

/**
 * A real PowerDNS Authoritative server ({@code pdns_server} from Debian's {@code pdns-server}, sqlite3 backend from
 * {@code pdns-backend-sqlite3}) on free ports of 127.0.0.1: DNS on {@link #port()}, its HTTP API on
 * {@link #apiUrl()} with key {@link #API_KEY}. Its caches are off, so that a test does not wait out their TTLs.
 * Stopped by PID on {@link #close()}.
 */
public final class PowerDns implements AutoCloseable {
  /** The API key. */
  public static final String API_KEY = "portcullis-test-key";
  private static final Path SCHEMA = Path.of("/usr/share/pdns-backend-sqlite3/schema/schema.sqlite3.sql");
  private final Path dir;
  private final int port = Ports.free();
  private final int apiPort = Ports.free();
  private Proc pdns;

  /** Writes the configuration and an empty database into {@code dir} (does not start). */
  public PowerDns(Path dir) throws Exception {
    this.dir = Files.createDirectories(dir);
    Proc.Result r = Proc.run(30, "sqlite3", "-init", SCHEMA.toString(), dir.resolve("pdns.sqlite3").toString(),
        ".quit");
    if (r.exitCode() != 0) {
      throw new IllegalStateException("sqlite3: " + r.stderr());
    }
    Files.writeString(dir.resolve("pdns.conf"), """
        launch=gsqlite3
        gsqlite3-database=%s/pdns.sqlite3
        local-address=127.0.0.1
        local-port=%d
        api=yes
        api-key=%s
        webserver=yes
        webserver-address=127.0.0.1
        webserver-port=%d
        webserver-allow-from=127.0.0.0/8
        socket-dir=%s
        guardian=no
        daemon=no
        disable-syslog=yes
        write-pid=no
        cache-ttl=0
        negquery-cache-ttl=0
        query-cache-ttl=0
        zone-cache-refresh-interval=0
        """.formatted(dir, port, API_KEY, apiPort, dir));
  }

  /** Starts pdns_server and waits until its API answers. */
  public PowerDns start() throws Exception {
    pdns = Proc.start(List.of(Proc.sbin("pdns_server"), "--config-dir=" + dir), dir, Map.of());
    Instant deadline = Instant.now().plus(Duration.ofSeconds(20));
    while (!Ports.listening(apiPort)) {
      if (Instant.now().isAfter(deadline) || !pdns.alive()) {
        String out = pdns.output();
        pdns.close(); // a failed start leaves no process behind
        throw new IllegalStateException("pdns_server did not start: " + out);
      }
      Thread.sleep(50);
    }
    return this;
  }

  /**
   * Creates zone {@code zone} (absolute) through the API, with nameserver {@code ns1.<zone>} at 127.0.0.1.
   *
   * @throws IllegalStateException when the API refuses
   */
  public void createZone(String zone) throws Exception {
    String body = """
        {"name": "%1$s", "kind": "Native", "nameservers": ["ns1.%1$s"], "rrsets": [{"name": "ns1.%1$s",
         "type": "A", "ttl": 60, "changetype": "REPLACE", "records": [{"content": "127.0.0.1", "disabled": false}]}]}
        """.formatted(zone);
    HttpResponse<String> r = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create(apiUrl()
        + "/api/v1/servers/localhost/zones")).header("X-API-Key", API_KEY).POST(HttpRequest.BodyPublishers
        .ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
    if (r.statusCode() != 201) {
      throw new IllegalStateException("pdns create zone " + zone + ": " + r.statusCode() + " " + r.body());
    }
  }

  /** Returns the DNS port (UDP and TCP). */
  public int port() {
    return port;
  }

  /** Returns the API base URL. */
  public String apiUrl() {
    return "http://127.0.0.1:" + apiPort;
  }

  /** Asks it with {@code dig +short}; empty when there are no such records. */
  public String dig(String name, String type) throws Exception {
    return Proc.run(20, "dig", "+short", "+norecurse", "+time=1", "+tries=1", "-p", String.valueOf(port),
        "@127.0.0.1", name, type).stdout().trim();
  }

  /** What pdns_server printed. */
  public String log() {
    return pdns == null ? "" : pdns.output();
  }

  @Override
  public void close() {
    if (pdns != null) {
      pdns.close();
    }
  }
}
