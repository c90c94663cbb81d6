package io.portcullis.cli;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.fasterxml.jackson.dataformat.yaml.YAMLGenerator;
import com.fasterxml.jackson.dataformat.yaml.util.StringQuotingChecker;
import io.portcullis.internal.JsonStrings;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * {@code kubectl get -o json|yaml} output: one object as it is, several (or none) in a {@code v1 List}; keys sorted
 * as Go's {@code encoding/json} sorts a map's; JSON indented by four spaces with {@code <}, {@code >} and
 * {@code &} escaped as Go escapes them; YAML as {@code sigs.k8s.io/yaml} writes it (sequences not indented under
 * their key, strings that would read as another type double-quoted: {@code "True"}, {@code "80"}, timestamps).
 */
final class KubeOutput {
  /** Strings go-yaml v2 would read as something else, so writes quoted: YAML 1.1 booleans, null, numbers, times. */
  private static final Pattern NOT_A_PLAIN_STRING = Pattern.compile("(?i)y|yes|n|no|true|false|on|off|null|~|"
      + "[-+]?(\\.[0-9]+|[0-9][0-9_]*(\\.[0-9_]*)?)([eE][-+]?[0-9]+)?|[-+]?\\.(inf)|\\.nan|0x[0-9a-f_]+|0o?[0-7_]+|"
      + "[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}([Tt ].*)?|");

  private static final ObjectMapper YAML = new ObjectMapper(YAMLFactory.builder()
      .disable(YAMLGenerator.Feature.WRITE_DOC_START_MARKER)
      .enable(YAMLGenerator.Feature.MINIMIZE_QUOTES)
      .disable(YAMLGenerator.Feature.SPLIT_LINES)
      .stringQuotingChecker(new StringQuotingChecker.Default() {
        @Override
        public boolean needToQuoteValue(String value) {
          return NOT_A_PLAIN_STRING.matcher(value).matches() || super.needToQuoteValue(value);
        }
      })
      .build());

  private KubeOutput() {}

  /** Returns {@code items} as kubectl's {@code v1 List}: {@code apiVersion, items, kind, metadata.resourceVersion}. */
  static ObjectNode list(List<JsonNode> items) {
    ObjectNode list = JsonNodeFactory.instance.objectNode();
    list.put("apiVersion", "v1");
    ArrayNode array = list.putArray("items");
    items.forEach(array::add);
    list.put("kind", "List");
    list.putObject("metadata").put("resourceVersion", "");
    return list;
  }

  /** Returns {@code node} as {@code kubectl -o json} prints it, with a final newline. */
  static String json(JsonNode node) {
    StringBuilder b = new StringBuilder();
    json(node, b, "");
    return b.append('\n').toString();
  }

  /** Returns {@code node} as {@code kubectl -o yaml} prints it. */
  static String yaml(JsonNode node) {
    try {
      return YAML.writeValueAsString(sorted(node));
    } catch (JsonProcessingException e) {
      throw new IllegalStateException(e);
    }
  }

  private static JsonNode sorted(JsonNode node) {
    if (node.isObject()) {
      ObjectNode out = JsonNodeFactory.instance.objectNode();
      List<String> keys = new ArrayList<>();
      node.fieldNames().forEachRemaining(keys::add);
      Collections.sort(keys); // Go sorts a map's keys by their bytes; these are ASCII
      keys.forEach(k -> out.set(k, sorted(node.get(k))));
      return out;
    }
    if (node.isArray()) {
      ArrayNode out = JsonNodeFactory.instance.arrayNode();
      node.forEach(e -> out.add(sorted(e)));
      return out;
    }
    return node;
  }

  private static void json(JsonNode node, StringBuilder b, String indent) {
    String inner = indent + "    ";
    if (node.isObject()) {
      if (node.isEmpty()) {
        b.append("{}");
        return;
      }
      List<Map.Entry<String, JsonNode>> fields = new ArrayList<>();
      node.fields().forEachRemaining(fields::add);
      fields.sort(Map.Entry.comparingByKey());
      b.append("{\n");
      for (int i = 0; i < fields.size(); i++) {
        b.append(inner);
        JsonStrings.appendHtmlSafe(b, fields.get(i).getKey());
        b.append(": ");
        json(fields.get(i).getValue(), b, inner);
        b.append(i < fields.size() - 1 ? ",\n" : "\n");
      }
      b.append(indent).append('}');
    } else if (node.isArray()) {
      if (node.isEmpty()) {
        b.append("[]");
        return;
      }
      b.append("[\n");
      for (int i = 0; i < node.size(); i++) {
        b.append(inner);
        json(node.get(i), b, inner);
        b.append(i < node.size() - 1 ? ",\n" : "\n");
      }
      b.append(indent).append(']');
    } else if (node.isTextual()) {
      JsonStrings.appendHtmlSafe(b, node.asText());
    } else {
      b.append(node.toString()); // numbers, booleans, null
    }
  }
}
