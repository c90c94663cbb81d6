package io.portcullis.certs;

import java.util.List;
import java.util.Optional;

/**
 * A validated {@code Issuer} or {@code ClusterIssuer} ({@code cert-manager.io/v1}, {@code spec}): exactly one of
 * {@link SelfSigned}, {@link Ca} or {@link Acme}.
 */
public sealed interface IssuerConfig {

  /** Returns {@code Issuer namespace/name} or {@code ClusterIssuer name}, the form messages use. */
  IssuerRef ref();

  /**
   * Who an Issuer is.
   *
   * @param kind {@code Issuer} (namespaced) or {@code ClusterIssuer}
   * @param namespace the Issuer's namespace; for a ClusterIssuer {@code ""}
   * @param name {@code metadata.name}
   */
  record IssuerRef(String kind, String namespace, String name) {
    /** Returns the lookup key: {@code Issuer/namespace/name} or {@code ClusterIssuer/name}. */
    public String key() {
      return namespace.isEmpty() ? kind + "/" + name : kind + "/" + namespace + "/" + name;
    }

    @Override
    public String toString() {
      return namespace.isEmpty() ? kind + " " + name : kind + " " + namespace + "/" + name;
    }
  }

  /** {@code spec.selfSigned: {}}: each Certificate is signed by its own key. */
  record SelfSigned(IssuerRef ref) implements IssuerConfig {}

  /**
   * {@code spec.ca.secretName}: Certificates are signed by the CA in that Secret ({@code tls.crt}, {@code tls.key}).
   *
   * @param secretKey {@code namespace/name} of the CA Secret: the Issuer's namespace, or for a ClusterIssuer the
   *     cluster resource namespace
   */
  record Ca(IssuerRef ref, String secretKey) implements IssuerConfig {}

  /**
   * {@code spec.acme} (RFC 8555).
   *
   * @param server the directory URL ({@code spec.acme.server})
   * @param email the account contact ({@code spec.acme.email}), or empty
   * @param accountKeySecret {@code namespace/name} of the account key Secret ({@code privateKeySecretRef.name})
   * @param skipTlsVerify {@code skipTLSVerify}
   * @param caBundle PEM trust anchors for the directory's TLS ({@code caBundle}, base64-decoded), or empty
   * @param externalAccountBinding {@code externalAccountBinding}, if any
   * @param profile {@code profile} (the ACME profiles extension), or empty
   * @param solvers {@code solvers[]}, in order
   */
  record Acme(IssuerRef ref, String server, String email, String accountKeySecret, boolean skipTlsVerify,
      byte[] caBundle, Optional<ExternalAccountBinding> externalAccountBinding, String profile,
      List<Solver> solvers) implements IssuerConfig {
    /** Copies the list. */
    public Acme {
      solvers = List.copyOf(solvers);
    }

    /**
     * Picks the solver for {@code dnsName} of a Certificate labelled {@code labels} as cert-manager does: a solver
     * without a selector matches every name at the lowest priority; one with a selector matches when all of its
     * {@code matchLabels} are on the Certificate, its {@code dnsNames} (if any) list the name and its {@code dnsZones}
     * (if any) hold it. Among matches, a {@code dnsNames} match beats a {@code dnsZones} match, a zone with more labels
     * beats one with fewer, then more matching labels win, then the solver listed first. A {@code *.} name is matched
     * by {@code dnsNames} literally and by zones as its base name.
     *
     * @return empty when no solver may be used for the name
     */
    public Optional<Solver> solverFor(String dnsName, java.util.Map<String, String> labels) {
      Solver best = null;
      int[] bestScore = null;
      for (Solver s : solvers) {
        Optional<int[]> score = s.score(dnsName, labels);
        if (score.isEmpty()) {
          continue;
        }
        if (best == null || java.util.Arrays.compare(score.get(), bestScore) > 0) {
          best = s;
          bestScore = score.get();
        }
      }
      return Optional.ofNullable(best);
    }
  }

