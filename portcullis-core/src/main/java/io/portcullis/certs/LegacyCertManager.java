package io.portcullis.certs;

import static io.portcullis.certs.LegacyCertManagerSchema.flow;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.portcullis.config.Problem.Severity;
import io.portcullis.config.Problem;
import io.portcullis.config.Resource;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Reads cert-manager's legacy {@code certmanager.k8s.io/v1alpha1} {@code Issuer}, {@code ClusterIssuer} and
 * {@code Certificate} (cert-manager 0.2 to 0.10; the API was removed in 0.11) as their {@code cert-manager.io/v1}
 * form, the way cert-manager's upgrade guides say to rewrite them, so that {@link IssuerTranslator} and
 * {@link CertificateTranslator} translate them like any v1 object:
 * <ul>
 *   <li>0.8 ("Upgrading from v0.7 to v0.8"): a Certificate's {@code spec.acme.config[]} entry becomes a solver of
 *       the issuer it names, with {@code selector.dnsNames} set to the entry's {@code domains}; its
 *       {@code http01.ingressClass} and {@code http01.ingress} become {@code http01.ingress.class} and
 *       {@code .name}, its {@code dns01.provider} the issuer's {@code dns01.providers[]} entry of that name. An
 *       issuer with {@code http01: {}} that no entry names gets one HTTP-01 solver without a selector. The issuer's
 *       old {@code http01}/{@code dns01} fields are gone in v1; 0.8's {@code solvers[]} are kept.</li>
 *   <li>0.11 ("Upgrading from v0.10 to v0.11"): group {@code certmanager.k8s.io} becomes {@code cert-manager.io}
 *       (also in {@code issuerRef.group}); then as {@code cmctl convert} takes v1alpha2 to v1: {@code keyAlgorithm},
 *       {@code keySize}, {@code keyEncoding} become {@code privateKey.algorithm}, {@code .size}, {@code .encoding}
 *       ({@code rsa} → {@code RSA}, {@code ecdsa} → {@code ECDSA}, {@code pkcs1} → {@code PKCS1}, {@code pkcs8} →
 *       {@code PKCS8}; other values as written), with {@code algorithm: RSA} for a {@code keySize} without
 *       {@code keyAlgorithm} (v1alpha1's default, where Portcullis's v1 default is ECDSA);
 *       {@code organization} becomes {@code subject.organizations}; the DNS-01 provider keys
 *       {@code clouddns}, {@code azuredns}, {@code acmedns} become {@code cloudDNS}, {@code azureDNS},
 *       {@code acmeDNS}.</li>
 * </ul>
 *
 * <p>Each converted object gets one WARNING naming its v1 form. A field the v1alpha1 schema does not have (seed
 * 004's {@code srver:}) is an ERROR with its path and is left out ({@link LegacyCertManagerSchema}); an object whose
 * name the API server would refuse is left out. Problems the v1 translators find in a converted object still name
 * the user's object, and {@link Conversion#relabel} turns their field paths back into the user's fields.
 * Pure: no I/O, safe on any thread.
 */
final class LegacyCertManager {
  /** The legacy API group. */
  static final String GROUP = "certmanager.k8s.io";
  static final String VERSION = GROUP + "/v1alpha1";
  private static final Set<String> KINDS = Set.of("Issuer", "ClusterIssuer", "Certificate");
  private static final Map<String, String> DNS01_PROVIDER_KEYS = Map.of("clouddns", "cloudDNS", "azuredns",
      "azureDNS", "acmedns", "acmeDNS");
  private static final String PREFIX = VERSION + " is cert-manager 0.10's API, removed in 0.11: read as "
      + CertManagerTranslator.GROUP + "/v1 ";
  /** v1alpha1 Certificate key fields and their {@code spec.privateKey} field in v1. */
  private static final String[][] KEY_FIELDS = {{"keyAlgorithm", "algorithm"}, {"keySize", "size"},
      {"keyEncoding", "encoding"}};
  /**
   * v1alpha1's key enums as cert-manager's v1alpha2 conversion maps them ({@code
   * Convert_v1alpha2_CertificateSpec_To_certmanager_CertificateSpec}); any other value is kept as written, for v1's
   * check to name.
   */
  private static final Map<String, String> KEY_VALUES = Map.of("rsa", "RSA", "ecdsa", "ECDSA", "pkcs1", "PKCS1",
      "pkcs8", "PKCS8");
  private static final JsonNodeFactory JSON = JsonNodeFactory.instance;

  private LegacyCertManager() {}

  /**
   * A snapshot's resources with each legacy cert-manager object replaced by its v1 form (same kind, namespace, name
   * and source), in the same order; legacy objects that cannot be read are left out.
   *
   * @param resources the resources to hand to the v1 translators
   * @param renames per converted object ({@link #key}), v1 field path prefixes and the user's field they came from
   */
  record Conversion(List<Resource> resources, Map<String, Map<String, String>> renames) {
    /**
     * Returns {@code problems} with each field path of a converted object that came from another legacy field
     * (longest prefix first, on a segment boundary) rewritten to the user's field, so that
     * {@code spec.privateKey.size} reads {@code spec.keySize}.
     */
    List<Problem> relabel(List<Problem> problems) {
      return problems.stream().map(p -> {
        Map<String, String> r = renames.get(p.subject() + "|" + p.source());
        if (r == null || p.field().isEmpty()) {
          return p;
        }
        return r.entrySet().stream().filter(e -> p.field().equals(e.getKey())
                || p.field().startsWith(e.getKey() + ".") || p.field().startsWith(e.getKey() + "["))
            .max(Comparator.comparingInt(e -> e.getKey().length()))
            .map(e -> new Problem(p.severity(), p.subject(), p.source(), e.getValue()
                + p.field().substring(e.getKey().length()), p.message()))
            .orElse(p);
      }).toList();
    }
  }

  /** One legacy issuer while the Certificates naming it are read. */
  private static final class IssuerWork {
    final Resource r;
    final JsonNode acme;
    /** The solvers made from Certificates' {@code acme.config[]}: they follow the issuer's own 0.8 solvers. */
    final ArrayNode solvers = JSON.arrayNode();
    final List<String> from = new ArrayList<>();
    final Map<String, String> renames = new LinkedHashMap<>();

    IssuerWork(Resource r) {
      this.r = r;
      this.acme = r.body().path("spec").path("acme");
    }

    boolean hasAcme() {
      return acme.isObject();
    }

    boolean http01() {
      return acme.has("http01") && !acme.get("http01").isNull();
    }
  }

  /** Whether {@code r} is a legacy object this class reads (the others of the group are not used). */
  static boolean handles(Resource r) {
    return r.group().equals(GROUP) && KINDS.contains(r.kind());
  }

  /**
   * Converts the legacy objects among {@code resources}; other resources pass through unchanged. Never throws for
   * bad input: problems are added to {@code problems}.
   */
  static Conversion convert(List<Resource> resources, List<Problem> problems) {
    Map<String, IssuerWork> issuers = new LinkedHashMap<>();
    List<IssuerWork> allIssuers = new ArrayList<>(); // a second of one name too: v1's translator reports it
    List<Resource> certificates = new ArrayList<>();
    Map<Resource, Resource> read = new IdentityHashMap<>(); // the user's object → it without its unknown fields
    Map<Resource, Resource> converted = new IdentityHashMap<>(); // → its v1 form
    Map<String, Map<String, String>> renames = new LinkedHashMap<>();
    for (Resource r : resources) {
      if (!handles(r)) {
        continue;
      }
      if (!r.apiVersion().equals(VERSION)) {
        problems.add(Problem.of(Severity.ERROR, r, "apiVersion", r.apiVersion() + " (expected: " + VERSION + ", or "
            + CertManagerTranslator.GROUP + "/v1)"));
        continue;
      }
      boolean certificate = r.kind().equals("Certificate");
      Resource known = new Resource(r.apiVersion(), r.kind(), r.namespace(), r.name(), r.source(),
          LegacyCertManagerSchema.knownFields(r, certificate ? LegacyCertManagerSchema.CERTIFICATE
              : LegacyCertManagerSchema.ISSUER, problems));
      if (!LegacyCertManagerSchema.validName(r, problems)) {
        continue;
      }
      read.put(r, known);
      if (certificate) {
        certificates.add(known);
      } else {
        IssuerWork w = new IssuerWork(known);
        allIssuers.add(w);
        issuers.putIfAbsent(issuerKey(r.kind(), r.namespace(), r.name()), w);
      }
    }
    for (Resource c : certificates) {
      Map<String, String> certRenames = new LinkedHashMap<>();
      List<String> changes = new ArrayList<>();
      ObjectNode body = certificate(c, certRenames, changes);
      solversFromConfig(c, issuers, changes, problems);
      warn(c, changes, problems);
      converted.put(c, new Resource(CertManagerTranslator.GROUP + "/v1", c.kind(), c.namespace(), c.name(),
          c.source(), body));
      renames.put(key(c), certRenames);
    }
    for (IssuerWork w : allIssuers) {
      List<String> changes = new ArrayList<>();
      ObjectNode body = issuer(w, changes, problems);
      warn(w.r, changes, problems);
      converted.put(w.r, new Resource(CertManagerTranslator.GROUP + "/v1", w.r.kind(), w.r.namespace(), w.r.name(),
          w.r.source(), body));
      renames.put(key(w.r), w.renames);
    }
    List<Resource> out = new ArrayList<>();
    for (Resource r : resources) {
      if (!handles(r)) {
        out.add(r);
      } else if (read.containsKey(r)) {
        out.add(converted.get(read.get(r)));
      }
    }
    return new Conversion(out, renames);
  }

  /** The {@link Conversion#renames} key of a resource: what a {@link Problem} about it carries. */
  static String key(Resource r) {
    return r.id() + "|" + r.source();
  }

  private static String issuerKey(String kind, String namespace, String name) {
    return kind.equals("ClusterIssuer") ? "ClusterIssuer/" + name : "Issuer/" + namespace + "/" + name;
  }

  private static void warn(Resource r, List<String> changes, List<Problem> problems) {
    problems.add(Problem.of(Severity.WARNING, r, "apiVersion", PREFIX + r.kind() + (changes.isEmpty()
        ? " with the same fields" : " " + String.join("; ", changes)) + " (expected: " + CertManagerTranslator.GROUP
        + "/v1)"));
  }

  // ---- Certificate ----

  private static ObjectNode certificate(Resource c, Map<String, String> renames, List<String> changes) {
    JsonNode spec = c.body().path("spec");
    ObjectNode out = head(c);
    ObjectNode s = out.putObject("spec");
    for (String f : List.of("secretName", "commonName", "dnsNames", "ipAddresses", "duration", "renewBefore",
        "isCA", "usages")) {
      if (spec.has(f)) {
        s.set(f, spec.get(f).deepCopy());
      }
    }
    JsonNode ref = spec.path("issuerRef");
    if (ref.isObject()) {
      ObjectNode r = s.putObject("issuerRef");
      for (String f : List.of("name", "kind", "group")) {
        if (ref.has(f)) {
          r.set(f, ref.get(f).deepCopy());
        }
      }
      if (ref.path("group").asText("").equals(GROUP)) {
        r.put("group", CertManagerTranslator.GROUP);
        changes.add("with spec.issuerRef.group: " + CertManagerTranslator.GROUP + " in place of " + GROUP);
      }
    }
    if (spec.has("organization")) {
      s.putObject("subject").set("organizations", spec.get("organization").deepCopy());
      renames.put("spec.subject.organizations", "spec.organization");
      renames.put("spec.subject", "spec.organization");
      changes.add("with spec.subject.organizations in place of spec.organization");
    }
    ObjectNode key = JSON.objectNode();
    List<String> keyFields = new ArrayList<>();
    if (spec.has("keySize") && !spec.has("keyAlgorithm")) {
      key.put("algorithm", "RSA"); // v1alpha1's default, which keySize is for; Portcullis's v1 default is ECDSA
    }
    for (String[] f : KEY_FIELDS) {
      if (spec.has(f[0])) {
        JsonNode v = spec.get(f[0]);
        key.set(f[1], v.isTextual() ? JSON.textNode(KEY_VALUES.getOrDefault(v.asText(), v.asText())) : v.deepCopy());
        renames.put("spec.privateKey." + f[1], "spec." + f[0]);
        keyFields.add("spec." + f[0]);
      }
    }
    if (!key.isEmpty()) {
      s.set("privateKey", key);
      changes.add("with spec.privateKey: " + flow(key) + " in place of " + String.join(" and ", keyFields));
    }
    return out;
  }

  /** Moves {@code spec.acme.config[]} of Certificate {@code c} to the solvers of the issuer it names. */
  private static void solversFromConfig(Resource c, Map<String, IssuerWork> issuers, List<String> changes,
      List<Problem> problems) {
    if (!c.body().path("spec").has("acme")) {
      return;
    }
    JsonNode config = c.body().path("spec").path("acme").path("config");
    JsonNode ref = c.body().path("spec").path("issuerRef");
    String kind = ref.path("kind").asText("").isEmpty() ? "Issuer" : ref.path("kind").asText();
    String issuer = ref.path("name").asText("").trim();
    IssuerWork w = issuers.get(issuerKey(kind, c.namespace(), issuer));
    if (w == null || !w.hasAcme()) {
      problems.add(Problem.of(Severity.WARNING, c, "spec.acme", (w == null ? kind + " " + issuer
          + " is not a " + VERSION + " object of these manifests, so there is no old-format issuer to move it to"
          : kind + " " + issuer + " is not an ACME issuer") + "; ignored (expected: the solvers on the "
          + "issuer, as cert-manager 0.8 moved them)"));
      changes.add("without spec.acme");
      return;
    }
    List<String> moved = new ArrayList<>();
    for (int i = 0; i < config.size(); i++) {
      String field = "spec.acme.config[" + i + "]";
      JsonNode entry = config.get(i);
      ArrayNode domains = JSON.arrayNode();
      entry.path("domains").forEach(d -> domains.add(d.asText().trim()));
      if (domains.isEmpty()) {
        problems.add(Problem.of(Severity.ERROR, c, field + ".domains", "missing (expected: the dnsNames this "
            + "solver is for); the entry is left out"));
        continue;
      }
      boolean http = entry.hasNonNull("http01");
      boolean dns = entry.hasNonNull("dns01");
      if (http == dns) {
        problems.add(Problem.of(Severity.ERROR, c, field, (http ? "both http01 and dns01" : "no solver type")
            + " (expected: exactly one of http01, dns01); the entry is left out"));
        continue;
      }
      ObjectNode solver = JSON.objectNode();
      solver.putObject("selector").set("dnsNames", domains);
      String legacyField;
      if (http) {
        if (!w.http01()) {
          problems.add(Problem.of(Severity.ERROR, c, field + ".http01", w.r.kind() + " " + w.r.name() + " has no "
              + "spec.acme.http01 (expected: http01: {} on the issuer, which enables HTTP-01); the entry is left "
              + "out"));
          continue;
        }
        ObjectNode ingress = JSON.objectNode();
        JsonNode h = entry.get("http01");
        if (!h.path("ingressClass").asText("").isBlank()) {
          ingress.put("class", h.get("ingressClass").asText().trim());
        }
        if (!h.path("ingress").asText("").isBlank()) {
          ingress.put("name", h.get("ingress").asText().trim());
        }
        solver.set("http01", http01(ingress, w));
        legacyField = "spec.acme.http01";
      } else {
        String name = entry.path("dns01").path("provider").asText("").trim();
        JsonNode providers = w.acme.path("dns01").path("providers");
        int j = 0;
        while (j < providers.size() && !providers.get(j).path("name").asText("").trim().equals(name)) {
          j++;
        }
        if (j == providers.size()) {
          List<String> names = new ArrayList<>();
          providers.forEach(p -> names.add(p.path("name").asText("")));
          problems.add(Problem.of(Severity.ERROR, c, field + ".dns01.provider", (name.isEmpty() ? "missing" : name)
              + " (expected: the name of one of " + w.r.kind() + " " + w.r.name() + "'s spec.acme.dns01.providers"
              + (names.isEmpty() ? ", which has none" : ": " + String.join(", ", names)) + "); the entry is left "
              + "out"));
          continue;
        }
        ObjectNode provider = dns01(providers.get(j));
        provider.remove("name");
        solver.set("dns01", provider);
        legacyField = "spec.acme.dns01.providers[" + j + "]";
      }
      String v1 = "spec.acme.solvers[" + (w.acme.path("solvers").size() + add(w, solver)) + "]";
      w.renames.putIfAbsent(v1 + (http ? ".http01" : ".dns01"), legacyField);
      if (!http) {
        DNS01_PROVIDER_KEYS.forEach((old, now) -> w.renames.putIfAbsent(v1 + ".dns01." + now, legacyField + "."
            + old));
      }
      w.from.add(c.kind() + " " + c.key() + "'s " + field);
      moved.add("config[" + i + "] is now " + w.r.kind() + " " + w.r.name() + "'s " + v1);
    }
    changes.add("without spec.acme" + (moved.isEmpty() ? "" : ", whose " + String.join(", ", moved)));
  }

  /** Adds {@code solver} to {@code w}, or its dnsNames to a solver of the same type and settings; returns its index. */
  private static int add(IssuerWork w, ObjectNode solver) {
    ObjectNode settings = solver.deepCopy();
    settings.remove("selector");
    for (int i = 0; i < w.solvers.size(); i++) {
      ObjectNode s = (ObjectNode) w.solvers.get(i);
      ObjectNode other = s.deepCopy();
      other.remove("selector");
      if (other.equals(settings)) {
        ArrayNode names = (ArrayNode) s.path("selector").path("dnsNames");
        solver.path("selector").path("dnsNames").forEach(n -> {
          if (!contains(names, n)) {
            names.add(n);
          }
        });
        return i;
      }
    }
    w.solvers.add(solver);
    return w.solvers.size() - 1;
  }

  private static boolean contains(ArrayNode a, JsonNode n) {
    for (JsonNode x : a) {
      if (x.equals(n)) {
        return true;
      }
    }
    return false;
  }

  /** An old-format {@code dns01.providers[]} entry or a 0.8 solver's {@code dns01}, with v1's provider keys. */
  private static ObjectNode dns01(JsonNode provider) {
    ObjectNode out = JSON.objectNode();
    provider.properties().forEach(e -> out.set(DNS01_PROVIDER_KEYS.getOrDefault(e.getKey(), e.getKey()),
        e.getValue().deepCopy()));
    return out;
  }

  /** A v1 solver's {@code http01}: {@code {ingress: ingress}}, with the issuer's old {@code http01.serviceType}. */
  private static ObjectNode http01(ObjectNode ingress, IssuerWork w) {
    String serviceType = w.acme.path("http01").path("serviceType").asText("");
    if (!serviceType.isBlank()) {
      ingress.put("serviceType", serviceType.trim());
    }
    ObjectNode out = JSON.objectNode();
    out.set("ingress", ingress);
    return out;
  }

  // ---- Issuer, ClusterIssuer ----

  private static ObjectNode issuer(IssuerWork w, List<String> changes, List<Problem> problems) {
    JsonNode spec = w.r.body().path("spec");
    ObjectNode out = head(w.r);
    ObjectNode s = out.putObject("spec");
    for (String f : List.of("ca", "selfSigned", "vault", "venafi")) {
      if (spec.has(f)) {
        s.set(f, spec.get(f).deepCopy());
      }
    }
    if (!w.hasAcme()) {
      return out;
    }
    ObjectNode a = s.putObject("acme");
    for (String f : List.of("server", "email", "skipTLSVerify", "privateKeySecretRef")) {
      if (w.acme.has(f)) {
        a.set(f, w.acme.get(f).deepCopy());
      }
    }
    String email = w.acme.path("email").asText("").trim();
    if (!email.isEmpty() && !email.matches("[^\\s@]+@[^\\s@]+\\.[^\\s@]+")) {
      problems.add(Problem.of(Severity.WARNING, w.r, "spec.acme.email", "\"" + email + "\" is not an email "
          + "address, so the ACME server will refuse the account (expected: e.g. " + email.replace(" ", "") + ")"));
    }
    ArrayNode solvers = a.putArray("solvers");
    JsonNode legacy = w.acme.path("solvers");
    for (int i = 0; i < legacy.size(); i++) {
      ObjectNode sv = legacy.get(i).deepCopy();
      if (sv.has("dns01")) {
        sv.set("dns01", dns01(sv.get("dns01")));
        for (Map.Entry<String, String> e : DNS01_PROVIDER_KEYS.entrySet()) {
          w.renames.put("spec.acme.solvers[" + i + "].dns01." + e.getValue(), "spec.acme.solvers[" + i + "].dns01."
              + e.getKey());
        }
      }
      solvers.add(sv);
    }
    solvers.addAll(w.solvers);
    List<String> replaced = new ArrayList<>();
    if (w.http01()) {
      replaced.add("spec.acme.http01");
      if (solvers.isEmpty()) {
        solvers.addObject().set("http01", http01(JSON.objectNode(), w));
        w.renames.put("spec.acme.solvers[0].http01", "spec.acme.http01");
      }
    }
    if (w.acme.has("dns01")) {
      replaced.add("spec.acme.dns01");
      if (w.acme.path("dns01").path("providers").size() > 0 && w.solvers.findValues("dns01").isEmpty()) {
        problems.add(Problem.of(Severity.WARNING, w.r, "spec.acme.dns01.providers", "no Certificate's "
            + "spec.acme.config names them, so they make no solver; ignored (expected: a Certificate whose "
            + "spec.acme.config[].dns01.provider names one, or spec.acme.solvers)"));
      }
    }
    replaced.addAll(w.from);
    if (solvers.isEmpty()) {
      a.remove("solvers");
    }
    changes.add("with spec.acme.solvers: " + flow(solvers) + (replaced.isEmpty() ? ""
        : " in place of " + String.join(" and ", replaced)));
    return out;
  }

  /** {@code apiVersion}, {@code kind} and the user's {@code metadata}, for the v1 form. */
  private static ObjectNode head(Resource r) {
    ObjectNode out = JSON.objectNode();
    out.put("apiVersion", CertManagerTranslator.GROUP + "/v1");
    out.put("kind", r.kind());
    out.set("metadata", r.body().path("metadata").deepCopy());
    return out;
  }
}
