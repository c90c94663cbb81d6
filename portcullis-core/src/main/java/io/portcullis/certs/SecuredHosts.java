package io.portcullis.certs;

import static io.portcullis.certs.CertManagerTranslator.EXTERNAL_DNS_HOSTNAME;
import static io.portcullis.certs.CertManagerTranslator.EXTERNAL_DNS_TARGET;
import static io.portcullis.certs.CertificateTranslator.DNS_NAME;
import static io.portcullis.certs.CertificateTranslator.checkSolvable;

import com.fasterxml.jackson.databind.JsonNode;
import io.portcullis.certs.IssuerConfig.IssuerRef;
import io.portcullis.config.Problem.Severity;
import io.portcullis.config.Problem;
import io.portcullis.config.Resource;
import io.portcullis.config.ServerConfig;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * cert-manager's gateway-shim for Istio Gateways ("secured hosts", Vamp Lamia): a Gateway with cert-manager's
 * annotations ({@link ShimAnnotations}) gets one Certificate per {@code credentialName} of its HTTPS servers whose
 * Secret is not in the manifests, and, with external-dns's
 * {@code target} annotation, the A/AAAA records of its hosts. Pure.
 */
final class SecuredHosts {
  private final String gatewayNamespace;

  SecuredHosts(String gatewayNamespace) {
    this.gatewayNamespace = gatewayNamespace;
  }

  /**
   * The A/AAAA records of one Gateway annotated with external-dns's {@code target} (IP addresses, comma-separated)
   * and an issuer annotation: one per secured host that is not a wildcard, plus the names of external-dns's
   * {@code hostname} annotation.
   */
  void addressRecords(Resource g, List<ServerConfig> servers, Optional<ShimAnnotations> shim,
      List<Problem> problems, List<CertManagerConfig.AddressRecord> out) {
    JsonNode annotations = g.body().path("metadata").path("annotations");
    String target = annotations.path(EXTERNAL_DNS_TARGET).asText("").trim();
    if (target.isEmpty()) {
      return;
    }
    String field = "metadata.annotations." + EXTERNAL_DNS_TARGET;
    if (shim.isEmpty()) {
      problems.add(Problem.of(Severity.ERROR, g, field, "set without a valid " + ShimAnnotations.CLUSTER_ISSUER + " or "
          + ShimAnnotations.ISSUER + " (expected: an issuer whose dns01 provider keeps the records)"));
      return;
    }
    IssuerRef ref = shim.get().issuer();
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
  List<CertificateConfig> securedHosts(Resource g, List<ServerConfig> servers, ShimAnnotations shim,
      Map<String, IssuerConfig> issuers, Set<String> manifestSecrets, List<Problem> problems) {
    String annotation = shim.issuerField();
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
      checkSolvable(g, fieldBySecret.get(secret), List.copyOf(hosts), Map.of(), issuers.get(shim.issuer().key()),
          problems);
      if (problems.size() > before) {
        return;
      }
      out.add(shim.certificate(gatewayNamespace, secret, List.copyOf(hosts), "Gateway " + g.key() + " ("
          + shim.issuerAnnotation() + ")"));
    });
    return out;
  }
}
