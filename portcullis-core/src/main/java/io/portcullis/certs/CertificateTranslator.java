package io.portcullis.certs;

import static io.portcullis.certs.CertManagerTranslator.DEFAULT_DURATION;
import static io.portcullis.certs.CertManagerTranslator.GROUP;
import static io.portcullis.certs.CertManagerTranslator.duration;
import static io.portcullis.certs.CertManagerTranslator.firstLine;
import static io.portcullis.certs.CertManagerTranslator.labels;
import static io.portcullis.certs.CertManagerTranslator.lower;
import static io.portcullis.certs.CertManagerTranslator.nullToEmpty;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.fabric8.certmanager.api.model.meta.v1.ObjectReference;
import io.fabric8.certmanager.api.model.v1.Certificate;
import io.fabric8.certmanager.api.model.v1.CertificatePrivateKey;
import io.fabric8.certmanager.api.model.v1.CertificateSpec;
import io.portcullis.certs.IssuerConfig.IssuerRef;
import io.portcullis.config.FieldCheck;
import io.portcullis.config.GoDuration;
import io.portcullis.config.Problem.Severity;
import io.portcullis.config.Problem;
import io.portcullis.config.Resource;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Translates cert-manager {@code Certificate} resources ({@code cert-manager.io/v1}) into {@link CertificateConfig}s:
 * secretName, dnsNames, commonName, issuerRef, duration, renewBefore, privateKey, usages; problems name the
 * resource, the field and what was expected. Pure.
 */
final class CertificateTranslator {
  private static final FieldCheck CERTIFICATE_FIELDS = new FieldCheck("apiVersion", "kind", "metadata.**",
      "status.**", "spec.secretName", "spec.dnsNames[]", "spec.commonName", "spec.issuerRef.name",
      "spec.issuerRef.kind", "spec.issuerRef.group", "spec.duration", "spec.renewBefore",
      "spec.privateKey.algorithm", "spec.privateKey.size", "spec.privateKey.rotationPolicy",
      "spec.privateKey.encoding", "spec.isCA", "spec.usages[]", "spec.secretTemplate.**");
  static final Pattern DNS_NAME = Pattern.compile(
      "(\\*\\.)?([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)(\\.[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)*");
  static final Set<String> USAGES = Set.of("signing", "digital signature", "content commitment",
      "key encipherment", "key agreement", "data encipherment", "cert sign", "crl sign", "encipher only",
      "decipher only", "any", "server auth", "client auth", "code signing", "email protection", "s/mime",
      "ipsec end system", "ipsec tunnel", "ipsec user", "timestamping", "ocsp signing", "microsoft sgc",
      "netscape sgc");
  private final ObjectMapper mapper;

  CertificateTranslator(ObjectMapper mapper) {
    this.mapper = mapper;
  }

