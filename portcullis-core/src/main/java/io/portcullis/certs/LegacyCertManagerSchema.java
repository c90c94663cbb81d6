package io.portcullis.certs;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.portcullis.config.FieldCheck;
import io.portcullis.config.Problem.Severity;
import io.portcullis.config.Problem;
import io.portcullis.config.Resource;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * The fields of cert-manager's {@code certmanager.k8s.io/v1alpha1} {@code Issuer}, {@code ClusterIssuer} and
 * {@code Certificate} (cert-manager 0.8 to 0.10, {@code pkg/apis/certmanager/v1alpha1}), so that a field the legacy
 * schema does not have is reported with its path, what the schema has there and the closest name ({@code srver} →
 * {@code server}), never dropped silently. Also renders a JSON tree in YAML flow style for messages. Pure.
 */
final class LegacyCertManagerSchema {
  /** Kubernetes' {@code ObjectMeta} fields (apimachinery {@code meta/v1}). */
  private static final List<String> OBJECT_META = List.of("apiVersion", "kind", "metadata.name",
      "metadata.generateName", "metadata.namespace", "metadata.labels.*", "metadata.annotations.*", "metadata.uid",
      "metadata.resourceVersion", "metadata.generation", "metadata.creationTimestamp", "metadata.deletionTimestamp",
      "metadata.deletionGracePeriodSeconds", "metadata.ownerReferences[].**", "metadata.finalizers[]",
      "metadata.managedFields[].**", "metadata.selfLink", "status.**");
  /**
   * v1alpha1 {@code IssuerSpec}: acme (old {@code http01}/{@code dns01} format and 0.8's {@code solvers}), ca,
   * selfSigned, vault, venafi.
   */
  static final List<String> ISSUER = concat(OBJECT_META, List.of("spec.acme.server", "spec.acme.email",
      "spec.acme.skipTLSVerify", "spec.acme.privateKeySecretRef.name", "spec.acme.privateKeySecretRef.key",
      "spec.acme.http01.serviceType", "spec.acme.dns01.providers[].name"), dns01("spec.acme.dns01.providers[]"),
      dns01("spec.acme.solvers[].dns01"), List.of("spec.acme.solvers[].selector.matchLabels.*",
      "spec.acme.solvers[].selector.dnsNames[]", "spec.acme.solvers[].selector.dnsZones[]",
      "spec.acme.solvers[].http01.ingress.serviceType", "spec.acme.solvers[].http01.ingress.class",
      "spec.acme.solvers[].http01.ingress.name", "spec.acme.solvers[].http01.ingress.podTemplate.**",
      "spec.ca.secretName", "spec.selfSigned", "spec.vault.**", "spec.venafi.**"));
  /** v1alpha1 {@code CertificateSpec} with its {@code acme.config[]} ({@code DomainSolverConfig}). */
  static final List<String> CERTIFICATE = concat(OBJECT_META, List.of("spec.secretName", "spec.commonName",
      "spec.dnsNames[]", "spec.ipAddresses[]", "spec.organization[]", "spec.duration", "spec.renewBefore",
      "spec.issuerRef.name", "spec.issuerRef.kind", "spec.issuerRef.group", "spec.isCA", "spec.keySize",
      "spec.keyAlgorithm", "spec.keyEncoding", "spec.usages[]", "spec.acme.config[].domains[]",
      "spec.acme.config[].http01.ingress", "spec.acme.config[].http01.ingressClass",
      "spec.acme.config[].dns01.provider"));
  /** Kubernetes' object names: a DNS-1123 subdomain (apimachinery {@code IsDNS1123Subdomain}). */
  private static final Pattern DNS_1123_SUBDOMAIN = Pattern.compile(
      "[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*");
  private static final Pattern INDEX = Pattern.compile("\\[\\d+]");
  private static final Pattern SEGMENT = Pattern.compile("([^\\[]*)((?:\\[\\d+])*)");

  private LegacyCertManagerSchema() {}

  /**
   * Reports each field of {@code r} that {@code schema} does not have as an ERROR naming its path, what the schema
   * has at that place and the closest of those names: the API server would refuse the object
   * ({@code kubectl apply}'s strict field validation); here the field is left out and the rest is read.
   *
   * @return a copy of {@code r}'s body without those fields
   */
  static JsonNode knownFields(Resource r, List<String> schema, List<Problem> problems) {
    JsonNode body = r.body().deepCopy();
    for (String path : new FieldCheck(schema.toArray(String[]::new)).unsupported(r.body())) {
      List<String> expected = siblings(schema, path);
      String name = path.substring(Math.max(path.lastIndexOf('.'), path.lastIndexOf(']')) + 1);
      String hint = FieldCheck.closest(name, expected).map(c -> "; did you mean " + c + "?").orElse("");
      problems.add(Problem.of(Severity.ERROR, r, path, "unknown field of " + r.apiVersion() + " " + r.kind()
          + ", left out (expected one of: " + String.join(", ", expected) + hint + ")"));
      remove(body, path);
    }
    return body;
  }

