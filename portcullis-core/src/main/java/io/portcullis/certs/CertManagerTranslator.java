package io.portcullis.certs;

import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import io.fabric8.certmanager.api.model.v1.Certificate;
import io.portcullis.config.GatewayConfig;
import io.portcullis.config.GoDuration;
import io.portcullis.config.Problem.Severity;
import io.portcullis.config.Problem;
import io.portcullis.config.Resource;
import io.portcullis.config.ServerConfig;
import io.portcullis.config.Snapshot;
import io.portcullis.config.gatewayapi.GatewayApiTranslator;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * Turns the {@code cert-manager.io/v1} resources of a {@link Snapshot} ({@code Issuer}, {@code ClusterIssuer},
 * {@code Certificate}; legacy {@code certmanager.k8s.io/v1alpha1} ones are read as their v1 form by
 * {@link LegacyCertManager}) and the secured hosts of its Istio {@code Gateway}s into a {@link CertManagerConfig}.
 *
 * <p>cert-manager's certificate-shim, in-process: the annotations {@link ShimAnnotations} reads
 * ({@code cert-manager.io/cluster-issuer: NAME}, {@code cert-manager.io/issuer: NAME}, ...) make Certificates for an
 * Istio Gateway's servers (secured hosts, Vamp Lamia: {@link SecuredHosts}), an Ingress's {@code spec.tls}
 * ({@link IngressShim}) and a Gateway API Gateway's listeners ({@link GatewayShim}). A Certificate manifest for the
 * same Secret wins over them, as in cert-manager.
 *
 * <p>One class per kind: {@link IssuerTranslator}, {@link CertificateTranslator}, {@link SecuredHosts},
 * {@link IngressShim} and {@link GatewayShim}; this one picks the resources, keeps one Certificate per name and per
 * Secret, and holds the helpers they share.
 *
 * <p>Pure: no I/O, safe on any thread. Bad input becomes ERROR {@link Problem}s naming the resource, the field and
 * what was expected; the resource is left out.
 */
public final class CertManagerTranslator {
  static final String GROUP = "cert-manager.io";
  /** external-dns's annotations, read on Gateways (Vamp Lamia's A record). */
  static final String EXTERNAL_DNS_HOSTNAME = "external-dns.alpha.kubernetes.io/hostname";
  static final String EXTERNAL_DNS_TARGET = "external-dns.alpha.kubernetes.io/target";
  /** cert-manager's default {@code spec.duration}: 90 days. */
  static final Duration DEFAULT_DURATION = Duration.ofDays(90);

  private final ObjectMapper mapper = JsonMapper.builder()
      .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
      .build();
  private final String gatewayNamespace;
  private final String clusterResourceNamespace;
  private final IssuerTranslator issuerTranslator;
  private final CertificateTranslator certificateTranslator;
  private final SecuredHosts securedHosts;
  private final IngressShim ingressShim;
  private final GatewayShim gatewayShim;
  private final DefaultIssuer defaultIssuer;

  /**
   * Creates a translator.
   *
   * @param gatewayNamespace where {@code credentialName} and Ingress TLS Secrets live ({@code --namespace}), hence
   *     where secured hosts' and Ingresses' Certificates are made
   * @param clusterResourceNamespace where Secrets named by a ClusterIssuer live (cert-manager's
   *     {@code --cluster-resource-namespace}; here the gateway namespace)
   * @param defaultIssuer the issuer of an Ingress annotated only {@code kubernetes.io/tls-acme: "true"}
   */
  public CertManagerTranslator(String gatewayNamespace, String clusterResourceNamespace,
      DefaultIssuer defaultIssuer) {
    this.gatewayNamespace = requireNonNull(gatewayNamespace, "gatewayNamespace");
    this.clusterResourceNamespace = requireNonNull(clusterResourceNamespace, "clusterResourceNamespace");
    this.defaultIssuer = requireNonNull(defaultIssuer, "defaultIssuer");
    this.issuerTranslator = new IssuerTranslator(mapper, clusterResourceNamespace);
    this.certificateTranslator = new CertificateTranslator(mapper);
    this.securedHosts = new SecuredHosts(gatewayNamespace);
    this.ingressShim = new IngressShim(defaultIssuer);
    this.gatewayShim = new GatewayShim(defaultIssuer);
  }

  /** A translator without a default issuer ({@link DefaultIssuer#NONE}). */
  public CertManagerTranslator(String gatewayNamespace, String clusterResourceNamespace) {
    this(gatewayNamespace, clusterResourceNamespace, DefaultIssuer.NONE);
  }

