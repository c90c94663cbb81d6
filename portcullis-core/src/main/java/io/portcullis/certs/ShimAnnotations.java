package io.portcullis.certs;

import static io.portcullis.certs.CertManagerTranslator.DEFAULT_DURATION;
import static io.portcullis.certs.CertManagerTranslator.GROUP;

import com.fasterxml.jackson.databind.JsonNode;
import io.portcullis.certs.IssuerConfig.IssuerRef;
import io.portcullis.config.GoDuration;
import io.portcullis.config.Problem.Severity;
import io.portcullis.config.Problem;
import io.portcullis.config.Resource;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * The cert-manager annotations on an Ingress, a Gateway API {@code Gateway} or an Istio {@code Gateway} that ask for
 * Certificates (cert-manager's certificate-shim, {@code pkg/controller/certificate-shim}): which issuer
 * ({@code cert-manager.io/issuer}, {@code cluster-issuer}, {@code issuer-kind}, {@code issuer-group}; on an Ingress
 * also {@code kubernetes.io/tls-acme: "true"} with the {@link DefaultIssuer}) and the Certificate's settings
 * ({@code common-name}, {@code duration}, {@code renew-before}, {@code usages}, {@code private-key-algorithm},
 * {@code private-key-size}, {@code private-key-rotation-policy}). Problems name the annotation
 * ({@code metadata.annotations.cert-manager.io/duration}); other {@code cert-manager.io/} annotations are reported as
 * not supported. Pure.
 *
 * @param issuer the issuer resolved: an {@code Issuer} in the namespace given to {@link #read}, or a
 *     {@code ClusterIssuer}
 * @param issuerField the annotation that chose it, as a field path (problems about the issuer name it)
 * @param commonName {@code cert-manager.io/common-name}, or empty
 * @param duration {@code cert-manager.io/duration} (default 90 days)
 * @param renewBefore {@code cert-manager.io/renew-before}, or empty for renewal at 2/3 of the lifetime
 * @param privateKey the {@code private-key-*} annotations (default ECDSA P-256, rotation {@code Always})
 * @param usages {@code cert-manager.io/usages}, comma-separated (default digital signature, key encipherment)
 */
record ShimAnnotations(IssuerRef issuer, String issuerField, Optional<String> commonName, Duration duration,
    Optional<Duration> renewBefore, CertificateConfig.KeySpec privateKey, List<String> usages) {
  static final String ISSUER = "cert-manager.io/issuer";
  static final String CLUSTER_ISSUER = "cert-manager.io/cluster-issuer";
  static final String ISSUER_KIND = "cert-manager.io/issuer-kind";
  static final String ISSUER_GROUP = "cert-manager.io/issuer-group";
  static final String TLS_ACME = "kubernetes.io/tls-acme";
  private static final String COMMON_NAME = "cert-manager.io/common-name";
  private static final String DURATION = "cert-manager.io/duration";
  private static final String RENEW_BEFORE = "cert-manager.io/renew-before";
  private static final String USAGES = "cert-manager.io/usages";
  private static final String KEY_ALGORITHM = "cert-manager.io/private-key-algorithm";
  private static final String KEY_SIZE = "cert-manager.io/private-key-size";
  private static final String KEY_ROTATION = "cert-manager.io/private-key-rotation-policy";
  private static final Set<String> READ = Set.of(ISSUER, CLUSTER_ISSUER, ISSUER_KIND, ISSUER_GROUP, COMMON_NAME,
      DURATION, RENEW_BEFORE, USAGES, KEY_ALGORITHM, KEY_SIZE, KEY_ROTATION);
  private static final String AT = "metadata.annotations.";

  ShimAnnotations {
    usages = List.copyOf(usages);
  }

  /**
   * Reads the annotations of {@code r}.
   *
   * @param autoAnnotation whether {@code kubernetes.io/tls-acme: "true"} asks too (cert-manager reads it on
   *     Ingresses only)
   * @param defaults the issuer when no issuer annotation names one
   * @param issuerNamespace where an {@code Issuer} (not a ClusterIssuer) is looked up
   * @return empty when {@code r} asks for no Certificate, or asks wrongly (then ERROR problems name the annotation)
   */
  static Optional<ShimAnnotations> read(Resource r, boolean autoAnnotation, DefaultIssuer defaults,
      String issuerNamespace, List<Problem> problems) {
    JsonNode a = r.body().path("metadata").path("annotations");
    Optional<String> issuer = text(a, ISSUER);
    Optional<String> clusterIssuer = text(a, CLUSTER_ISSUER);
    boolean auto = autoAnnotation && text(a, TLS_ACME).map(v -> v.equalsIgnoreCase("true") || v.equals("1")
        || v.equals("t") || v.equals("T")).orElse(false);
    if (issuer.isEmpty() && clusterIssuer.isEmpty() && !auto) {
      return Optional.empty();
    }
    int before = problems.size();
    String name = defaults.name();
    String kind = defaults.kind();
    String group = defaults.group();
    String field = AT + TLS_ACME;
    if (issuer.isPresent()) {
      name = issuer.get();
      kind = "Issuer";
      field = AT + ISSUER;
    }
    if (clusterIssuer.isPresent()) {
      name = clusterIssuer.get();
      kind = "ClusterIssuer";
      field = AT + CLUSTER_ISSUER;
    }
    Optional<String> kindAnnotation = text(a, ISSUER_KIND);
    Optional<String> groupAnnotation = text(a, ISSUER_GROUP);
    kind = kindAnnotation.orElse(kind);
    group = groupAnnotation.orElse(group);
    if (issuer.isPresent() && clusterIssuer.isPresent()) {
      problems.add(Problem.of(Severity.ERROR, r, AT + CLUSTER_ISSUER, "set together with " + ISSUER + " (expected: "
          + "one of them, as cert-manager requires); no Certificate is made"));
    }
    if (clusterIssuer.isPresent() && (kindAnnotation.isPresent() || groupAnnotation.isPresent())) {
      problems.add(Problem.of(Severity.ERROR, r, AT + (kindAnnotation.isPresent() ? ISSUER_KIND : ISSUER_GROUP),
          "set together with " + CLUSTER_ISSUER + " (expected: issuer-kind and issuer-group only with " + ISSUER
          + ", as cert-manager requires); no Certificate is made"));
    }
    if (name.isEmpty()) {
      problems.add(Problem.of(Severity.ERROR, r, field, (field.endsWith(TLS_ACME) ? "\"true\" but the gateway has "
          + "no --default-issuer-name" : "empty") + " (expected: an issuer name in " + ISSUER + " or "
          + CLUSTER_ISSUER + ", or --default-issuer-name); no Certificate is made"));
    }
    if (!group.equals(GROUP)) {
      problems.add(Problem.of(Severity.ERROR, r, groupAnnotation.isPresent() ? AT + ISSUER_GROUP : field, group
          + ": external issuers are not served here (expected: " + GROUP + ")"));
    }
    if (!kind.equals("Issuer") && !kind.equals("ClusterIssuer")) {
      problems.add(Problem.of(Severity.ERROR, r, kindAnnotation.isPresent() ? AT + ISSUER_KIND : field, kind
          + " (expected: Issuer or ClusterIssuer)"));
    }
    a.fieldNames().forEachRemaining(k -> {
      if (k.startsWith("cert-manager.io/") && !READ.contains(k)) {
        problems.add(Problem.of(Severity.WARNING, r, AT + k, "not supported by Portcullis; ignored"));
      }
    });
    Optional<String> commonName = text(a, COMMON_NAME);
    Duration duration = duration(r, a, DURATION, problems).orElse(DEFAULT_DURATION);
    if (duration.compareTo(Duration.ofHours(1)) < 0) {
      problems.add(Problem.of(Severity.ERROR, r, AT + DURATION, GoDuration.format(duration) + " (expected: at "
          + "least 1h)"));
    }
    Optional<Duration> renewBefore = duration(r, a, RENEW_BEFORE, problems);
    if (renewBefore.isPresent() && (renewBefore.get().compareTo(duration) >= 0
        || renewBefore.get().compareTo(Duration.ofMinutes(5)) < 0)) {
      problems.add(Problem.of(Severity.ERROR, r, AT + RENEW_BEFORE, GoDuration.format(renewBefore.get())
          + " (expected: at least 5m and less than the duration, " + GoDuration.format(duration) + ")"));
    }
    List<String> usages = new ArrayList<>();
    for (String u : text(a, USAGES).orElse("digital signature,key encipherment").split(",")) {
      String usage = u.trim().toLowerCase(Locale.ROOT);
      if (!CertificateTranslator.USAGES.contains(usage)) {
        problems.add(Problem.of(Severity.ERROR, r, AT + USAGES, usage + " (expected: cert-manager's key usages, "
            + "comma-separated, e.g. digital signature,key encipherment,server auth)"));
      }
      usages.add(usage);
    }
    int size = 0;
    Optional<String> sizeText = text(a, KEY_SIZE);
    if (sizeText.isPresent()) {
      try {
        size = Integer.parseInt(sizeText.get());
      } catch (NumberFormatException e) {
        problems.add(Problem.of(Severity.ERROR, r, AT + KEY_SIZE, sizeText.get() + " (expected: a key size in bits, "
            + "e.g. 256 or 2048)"));
      }
    }
    CertificateConfig.KeySpec key = CertificateTranslator.keySpec(r, text(a, KEY_ALGORITHM).orElse(""), size,
        text(a, KEY_ROTATION).orElse(""), AT + KEY_ALGORITHM, AT + KEY_SIZE, AT + KEY_ROTATION, problems);
    if (problems.subList(before, problems.size()).stream().anyMatch(p -> p.severity() == Severity.ERROR)) {
      return Optional.empty();
    }
    IssuerRef ref = new IssuerRef(kind, kind.equals("Issuer") ? issuerNamespace : "", name);
    return Optional.of(new ShimAnnotations(ref, field, commonName, duration, renewBefore, key, usages));
  }

  /**
   * The Certificate cert-manager's shim makes for one Secret: named after it, {@code dnsNames} as given.
   *
   * @param origin where it came from, as {@code portcullis certs} and problems show it, e.g.
   *     {@code Ingress default/web (cert-manager.io/cluster-issuer)}
   */
  CertificateConfig certificate(String namespace, String secretName, List<String> dnsNames, String origin) {
    return new CertificateConfig(namespace, secretName, secretName, commonName, dnsNames, issuer, duration,
        renewBefore, privateKey, false, usages, origin, Map.of());
  }

  /** The annotation that chose the issuer, without {@code metadata.annotations.}. */
  String issuerAnnotation() {
    return issuerField.substring(AT.length());
  }

  private static Optional<String> text(JsonNode annotations, String key) {
    JsonNode v = annotations.path(key);
    return v.isMissingNode() || v.isNull() ? Optional.empty() : Optional.of(v.asText("").trim());
  }

  private static Optional<Duration> duration(Resource r, JsonNode annotations, String key, List<Problem> problems) {
    return CertManagerTranslator.duration(r, AT + key, annotations.path(key), problems);
  }

  /**
   * A Certificate a shim made, with what asked for it.
   *
   * @param certificate the Certificate
   * @param from the Ingress or Gateway whose annotations asked for it
   * @param secretField the field naming its Secret there ({@code spec.tls[0].secretName},
   *     {@code spec.listeners[1].tls.certificateRefs[0].name})
   */
  record Made(CertificateConfig certificate, Resource from, String secretField) {}
}
