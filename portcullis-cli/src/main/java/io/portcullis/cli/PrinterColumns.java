package io.portcullis.cli;

import com.fasterxml.jackson.databind.JsonNode;
import io.portcullis.admin.ApiKind;
import java.io.PrintWriter;
import java.time.Duration;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.function.Function;

/**
 * The columns {@code kubectl get} prints for each kind of {@link io.portcullis.admin.ApiKinds}: the Gateway API CRDs'
 * {@code additionalPrinterColumns} (v1.4 to v1.6, identical across their versions), and kubectl's built-in printers
 * for Ingress ({@code NAME CLASS HOSTS ADDRESS PORTS AGE}) and IngressClass ({@code NAME CONTROLLER PARAMETERS
 * AGE}); {@code -o wide} adds the priority-1 columns; {@code -A} puts {@code NAMESPACE} first for a namespaced kind.
 * Rows are laid out as kubectl's tabwriter does (cells padded by 3, at least 6 wide, the last one unpadded).
 */
final class PrinterColumns {
  /** kubectl's {@code loadBalancerWidth}: an Ingress ADDRESS longer than this is cut unless {@code -o wide}. */
  private static final int LOAD_BALANCER_WIDTH = 16;

  /**
   * One column.
   *
   * @param header as printed (upper case)
   * @param priority 0, or 1 for {@code -o wide} only
   * @param cell the cell of an object
   */
  record Column(String header, int priority, Function<JsonNode, String> cell) {}

  /** A CRD's {@code additionalPrinterColumns} entry: {@code type} is {@code string} or {@code date} here. */
  private record Crd(String name, String type, String jsonPath, int priority) {}

  private static final Map<String, List<Crd>> CRD_COLUMNS = Map.of(
      "GatewayClass", List.of(new Crd("Controller", "string", ".spec.controllerName", 0),
          new Crd("Accepted", "string", ".status.conditions[?(@.type==\"Accepted\")].status", 0),
          new Crd("Age", "date", ".metadata.creationTimestamp", 0),
          new Crd("Description", "string", ".spec.description", 1)),
      "Gateway", List.of(new Crd("Class", "string", ".spec.gatewayClassName", 0),
          new Crd("Address", "string", ".status.addresses[*].value", 0),
          new Crd("Programmed", "string", ".status.conditions[?(@.type==\"Programmed\")].status", 0),
          new Crd("Age", "date", ".metadata.creationTimestamp", 0)),
      "HTTPRoute", List.of(new Crd("Hostnames", "string", ".spec.hostnames", 0),
          new Crd("Age", "date", ".metadata.creationTimestamp", 0)),
      "GRPCRoute", List.of(new Crd("Hostnames", "string", ".spec.hostnames", 0),
          new Crd("Age", "date", ".metadata.creationTimestamp", 0)),
      "TLSRoute", List.of(new Crd("Age", "date", ".metadata.creationTimestamp", 0)),
      "ReferenceGrant", List.of(new Crd("Age", "date", ".metadata.creationTimestamp", 0)));

  private PrinterColumns() {}

  /**
   * Returns the columns of {@code kind}.
   *
   * @param wide {@code -o wide}
   * @param allNamespaces {@code -A}: a NAMESPACE column first when the kind is namespaced
   * @param now what AGE is measured from
   */
  static List<Column> of(ApiKind kind, boolean wide, boolean allNamespaces, Instant now) {
    List<Column> out = new ArrayList<>();
    if (allNamespaces && kind.namespaced()) {
      out.add(new Column("NAMESPACE", 0, o -> o.path("metadata").path("namespace").asText()));
    }
    out.add(new Column("NAME", 0, o -> o.path("metadata").path("name").asText()));
    Function<JsonNode, String> age = o -> age(o.path("metadata").path("creationTimestamp"), now);
    switch (kind.kind()) {
      case "Ingress" -> {
        out.add(new Column("CLASS", 0, o -> o.path("spec").path("ingressClassName").asText("<none>")));
        out.add(new Column("HOSTS", 0, o -> hosts(o.path("spec").path("rules"))));
        out.add(new Column("ADDRESS", 0, o -> address(o.path("status").path("loadBalancer"), wide)));
        out.add(new Column("PORTS", 0, o -> o.path("spec").path("tls").isEmpty() ? "80" : "80, 443"));
        out.add(new Column("AGE", 0, age));
      }
      case "IngressClass" -> {
        out.add(new Column("CONTROLLER", 0, o -> o.path("spec").path("controller").asText("")));
        out.add(new Column("PARAMETERS", 0, o -> parameters(o.path("spec").path("parameters"))));
        out.add(new Column("AGE", 0, age));
      }
      default -> {
        for (Crd c : CRD_COLUMNS.getOrDefault(kind.kind(), List.of())) {
          if (c.priority() == 0 || wide) {
            out.add(new Column(c.name().toUpperCase(java.util.Locale.ROOT), c.priority(), c.type().equals("date")
                ? o -> age(first(o, c.jsonPath()), now) : o -> text(first(o, c.jsonPath()))));
          }
        }
      }
    }
    return out;
  }

