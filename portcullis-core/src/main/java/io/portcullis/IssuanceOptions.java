package io.portcullis;

import static java.util.Objects.requireNonNull;

import io.portcullis.certs.DefaultIssuer;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.List;

/**
 * Certificate issuance settings, named as cert-manager's controller flags where it has them.
 *
 * @param clusterResourceNamespace {@code --cluster-resource-namespace}: where Secrets named by a ClusterIssuer are
 *     read; empty for the gateway namespace
 * @param recursiveNameservers {@code --dns01-recursive-nameservers}: where DNS-01's SOA/NS/CNAME look-ups go;
 *     empty for the system's
 * @param recursiveNameserversOnly {@code --dns01-recursive-nameservers-only}: check propagation there too,
 *     instead of at each authoritative nameserver
 * @param authoritativePort the port authoritative nameservers are asked on ({@code --dns01-authoritative-port},
 *     53)
 * @param propagationTimeout how long a DNS-01 TXT record may take to show at every authoritative nameserver
 *     ({@code --dns01-propagation-timeout})
 * @param defaultIssuer {@code --default-issuer-name}, {@code --default-issuer-kind},
 *     {@code --default-issuer-group}: the issuer of Ingresses annotated only {@code kubernetes.io/tls-acme: "true"}
 */
public record IssuanceOptions(String clusterResourceNamespace, List<InetSocketAddress> recursiveNameservers,
    boolean recursiveNameserversOnly, int authoritativePort, Duration propagationTimeout,
    DefaultIssuer defaultIssuer) {
  /** Copies the list. */
  public IssuanceOptions {
    requireNonNull(clusterResourceNamespace, "clusterResourceNamespace");
    recursiveNameservers = List.copyOf(recursiveNameservers);
    requireNonNull(propagationTimeout, "propagationTimeout");
    requireNonNull(defaultIssuer, "defaultIssuer");
  }

  /** As above, without a default issuer ({@link DefaultIssuer#NONE}). */
  public IssuanceOptions(String clusterResourceNamespace, List<InetSocketAddress> recursiveNameservers,
      boolean recursiveNameserversOnly, int authoritativePort, Duration propagationTimeout) {
    this(clusterResourceNamespace, recursiveNameservers, recursiveNameserversOnly, authoritativePort,
        propagationTimeout, DefaultIssuer.NONE);
  }

  /**
   * The gateway namespace, the system's nameservers, authoritative checks on port 53, a 2 minute timeout, no
   * default issuer.
   */
  public static IssuanceOptions defaults() {
    return new IssuanceOptions("", List.of(), false, 53, Duration.ofMinutes(2));
  }

  /** Returns these options with {@code issuer} as the default issuer. */
  public IssuanceOptions withDefaultIssuer(DefaultIssuer issuer) {
    return new IssuanceOptions(clusterResourceNamespace, recursiveNameservers, recursiveNameserversOnly,
        authoritativePort, propagationTimeout, issuer);
  }
}
