package io.portcullis.dns;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.portcullis.dns.FakeApi.Response;
import java.net.URI;
import java.security.KeyPairGenerator;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;

/**
 * Contract tests of the providers that cannot be reached from here (Cloudflare, Route 53, Cloud DNS, acme-dns): each
 * runs against a local server that checks every request against the provider's documented API (method, path,
 * authentication headers, body) and keeps the records as the service would. Two values are presented at one name
 * (apex + wildcard) and one cleaned up: the other must stay.
 */
class ProviderContractTest {
  static final ObjectMapper JSON = new ObjectMapper();
  static final String ZONE = "example.com.";
  static final String NAME = "_acme-challenge.example.com.";
  static final String A = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
  static final String B = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";
  static final Duration TIMEOUT = Duration.ofSeconds(10);

  static void presentTwoCleanOne(DnsProvider p) throws DnsException {
    p.present(ZONE, NAME, A);
    p.present(ZONE, NAME, B);
    p.cleanUp(ZONE, NAME, A);
  }

  // ---- Cloudflare API v4: https://developers.cloudflare.com/api/resources/dns/subresources/records/ ----

  @Test
  void cloudflareCreatesOneRecordPerValueAndDeletesExactlyTheOneCleanedUp() throws Exception {
    Map<String, JsonNode> records = new ConcurrentHashMap<>();
    java.util.concurrent.atomic.AtomicInteger ids = new java.util.concurrent.atomic.AtomicInteger();
    try (FakeApi api = new FakeApi(r -> {
      assertThat(r.header("Authorization")).isEqualTo("Bearer cf-token");
      assertThat(r.path()).startsWith("/client/v4/");
      String path = r.path().substring("/client/v4".length());
      if (r.method().equals("GET") && path.equals("/zones")) {
        assertThat(r.query()).containsEntry("name", "example.com");
        return Response.json(200, "{\"success\":true,\"errors\":[],\"result\":[{\"id\":\"zone-1\",\"name\":"
            + "\"example.com\"}]}");
      }
      if (r.method().equals("POST") && path.equals("/zones/zone-1/dns_records")) {
        assertThat(r.header("Content-Type")).startsWith("application/json");
        JsonNode b = JSON.readTree(r.body());
        assertThat(b.path("type").asText()).isIn("TXT", "A", "AAAA");
        assertThat(b.path("name").asText()).doesNotEndWith(".").endsWith("example.com"); // no trailing dot
        assertThat(b.path("ttl").asInt()).isBetween(60, 86400);
        String id = "rec-" + ids.incrementAndGet();
        records.put(id, b);
        return Response.json(200, "{\"success\":true,\"errors\":[],\"result\":{\"id\":\"" + id + "\"}}");
      }
      if (r.method().equals("GET") && path.equals("/zones/zone-1/dns_records")) {
        List<String> found = new ArrayList<>();
        records.forEach((id, b) -> {
          if (b.path("type").asText().equals(r.query().get("type")) && b.path("name").asText().equals(r.query()
              .get("name")) && (!r.query().containsKey("content") || b.path("content").asText().equals(r.query()
              .get("content")))) {
            found.add("{\"id\":\"" + id + "\"}");
          }
        });
        return Response.json(200, "{\"success\":true,\"errors\":[],\"result\":" + found + "}");
      }
      Matcher m = Pattern.compile("/zones/zone-1/dns_records/(rec-\\d+)").matcher(path);
      if (r.method().equals("DELETE") && m.matches() && records.remove(m.group(1)) != null) {
        return Response.json(200, "{\"success\":true,\"errors\":[],\"result\":{\"id\":\"" + m.group(1) + "\"}}");
      }
      return null;
    })) {
      CloudflareProvider p = new CloudflareProvider(api.url() + "/client/v4", CloudflareProvider.token("cf-token"),
          TIMEOUT);
      presentTwoCleanOne(p);
      assertThat(api.unexpected()).isEmpty();
      assertThat(records.values()).extracting(b -> b.path("content").asText()).containsExactly(B);

      // Address records (external-dns annotations): replaced as a whole, then removed.
      p.setAddresses(ZONE, "www.example.com.", List.of(java.net.InetAddress.getByName("192.0.2.1")), 300);
      p.setAddresses(ZONE, "www.example.com.", List.of(java.net.InetAddress.getByName("192.0.2.2"),
          java.net.InetAddress.getByName("2001:db8::2")), 300);
      assertThat(records.values()).filteredOn(b -> b.path("name").asText().equals("www.example.com"))
          .extracting(b -> b.path("type").asText() + " " + b.path("content").asText())
          .containsExactlyInAnyOrder("A 192.0.2.2", "AAAA 2001:db8::2");
      p.deleteAddresses(ZONE, "www.example.com.");
      assertThat(records.values()).extracting(b -> b.path("name").asText()).containsExactly(
          "_acme-challenge.example.com");
      assertThat(api.unexpected()).isEmpty();
    }
  }