  /**
   * {@code externalAccountBinding} (RFC 8555 §7.3.4).
   *
   * @param keyId {@code keyID}
   * @param keySecret {@code namespace/name} of the Secret holding the MAC key ({@code keySecretRef.name})
   * @param keySecretField the key within that Secret ({@code keySecretRef.key})
   * @param keyAlgorithm {@code keyAlgorithm} ({@code HS256}, {@code HS384}, {@code HS512})
   */
  record ExternalAccountBinding(String keyId, String keySecret, String keySecretField, String keyAlgorithm) {}

  /**
   * One {@code solvers[]} entry.
   *
   * @param dns01 its {@code dns01} settings; empty for an {@code http01} solver (the gateway answers it)
   * @param selector whether it has a {@code selector} at all (one without is the default, lowest priority)
   * @param dnsNames {@code selector.dnsNames}
   * @param dnsZones {@code selector.dnsZones}
   * @param matchLabels {@code selector.matchLabels}: labels the Certificate must carry
   */
  record Solver(Optional<Dns01> dns01, boolean selector, List<String> dnsNames, List<String> dnsZones,
      java.util.Map<String, String> matchLabels) {
    /** Copies the collections. */
    public Solver {
      dnsNames = List.copyOf(dnsNames);
      dnsZones = List.copyOf(dnsZones);
      matchLabels = java.util.Map.copyOf(matchLabels);
    }

    /** Returns whether it is an {@code http01} solver. */
    public boolean http01() {
      return dns01.isEmpty();
    }

    /**
     * Returns how specifically this solver selects {@code dnsName}: (dnsNames match 0/1, labels of the longest
     * matching zone, matching labels), compared left to right; empty when it does not select the name.
     */
    Optional<int[]> score(String dnsName, java.util.Map<String, String> labels) {
      if (!selector) {
        return Optional.of(new int[] {0, 0, 0}); // the default: ties go to the solver listed first
      }
      for (var e : matchLabels.entrySet()) {
        if (!e.getValue().equals(labels.get(e.getKey()))) {
          return Optional.empty();
        }
      }
      int names = 0;
      if (!dnsNames.isEmpty()) {
        if (!dnsNames.contains(dnsName)) {
          return Optional.empty();
        }
        names = 1;
      }
      int zoneLabels = 0;
      if (!dnsZones.isEmpty()) {
        String base = dnsName.startsWith("*.") ? dnsName.substring(2) : dnsName;
        zoneLabels = -1;
        for (String z : dnsZones) {
          if (base.equals(z) || base.endsWith("." + z)) {
            zoneLabels = Math.max(zoneLabels, z.split("\\.").length);
          }
        }
        if (zoneLabels < 0) {
          return Optional.empty();
        }
      }
      return Optional.of(new int[] {names, zoneLabels, matchLabels.size()});
    }
  }

  /**
   * A {@code dns01} solver: one provider and how to treat CNAMEs.
   *
   * @param provider where the TXT records are written
   * @param followCnames {@code cnameStrategy: Follow}: a CNAME at {@code _acme-challenge.<name>} is followed and the
   *     record written at its target ({@code None}, the default, writes at the name itself)
   */
  record Dns01(DnsProviderConfig provider, boolean followCnames) {}

  /**
   * A Secret key an Issuer names ({@code SecretKeySelector}).
   *
   * @param secret {@code namespace/name}: the Issuer's namespace, or for a ClusterIssuer the cluster resource
   *     namespace
   * @param key the key within its data
   */
  record SecretRef(String secret, String key) {
    @Override
    public String toString() {
      return "Secret " + secret + " key " + key;
    }
  }

  /** The settings of one DNS provider of a {@code dns01} solver. */
  sealed interface DnsProviderConfig {
    /** Returns every Secret key the provider needs. */
    List<SecretRef> secrets();
  }