  /**
   * Translates {@code snapshot}; never throws for bad input.
   *
   * @param gateway the same snapshot as {@link io.portcullis.config.ConfigTranslator} translated it: the validated
   *     Gateway servers (secured hosts and Ingresses' Certificates come from them); a Secret among the snapshot's
   *     manifests gets no Certificate from a shim
   */
  public CertManagerConfig translate(Snapshot snapshot, GatewayConfig gateway) {
    List<Problem> problems = new ArrayList<>();
    Set<String> manifestSecrets = new HashSet<>();
    Map<String, IssuerConfig> issuers = new LinkedHashMap<>();
    List<Resource> certificates = new ArrayList<>();
    Map<String, Resource> gateways = new LinkedHashMap<>();
    Map<String, Resource> ingresses = new LinkedHashMap<>();
    List<Resource> apiGateways = new ArrayList<>();
    Set<String> ourClasses = new HashSet<>();
    // certmanager.k8s.io/v1alpha1 objects are read as their cert-manager.io/v1 form (LegacyCertManager)
    LegacyCertManager.Conversion legacy = LegacyCertManager.convert(snapshot.resources(), problems);
    for (Resource r : legacy.resources()) {
      if (r.group().equals(GROUP)) {
        if (!r.apiVersion().equals(GROUP + "/v1")) {
          problems.add(Problem.of(Severity.ERROR, r, "apiVersion", r.apiVersion() + " (expected: cert-manager.io/v1)"));
          continue;
        }
        switch (r.kind()) {
          case "Issuer", "ClusterIssuer" -> issuerTranslator.issuer(r, problems).ifPresent(i -> {
            if (issuers.putIfAbsent(i.ref().key(), i) != null) {
              problems.add(Problem.of(Severity.ERROR, r, "metadata.name", "a second " + i.ref()
                  + " (expected: one per name); this one is ignored"));
            }
          });
          case "Certificate" -> certificates.add(r);
          default -> problems.add(Problem.of(Severity.INFO, r, "", "kind " + r.kind()
              + " is not used by the certificate manager; ignored"));
        }
      } else if (r.group().isEmpty() && r.kind().equals("Secret")
          && !r.body().path("metadata").path("annotations").has("cert-manager.io/certificate-name")) {
        // a Secret cert-manager (or this gateway, into the Kubernetes API) issued is a Certificate's, not the user's
        manifestSecrets.add(r.key());
      } else if (r.group().equals("networking.istio.io") && r.kind().equals("Gateway")) {
        gateways.put(r.key(), r);
      } else if (r.kind().equals("Ingress") && (r.group().equals("networking.k8s.io")
          || r.group().equals("extensions"))) {
        ingresses.put(r.id(), r);
      } else if (r.group().equals(GatewayShim.GROUP) && r.kind().equals("Gateway")) {
        apiGateways.add(r);
      } else if (r.group().equals(GatewayShim.GROUP) && r.kind().equals("GatewayClass")
          && GatewayApiTranslator.CONTROLLER.equals(r.body().path("spec").path("controllerName").asText())) {
        ourClasses.add(r.name());
      }
    }
    Map<String, CertificateConfig> certs = new LinkedHashMap<>();
    Map<String, String> secretOwner = new LinkedHashMap<>();
    for (Resource r : certificates) {
      certificateTranslator.certificate(r, issuers, problems).ifPresent(c -> add(c, r, certs, secretOwner, problems));
    }
    List<CertManagerConfig.AddressRecord> addressRecords = new ArrayList<>();
    List<ServerConfig> servers = gateway.listeners().values().stream().flatMap(l -> l.servers().stream())
        .sorted(Comparator.comparing(ServerConfig::gateway).thenComparingInt(ServerConfig::index)).toList();
    Map<String, List<ServerConfig>> serversByGateway = new LinkedHashMap<>();
    servers.forEach(sc -> serversByGateway.computeIfAbsent(sc.gateway(), k -> new ArrayList<>()).add(sc));
    for (Map.Entry<String, List<ServerConfig>> e : serversByGateway.entrySet()) {
      Resource g = gateways.get(e.getKey());
      if (g == null) {
        continue;
      }
      Optional<ShimAnnotations> shim = ShimAnnotations.read(g, false, defaultIssuer, gatewayNamespace, problems);
      securedHosts.addressRecords(g, e.getValue(), shim, problems, addressRecords);
      if (shim.isEmpty()) {
        continue;
      }
      for (CertificateConfig c : securedHosts.securedHosts(g, e.getValue(), shim.get(), issuers,
          manifestSecrets, problems)) {
        // a Certificate manifest for that Secret wins, as in cert-manager
        if (!secretOwner.containsKey(c.secretKey())) {
          add(c, g, certs, secretOwner, problems);
        }
      }
    }
    List<ShimAnnotations.Made> made = new ArrayList<>(ingressShim.certificates(ingresses, servers, issuers,
        manifestSecrets, problems));
    made.addAll(gatewayShim.certificates(apiGateways, ourClasses, issuers, manifestSecrets, problems));
    for (ShimAnnotations.Made m : made) {
      CertificateConfig c = m.certificate();
      String owner = secretOwner.get(c.secretKey());
      if (owner == null) {
        add(c, m.from(), certs, secretOwner, problems);
      } else {
        // a Certificate manifest wins, as in cert-manager (which leaves a Certificate it does not own alone)
        problems.add(Problem.of(Severity.WARNING, m.from(), m.secretField(), "Secret " + c.secretKey() + " is "
            + "issued by Certificate " + owner + " (" + certs.get(owner).origin() + "); no second Certificate is made "
            + "for it (expected: one Certificate per Secret)"));
      }
    }
    return new CertManagerConfig(issuers, certs, legacy.relabel(problems), addressRecords);
  }