  /** Prints the header and one row per object, laid out as kubectl's tabwriter lays them out. */
  static void print(PrintWriter out, List<Column> columns, List<JsonNode> objects) {
    List<String[]> rows = new ArrayList<>();
    rows.add(columns.stream().map(Column::header).toArray(String[]::new));
    for (JsonNode o : objects) {
      rows.add(columns.stream().map(c -> c.cell().apply(o)).toArray(String[]::new));
    }
    int[] width = new int[columns.size()];
    for (String[] r : rows) {
      for (int i = 0; i < r.length - 1; i++) {
        width[i] = Math.max(width[i], Math.max(6, r[i].length() + 3)); // minwidth 6, padding 3
      }
    }
    for (String[] r : rows) {
      StringBuilder b = new StringBuilder();
      for (int i = 0; i < r.length; i++) {
        b.append(r[i]);
        if (i < r.length - 1) {
          b.append(" ".repeat(width[i] - r[i].length()));
        }
      }
      out.println(b);
    }
    out.flush();
  }

  /**
   * Returns kubectl's AGE of {@code timestamp} (RFC 3339) at {@code now}: {@code duration.HumanDuration}, e.g.
   * {@code 45s}, {@code 5m3s}, {@code 3h}, {@code 12d}; {@code <unknown>} without one, {@code <invalid>} more than
   * a second in the future.
   */
  static String age(JsonNode timestamp, Instant now) {
    if (!timestamp.isTextual()) {
      return "<unknown>";
    }
    try {
      return humanDuration(Duration.between(Instant.parse(timestamp.asText()), now));
    } catch (DateTimeParseException e) {
      return "<unknown>";
    }
  }

  /** Kubernetes' {@code k8s.io/apimachinery/pkg/util/duration.HumanDuration}. */
  static String humanDuration(Duration d) {
    long seconds = d.getSeconds() + (d.isNegative() && d.getNano() > 0 ? 1 : 0); // Go truncates toward zero
    if (seconds < -1) {
      return "<invalid>";
    } else if (seconds < 0) {
      return "0s";
    } else if (seconds < 60 * 2) {
      return seconds + "s";
    }
    long minutes = seconds / 60;
    if (minutes < 10) {
      long s = seconds % 60;
      return s == 0 ? minutes + "m" : minutes + "m" + s + "s";
    } else if (minutes < 60 * 3) {
      return minutes + "m";
    }
    long hours = seconds / 3600;
    if (hours < 8) {
      long m = minutes % 60;
      return m == 0 ? hours + "h" : hours + "h" + m + "m";
    } else if (hours < 48) {
      return hours + "h";
    } else if (hours < 24 * 8) {
      long h = hours % 24;
      return h == 0 ? hours / 24 + "d" : hours / 24 + "d" + h + "h";
    } else if (hours < 24 * 365 * 2) {
      return hours / 24 + "d";
    } else if (hours < 24 * 365 * 8) {
      long dy = hours / 24 % 365;
      return dy == 0 ? hours / 24 / 365 + "y" : hours / 24 / 365 + "y" + dy + "d";
    }
    return hours / 24 / 365 + "y";
  }