  @Test
  void cloudflareWithTheGlobalKeySendsEmailAndKeyAndReportsTheApiErrors() throws Exception {
    try (FakeApi api = new FakeApi(r -> {
      assertThat(r.header("X-Auth-Email")).isEqualTo("ops@example.com");
      assertThat(r.header("X-Auth-Key")).isEqualTo("global-key");
      assertThat(r.header("Authorization")).isNull();
      return Response.json(403, "{\"success\":false,\"errors\":[{\"code\":9109,\"message\":\"Unauthorized to "
          + "access requested resource\"}],\"result\":null}");
    })) {
      CloudflareProvider p = new CloudflareProvider(api.url(), CloudflareProvider.globalKey("ops@example.com",
          "global-key"), TIMEOUT);
      assertThatThrownBy(() -> p.present(ZONE, NAME, A)).isInstanceOf(DnsException.class)
          .hasMessageContaining("HTTP 403").hasMessageContaining("Unauthorized to access requested resource");
      assertThat(api.unexpected()).isEmpty();
    }
  }

  // ---- acme-dns: https://github.com/joohoi/acme-dns#update-endpoint ----

  @Test
  void acmeDnsPostsTheValueForTheAccountOfTheDomain() throws Exception {
    List<String> txt = new CopyOnWriteArrayList<>();
    try (FakeApi api = new FakeApi(r -> {
      if (!r.method().equals("POST") || !r.path().equals("/update")) {
        return null;
      }
      assertThat(r.header("X-Api-User")).isEqualTo("user-1");
      assertThat(r.header("X-Api-Key")).isEqualTo("pass-1");
      JsonNode b = JSON.readTree(r.body());
      assertThat(b.path("subdomain").asText()).isEqualTo("d420c923-bbd7-4056-ab64-c3ca54c9b3cf");
      assertThat(b.path("txt").asText()).hasSize(43);
      txt.add(b.path("txt").asText());
      return Response.json(200, "{\"txt\": \"" + b.path("txt").asText() + "\"}");
    })) {
      String accounts = """
          {"example.com": {"username": "user-1", "password": "pass-1", "fulldomain":
           "d420c923-bbd7-4056-ab64-c3ca54c9b3cf.auth.example.org", "subdomain":
           "d420c923-bbd7-4056-ab64-c3ca54c9b3cf", "allowfrom": []}}""";
      AcmeDnsProvider p = new AcmeDnsProvider(api.url(), accounts, TIMEOUT);
      presentTwoCleanOne(p);
      assertThat(txt).containsExactly(A, B); // acme-dns keeps both (its two-value ring); it has no delete
      assertThat(api.unexpected()).isEmpty();
      assertThatThrownBy(() -> p.present("other.org.", "_acme-challenge.other.org.", A))
          .hasMessageContaining("no account for other.org");
    }
  }

  // ---- Route 53: https://docs.aws.amazon.com/Route53/latest/APIReference/ (REST/XML, SigV4) ----