  /** Removes the field at {@code path} ({@code spec.acme.solvers[0].dns01.name}, as FieldCheck names it). */
  private static void remove(JsonNode body, String path) {
    JsonNode node = body;
    String[] segs = path.split("\\.");
    for (int i = 0; i < segs.length - 1 && node != null; i++) {
      Matcher m = SEGMENT.matcher(segs[i]);
      if (!m.matches()) {
        return; // a key with '[' of its own: left to the v1 check
      }
      node = node.get(m.group(1));
      for (Matcher index = INDEX.matcher(m.group(2)); index.find() && node != null; ) {
        node = node.get(Integer.parseInt(index.group().substring(1, index.group().length() - 1)));
      }
    }
    if (node instanceof ObjectNode o) {
      o.remove(segs[segs.length - 1]);
    }
  }

  /**
   * Checks {@code metadata.name}: the API server refuses an object whose name is not a DNS-1123 subdomain (seed
   * 004's {@code letsencrypt -staging}); returns whether it is one.
   */
  static boolean validName(Resource r, List<Problem> problems) {
    if (DNS_1123_SUBDOMAIN.matcher(r.name()).matches() && r.name().length() <= 253) {
      return true;
    }
    problems.add(Problem.of(Severity.ERROR, r, "metadata.name", "\"" + r.name() + "\" (expected: a DNS-1123 "
        + "subdomain: lower-case letters, digits, '-' and '.', as the API server requires); the object is left out"));
    return false;
  }

  /** The names {@code schema} allows next to the last segment of {@code path} ({@code spec.acme.srver}). */
  static List<String> siblings(List<String> schema, String path) {
    String[] segs = INDEX.matcher(path).replaceAll("[]").split("\\.");
    String[] parent = Arrays.copyOf(segs, segs.length - 1);
    Set<String> out = new LinkedHashSet<>();
    for (String pattern : schema) {
      String[] p = pattern.split("\\.");
      if (p.length <= parent.length || !prefix(p, parent)) {
        continue;
      }
      String next = p[parent.length].replace("[]", "");
      if (!next.equals("*") && !next.equals("**")) {
        out.add(next);
      }
    }
    return List.copyOf(out);
  }

  private static boolean prefix(String[] pattern, String[] parent) {
    for (int i = 0; i < parent.length; i++) {
      String want = pattern[i];
      String have = parent[i];
      if (!want.equals("*") && !want.equals(have) && !want.replace("[]", "").equals(have.replace("[]", ""))) {
        return false;
      }
    }
    return true;
  }

  /** Renders {@code node} in YAML flow style ({@code {http01: {ingress: {class: none}}}}) for a message. */
  static String flow(JsonNode node) {
    if (node.isObject()) {
      List<String> members = new ArrayList<>();
      node.properties().forEach(e -> members.add(e.getKey() + ": " + flow(e.getValue())));
      return "{" + String.join(", ", members) + "}";
    }
    if (node.isArray()) {
      List<String> items = new ArrayList<>();
      node.forEach(n -> items.add(flow(n)));
      return "[" + String.join(", ", items) + "]";
    }
    String s = node.asText();
    boolean quote = node.isTextual()
        && (s.isEmpty() || s.matches("[-?:,\\[\\]{}#&*!|>'\"%@`\\s].*|.*(: | #|[,\\[\\]{}]|\\s$).*"));
    return quote ? "'" + s.replace("'", "''") + "'" : s;
  }

  /** v1alpha1 {@code ACMEIssuerDNS01Provider}'s fields but its name, which 0.8's solvers' {@code dns01} share. */
  private static List<String> dns01(String at) {
    return Stream.of("cnameStrategy", "akamai.**", "clouddns.**", "cloudflare.**", "route53.**", "azuredns.**",
        "digitalocean.**", "acmedns.**", "rfc2136.**", "webhook.**").map(f -> at + "." + f).toList();
  }

  @SafeVarargs
  private static List<String> concat(List<String>... parts) {
    return Stream.of(parts).flatMap(List::stream).toList();
  }
}