  Optional<CertificateConfig> certificate(Resource r, Map<String, IssuerConfig> issuers,
      List<Problem> problems) {
    for (String f : CERTIFICATE_FIELDS.unsupported(r.body())) {
      problems.add(Problem.of(Severity.WARNING, r, f, "not supported by Portcullis; ignored"));
    }
    Certificate c;
    try {
      c = mapper.treeToValue(stripDurations(r.body()), Certificate.class);
    } catch (Exception e) {
      problems.add(Problem.of(Severity.ERROR, r, "", firstLine(e) + " (expected: a valid Certificate)"));
      return Optional.empty();
    }
    CertificateSpec s = c.getSpec();
    if (s == null) {
      problems.add(Problem.of(Severity.ERROR, r, "spec", "missing (expected: secretName, dnsNames, issuerRef)"));
      return Optional.empty();
    }
    int before = problems.size();
    String secretName = nullToEmpty(s.getSecretName()).trim();
    if (secretName.isEmpty()) {
      problems.add(Problem.of(Severity.ERROR, r, "spec.secretName", "missing (expected: the name of the Secret to "
          + "store the certificate in)"));
    }
    List<String> dnsNames = lower(s.getDnsNames() == null ? List.of() : s.getDnsNames());
    for (int i = 0; i < dnsNames.size(); i++) {
      if (!DNS_NAME.matcher(dnsNames.get(i)).matches()) {
        problems.add(Problem.of(Severity.ERROR, r, "spec.dnsNames[" + i + "]", dnsNames.get(i) + " (expected: a DNS "
            + "name, optionally starting with *.)"));
      }
    }
    Optional<String> commonName = Optional.ofNullable(s.getCommonName()).map(String::trim).filter(x -> !x.isEmpty());
    if (dnsNames.isEmpty() && commonName.isEmpty()) {
      problems.add(Problem.of(Severity.ERROR, r, "spec.dnsNames", "missing (expected: at least one of dnsNames or "
          + "commonName)"));
    }
    IssuerRef issuer = issuerRef(r, s.getIssuerRef(), problems);
    Duration duration = duration(r, "spec.duration", r.body().path("spec").path("duration"), problems)
        .orElse(DEFAULT_DURATION);
    if (duration.compareTo(Duration.ofHours(1)) < 0) {
      problems.add(Problem.of(Severity.ERROR, r, "spec.duration", duration + " (expected: at least 1h)"));
    }
    Optional<Duration> renewBefore = duration(r, "spec.renewBefore", r.body().path("spec").path("renewBefore"),
        problems);
    if (renewBefore.isPresent() && (renewBefore.get().compareTo(duration) >= 0
        || renewBefore.get().compareTo(Duration.ofMinutes(5)) < 0)) {
      problems.add(Problem.of(Severity.ERROR, r, "spec.renewBefore", GoDuration.format(renewBefore.get())
          + " (expected: at least 5m and less than spec.duration, " + GoDuration.format(duration) + ")"));
    }
    CertificateConfig.KeySpec key = keySpec(r, s.getPrivateKey(), problems);
    List<String> usages = lower(s.getUsages() == null || s.getUsages().isEmpty()
        ? List.of("digital signature", "key encipherment") : s.getUsages());
    for (int i = 0; i < usages.size(); i++) {
      if (!USAGES.contains(usages.get(i))) {
        problems.add(Problem.of(Severity.ERROR, r, "spec.usages[" + i + "]", usages.get(i) + " (expected: one of "
            + "cert-manager's key usages, e.g. digital signature, key encipherment, server auth, client auth)"));
      }
    }
    if (issuer != null) {
      checkSolvable(r, "spec.dnsNames", dnsNames, labels(r), issuers.get(issuer.key()), problems);
    }
    if (problems.subList(before, problems.size()).stream().anyMatch(p -> p.severity() == Severity.ERROR)
        || issuer == null) {
      return Optional.empty();
    }
    return Optional.of(new CertificateConfig(r.namespace(), r.name(), secretName, commonName, dnsNames, issuer,
        duration, renewBefore, key, Boolean.TRUE.equals(s.getIsCA()), usages, r.source().toString(), labels(r)));
  }

  /** The model's Duration type parses only part of Go's syntax: durations are read from the tree instead. */
  private static JsonNode stripDurations(JsonNode body) {
    JsonNode copy = body.deepCopy();
    if (copy.path("spec") instanceof com.fasterxml.jackson.databind.node.ObjectNode spec) {
      spec.remove("duration");
      spec.remove("renewBefore");
    }
    return copy;
  }

  private IssuerRef issuerRef(Resource r, ObjectReference ref, List<Problem> problems) {
    if (ref == null || nullToEmpty(ref.getName()).isBlank()) {
      problems.add(Problem.of(Severity.ERROR, r, "spec.issuerRef.name", "missing (expected: the name of an Issuer "
          + "or ClusterIssuer)"));
      return null;
    }
    String group = nullToEmpty(ref.getGroup());
    if (!group.isEmpty() && !group.equals(GROUP)) {
      problems.add(Problem.of(Severity.ERROR, r, "spec.issuerRef.group", group + " (expected: cert-manager.io; "
          + "external issuers are not supported)"));
      return null;
    }
    String kind = nullToEmpty(ref.getKind()).isEmpty() ? "Issuer" : ref.getKind();
    if (!kind.equals("Issuer") && !kind.equals("ClusterIssuer")) {
      problems.add(Problem.of(Severity.ERROR, r, "spec.issuerRef.kind", kind + " (expected: Issuer or "
          + "ClusterIssuer)"));
      return null;
    }
    return new IssuerRef(kind, kind.equals("Issuer") ? r.namespace() : "", ref.getName().trim());
  }