  @Test
  void route53UpsertsTheWholeRrsetSignedWithSigV4() throws Exception {
    Map<String, List<String>> rrsets = new ConcurrentHashMap<>();
    String ns = "xmlns=\"https://route53.amazonaws.com/doc/2013-04-01/\"";
    try (FakeApi api = new FakeApi(r -> {
      assertThat(r.header("Authorization")).matches("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/\\d{8}/us-east-1/"
          + "route53/aws4_request, SignedHeaders=[a-z0-9;-]+, Signature=[0-9a-f]{64}");
      if (r.method().equals("GET") && r.path().equals("/2013-04-01/hostedzonesbyname")) {
        assertThat(r.query()).containsEntry("dnsname", ZONE);
        return new Response(200, "text/xml", "<ListHostedZonesByNameResponse " + ns + "><HostedZones><HostedZone>"
            + "<Id>/hostedzone/Z123</Id><Name>example.com.</Name><CallerReference>x</CallerReference><Config>"
            + "<PrivateZone>false</PrivateZone></Config><ResourceRecordSetCount>2</ResourceRecordSetCount>"
            + "</HostedZone></HostedZones><IsTruncated>false</IsTruncated><MaxItems>100</MaxItems>"
            + "</ListHostedZonesByNameResponse>");
      }
      if (r.method().equals("GET") && r.path().equals("/2013-04-01/hostedzone/Z123/rrset")) {
        assertThat(r.query()).containsEntry("name", NAME).containsEntry("type", "TXT");
        StringBuilder sets = new StringBuilder();
        rrsets.forEach((name, values) -> {
          sets.append("<ResourceRecordSet><Name>").append(name).append("</Name><Type>TXT</Type><TTL>60</TTL>"
              + "<ResourceRecords>");
          values.forEach(v -> sets.append("<ResourceRecord><Value>").append(v.replace("\"", "&quot;"))
              .append("</Value></ResourceRecord>"));
          sets.append("</ResourceRecords></ResourceRecordSet>");
        });
        return new Response(200, "text/xml", "<ListResourceRecordSetsResponse " + ns + "><ResourceRecordSets>"
            + sets + "</ResourceRecordSets><IsTruncated>false</IsTruncated><MaxItems>1</MaxItems>"
            + "</ListResourceRecordSetsResponse>");
      }
      if (r.method().equals("POST") && r.path().equals("/2013-04-01/hostedzone/Z123/rrset/")) {
        assertThat(r.body()).startsWith("<?xml").contains("<ChangeResourceRecordSetsRequest " + ns);
        String action = between(r.body(), "<Action>", "</Action>");
        String name = between(r.body(), "<Name>", "</Name>");
        assertThat(between(r.body(), "<Type>", "</Type>")).isEqualTo("TXT");
        List<String> values = new ArrayList<>();
        Matcher m = Pattern.compile("<Value>(.*?)</Value>").matcher(r.body());
        while (m.find()) {
          values.add(m.group(1).replace("&quot;", "\""));
        }
        switch (action) {
          case "UPSERT" -> rrsets.put(name, values);
          case "DELETE" -> assertThat(rrsets.remove(name)).isEqualTo(values); // DELETE must match exactly
          default -> throw new AssertionError("Action " + action);
        }
        return new Response(200, "text/xml", "<ChangeResourceRecordSetsResponse " + ns + "><ChangeInfo><Id>/change/"
            + "C1</Id><Status>PENDING</Status><SubmittedAt>2026-11-21T00:00:00Z</SubmittedAt></ChangeInfo>"
            + "</ChangeResourceRecordSetsResponse>");
      }
      return null;
    })) {
      try (Route53Provider p = new Route53Provider("", "", Optional.of(AwsBasicCredentials.create("AKIDEXAMPLE",
          "secret")), "", Optional.of(URI.create(api.url())), TIMEOUT)) {
        presentTwoCleanOne(p);
        assertThat(rrsets).containsExactly(Map.entry(NAME, List.of("\"" + B + "\"")));
        p.cleanUp(ZONE, NAME, B);
        assertThat(rrsets).isEmpty();
      }
      assertThat(api.unexpected()).isEmpty();
    }
  }

  // ---- Cloud DNS: https://cloud.google.com/dns/docs/reference/rest/v1 (OAuth 2 with a service account) ----

