package io.portcullis.admin;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.portcullis.config.ObjectStatus;
import io.portcullis.config.Resource;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * Renders {@code GET /apis/...}: the objects whose status Portcullis computes ({@code GatewayConfig.statuses()}),
 * each with that {@code status}, at the Kubernetes API's paths and in its shapes, read-only:
 * <ul>
 *   <li>{@code /apis}: an {@code APIGroupList} of the groups below;</li>
 *   <li>{@code /apis/GROUP/VERSION/PLURAL}: every object of the kind, in every namespace;</li>
 *   <li>{@code /apis/GROUP/VERSION/namespaces/NS/PLURAL}: those of one namespace (namespaced kinds);</li>
 *   <li>{@code /apis/GROUP/VERSION/namespaces/NS/PLURAL/NAME}, and {@code /apis/GROUP/VERSION/PLURAL/NAME} for a
 *       cluster-scoped kind (GatewayClass, IngressClass): one object.</li>
 * </ul>
 * A list is {@code {"apiVersion": "GROUP/VERSION", "kind": "KindList", "metadata": {}, "items": [...]}}, sorted by
 * namespace then name as the API server returns it; an object shows the {@code apiVersion} of the request (the API
 * server's conversion; the Gateway API's versions share one schema), except an Ingress written at a removed version
 * ({@link ApiKind#convertible}). Anything else is 404 with a Kubernetes {@code Status} object. The kinds are
 * {@link ApiKinds}: a Secret is never shown, whatever the statuses hold.
 */
final class ObjectsEndpoint {
  private static final ObjectMapper JSON = new ObjectMapper();

  private ObjectsEndpoint() {}

  /** What to answer: the HTTP status and a JSON body. */
  record Answer(HttpResponseStatus status, String json) {}

  /**
   * Answers a GET of {@code path} (decoded, without the query) from {@code statuses}.
   *
   * @param path {@code /apis} or a path under it
   */
  static Answer get(String path, List<ObjectStatus> statuses) {
    String[] p = path.replaceAll("/+$", "").split("/", -1); // "", "apis", group, version, ...
    if (p.length == 2) {
      return ok(groups());
    }
    if (p.length < 5) {
      return notFound();
    }
    String group = p[2];
    String version = p[3];
    String namespace = null;
    int i = 4;
    if (p[i].equals("namespaces") && p.length >= 7) {
      namespace = p[5];
      i = 6;
    }
    Optional<ApiKind> found = ApiKinds.byPath(group, version, p[i]);
    if (found.isEmpty() || p.length > i + 2 || (namespace != null && !found.get().namespaced())) {
      return notFound();
    }
    ApiKind kind = found.get();
    String name = p.length == i + 2 ? p[i + 1] : null;
    if (name != null && kind.namespaced() && namespace == null) {
      return notFound(); // the API server has no cross-namespace GET of one object either
    }
    List<ObjectNode> items = items(kind, version, namespace, statuses);
    if (name != null) {
      for (ObjectNode o : items) {
        if (o.path("metadata").path("name").asText().equals(name)) {
          return ok(o);
        }
      }
      return objectNotFound(kind, name);
    }
    ObjectNode list = JSON.createObjectNode();
    list.put("apiVersion", group + "/" + version);
    list.put("kind", kind.listKind());
    list.putObject("metadata");
    ArrayNode array = list.putArray("items");
    items.forEach(array::add);
    return ok(list);
  }

  /**
   * Returns the objects of {@code kind} in {@code namespace} (every namespace when {@code null}) with their status,
   * as served at {@code version}; one per namespace and name, the first in {@code statuses}.
   */
  static List<ObjectNode> items(ApiKind kind, String version, String namespace, List<ObjectStatus> statuses) {
    List<ObjectStatus> of = new ArrayList<>();
    Set<String> seen = new HashSet<>();
    for (ObjectStatus s : statuses) {
      Resource r = s.resource();
      if (r.kind().equals("Secret") || !kind.matches(r)) {
        continue;
      }
      if (kind.namespaced() && namespace != null && !r.namespace().equals(namespace)) {
        continue;
      }
      if (seen.add(kind.namespaced() ? r.key() : r.name())) {
        of.add(s);
      }
    }
    of.sort(Comparator.comparing((ObjectStatus s) -> kind.namespaced() ? s.resource().namespace() : "")
        .thenComparing(s -> s.resource().name()));
    List<ObjectNode> out = new ArrayList<>(of.size());
    for (ObjectStatus s : of) {
      out.add(object(kind, version, s));
    }
    return out;
  }

  /** Returns {@code s}'s object as the API server holds it: its apiVersion, kind, metadata.namespace set. */
  private static ObjectNode object(ApiKind kind, String version, ObjectStatus s) {
    Resource r = s.resource();
    ObjectNode body = s.withStatus();
    ObjectNode out = JSON.createObjectNode();
    out.put("apiVersion", kind.convertible(r) ? kind.group() + "/" + version : r.apiVersion());
    out.put("kind", kind.kind());
    JsonNode metadata = body.path("metadata");
    ObjectNode meta = metadata.isObject() ? ((ObjectNode) metadata).deepCopy() : JSON.createObjectNode();
    meta.put("name", r.name());
    if (kind.namespaced()) {
      meta.put("namespace", r.namespace());
    } else {
      meta.remove("namespace"); // the API server drops it from a cluster-scoped object
    }
    out.set("metadata", meta);
    body.fields().forEachRemaining(e -> {
      if (!out.has(e.getKey())) {
        out.set(e.getKey(), e.getValue());
      }
    });
    return out;
  }

  private static ObjectNode groups() {
    ObjectNode root = JSON.createObjectNode();
    root.put("kind", "APIGroupList");
    root.put("apiVersion", "v1");
    ArrayNode groups = root.putArray("groups");
    for (String group : List.of(ApiKinds.GATEWAY_API, ApiKinds.NETWORKING)) {
      ObjectNode g = groups.addObject();
      g.put("name", group);
      List<String> versions = ApiKinds.all().stream().filter(k -> k.group().equals(group))
          .flatMap(k -> k.versions().stream()).distinct().toList();
      ArrayNode vs = g.putArray("versions");
      versions.forEach(v -> vs.addObject().put("groupVersion", group + "/" + v).put("version", v));
      g.putObject("preferredVersion").put("groupVersion", group + "/v1").put("version", "v1");
    }
    return root;
  }

  private static Answer notFound() {
    return status("the server could not find the requested resource", null, null);
  }

  private static Answer objectNotFound(ApiKind kind, String name) {
    return status(kind.resource() + " \"" + name + "\" not found", kind, name);
  }

  /** A Kubernetes {@code Status} with reason {@code NotFound}, as the API server sends it. */
  private static Answer status(String message, ApiKind kind, String name) {
    ObjectNode s = JSON.createObjectNode();
    s.put("kind", "Status");
    s.put("apiVersion", "v1");
    s.putObject("metadata");
    s.put("status", "Failure");
    s.put("message", message);
    s.put("reason", "NotFound");
    ObjectNode details = s.putObject("details");
    if (kind != null) {
      details.put("name", name).put("group", kind.group()).put("kind", kind.plural());
    }
    s.put("code", 404);
    return new Answer(HttpResponseStatus.NOT_FOUND, write(s));
  }

  private static Answer ok(JsonNode body) {
    return new Answer(HttpResponseStatus.OK, write(body));
  }

  private static String write(JsonNode n) {
    try {
      return JSON.writeValueAsString(n) + "\n";
    } catch (JsonProcessingException e) {
      throw new IllegalStateException(e);
    }
  }
}