  private static CertificateConfig.KeySpec keySpec(Resource r, CertificatePrivateKey k, List<Problem> problems) {
    return keySpec(r, k == null ? "" : nullToEmpty(k.getAlgorithm()), k == null || k.getSize() == null ? 0
        : k.getSize(), k == null ? "" : nullToEmpty(k.getRotationPolicy()), "spec.privateKey.algorithm",
        "spec.privateKey.size", "spec.privateKey.rotationPolicy", problems);
  }

  /**
   * Validates a private key's settings ({@code spec.privateKey}, or the shims' {@code private-key-*} annotations):
   * blank algorithm and rotation and size 0 take the defaults (ECDSA P-256, {@code Always}); problems name the
   * given fields.
   */
  static CertificateConfig.KeySpec keySpec(Resource r, String algorithm, int size, String rotationPolicy,
      String algorithmField, String sizeField, String rotationField, List<Problem> problems) {
    String alg = algorithm.isBlank() ? "ECDSA" : algorithm.trim();
    String rotation = rotationPolicy.isBlank() ? "Always" : rotationPolicy.trim();
    switch (alg) {
      case "ECDSA" -> {
        size = size == 0 ? 256 : size;
        if (size != 256 && size != 384 && size != 521) {
          problems.add(Problem.of(Severity.ERROR, r, sizeField, size + " (expected for ECDSA: 256, 384 or 521)"));
        }
      }
      case "RSA" -> {
        size = size == 0 ? 2048 : size;
        if (size < 2048 || size > 8192) {
          problems.add(Problem.of(Severity.ERROR, r, sizeField, size + " (expected for RSA: 2048 to 8192)"));
        }
      }
      case "Ed25519" -> size = 0;
      default -> problems.add(Problem.of(Severity.ERROR, r, algorithmField, alg + " (expected: ECDSA, RSA or "
          + "Ed25519)"));
    }
    if (!rotation.equals("Always") && !rotation.equals("Never")) {
      problems.add(Problem.of(Severity.ERROR, r, rotationField, rotation + " (expected: Always or Never)"));
    }
    return new CertificateConfig.KeySpec(alg, size, rotation);
  }

  /**
   * Each name needs a solver (cert-manager's selection, {@link IssuerConfig.Acme#solverFor}), and a wildcard name
   * cannot be validated over HTTP-01 (RFC 8555 §8.3): say so now, not as a failed order.
   */
  static void checkSolvable(Resource r, String field, List<String> dnsNames, Map<String, String> labels,
      IssuerConfig issuer, List<Problem> problems) {
    checkSolvable(r, i -> field + "[" + i + "]", dnsNames, labels, issuer, problems);
  }

  /** As above, {@code field} giving the field path of {@code dnsNames[i]}. */
  static void checkSolvable(Resource r, java.util.function.IntFunction<String> field, List<String> dnsNames,
      Map<String, String> labels, IssuerConfig issuer, List<Problem> problems) {
    if (!(issuer instanceof IssuerConfig.Acme acme)) {
      return;
    }
    for (int i = 0; i < dnsNames.size(); i++) {
      String name = dnsNames.get(i);
      Optional<IssuerConfig.Solver> solver = acme.solverFor(name, labels);
      if (solver.isEmpty()) {
        problems.add(Problem.of(Severity.ERROR, r, field.apply(i), name + ": no solver of " + acme.ref()
            + " selects it (expected: a solver without a selector, or one whose selector.dnsNames or "
            + "selector.dnsZones covers the name and whose selector.matchLabels the Certificate carries)"));
      } else if (name.startsWith("*.") && solver.get().http01()) {
        problems.add(Problem.of(Severity.ERROR, r, field.apply(i), name + ": a wildcard name needs a DNS-01 "
            + "solver, and " + acme.ref() + " has only HTTP-01 for it (expected: a name without *., or an issuer "
            + "with a dns01 solver)"));
      }
    }
  }
}
