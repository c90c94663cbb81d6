package io.portcullis.config;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.MappingIterator;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;

/**
 * Reads Kubernetes manifests ({@code *.yaml}, {@code *.yml}, {@code *.json}, several documents per file,
 * {@code kind: List} expanded) the way {@code kubectl apply -f} does.
 *
 * <p>Stateless and thread-safe. Performs blocking file I/O: never call it on an event loop.
 */
public final class ManifestReader {

  /** The namespace of objects whose manifest names none, as kubectl does. */
  public static final String DEFAULT_NAMESPACE = "default";

  // Locations never carry the source (Jackson's default since 2.16; said here because messages must not quote it).
  private final ObjectMapper yaml = YAMLMapper.builder().disable(StreamReadFeature.INCLUDE_SOURCE_IN_LOCATION).build();
  private final ObjectMapper json = JsonMapper.builder().disable(StreamReadFeature.INCLUDE_SOURCE_IN_LOCATION).build();

  /** Returns whether {@code file}'s name ends in {@code .yaml}, {@code .yml} or {@code .json}. */
  public static boolean isManifest(Path file) {
    String name = file.getFileName().toString().toLowerCase(Locale.ROOT);
    return !name.startsWith(".") && (name.endsWith(".yaml") || name.endsWith(".yml") || name.endsWith(".json"));
  }

  /**
   * Parses every object in {@code file}.
   *
   * <p>A syntax error is reported by file, document, line and column and what the parser found wrong, and never
   * quotes the file ({@link ParseErrors}): any file may be a Secret, and the error may sit inside its key. Nothing
   * else is quoted either: the other errors name fields, not values.
   *
   * @throws ManifestException naming the file, the document number and what was expected, when any document does not
   *     parse or lacks {@code apiVersion}, {@code kind} or {@code metadata.name}; no object of the file is returned then
   * @throws IOException when the file cannot be read
   */
  public List<Resource> read(Path file) throws IOException {
    byte[] bytes = Files.readAllBytes(file);
    boolean isJson = file.getFileName().toString().toLowerCase(Locale.ROOT).endsWith(".json");
    ObjectMapper mapper = isJson ? json : yaml;
    List<Resource> out = new ArrayList<>();
    int doc = 0;
    try (JsonParser parser = mapper.createParser(bytes);
        MappingIterator<JsonNode> it = mapper.readValues(parser, JsonNode.class)) {
      while (it.hasNextValue()) {
        doc++;
        JsonNode node = it.nextValue();
        if (node == null || node.isNull() || node.isMissingNode() || (node.isObject() && node.isEmpty())) {
          continue; // an empty document between two '---'
        }
        addObject(file, doc, node, out);
      }
    } catch (JsonProcessingException | RuntimeException e) {
      // The parser's exception (or MappingIterator's wrapper of it) quotes the file in its message: neither it nor
      // its stack goes on, only ParseErrors' description.
      Optional<String> what = ParseErrors.describe(e, new String(bytes, StandardCharsets.UTF_8));
      if (what.isEmpty() && e instanceof RuntimeException r) {
        throw r; // ours (ManifestException) or a bug
      }
      int at = e instanceof JsonProcessingException ? Math.max(doc, 1) : doc + 1;
      throw new ManifestException(file, "document " + at + ": " + what.orElse("not valid")
          + " (expected: a YAML or JSON Kubernetes object)");
    }
    return out;
  }

  private void addObject(Path file, int doc, JsonNode node, List<Resource> out) {
    String where = "document " + doc;
    if (!node.isObject()) {
      throw new ManifestException(file, where + ": " + node.getNodeType().name().toLowerCase(Locale.ROOT)
          + " (expected: an object with apiVersion, kind and metadata)");
    }
    String kind = text(node, "kind");
    if (kind.equals("List") && node.path("items").isArray()) {
      for (JsonNode item : node.path("items")) {
        addObject(file, doc, item, out);
      }
      return;
    }
    String apiVersion = text(node, "apiVersion");
    if (apiVersion.isEmpty()) {
      throw new ManifestException(file, where + ": apiVersion: missing (expected: e.g. networking.istio.io/v1)");
    }
    if (kind.isEmpty()) {
      throw new ManifestException(file, where + ": kind: missing (expected: e.g. Gateway)");
    }
    String name = text(node.path("metadata"), "name");
    if (name.isEmpty()) {
      throw new ManifestException(file, where + ": " + kind + ": " + (node.has("metadata") ? "metadata.name: missing"
          : "metadata: missing, so the object has no name") + " (expected: metadata.name, a DNS-1123 name"
          + misspelt(node, "metadata") + ")");
    }
    String namespace = text(node.path("metadata"), "namespace");
    out.add(new Resource(apiVersion, kind, namespace.isEmpty() ? DEFAULT_NAMESPACE : namespace, name, file, node));
  }

  /** Names a top-level field that misspells the missing {@code field} ({@code meteadata}). */
  private static String misspelt(JsonNode node, String field) {
    if (node.has(field)) {
      return "";
    }
    for (String key : (Iterable<String>) node::fieldNames) {
      if (FieldCheck.closest(key, List.of(field)).isPresent()) {
        return "; " + key + " is not a field of a Kubernetes object: did you mean " + field + "?";
      }
    }
    return "";
  }

  private static String text(JsonNode node, String field) {
    JsonNode v = node.get(field);
    return v == null || !v.isValueNode() ? "" : v.asText().trim();
  }
}