  private static void add(CertificateConfig c, Resource from, Map<String, CertificateConfig> certs,
      Map<String, String> secretOwner, List<Problem> problems) {
    if (certs.containsKey(c.key())) {
      problems.add(Problem.of(Severity.ERROR, from, "metadata.name", "Certificate " + c.key()
          + " is defined twice (expected: one per name); this one is ignored"));
      return;
    }
    String owner = secretOwner.putIfAbsent(c.secretKey(), c.key());
    if (owner != null) {
      problems.add(Problem.of(Severity.ERROR, from, "spec.secretName", c.secretName() + " is already the Secret of "
          + "Certificate " + owner + " (expected: one Certificate per Secret); this one is ignored"));
      return;
    }
    certs.put(c.key(), c);
  }


  /** {@code host}, {@code host:port} or {@code [v6]:port}, as cert-manager's rfc2136 {@code nameserver}. */
  public static Optional<java.net.InetSocketAddress> parseHostPort(String s, int defaultPort) {
    String host = s;
    int port = defaultPort;
    try {
      if (s.startsWith("[")) {
        int end = s.indexOf(']');
        host = s.substring(1, end);
        if (end + 1 < s.length()) {
          port = Integer.parseInt(s.substring(end + 2));
        }
      } else if (s.indexOf(':') > 0 && s.indexOf(':') == s.lastIndexOf(':')) {
        host = s.substring(0, s.indexOf(':'));
        port = Integer.parseInt(s.substring(s.indexOf(':') + 1));
      }
    } catch (RuntimeException e) {
      return Optional.empty();
    }
    if (host.isEmpty() || port < 1 || port > 65535) {
      return Optional.empty();
    }
    return Optional.of(java.net.InetSocketAddress.createUnresolved(host, port));
  }

  /** {@code metadata.labels} of a resource. */
  static Map<String, String> labels(Resource r) {
    Map<String, String> out = new java.util.LinkedHashMap<>();
    r.body().path("metadata").path("labels").fields().forEachRemaining(e -> out.put(e.getKey(), e.getValue()
        .asText()));
    return out;
  }

  // ---- helpers ----

  static Optional<Duration> duration(Resource r, String field, JsonNode node, List<Problem> problems) {
    if (node.isMissingNode() || node.isNull() || node.asText("").isBlank()) {
      return Optional.empty();
    }
    Optional<Duration> d = GoDuration.parse(node.asText());
    if (d.isEmpty()) {
      problems.add(Problem.of(Severity.ERROR, r, field, node.asText() + " (expected: a Go duration such as 2160h or "
          + "720h30m)"));
    }
    return d;
  }

  static List<String> lower(List<String> in) {
    return in.stream().map(x -> x == null ? "" : x.trim().toLowerCase(Locale.ROOT)).toList();
  }

  static String nullToEmpty(String s) {
    return s == null ? "" : s;
  }

  static String firstLine(Exception e) {
    String m = e.getMessage() == null ? e.toString() : e.getMessage();
    return m.split("\n")[0];
  }
}
