package io.portcullis.certs;

import static io.portcullis.certs.CertManagerTranslator.firstLine;
import static io.portcullis.certs.CertManagerTranslator.lower;
import static io.portcullis.certs.CertManagerTranslator.nullToEmpty;
import static io.portcullis.certs.CertManagerTranslator.parseHostPort;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.fabric8.certmanager.api.model.acme.v1.ACMEChallengeSolver;
import io.fabric8.certmanager.api.model.acme.v1.ACMEChallengeSolverDNS01;
import io.fabric8.certmanager.api.model.acme.v1.CertificateDNSNameSelector;
import io.fabric8.certmanager.api.model.acme.v1.ACMEExternalAccountBinding;
import io.fabric8.certmanager.api.model.acme.v1.ACMEIssuer;
import io.fabric8.certmanager.api.model.v1.IssuerSpec;
import io.portcullis.certs.IssuerConfig.IssuerRef;
import io.portcullis.config.FieldCheck;
import io.portcullis.config.Problem.Severity;
import io.portcullis.config.Problem;
import io.portcullis.config.Resource;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * Translates cert-manager {@code Issuer} and {@code ClusterIssuer} resources ({@code cert-manager.io/v1}): selfSigned,
 * ca and acme (HTTP-01, DNS-01 through the supported providers, solver selectors, external account binding) into
 * {@link IssuerConfig}s; problems name the resource, the field and what was expected. Pure.
 */
final class IssuerTranslator {
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
  private final ObjectMapper mapper;
  private final String clusterResourceNamespace;

  IssuerTranslator(ObjectMapper mapper, String clusterResourceNamespace) {
    this.mapper = mapper;
    this.clusterResourceNamespace = clusterResourceNamespace;
  }

  Optional<IssuerConfig> issuer(Resource r, List<Problem> problems) {
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
}
