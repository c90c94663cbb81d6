package io.portcullis.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.time.Instant;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class AccessLogTest {
  @ParameterizedTest
  @ValueSource(strings = {"curl/8.0", "quote \" and backslash \\", "new\nline\ttab\rreturn", "bell \u0007 nul \u0000",
      "unicode é ✓ 😀"})
  void formatsValidJsonWithEnvoysFieldsWhateverTheValues(String agent) throws Exception {
    AccessLog.Entry e = new AccessLog.Entry(Instant.parse("2026-11-21T19:00:00.123Z"), "GET", "/status/418?x=\"1\"",
        "HTTP/2", 418, "-", 12, 135, 7, -1, null, "", "httpbin.example.com", null, agent, "id-1", "httpbin.example.com",
        "127.0.0.1:443", "127.0.0.1:5555", "default/httpbin.0", "/status/418?x=\"1\"");
    JsonNode n = new ObjectMapper().readTree(AccessLog.format(e));
    assertThat(n.size()).isEqualTo(20);
    assertThat(n.get("start_time").asText()).isEqualTo("2026-11-21T19:00:00.123Z");
    for (String t : new String[] {"2026-01-02T03:04:05.006Z", "1999-12-31T23:59:59.999Z", "2026-11-21T19:00:00Z"}) {
      String expected = t.endsWith(":00Z") ? t.replace("Z", ".000Z") : t;
      AccessLog.Entry at = new AccessLog.Entry(Instant.parse(t), "GET", "/", "HTTP/1.1", 200, "-", 0, 0, 0, 0, null,
          null, null, null, null, null, null, null, null, null, null);
      assertThat(new ObjectMapper().readTree(AccessLog.format(at)).get("start_time").asText()).isEqualTo(expected);
    }
    assertThat(n.get("user_agent").asText()).isEqualTo(agent);
    assertThat(n.get("path").asText()).isEqualTo("/status/418?x=\"1\"");
    assertThat(n.get("response_code").asInt()).isEqualTo(418);
    assertThat(n.get("bytes_received").asLong()).isEqualTo(12);
    assertThat(n.get("upstream_service_time").asText()).isEqualTo("-");
    assertThat(n.get("upstream_host").asText()).as("absent is a dash, as Envoy logs it").isEqualTo("-");
    assertThat(n.get("upstream_cluster").asText()).isEqualTo("-");
    assertThat(n.get("x_forwarded_for").asText()).isEqualTo("-");
  }

  @ParameterizedTest
  @org.junit.jupiter.params.provider.CsvSource({
      "/status/%34%31%38, /status/418, /status/418",
      "/status/418, /status/418, ",
      "http://x/a/./b, /a/b, /a/b"})
  void logsTheRoutedPathOnlyWhenItDiffersFromWhatTheClientSent(String sent, String routed, String logged)
      throws Exception {
    AccessLog.Entry e = new AccessLog.Entry(Instant.parse("2026-11-21T19:00:00Z"), "GET", sent, "HTTP/1.1", 200, "-",
        0, 0, 0, 0, null, null, null, null, null, null, null, null, null, null, routed);
    JsonNode n = new ObjectMapper().readTree(AccessLog.format(e));
    assertThat(n.get("path").asText()).isEqualTo(sent);
    if (logged == null) {
      assertThat(n.has("routed_path")).isFalse();
    } else {
      assertThat(n.get("routed_path").asText()).isEqualTo(logged);
    }
  }

  @org.junit.jupiter.api.Test
  void logsTheUpstreamTransportFailureReasonOnlyWhenThereIsOne() throws Exception {
    AccessLog.Entry failed = new AccessLog.Entry(Instant.parse("2026-11-21T19:00:00Z"), "GET", "/", "HTTP/1.1", 503,
        "UF", 0, 91, 0, -1, "10.0.0.1:443", "outbound|443||a.internal", null, null, null, null, null, null, null, null,
        null, null, "CERTIFICATE_VERIFY_FAILED: upstream certificate CN=a: \"quoted\"");
    JsonNode n = new ObjectMapper().readTree(AccessLog.format(failed));
    assertThat(n.get("upstream_transport_failure_reason").asText())
        .isEqualTo("CERTIFICATE_VERIFY_FAILED: upstream certificate CN=a: \"quoted\"");
    AccessLog.Entry ok = new AccessLog.Entry(Instant.parse("2026-11-21T19:00:00Z"), "GET", "/", "HTTP/1.1", 200, "-",
        0, 0, 0, 0, null, null, null, null, null, null, null, null, null, null, null, null);
    assertThat(new ObjectMapper().readTree(AccessLog.format(ok)).has("upstream_transport_failure_reason")).isFalse();
  }
}
