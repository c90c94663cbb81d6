package io.portcullis.dns;

import com.fasterxml.jackson.databind.JsonNode;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;

/**
 * Cloudflare's API v4: the zone id is looked up by name ({@code GET /zones?name=}), a TXT value is one
 * {@code POST /zones/<id>/dns_records}, cleaned up by finding exactly that record ({@code GET ...?type=TXT&name=
 * &content=}) and deleting it. Authenticates with an API token ({@code Authorization: Bearer}) or the global API key
 * ({@code X-Auth-Email} + {@code X-Auth-Key}).
 */
public final class CloudflareProvider implements DnsProvider, AddressRecords {
  /** Cloudflare's API base. */
  public static final String API = "https://api.cloudflare.com/client/v4";
  private static final long TTL = 120; // Cloudflare's minimum for non-Enterprise zones
  private final String base;
  private final RestClient rest;

  /**
   * @param base the API base, {@link #API} (a test's server otherwise)
   * @param auth the authentication headers: {@link #token} or {@link #globalKey}
   */
  public CloudflareProvider(String base, Map<String, String> auth, Duration timeout) {
    this.base = base.replaceAll("/+$", "");
    this.rest = new RestClient(describe(), timeout, auth);
  }

  /** The headers of an API token ({@code apiTokenSecretRef}). */
  public static Map<String, String> token(String token) {
    return Map.of("Authorization", "Bearer " + token);
  }

  /** The headers of the global API key ({@code email} + {@code apiKeySecretRef}). */
  public static Map<String, String> globalKey(String email, String key) {
    return Map.of("X-Auth-Email", email, "X-Auth-Key", key);
  }

  @Override
  public void present(String zone, String fqdn, String value) throws DnsException {
    create(zoneId(zone), "TXT", fqdn, value, TTL);
  }

  @Override
  public void cleanUp(String zone, String fqdn, String value) throws DnsException {
    String id = zoneId(zone);
    for (JsonNode r : find(id, "TXT", fqdn, value)) {
      rest.send("DELETE", base + "/zones/" + id + "/dns_records/" + r.path("id").asText(), null);
    }
  }

  @Override
  public void setAddresses(String zone, String fqdn, List<InetAddress> addresses, long ttlSeconds)
      throws DnsException {
    String id = zoneId(zone);
    deleteAll(id, fqdn);
    for (InetAddress a : addresses) {
      create(id, a instanceof Inet4Address ? "A" : "AAAA", fqdn, RecordText.address(a), ttlSeconds);
    }
  }

  @Override
  public void deleteAddresses(String zone, String fqdn) throws DnsException {
    deleteAll(zoneId(zone), fqdn);
  }

  private void deleteAll(String zoneId, String fqdn) throws DnsException {
    for (String type : List.of("A", "AAAA")) {
      for (JsonNode r : find(zoneId, type, fqdn, null)) {
        rest.send("DELETE", base + "/zones/" + zoneId + "/dns_records/" + r.path("id").asText(), null);
      }
    }
  }

  private void create(String zoneId, String type, String fqdn, String content, long ttl) throws DnsException {
    check(rest.send("POST", base + "/zones/" + zoneId + "/dns_records", Map.of("type", type, "name", RecordText.relative(fqdn),
        "content", content, "ttl", ttl)), "creating " + type + " " + fqdn);
  }

  private JsonNode find(String zoneId, String type, String fqdn, String content) throws DnsException {
    String q = "?type=" + type + "&name=" + enc(RecordText.relative(fqdn)) + (content == null ? "" : "&content=" + enc(content));
    return check(rest.send("GET", base + "/zones/" + zoneId + "/dns_records" + q, null), "listing " + type + " "
        + fqdn).path("result");
  }

  private String zoneId(String zone) throws DnsException {
    JsonNode r = check(rest.send("GET", base + "/zones?name=" + enc(RecordText.relative(zone)), null), "finding zone " + zone);
    if (r.path("result").size() == 0) {
      throw new DnsException(describe() + ": no zone " + RecordText.relative(zone) + " in this account (expected: the zone the SOA "
          + "walk found, visible to the token)");
    }
    return r.path("result").get(0).path("id").asText();
  }

  /** Cloudflare answers {@code success: false} with {@code errors[]} even on some 2xx statuses. */
  private JsonNode check(JsonNode r, String what) throws DnsException {
    if (!r.path("success").asBoolean(false)) {
      throw new DnsException(describe() + ": " + what + ": " + r.path("errors"));
    }
    return r;
  }


  private static String enc(String s) {
    return URLEncoder.encode(s, StandardCharsets.UTF_8);
  }

  @Override
  public String describe() {
    return "cloudflare " + base;
  }
}
