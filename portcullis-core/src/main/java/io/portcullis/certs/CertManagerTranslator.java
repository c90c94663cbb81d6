package io.portcullis.certs;

import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import io.fabric8.certmanager.api.model.acme.v1.ACMEChallengeSolver;
import io.fabric8.certmanager.api.model.acme.v1.ACMEChallengeSolverDNS01;
import io.fabric8.certmanager.api.model.acme.v1.CertificateDNSNameSelector;
import io.fabric8.certmanager.api.model.acme.v1.ACMEExternalAccountBinding;
import io.fabric8.certmanager.api.model.acme.v1.ACMEIssuer;
import io.fabric8.certmanager.api.model.meta.v1.ObjectReference;
import io.fabric8.certmanager.api.model.v1.Certificate;
import io.fabric8.certmanager.api.model.v1.CertificatePrivateKey;
import io.fabric8.certmanager.api.model.v1.CertificateSpec;
import io.fabric8.certmanager.api.model.v1.IssuerSpec;
import io.portcullis.certs.IssuerConfig.IssuerRef;
import io.portcullis.config.FieldCheck;
import io.portcullis.config.GatewayConfig;
import io.portcullis.config.GoDuration;
import io.portcullis.config.Problem.Severity;
import io.portcullis.config.Problem;
import io.portcullis.config.Resource;
import io.portcullis.config.ServerConfig;
import io.portcullis.config.Snapshot;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Turns the {@code cert-manager.io/v1} resources of a {@link Snapshot} ({@code Issuer}, {@code ClusterIssuer},
 * {@code Certificate}) and the secured hosts of its Istio {@code Gateway}s into a {@link CertManagerConfig}.
 *
 * <p>Secured hosts (cert-manager's gateway-shim, Vamp Lamia): a Gateway annotated
 * {@code cert-manager.io/cluster-issuer: NAME} or {@code cert-manager.io/issuer: NAME} gets one Certificate per
 * {@code credentialName} of its HTTPS servers whose Secret is not in the manifests: named after the Secret, in the
 * gateway namespace, with the servers' hosts as {@code dnsNames}.
 *
 * <p>Pure: no I/O, safe on any thread. Bad input becomes ERROR {@link Problem}s naming the resource, the field and
 * what was expected; the resource is left out.
 */
public final class CertManagerTranslator {
  static final String GROUP = "cert-manager.io";
  static final String CLUSTER_ISSUER_ANNOTATION = "cert-manager.io/cluster-issuer";
  static final String ISSUER_ANNOTATION = "cert-manager.io/issuer";
  /** external-dns's annotations, read on Gateways (Vamp Lamia's A record). */
  static final String EXTERNAL_DNS_HOSTNAME = "external-dns.alpha.kubernetes.io/hostname";
  static final String EXTERNAL_DNS_TARGET = "external-dns.alpha.kubernetes.io/target";
  /** cert-manager's default {@code spec.duration}: 90 days. */
  static final Duration DEFAULT_DURATION = Duration.ofDays(90);
  private static final Pattern DNS_NAME = Pattern.compile(
      "(\\*\\.)?([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)(\\.[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)*");
  private static final Set<String> USAGES = Set.of("signing", "digital signature", "content commitment",
      "key encipherment", "key agreement", "data encipherment", "cert sign", "crl sign", "encipher only",
      "decipher only", "any", "server auth", "client auth", "code signing", "email protection", "s/mime",
      "ipsec end system", "ipsec tunnel", "ipsec user", "timestamping", "ocsp signing", "microsoft sgc",
      "netscape sgc");
  private static final FieldCheck ISSUER_FIELDS = new FieldCheck("apiVersion", "kind", "metadata.**", "status.**",
      "spec.selfSigned", "spec.selfSigned.crlDistributionPoints[]", "spec.ca.secretName", "spec.acme.server",
      "spec.acme.email", "spec.acme.privateKeySecretRef.name", "spec.acme.privateKeySecretRef.key",
      "spec.acme.skipTLSVerify", "spec.acme.caBundle", "spec.acme.externalAccountBinding.keyID",
      "spec.acme.externalAccountBinding.keySecretRef.name", "spec.acme.externalAccountBinding.keySecretRef.key",
      "spec.acme.externalAccountBinding.keyAlgorithm", "spec.acme.profile", "spec.acme.solvers[].http01.**",
      "spec.acme.solvers[].dns01.cnameStrategy", "spec.acme.solvers[].dns01.rfc2136.**",
      "spec.acme.solvers[].dns01.cloudflare.**", "spec.acme.solvers[].dns01.route53.**",
      "spec.acme.solvers[].dns01.cloudDNS.**", "spec.acme.solvers[].dns01.acmeDNS.**",
      "spec.acme.solvers[].dns01.powerdns.**", "spec.acme.solvers[].selector.dnsNames[]",
      "spec.acme.solvers[].selector.dnsZones[]", "spec.acme.solvers[].selector.matchLabels.*");
  private static final FieldCheck CERTIFICATE_FIELDS = new FieldCheck("apiVersion", "kind", "metadata.**",
      "status.**", "spec.secretName", "spec.dnsNames[]", "spec.commonName", "spec.issuerRef.name",
      "spec.issuerRef.kind", "spec.issuerRef.group", "spec.duration", "spec.renewBefore",
      "spec.privateKey.algorithm", "spec.privateKey.size", "spec.privateKey.rotationPolicy",
      "spec.privateKey.encoding", "spec.isCA", "spec.usages[]", "spec.secretTemplate.**");

  private final ObjectMapper mapper = JsonMapper.builder()
      .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
      .build();
  private final String gatewayNamespace;
  private final String clusterResourceNamespace;

  /**
   * Creates a translator.
   *
   * @param gatewayNamespace where {@code credentialName} Secrets live ({@code --namespace}), hence where secured
   *     hosts' Certificates are made
   * @param clusterResourceNamespace where Secrets named by a ClusterIssuer live (cert-manager's
   *     {@code --cluster-resource-namespace}; here the gateway namespace)
   */
  public CertManagerTranslator(String gatewayNamespace, String clusterResourceNamespace) {
    this.gatewayNamespace = requireNonNull(gatewayNamespace, "gatewayNamespace");
    this.clusterResourceNamespace = requireNonNull(clusterResourceNamespace, "clusterResourceNamespace");
  }

  /**
   * Translates {@code snapshot}; never throws for bad input.
   *
   * @param gateway the same snapshot as {@link io.portcullis.config.ConfigTranslator} translated it: the validated
   *     Gateway servers (secured hosts come from them) and the Secrets of the manifests (a secured host whose Secret
   *     is among them gets no Certificate)
   */
  public CertManagerConfig translate(Snapshot snapshot, GatewayConfig gateway) {
    List<Problem> problems = new ArrayList<>();
    Map<String, IssuerConfig> issuers = new LinkedHashMap<>();
    List<Resource> certificates = new ArrayList<>();
    Map<String, Resource> gateways = new LinkedHashMap<>();
    for (Resource r : snapshot.resources()) {
      if (r.group().equals(GROUP)) {
        if (!r.apiVersion().equals(GROUP + "/v1")) {
          problems.add(Problem.of(Severity.ERROR, r, "apiVersion", r.apiVersion() + " (expected: cert-manager.io/v1)"));
          continue;
        }
        switch (r.kind()) {
          case "Issuer", "ClusterIssuer" -> issuer(r, problems).ifPresent(i -> {
            if (issuers.putIfAbsent(i.ref().key(), i) != null) {
              problems.add(Problem.of(Severity.ERROR, r, "metadata.name", "a second " + i.ref()
                  + " (expected: one per name); this one is ignored"));
            }
          });
          case "Certificate" -> certificates.add(r);
          default -> problems.add(Problem.of(Severity.INFO, r, "", "kind " + r.kind()
              + " is not used by the certificate manager; ignored"));
        }
      } else if (r.group().equals("networking.istio.io") && r.kind().equals("Gateway")) {
        gateways.put(r.key(), r);
      }
    }
    Map<String, CertificateConfig> certs = new LinkedHashMap<>();
    Map<String, String> secretOwner = new LinkedHashMap<>();
    for (Resource r : certificates) {
      certificate(r, issuers, problems).ifPresent(c -> add(c, r, certs, secretOwner, problems));
    }
    List<CertManagerConfig.AddressRecord> addressRecords = new ArrayList<>();
    Map<String, List<ServerConfig>> serversByGateway = new LinkedHashMap<>();
    gateway.listeners().values().stream().flatMap(l -> l.servers().stream())
        .sorted(Comparator.comparing(ServerConfig::gateway).thenComparingInt(ServerConfig::index))
        .forEach(sc -> serversByGateway.computeIfAbsent(sc.gateway(), k -> new ArrayList<>()).add(sc));
    for (Map.Entry<String, List<ServerConfig>> e : serversByGateway.entrySet()) {
      Resource g = gateways.get(e.getKey());
      if (g == null) {
        continue;
      }
      addressRecords(g, e.getValue(), issuers, problems, addressRecords);
      for (CertificateConfig c : securedHosts(g, e.getValue(), issuers, gateway.secrets().keySet(), problems)) {
        if (!secretOwner.containsKey(c.secretKey())) { // a Certificate manifest for that Secret wins, as in cert-manager
          add(c, g, certs, secretOwner, problems);
        }
      }
    }
    return new CertManagerConfig(issuers, certs, problems, addressRecords);
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

  // ---- issuers ----

  private Optional<IssuerConfig> issuer(Resource r, List<Problem> problems) {
    for (String f : ISSUER_FIELDS.unsupported(r.body())) {
      problems.add(Problem.of(Severity.WARNING, r, f, "not supported by Portcullis; ignored"));
    }
    boolean cluster = r.kind().equals("ClusterIssuer");
    IssuerRef ref = new IssuerRef(r.kind(), cluster ? "" : r.namespace(), r.name());
    String secretNamespace = cluster ? clusterResourceNamespace : r.namespace();
    IssuerSpec spec;
    try {
      // Issuer and ClusterIssuer share their spec.
      spec = mapper.treeToValue(r.body().path("spec"), IssuerSpec.class);
    } catch (Exception e) {
      problems.add(Problem.of(Severity.ERROR, r, "spec", firstLine(e) + " (expected: a valid " + r.kind() + " spec)"));
      return Optional.empty();
    }
    if (spec == null) {
      problems.add(Problem.of(Severity.ERROR, r, "spec", "missing (expected: one of acme, ca, selfSigned)"));
      return Optional.empty();
    }
    int kinds = (spec.getAcme() != null ? 1 : 0) + (spec.getCa() != null ? 1 : 0)
        + (spec.getSelfSigned() != null ? 1 : 0);
    if (spec.getVault() != null || spec.getVenafi() != null) {
      problems.add(Problem.of(Severity.ERROR, r, spec.getVault() != null ? "spec.vault" : "spec.venafi",
          "not supported by Portcullis (expected: one of acme, ca, selfSigned)"));
      return Optional.empty();
    }
    if (kinds != 1) {
      problems.add(Problem.of(Severity.ERROR, r, "spec", (kinds == 0 ? "no issuer type" : "more than one issuer type")
          + " (expected: exactly one of acme, ca, selfSigned)"));
      return Optional.empty();
    }
    if (spec.getSelfSigned() != null) {
      return Optional.of(new IssuerConfig.SelfSigned(ref));
    }
    if (spec.getCa() != null) {
      String secret = spec.getCa().getSecretName();
      if (secret == null || secret.isBlank()) {
        problems.add(Problem.of(Severity.ERROR, r, "spec.ca.secretName", "missing (expected: the name of a Secret "
            + "with tls.crt and tls.key of the CA, in " + secretNamespace + ")"));
        return Optional.empty();
      }
      return Optional.of(new IssuerConfig.Ca(ref, secretNamespace + "/" + secret.trim()));
    }
    return acme(r, ref, spec.getAcme(), secretNamespace, problems);
  }

  private Optional<IssuerConfig> acme(Resource r, IssuerRef ref, ACMEIssuer a, String secretNamespace,
      List<Problem> problems) {
    int before = problems.size();
    String server = a.getServer() == null ? "" : a.getServer().trim();
    if (!server.startsWith("https://") && !server.startsWith("http://")) {
      problems.add(Problem.of(Severity.ERROR, r, "spec.acme.server", (server.isEmpty() ? "missing" : server)
          + " (expected: the ACME directory URL, e.g. https://acme-v02.api.letsencrypt.org/directory)"));
    }
    String accountKey = a.getPrivateKeySecretRef() == null ? "" : nullToEmpty(a.getPrivateKeySecretRef().getName());
    if (accountKey.isBlank()) {
      problems.add(Problem.of(Severity.ERROR, r, "spec.acme.privateKeySecretRef.name", "missing (expected: the name "
          + "of the Secret that keeps the ACME account key; it is created if missing)"));
    }
    byte[] caBundle = new byte[0];
    if (a.getCaBundle() != null && !a.getCaBundle().isBlank()) {
      try {
        caBundle = Base64.getMimeDecoder().decode(a.getCaBundle().trim());
      } catch (IllegalArgumentException e) {
        problems.add(Problem.of(Severity.ERROR, r, "spec.acme.caBundle", "not valid base64 (expected: base64 of PEM "
            + "CA certificates)"));
      }
    }
    Optional<IssuerConfig.ExternalAccountBinding> eab = Optional.empty();
    ACMEExternalAccountBinding e = a.getExternalAccountBinding();
    if (e != null) {
      String keySecret = e.getKeySecretRef() == null ? "" : nullToEmpty(e.getKeySecretRef().getName());
      if (nullToEmpty(e.getKeyID()).isBlank() || keySecret.isBlank()) {
        problems.add(Problem.of(Severity.ERROR, r, "spec.acme.externalAccountBinding", "keyID and keySecretRef.name "
            + "are required (expected: the key id and the Secret holding the base64url MAC key from the CA)"));
      } else {
        String field = e.getKeySecretRef().getKey() == null || e.getKeySecretRef().getKey().isBlank() ? "secret"
            : e.getKeySecretRef().getKey();
        String alg = e.getKeyAlgorithm() == null || e.getKeyAlgorithm().isBlank() ? "HS256" : e.getKeyAlgorithm();
        if (!Set.of("HS256", "HS384", "HS512").contains(alg)) {
          problems.add(Problem.of(Severity.ERROR, r, "spec.acme.externalAccountBinding.keyAlgorithm", alg
              + " (expected: HS256, HS384 or HS512)"));
        }
        eab = Optional.of(new IssuerConfig.ExternalAccountBinding(e.getKeyID(), secretNamespace + "/" + keySecret,
            field, alg));
      }
    }
    List<IssuerConfig.Solver> solvers = new ArrayList<>();
    List<ACMEChallengeSolver> raw = a.getSolvers() == null ? List.of() : a.getSolvers();
    for (int i = 0; i < raw.size(); i++) {
      ACMEChallengeSolver s = raw.get(i);
      if (s.getHttp01() == null && s.getDns01() == null) {
        problems.add(Problem.of(Severity.ERROR, r, "spec.acme.solvers[" + i + "]", "no solver type (expected: "
            + "http01 or dns01)"));
        continue;
      }
      if (s.getHttp01() != null && s.getDns01() != null) {
        problems.add(Problem.of(Severity.ERROR, r, "spec.acme.solvers[" + i + "]", "both http01 and dns01 (expected: "
            + "exactly one)"));
        continue;
      }
      Optional<IssuerConfig.Dns01> dns01 = Optional.empty();
      if (s.getDns01() != null) {
        dns01 = dns01(r, "spec.acme.solvers[" + i + "].dns01", s.getDns01(),
            r.body().path("spec").path("acme").path("solvers").path(i).path("dns01"), secretNamespace, problems);
        if (dns01.isEmpty()) {
          continue;
        }
      }
      CertificateDNSNameSelector sel = s.getSelector();
      List<String> names = sel == null || sel.getDnsNames() == null ? List.of() : sel.getDnsNames();
      List<String> zones = sel == null || sel.getDnsZones() == null ? List.of() : sel.getDnsZones();
      Map<String, String> matchLabels = sel == null || sel.getMatchLabels() == null ? Map.of() : sel.getMatchLabels();
      solvers.add(new IssuerConfig.Solver(dns01, sel != null, lower(names), lower(zones), matchLabels));
    }
    if (raw.isEmpty()) {
      problems.add(Problem.of(Severity.ERROR, r, "spec.acme.solvers", "missing (expected: at least one solver, e.g. "
          + "- http01: {ingress: {}})"));
    }
    if (problems.size() > before && problems.subList(before, problems.size()).stream()
        .anyMatch(p -> p.severity() == Severity.ERROR)) {
      return Optional.empty();
    }
    return Optional.of(new IssuerConfig.Acme(ref, server, nullToEmpty(a.getEmail()), secretNamespace + "/"
        + accountKey.trim(), Boolean.TRUE.equals(a.getSkipTLSVerify()), caBundle, eab, nullToEmpty(a.getProfile()),
        solvers));
  }

  /**
   * One {@code dns01} solver: exactly one provider (cert-manager's, or the {@code powerdns} extension), each with
   * the fields it needs; Secrets are named here and read when an order needs them.
   */
  private static Optional<IssuerConfig.Dns01> dns01(Resource r, String field, ACMEChallengeSolverDNS01 d,
      JsonNode raw, String secretNamespace, List<Problem> problems) {
    int before = problems.size();
    String cname = nullToEmpty(d.getCnameStrategy()).trim();
    if (!cname.isEmpty() && !cname.equals("None") && !cname.equals("Follow")) {
      problems.add(Problem.of(Severity.ERROR, r, field + ".cnameStrategy", cname + " (expected: None or Follow)"));
    }
    List<IssuerConfig.DnsProviderConfig> providers = new ArrayList<>();
    List<String> unsupported = new ArrayList<>();
    if (d.getAkamai() != null) {
      unsupported.add("akamai");
    }
    if (d.getAzureDNS() != null) {
      unsupported.add("azureDNS");
    }
    if (d.getDigitalocean() != null) {
      unsupported.add("digitalocean");
    }
    if (d.getWebhook() != null) {
      unsupported.add("webhook");
    }
    if (d.getRfc2136() != null) {
      var p = d.getRfc2136();
      String f = field + ".rfc2136";
      String ns = nullToEmpty(p.getNameserver()).trim();
      if (ns.isEmpty()) {
        problems.add(Problem.of(Severity.ERROR, r, f + ".nameserver", "missing (expected: host:port of the primary "
            + "nameserver, e.g. 192.0.2.53:53)"));
      } else if (parseHostPort(ns, 53).isEmpty()) {
        problems.add(Problem.of(Severity.ERROR, r, f + ".nameserver", ns + " (expected: host, host:port or "
            + "[IPv6]:port with a port in 1..65535)"));
      }
      String keyName = nullToEmpty(p.getTsigKeyName()).trim();
      String alg = nullToEmpty(p.getTsigAlgorithm()).trim();
      alg = alg.isEmpty() ? "HMACMD5" : alg.toUpperCase(java.util.Locale.ROOT).replace("-", "");
      if (!Set.of("HMACMD5", "HMACSHA1", "HMACSHA256", "HMACSHA384", "HMACSHA512").contains(alg)) {
        problems.add(Problem.of(Severity.ERROR, r, f + ".tsigAlgorithm", p.getTsigAlgorithm() + " (expected: "
            + "HMACMD5, HMACSHA1, HMACSHA256, HMACSHA384 or HMACSHA512)"));
      }
      Optional<IssuerConfig.SecretRef> secret = secretRef(r, f + ".tsigSecretSecretRef", p.getTsigSecretSecretRef(),
          secretNamespace, false, problems);
      if (keyName.isEmpty() != secret.isEmpty()) {
        problems.add(Problem.of(Severity.ERROR, r, f, "tsigKeyName and tsigSecretSecretRef go together (expected: "
            + "both, or neither for unsigned updates)"));
      }
      providers.add(new IssuerConfig.Rfc2136(ns, keyName, alg, secret));
    }
    if (d.getCloudflare() != null) {
      var p = d.getCloudflare();
      String f = field + ".cloudflare";
      Optional<IssuerConfig.SecretRef> token = secretRef(r, f + ".apiTokenSecretRef", p.getApiTokenSecretRef(),
          secretNamespace, false, problems);
      Optional<IssuerConfig.SecretRef> key = secretRef(r, f + ".apiKeySecretRef", p.getApiKeySecretRef(),
          secretNamespace, false, problems);
      if (token.isPresent() == key.isPresent()) {
        problems.add(Problem.of(Severity.ERROR, r, f, "apiTokenSecretRef and apiKeySecretRef (expected: exactly one "
            + "of them; an API token is preferred)"));
      } else if (key.isPresent() && nullToEmpty(p.getEmail()).isBlank()) {
        problems.add(Problem.of(Severity.ERROR, r, f + ".email", "missing (expected: the account's email, needed "
            + "with apiKeySecretRef)"));
      }
      providers.add(new IssuerConfig.Cloudflare(nullToEmpty(p.getEmail()).trim(), token, key));
    }
    if (d.getRoute53() != null) {
      var p = d.getRoute53();
      String f = field + ".route53";
      Optional<IssuerConfig.SecretRef> keyId = secretRef(r, f + ".accessKeyIDSecretRef", p.getAccessKeyIDSecretRef(),
          secretNamespace, false, problems);
      Optional<IssuerConfig.SecretRef> secret = secretRef(r, f + ".secretAccessKeySecretRef",
          p.getSecretAccessKeySecretRef(), secretNamespace, false, problems);
      boolean hasKeyId = keyId.isPresent() || !nullToEmpty(p.getAccessKeyID()).isBlank();
      if (hasKeyId != secret.isPresent()) {
        problems.add(Problem.of(Severity.ERROR, r, f, "an access key id needs secretAccessKeySecretRef and the other "
            + "way round (expected: accessKeyID or accessKeyIDSecretRef with secretAccessKeySecretRef, or neither "
            + "for the default credential chain)"));
      }
      if (p.getAuth() != null) {
        problems.add(Problem.of(Severity.WARNING, r, f + ".auth", "Kubernetes service account token auth is not "
            + "supported by Portcullis; ignored (the default credential chain is used)"));
      }
      providers.add(new IssuerConfig.Route53(nullToEmpty(p.getRegion()).trim(), nullToEmpty(p.getHostedZoneID())
          .trim(), nullToEmpty(p.getAccessKeyID()).trim(), keyId, secret, nullToEmpty(p.getRole()).trim()));
    }
    if (d.getCloudDNS() != null) {
      var p = d.getCloudDNS();
      String f = field + ".cloudDNS";
      if (nullToEmpty(p.getProject()).isBlank()) {
        problems.add(Problem.of(Severity.ERROR, r, f + ".project", "missing (expected: the Google Cloud project id)"));
      }
      Optional<IssuerConfig.SecretRef> sa = secretRef(r, f + ".serviceAccountSecretRef",
          p.getServiceAccountSecretRef(), secretNamespace, false, problems);
      providers.add(new IssuerConfig.CloudDns(nullToEmpty(p.getProject()).trim(), nullToEmpty(p.getHostedZoneName())
          .trim(), sa));
    }
    if (d.getAcmeDNS() != null) {
      var p = d.getAcmeDNS();
      String f = field + ".acmeDNS";
      String host = nullToEmpty(p.getHost()).trim();
      if (!host.startsWith("https://") && !host.startsWith("http://")) {
        problems.add(Problem.of(Severity.ERROR, r, f + ".host", (host.isEmpty() ? "missing" : host) + " (expected: "
            + "the acme-dns server URL, e.g. https://auth.acme-dns.io)"));
      }
      Optional<IssuerConfig.SecretRef> account = secretRef(r, f + ".accountSecretRef", p.getAccountSecretRef(),
          secretNamespace, true, problems);
      account.ifPresent(a -> providers.add(new IssuerConfig.AcmeDns(host, a)));
    }
    JsonNode pdns = raw.path("powerdns");
    if (!pdns.isMissingNode() && !pdns.isNull()) {
      String f = field + ".powerdns";
      String url = pdns.path("apiUrl").asText("").trim();
      if (!url.startsWith("https://") && !url.startsWith("http://")) {
        problems.add(Problem.of(Severity.ERROR, r, f + ".apiUrl", (url.isEmpty() ? "missing" : url) + " (expected: "
            + "the PowerDNS API base URL, e.g. http://127.0.0.1:8081)"));
      }
      String server = pdns.path("serverId").asText("").trim();
      io.fabric8.certmanager.api.model.meta.v1.SecretKeySelector ref = null;
      if (pdns.hasNonNull("apiKeySecretRef")) {
        ref = new io.fabric8.certmanager.api.model.meta.v1.SecretKeySelector(
            pdns.path("apiKeySecretRef").path("key").asText(null), pdns.path("apiKeySecretRef").path("name")
            .asText(null));
      }
      Optional<IssuerConfig.SecretRef> key = secretRef(r, f + ".apiKeySecretRef", ref, secretNamespace, true,
          problems);
      key.ifPresent(k -> providers.add(new IssuerConfig.PowerDns(url.replaceAll("/+$", ""), server.isEmpty()
          ? "localhost" : server, k)));
    }
    if (!unsupported.isEmpty()) {
      problems.add(Problem.of(Severity.ERROR, r, field + "." + unsupported.get(0), "not supported by Portcullis "
          + "(expected: one of rfc2136, cloudflare, route53, cloudDNS, acmeDNS, powerdns)"));
    } else if (providers.size() != 1 && problems.size() == before) {
      problems.add(Problem.of(Severity.ERROR, r, field, (providers.isEmpty() ? "no provider" : "more than one "
          + "provider") + " (expected: exactly one of rfc2136, cloudflare, route53, cloudDNS, acmeDNS, powerdns)"));
    }
    if (problems.subList(before, problems.size()).stream().anyMatch(p -> p.severity() == Severity.ERROR)) {
      return Optional.empty();
    }
    return Optional.of(new IssuerConfig.Dns01(providers.get(0), cname.equals("Follow")));
  }

  /** A {@code SecretKeySelector}: {@code name} and {@code key} both needed when it is given. */
  private static Optional<IssuerConfig.SecretRef> secretRef(Resource r, String field,
      io.fabric8.certmanager.api.model.meta.v1.SecretKeySelector ref, String secretNamespace, boolean required,
      List<Problem> problems) {
    if (ref == null) {
      if (required) {
        problems.add(Problem.of(Severity.ERROR, r, field, "missing (expected: name and key of a Secret in "
            + secretNamespace + ")"));
      }
      return Optional.empty();
    }
    String name = nullToEmpty(ref.getName()).trim();
    String key = nullToEmpty(ref.getKey()).trim();
    if (name.isEmpty() || key.isEmpty()) {
      problems.add(Problem.of(Severity.ERROR, r, field + (name.isEmpty() ? ".name" : ".key"), "missing (expected: "
          + "name and key of a Secret in " + secretNamespace + ")"));
      return Optional.empty();
    }
    return Optional.of(new IssuerConfig.SecretRef(secretNamespace + "/" + name, key));
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
  private static Map<String, String> labels(Resource r) {
    Map<String, String> out = new java.util.LinkedHashMap<>();
    r.body().path("metadata").path("labels").fields().forEachRemaining(e -> out.put(e.getKey(), e.getValue()
        .asText()));
    return out;
  }

  // ---- certificates ----

  private Optional<CertificateConfig> certificate(Resource r, Map<String, IssuerConfig> issuers,
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
      problems.add(Problem.of(Severity.ERROR, r, "spec.renewBefore", GoDuration.format(renewBefore.get()) + " (expected: at "
          + "least 5m and less than spec.duration, " + GoDuration.format(duration) + ")"));
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
    String alg = k == null || nullToEmpty(k.getAlgorithm()).isBlank() ? "ECDSA" : k.getAlgorithm().trim();
    int size = k == null || k.getSize() == null ? 0 : k.getSize();
    String rotation = k == null || nullToEmpty(k.getRotationPolicy()).isBlank() ? "Always" : k.getRotationPolicy();
    switch (alg) {
      case "ECDSA" -> {
        size = size == 0 ? 256 : size;
        if (size != 256 && size != 384 && size != 521) {
          problems.add(Problem.of(Severity.ERROR, r, "spec.privateKey.size", size + " (expected for ECDSA: 256, 384 "
              + "or 521)"));
        }
      }
      case "RSA" -> {
        size = size == 0 ? 2048 : size;
        if (size < 2048 || size > 8192) {
          problems.add(Problem.of(Severity.ERROR, r, "spec.privateKey.size", size + " (expected for RSA: 2048 to "
              + "8192)"));
        }
      }
      case "Ed25519" -> size = 0;
      default -> problems.add(Problem.of(Severity.ERROR, r, "spec.privateKey.algorithm", alg + " (expected: ECDSA, "
          + "RSA or Ed25519)"));
    }
    if (!rotation.equals("Always") && !rotation.equals("Never")) {
      problems.add(Problem.of(Severity.ERROR, r, "spec.privateKey.rotationPolicy", rotation + " (expected: Always "
          + "or Never)"));
    }
    return new CertificateConfig.KeySpec(alg, size, rotation);
  }

  /**
   * Each name needs a solver (cert-manager's selection, {@link IssuerConfig.Acme#solverFor}), and a wildcard name
   * cannot be validated over HTTP-01 (RFC 8555 §8.3): say so now, not as a failed order.
   */
  private static void checkSolvable(Resource r, String field, List<String> dnsNames, Map<String, String> labels,
      IssuerConfig issuer, List<Problem> problems) {
    if (!(issuer instanceof IssuerConfig.Acme acme)) {
      return;
    }
    for (int i = 0; i < dnsNames.size(); i++) {
      String name = dnsNames.get(i);
      Optional<IssuerConfig.Solver> solver = acme.solverFor(name, labels);
      if (solver.isEmpty()) {
        problems.add(Problem.of(Severity.ERROR, r, field + "[" + i + "]", name + ": no solver of " + acme.ref()
            + " selects it (expected: a solver without a selector, or one whose selector.dnsNames or "
            + "selector.dnsZones covers the name and whose selector.matchLabels the Certificate carries)"));
      } else if (name.startsWith("*.") && solver.get().http01()) {
        problems.add(Problem.of(Severity.ERROR, r, field + "[" + i + "]", name + ": a wildcard name needs a DNS-01 "
            + "solver, and " + acme.ref() + " has only HTTP-01 for it (expected: a name without *., or an issuer "
            + "with a dns01 solver)"));
      }
    }
  }

  // ---- secured hosts ----

  /**
   * The A/AAAA records of one Gateway annotated with external-dns's {@code target} (IP addresses, comma-separated)
   * and an issuer annotation: one per secured host that is not a wildcard, plus the names of external-dns's
   * {@code hostname} annotation.
   */
  private void addressRecords(Resource g, List<ServerConfig> servers, Map<String, IssuerConfig> issuers,
      List<Problem> problems, List<CertManagerConfig.AddressRecord> out) {
    JsonNode annotations = g.body().path("metadata").path("annotations");
    String target = annotations.path(EXTERNAL_DNS_TARGET).asText("").trim();
    if (target.isEmpty()) {
      return;
    }
    String field = "metadata.annotations." + EXTERNAL_DNS_TARGET;
    String clusterIssuer = annotations.path(CLUSTER_ISSUER_ANNOTATION).asText("").trim();
    String issuer = annotations.path(ISSUER_ANNOTATION).asText("").trim();
    if (clusterIssuer.isEmpty() && issuer.isEmpty()) {
      problems.add(Problem.of(Severity.ERROR, g, field, "set without " + CLUSTER_ISSUER_ANNOTATION + " or "
          + ISSUER_ANNOTATION + " (expected: an issuer whose dns01 provider keeps the records)"));
      return;
    }
    IssuerRef ref = clusterIssuer.isEmpty() ? new IssuerRef("Issuer", gatewayNamespace, issuer)
        : new IssuerRef("ClusterIssuer", "", clusterIssuer);
    List<java.net.InetAddress> addresses = new ArrayList<>();
    for (String t : target.split(",")) {
      String a = t.trim();
      if (!a.matches("[0-9.]+|[0-9a-fA-F:]+") || !a.contains(".") && !a.contains(":")) {
        problems.add(Problem.of(Severity.ERROR, g, field, a + " (expected: IP addresses, comma-separated; a "
            + "host name target (CNAME) is not supported)"));
        return;
      }
      try {
        addresses.add(java.net.InetAddress.getByName(a)); // a literal: no look-up
      } catch (java.net.UnknownHostException e) {
        problems.add(Problem.of(Severity.ERROR, g, field, a + " (expected: an IPv4 or IPv6 address)"));
        return;
      }
    }
    Set<String> hosts = new LinkedHashSet<>();
    for (ServerConfig sc : servers) {
      if (sc.tls().isPresent()) {
        sc.hosts().forEach(h -> {
          if (!h.host().startsWith("*")) {
            hosts.add(h.host());
          }
        });
      }
    }
    for (String h : annotations.path(EXTERNAL_DNS_HOSTNAME).asText("").split(",")) {
      String n = h.trim().toLowerCase(Locale.ROOT).replaceAll("\\.$", "");
      if (n.isEmpty()) {
        continue;
      }
      if (!DNS_NAME.matcher(n).matches() || n.startsWith("*")) {
        problems.add(Problem.of(Severity.ERROR, g, "metadata.annotations." + EXTERNAL_DNS_HOSTNAME, n
            + " (expected: DNS names, comma-separated, no wildcards)"));
        continue;
      }
      hosts.add(n);
    }
    for (String h : hosts) {
      out.add(new CertManagerConfig.AddressRecord(h, addresses, ref, g.key()));
    }
  }

  /** The Certificates of one annotated Gateway: its validated servers, grouped by {@code credentialName}. */
  private List<CertificateConfig> securedHosts(Resource g, List<ServerConfig> servers,
      Map<String, IssuerConfig> issuers, Set<String> manifestSecrets, List<Problem> problems) {
    JsonNode annotations = g.body().path("metadata").path("annotations");
    String clusterIssuer = annotations.path(CLUSTER_ISSUER_ANNOTATION).asText("").trim();
    String issuer = annotations.path(ISSUER_ANNOTATION).asText("").trim();
    if (clusterIssuer.isEmpty() && issuer.isEmpty()) {
      return List.of();
    }
    IssuerRef ref = clusterIssuer.isEmpty() ? new IssuerRef("Issuer", gatewayNamespace, issuer)
        : new IssuerRef("ClusterIssuer", "", clusterIssuer);
    String annotation = "metadata.annotations." + (clusterIssuer.isEmpty() ? ISSUER_ANNOTATION
        : CLUSTER_ISSUER_ANNOTATION);
    Map<String, Set<String>> hostsBySecret = new LinkedHashMap<>();
    Map<String, String> fieldBySecret = new LinkedHashMap<>();
    for (ServerConfig sc : servers) {
      if (sc.tls().isEmpty()) {
        continue;
      }
      String key = sc.tls().get().credentialName().orElse(""); // namespace/name, resolved as Istio does
      if (key.isEmpty() || !key.startsWith(gatewayNamespace + "/") || manifestSecrets.contains(key)) {
        continue; // a Secret the user provides (or another namespace's): not ours to issue
      }
      String name = key.substring(gatewayNamespace.length() + 1);
      Set<String> hosts = hostsBySecret.computeIfAbsent(name, k -> new LinkedHashSet<>());
      fieldBySecret.putIfAbsent(name, "spec.servers[" + sc.index() + "].hosts");
      for (int j = 0; j < sc.hosts().size(); j++) {
        String h = sc.hosts().get(j).host();
        if (h.equals("*")) {
          problems.add(Problem.of(Severity.ERROR, g, "spec.servers[" + sc.index() + "].hosts[" + j + "]", h
              + ": no certificate can be issued for it (expected with " + annotation + ": DNS names, optionally "
              + "starting with *.)"));
          continue;
        }
        hosts.add(h);
      }
    }
    List<CertificateConfig> out = new ArrayList<>();
    hostsBySecret.forEach((secret, hosts) -> {
      if (hosts.isEmpty()) {
        return;
      }
      int before = problems.size();
      checkSolvable(g, fieldBySecret.get(secret), List.copyOf(hosts), Map.of(), issuers.get(ref.key()), problems);
      if (problems.size() > before) {
        return;
      }
      out.add(new CertificateConfig(gatewayNamespace, secret, secret, Optional.empty(), List.copyOf(hosts), ref,
          DEFAULT_DURATION, Optional.empty(), new CertificateConfig.KeySpec("ECDSA", 256, "Always"), false,
          List.of("digital signature", "key encipherment"), "Gateway " + g.key() + " (" + annotation + ")",
          Map.of()));
    });
    return out;
  }

  // ---- helpers ----

  private static Optional<Duration> duration(Resource r, String field, JsonNode node, List<Problem> problems) {
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

  private static List<String> lower(List<String> in) {
    return in.stream().map(x -> x == null ? "" : x.trim().toLowerCase(Locale.ROOT)).toList();
  }

  private static String nullToEmpty(String s) {
    return s == null ? "" : s;
  }

  private static String firstLine(Exception e) {
    String m = e.getMessage() == null ? e.toString() : e.getMessage();
    return m.split("\n")[0];
  }
}
