package io.portcullis.config.gatewayapi;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.portcullis.config.Resource;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The {@code conditions} of one status block, as the Gateway API writes them ({@code metav1.Condition}: type,
 * status {@code "True"}/{@code "False"}, reason, message, observedGeneration, lastTransitionTime). Setting a type
 * again replaces it, so a block starts from its positive defaults and problems overwrite them.
 */
final class Conditions {
  private final Map<String, ObjectNode> byType = new LinkedHashMap<>();
  private final long generation;
  private final String now;

  /** Creates conditions observed at {@code generation} ({@code metadata.generation}) and time {@code now}. */
  Conditions(long generation, Instant now) {
    this.generation = generation;
    this.now = now.toString();
  }

  /** Creates conditions for the current generation of {@code r}. */
  static Conditions of(Resource r, Instant now) {
    return new Conditions(r.body().path("metadata").path("generation").asLong(1), now);
  }

  /** Sets condition {@code type}; replaces an earlier one of that type. */
  Conditions set(String type, boolean status, String reason, String message) {
    ObjectNode c = JsonNodeFactory.instance.objectNode();
    c.put("type", type);
    c.put("status", status ? "True" : "False");
    c.put("reason", reason);
    c.put("message", message);
    c.put("observedGeneration", generation);
    c.put("lastTransitionTime", now);
    byType.put(type, c);
    return this;
  }

  /** Whether condition {@code type} is set and {@code "True"}. */
  boolean isTrue(String type) {
    ObjectNode c = byType.get(type);
    return c != null && c.path("status").asText().equals("True");
  }

  /** Returns the reason of condition {@code type}, or "" when unset. */
  String reason(String type) {
    ObjectNode c = byType.get(type);
    return c == null ? "" : c.path("reason").asText();
  }

  /** Returns the conditions as a JSON array, in the order first set. */
  ArrayNode toJson() {
    ArrayNode a = JsonNodeFactory.instance.arrayNode();
    byType.values().forEach(a::add);
    return a;
  }
}
