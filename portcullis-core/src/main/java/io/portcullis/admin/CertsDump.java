package io.portcullis.admin;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.portcullis.certs.CertificateStatus;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;

/**
 * Renders {@code /certs}: every managed Certificate with its cert-manager {@code status} (conditions, notBefore,
 * notAfter, renewalTime, revision, lastFailureTime, failedIssuanceAttempts) and, in the spirit of Envoy's
 * {@code /certs}, the served certificate's serial number, issuer, subject alternative names and days until
 * expiration. Never key material.
 */
public final class CertsDump {
  private static final ObjectMapper MAPPER = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

  private CertsDump() {}

  /** Renders {@code statuses} as JSON: {@code {"certificates": [...]}}; times are RFC 3339 UTC. */
  public static String render(List<CertificateStatus> statuses, Clock clock) {
    ObjectNode root = MAPPER.createObjectNode();
    ArrayNode list = root.putArray("certificates");
    Instant now = clock.instant();
    for (CertificateStatus s : statuses) {
      ObjectNode c = list.addObject();
      c.put("namespace", s.namespace());
      c.put("name", s.name());
      c.put("secret_name", s.secretName());
      c.put("issuer_ref", s.issuer());
      ArrayNode names = c.putArray("dns_names");
      s.dnsNames().forEach(names::add);
      c.put("origin", s.origin());
      ObjectNode status = c.putObject("status");
      ArrayNode conds = status.putArray("conditions");
      condition(conds.addObject(), s.ready());
      s.issuing().ifPresent(i -> condition(conds.addObject(), i));
      time(status, "notBefore", s.notBefore());
      time(status, "notAfter", s.notAfter());
      time(status, "renewalTime", s.renewalTime());
      status.put("revision", s.revision());
      time(status, "lastFailureTime", s.lastFailureTime());
      status.put("failedIssuanceAttempts", s.failedIssuanceAttempts());
      time(status, "nextAttemptTime", s.nextAttempt());
      if (s.serial().isPresent()) {
        ObjectNode served = c.putObject("served");
        served.put("serial_number", s.serial().get());
        served.put("issuer", s.issuerDn().orElse(""));
        ArrayNode sans = served.putArray("subject_alt_names");
        s.subjectAltNames().forEach(n -> sans.addObject().put("dns", n));
        s.notAfter().ifPresent(t -> served.put("days_until_expiration", Duration.between(now, t).toDays()));
        s.notAfter().ifPresent(t -> served.put("expiration_time", t.toString()));
      }
    }
    try {
      return MAPPER.writeValueAsString(root) + "\n";
    } catch (JsonProcessingException e) {
      throw new IllegalStateException(e);
    }
  }

  private static void condition(ObjectNode o, CertificateStatus.Condition c) {
    o.put("type", c.type());
    o.put("status", c.status());
    o.put("reason", c.reason());
    o.put("message", c.message());
    if (c.lastTransitionTime() != null) {
      o.put("lastTransitionTime", c.lastTransitionTime().toString());
    }
  }

  private static void time(ObjectNode o, String field, Optional<Instant> t) {
    t.ifPresent(v -> o.put(field, v.toString()));
  }
}
