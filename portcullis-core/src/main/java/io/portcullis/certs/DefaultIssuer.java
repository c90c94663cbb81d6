package io.portcullis.certs;

import static java.util.Objects.requireNonNull;

/**
 * The issuer an Ingress annotated only {@code kubernetes.io/tls-acme: "true"} gets its Certificates from:
 * cert-manager's {@code --default-issuer-name}, {@code --default-issuer-kind} and {@code --default-issuer-group}
 * (ingress-shim options).
 *
 * @param name the issuer's name; empty for none (then such an Ingress gets no Certificate, and a problem says why)
 * @param kind {@code Issuer} (in the Ingress's namespace; cert-manager's default) or {@code ClusterIssuer}
 * @param group {@code cert-manager.io}, the only group served here (external issuers are not)
 */
public record DefaultIssuer(String name, String kind, String group) {
  /** No default issuer: cert-manager's defaults (empty name, {@code Issuer}, {@code cert-manager.io}). */
  public static final DefaultIssuer NONE = new DefaultIssuer("", "Issuer", CertManagerTranslator.GROUP);

  /** Checks for nulls; an empty kind or group takes cert-manager's default. */
  public DefaultIssuer {
    requireNonNull(name, "name");
    kind = requireNonNull(kind, "kind").isBlank() ? "Issuer" : kind.trim();
    group = requireNonNull(group, "group").isBlank() ? CertManagerTranslator.GROUP : group.trim();
    name = name.trim();
  }
}
