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
     * Picks the solver for {@code dnsName} as cert-manager does: a solver whose {@code selector.dnsNames} lists the
     * name wins; else the one whose {@code selector.dnsZones} holds the longest zone the name is in (or equals); else
     * one without a selector; ties go to the solver listed first. A {@code *.} name matches zones by its base name.
     *
     * @return empty when no solver may be used for the name
     */
    public Optional<Solver> solverFor(String dnsName) {
      String name = dnsName.startsWith("*.") ? dnsName.substring(2) : dnsName;
      Solver best = null;
      int bestScore = -1;
      for (Solver s : solvers) {
        int score;
        if (s.dnsNames().contains(dnsName)) {
          score = Integer.MAX_VALUE;
        } else if (!s.dnsZones().isEmpty()) {
          score = -1;
          for (String z : s.dnsZones()) {
            if (name.equals(z) || name.endsWith("." + z)) {
              score = Math.max(score, 1 + z.length());
            }
          }
        } else {
          score = s.dnsNames().isEmpty() ? 0 : -1;
        }
        if (score > bestScore) {
          best = s;
          bestScore = score;
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
   * @param http01 whether it is an {@code http01} solver (the gateway answers it)
   * @param dnsNames {@code selector.dnsNames}
   * @param dnsZones {@code selector.dnsZones}
   */
  record Solver(boolean http01, List<String> dnsNames, List<String> dnsZones) {
    /** Copies the lists. */
    public Solver {
      dnsNames = List.copyOf(dnsNames);
      dnsZones = List.copyOf(dnsZones);
    }
  }
}