  /**
   * {@code dns01.rfc2136}: dynamic updates (RFC 2136) signed with TSIG (RFC 8945).
   *
   * @param nameserver {@code host:port} (port 53 when left out) of the primary that takes updates
   * @param tsigKeyName {@code tsigKeyName}, or empty for unsigned updates
   * @param tsigAlgorithm {@code tsigAlgorithm}: {@code HMACMD5} (cert-manager's default), {@code HMACSHA1},
   *     {@code HMACSHA256}, {@code HMACSHA384} or {@code HMACSHA512}
   * @param tsigSecret {@code tsigSecretSecretRef}: the base64 key; empty with no key name
   */
  record Rfc2136(String nameserver, String tsigKeyName, String tsigAlgorithm, Optional<SecretRef> tsigSecret)
      implements DnsProviderConfig {
    @Override
    public List<SecretRef> secrets() {
      return tsigSecret.stream().toList();
    }
  }

  /**
   * {@code dns01.cloudflare} (Cloudflare API v4).
   *
   * @param email {@code email}, needed with a global API key
   * @param apiToken {@code apiTokenSecretRef} (preferred)
   * @param apiKey {@code apiKeySecretRef} (the global API key)
   */
  record Cloudflare(String email, Optional<SecretRef> apiToken, Optional<SecretRef> apiKey)
      implements DnsProviderConfig {
    @Override
    public List<SecretRef> secrets() {
      return java.util.stream.Stream.concat(apiToken.stream(), apiKey.stream()).toList();
    }
  }

  /**
   * {@code dns01.route53} (AWS Route 53).
   *
   * @param region {@code region}, or empty for {@code us-east-1}
   * @param hostedZoneId {@code hostedZoneID}, or empty to find the zone by name
   * @param accessKeyId {@code accessKeyID} as a literal, or empty
   * @param accessKeyIdRef {@code accessKeyIDSecretRef}
   * @param secretAccessKey {@code secretAccessKeySecretRef}
   * @param role {@code role}: an IAM role ARN to assume, or empty
   */
  record Route53(String region, String hostedZoneId, String accessKeyId, Optional<SecretRef> accessKeyIdRef,
      Optional<SecretRef> secretAccessKey, String role) implements DnsProviderConfig {
    @Override
    public List<SecretRef> secrets() {
      return java.util.stream.Stream.concat(accessKeyIdRef.stream(), secretAccessKey.stream()).toList();
    }
  }

  /**
   * {@code dns01.cloudDNS} (Google Cloud DNS).
   *
   * @param project {@code project}
   * @param hostedZoneName {@code hostedZoneName}, or empty to find the managed zone by DNS name
   * @param serviceAccount {@code serviceAccountSecretRef}: the service account key JSON
   */
  record CloudDns(String project, String hostedZoneName, Optional<SecretRef> serviceAccount)
      implements DnsProviderConfig {
    @Override
    public List<SecretRef> secrets() {
      return serviceAccount.stream().toList();
    }
  }

  /**
   * {@code dns01.acmeDNS} (joohoi/acme-dns).
   *
   * @param host {@code host}: the acme-dns server URL
   * @param account {@code accountSecretRef}: JSON of accounts by domain ({@code username}, {@code password},
   *     {@code subdomain}, {@code fulldomain})
   */
  record AcmeDns(String host, SecretRef account) implements DnsProviderConfig {
    @Override
    public List<SecretRef> secrets() {
      return List.of(account);
    }
  }

  /**
   * {@code dns01.powerdns}: the PowerDNS Authoritative HTTP API. A Portcullis extension ({@code portcullis.io}),
   * not part of cert-manager's schema.
   *
   * @param apiUrl {@code apiUrl}, e.g. {@code http://127.0.0.1:8081}
   * @param serverId {@code serverId} (default {@code localhost})
   * @param apiKey {@code apiKeySecretRef}: sent as {@code X-API-Key}
   */
  record PowerDns(String apiUrl, String serverId, SecretRef apiKey) implements DnsProviderConfig {
    @Override
    public List<SecretRef> secrets() {
      return List.of(apiKey);
    }
  }
}