  /**
   * Returns the first value {@code jsonPath} finds in {@code o}, or a missing node, as the API server's CRD table
   * convertor takes {@code results[0][0]}. The JSONPath subset the CRDs use: {@code .field}, {@code [*]},
   * {@code [?(@.field=="value")]}.
   */
  static JsonNode first(JsonNode o, String jsonPath) {
    List<JsonNode> nodes = List.of(o);
    int i = 0;
    while (i < jsonPath.length() && !nodes.isEmpty()) {
      char c = jsonPath.charAt(i);
      List<JsonNode> next = new ArrayList<>();
      if (c == '.') {
        int end = i + 1;
        while (end < jsonPath.length() && jsonPath.charAt(end) != '.' && jsonPath.charAt(end) != '[') {
          end++;
        }
        String field = jsonPath.substring(i + 1, end);
        nodes.forEach(n -> {
          if (n.has(field)) {
            next.add(n.get(field));
          }
        });
        i = end;
      } else if (c == '[') {
        int end = jsonPath.indexOf(']', i);
        String selector = jsonPath.substring(i + 1, end);
        if (selector.equals("*")) {
          nodes.forEach(n -> n.forEach(next::add));
        } else if (selector.startsWith("?(@.") && selector.endsWith(")") && selector.contains("==")) {
          String cond = selector.substring(4, selector.length() - 1);
          String field = cond.substring(0, cond.indexOf("=="));
          String value = cond.substring(cond.indexOf("==") + 2).replaceAll("^\"|\"$", "");
          nodes.forEach(n -> n.forEach(e -> {
            if (e.path(field).isValueNode() && e.path(field).asText().equals(value)) {
              next.add(e);
            }
          }));
        } else {
          throw new IllegalArgumentException("JSONPath " + jsonPath + ": " + selector + " (expected: *, ?(@.f==\"v\"))");
        }
        i = end + 1;
      } else {
        throw new IllegalArgumentException("JSONPath " + jsonPath + " at " + i + " (expected: . or [)");
      }
      nodes = next;
    }
    return nodes.isEmpty() ? com.fasterxml.jackson.databind.node.MissingNode.getInstance() : nodes.get(0);
  }

  /** A {@code type: string} cell: a string as it is, anything else as JSON ({@code ["a.example.com"]}); none empty. */
  private static String text(JsonNode v) {
    if (v.isMissingNode() || v.isNull()) {
      return "";
    }
    return v.isTextual() ? v.asText() : v.toString();
  }

  /** kubectl's {@code formatHosts}: at most 4 hosts, then {@code + N more...}; {@code *} for none. */
  static String hosts(JsonNode rules) {
    List<String> list = new ArrayList<>();
    boolean more = false;
    for (JsonNode r : rules) {
      if (list.size() == 4) {
        more = true;
      }
      if (!more && !r.path("host").asText("").isEmpty()) {
        list.add(r.path("host").asText());
      }
    }
    if (list.isEmpty()) {
      return "*";
    }
    String ret = String.join(",", list);
    return more ? ret + " + " + (rules.size() - 4) + " more..." : ret;
  }

  /** kubectl's {@code ingressLoadBalancerStatusStringer}: IPs else hostnames, sorted, cut to 16 unless wide. */
  static String address(JsonNode loadBalancer, boolean wide) {
    TreeSet<String> result = new TreeSet<>();
    for (JsonNode i : loadBalancer.path("ingress")) {
      if (!i.path("ip").asText("").isEmpty()) {
        result.add(i.path("ip").asText());
      } else if (!i.path("hostname").asText("").isEmpty()) {
        result.add(i.path("hostname").asText());
      }
    }
    String r = String.join(",", result);
    return !wide && r.length() > LOAD_BALANCER_WIDTH ? r.substring(0, LOAD_BALANCER_WIDTH - 3) + "..." : r;
  }

  /** kubectl's IngressClass PARAMETERS: {@code Kind[.apiGroup]/name}, or {@code <none>}. */
  private static String parameters(JsonNode p) {
    if (!p.isObject()) {
      return "<none>";
    }
    String s = p.path("kind").asText("");
    if (p.has("apiGroup")) {
      s += "." + p.path("apiGroup").asText();
    }
    return s + "/" + p.path("name").asText("");
  }
}
