package io.portcullis.config.gatewayapi;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.portcullis.config.ObjectStatus;
import io.portcullis.config.Resource;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Carries {@code lastTransitionTime} over from the previous translation, as {@code metav1.Condition} defines it
 * ("the last time the condition transitioned from one status to another"): a condition of the same type whose
 * {@code status} is unchanged keeps the time it had, whatever its reason, message or observedGeneration. Applied to
 * the Gateway API's status blocks: {@code status.conditions}, {@code status.listeners[]} (matched by {@code name})
 * and {@code status.parents[]} (matched by {@code parentRef} and {@code controllerName}). Used on the translating
 * thread only.
 */
final class Transitions {
  private final Map<String, JsonNode> previous = new HashMap<>();

  /** Indexes the statuses {@code previous} by object. */
  Transitions(List<ObjectStatus> previous) {
    for (ObjectStatus s : previous) {
      this.previous.put(id(s.resource()), s.status());
    }
  }

  private static String id(Resource r) {
    return r.group() + "/" + r.id();
  }

  /** Sets, in {@code status} of {@code r}, the previous {@code lastTransitionTime} of each unchanged condition. */
  void carry(Resource r, ObjectNode status) {
    JsonNode old = previous.get(id(r));
    if (old == null) {
      return;
    }
    conditions(status.path("conditions"), old.path("conditions"));
    for (JsonNode l : status.path("listeners")) {
      for (JsonNode o : old.path("listeners")) {
        if (o.path("name").equals(l.path("name"))) {
          conditions(l.path("conditions"), o.path("conditions"));
        }
      }
    }
    for (JsonNode p : status.path("parents")) {
      for (JsonNode o : old.path("parents")) {
        if (o.path("parentRef").equals(p.path("parentRef"))
            && o.path("controllerName").equals(p.path("controllerName"))) {
          conditions(p.path("conditions"), o.path("conditions"));
        }
      }
    }
  }

  private static void conditions(JsonNode now, JsonNode old) {
    for (JsonNode c : now) {
      for (JsonNode o : old) {
        if (o.path("type").equals(c.path("type")) && o.path("status").equals(c.path("status"))
            && o.hasNonNull("lastTransitionTime")) {
          ((ObjectNode) c).set("lastTransitionTime", o.get("lastTransitionTime"));
        }
      }
    }
  }
}