  @Test
  void cloudDnsChangesWholeRrsetsWithATokenFromTheServiceAccount() throws Exception {
    Map<String, List<String>> rrsets = new ConcurrentHashMap<>();
    String base = "/dns/v1/projects/my-project/managedZones";
    try (FakeApi api = new FakeApi(r -> {
      if (r.method().equals("POST") && r.path().equals("/token")) {
        // RFC 7523 JWT bearer grant, signed with the service account's key (RS256).
        assertThat(r.body()).contains("grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer")
            .contains("assertion=");
        String jwt = r.body().replaceFirst(".*assertion=([^&]*).*", "$1");
        JsonNode claims = JSON.readTree(Base64.getUrlDecoder().decode(jwt.split("\\.")[1]));
        assertThat(claims.path("iss").asText()).isEqualTo("dns01@my-project.iam.gserviceaccount.com");
        assertThat(claims.path("scope").asText()).contains("ndev.clouddns.readwrite");
        return Response.json(200, "{\"access_token\":\"ya29.test\",\"expires_in\":3600,\"token_type\":\"Bearer\"}");
      }
      assertThat(r.header("Authorization")).isEqualTo("Bearer ya29.test");
      if (r.method().equals("GET") && r.path().equals(base)) {
        assertThat(r.query()).containsEntry("dnsName", ZONE);
        return Response.json(200, "{\"managedZones\":[{\"name\":\"zone-1\",\"dnsName\":\"example.com.\"}]}");
      }
      if (r.method().equals("GET") && r.path().equals(base + "/zone-1/rrsets")) {
        assertThat(r.query()).containsEntry("name", NAME).containsEntry("type", "TXT");
        List<String> sets = new ArrayList<>();
        for (var e : rrsets.entrySet()) {
          sets.add(JSON.writeValueAsString(Map.of("name", e.getKey(), "type", "TXT", "ttl", 60, "rrdatas",
              e.getValue())));
        }
        return Response.json(200, "{\"rrsets\":" + sets + "}");
      }
      if (r.method().equals("POST") && r.path().equals(base + "/zone-1/changes")) {
        JsonNode b = JSON.readTree(r.body());
        for (JsonNode d : b.path("deletions")) {
          List<String> was = rrsets.remove(d.path("name").asText());
          assertThat(was).as("a deletion must match the RRset").isNotNull();
          assertThat(JSON.convertValue(d.path("rrdatas"), List.class)).isEqualTo(was);
        }
        for (JsonNode a : b.path("additions")) {
          assertThat(a.path("type").asText()).isEqualTo("TXT");
          assertThat(rrsets.putIfAbsent(a.path("name").asText(), JSON.convertValue(a.path("rrdatas"), List.class)))
              .as("an addition must not clash").isNull();
        }
        return Response.json(200, "{\"kind\":\"dns#change\",\"id\":\"1\",\"status\":\"pending\"}");
      }
      return null;
    })) {
      var kp = KeyPairGenerator.getInstance("RSA");
      kp.initialize(2048);
      String pem = "-----BEGIN PRIVATE KEY-----\\n" + Base64.getEncoder().encodeToString(kp.generateKeyPair()
          .getPrivate().getEncoded()) + "\\n-----END PRIVATE KEY-----\\n";
      String serviceAccount = """
          {"type": "service_account", "project_id": "my-project", "private_key_id": "k1", "private_key": "%s",
           "client_email": "dns01@my-project.iam.gserviceaccount.com", "client_id": "1",
           "token_uri": "%s/token"}""".formatted(pem, api.url());
      CloudDnsProvider p = new CloudDnsProvider("my-project", "", Optional.of(serviceAccount), Optional.of(
          api.url() + "/"));
      presentTwoCleanOne(p);
      assertThat(api.unexpected()).isEmpty();
      assertThat(rrsets).containsExactly(Map.entry(NAME, List.of("\"" + B + "\"")));
    }
  }

  static String between(String s, String from, String to) {
    int i = s.indexOf(from);
    return i < 0 ? "" : s.substring(i + from.length(), s.indexOf(to, i));
  }
}
