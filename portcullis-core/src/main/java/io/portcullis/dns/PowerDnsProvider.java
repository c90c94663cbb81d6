package io.portcullis.dns;

import com.fasterxml.jackson.databind.JsonNode;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The PowerDNS Authoritative HTTP API ({@code /api/v1}, API key in {@code X-API-Key}): a TXT value is added by
 * reading the RRset and {@code PATCH}ing it back with {@code changetype: REPLACE} and the value added (PowerDNS
 * replaces whole RRsets), removed the same way, or with {@code DELETE} when no value is left. Calls of one provider
 * are serialized so that the apex and wildcard values at one name both land.
 */
public final class PowerDnsProvider implements DnsProvider, AddressRecords {
  private static final long TTL = 60;
  private final String apiUrl;
  private final String serverId;
  private final RestClient rest;

  /**
   * @param apiUrl the API's base URL ({@code powerdns.apiUrl}), e.g. {@code http://127.0.0.1:8081}
   * @param serverId {@code powerdns.serverId}, usually {@code localhost}
   * @param apiKey the API key ({@code powerdns.apiKeySecretRef})
   */
  public PowerDnsProvider(String apiUrl, String serverId, String apiKey, Duration timeout) {
    this.apiUrl = apiUrl.replaceAll("/+$", "");
    this.serverId = serverId;
    this.rest = new RestClient(describe(), timeout, Map.of("X-API-Key", apiKey));
  }

  @Override
  public synchronized void present(String zone, String fqdn, String value) throws DnsException {
    Set<String> values = contents(zone, fqdn, "TXT");
    values.add(RecordText.txt(value));
    patch(zone, fqdn, "TXT", values);
  }

  @Override
  public synchronized void cleanUp(String zone, String fqdn, String value) throws DnsException {
    Set<String> values = contents(zone, fqdn, "TXT");
    if (values.remove(RecordText.txt(value))) {
      patch(zone, fqdn, "TXT", values);
    }
  }

  @Override
  public synchronized void setAddresses(String zone, String fqdn, List<InetAddress> addresses, long ttlSeconds)
      throws DnsException {
    Set<String> v4 = new LinkedHashSet<>();
    Set<String> v6 = new LinkedHashSet<>();
    addresses.forEach(a -> (a instanceof Inet4Address ? v4 : v6).add(RecordText.address(a)));
    List<Map<String, Object>> rrsets = new ArrayList<>();
    rrsets.add(rrset(fqdn, "A", v4, ttlSeconds));
    rrsets.add(rrset(fqdn, "AAAA", v6, ttlSeconds));
    rest.send("PATCH", zoneUrl(zone), Map.of("rrsets", rrsets));
  }

  @Override
  public synchronized void deleteAddresses(String zone, String fqdn) throws DnsException {
    rest.send("PATCH", zoneUrl(zone), Map.of("rrsets", List.of(rrset(fqdn, "A", Set.of(), TTL), rrset(fqdn, "AAAA",
        Set.of(), TTL))));
  }

  /** The record contents of one RRset ({@code GET .../zones/<zone>}, its {@code rrsets[]}). */
  private Set<String> contents(String zone, String fqdn, String type) throws DnsException {
    JsonNode z = rest.send("GET", zoneUrl(zone) + "?rrsets=true", null);
    Set<String> out = new LinkedHashSet<>();
    for (JsonNode rr : z.path("rrsets")) {
      if (rr.path("name").asText().equalsIgnoreCase(RecordText.absolute(fqdn)) && rr.path("type").asText().equals(type)) {
        rr.path("records").forEach(r -> out.add(r.path("content").asText()));
      }
    }
    return out;
  }

  private void patch(String zone, String fqdn, String type, Set<String> contents) throws DnsException {
    rest.send("PATCH", zoneUrl(zone), Map.of("rrsets", List.of(rrset(fqdn, type, contents, TTL))));
  }

  private static Map<String, Object> rrset(String fqdn, String type, Set<String> contents, long ttl) {
    if (contents.isEmpty()) {
      return Map.of("name", RecordText.absolute(fqdn), "type", type, "changetype", "DELETE");
    }
    List<Map<String, Object>> records = new ArrayList<>();
    contents.forEach(c -> records.add(Map.of("content", c, "disabled", false)));
    return Map.of("name", RecordText.absolute(fqdn), "type", type, "ttl", ttl, "changetype", "REPLACE", "records", records);
  }

  private String zoneUrl(String zone) {
    return apiUrl + "/api/v1/servers/" + URLEncoder.encode(serverId, StandardCharsets.UTF_8) + "/zones/"
        + URLEncoder.encode(RecordText.absolute(zone), StandardCharsets.UTF_8);
  }



  @Override
  public String describe() {
    return "powerdns " + apiUrl;
  }
}
