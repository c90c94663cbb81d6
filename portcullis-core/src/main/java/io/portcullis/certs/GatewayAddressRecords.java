package io.portcullis.certs;

import io.portcullis.dns.AddressPublisher;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The A/AAAA records Gateways ask for ({@link CertManagerConfig#addressRecords()}), each resolved to the
 * {@code dns01} provider its issuer's solver picks for the name, with that provider's Secrets, and handed to the
 * {@link AddressPublisher}. One that cannot be resolved (no such issuer, an HTTP-01 solver, missing Secrets) is
 * logged once, until it changes. Confined to the certificate manager's thread.
 */
final class GatewayAddressRecords {
  private static final Logger log = LoggerFactory.getLogger(GatewayAddressRecords.class);
  private final AddressPublisher publisher;
  private final Set<String> logged = new HashSet<>();

  /** The data of every Secret key a DNS provider names (the manager's look-up: stored or from the manifests). */
  @FunctionalInterface
  interface ProviderSecrets {
    Map<IssuerConfig.SecretRef, byte[]> of(IssuerConfig.IssuerRef issuer, IssuerConfig.DnsProviderConfig config)
        throws CertificateManager.NotReady;
  }

  GatewayAddressRecords(AddressPublisher publisher) {
    this.publisher = publisher;
  }

  /** Publishes what {@code desired} asks for. */
  void publish(CertManagerConfig desired, ProviderSecrets secrets) {
    List<AddressPublisher.Wanted> wanted = new ArrayList<>();
    Set<String> problems = new HashSet<>();
    for (CertManagerConfig.AddressRecord r : desired.addressRecords()) {
      String origin = "Gateway " + r.gateway();
      IssuerConfig issuer = desired.issuers().get(r.issuer().key());
      Optional<IssuerConfig.Dns01> dns01 = issuer instanceof IssuerConfig.Acme a ? a.solverFor(r.fqdn(), Map.of())
          .flatMap(IssuerConfig.Solver::dns01) : Optional.empty();
      if (dns01.isEmpty()) {
        problems.add(origin + ": A/AAAA records of " + r.fqdn() + ": " + r.issuer() + " has no dns01 solver for it "
            + "(expected: an ACME issuer whose solver for the name is dns01)");
        continue;
      }
      try {
        wanted.add(new AddressPublisher.Wanted(r.fqdn(), r.addresses(), dns01.get().provider(),
            secrets.of(r.issuer(), dns01.get().provider()), origin));
      } catch (CertificateManager.NotReady e) {
        problems.add(origin + ": A/AAAA records of " + r.fqdn() + ": " + e.getMessage());
      }
    }
    for (String p : problems) {
      if (logged.add(p)) {
        log.error("dns: {}", p);
      }
    }
    logged.retainAll(problems);
    publisher.publish(wanted);
  }
}
