package io.portcullis.certs;

import static io.portcullis.certs.CertificateTranslator.DNS_NAME;
import static io.portcullis.certs.CertificateTranslator.checkSolvable;

import com.fasterxml.jackson.databind.JsonNode;
import io.portcullis.config.Problem.Severity;
import io.portcullis.config.Problem;
import io.portcullis.config.Resource;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * cert-manager's gateway-shim for the Gateway API, answered in-process: a {@code gateway.networking.k8s.io}
 * Gateway of a GatewayClass this gateway serves, annotated as {@link ShimAnnotations} reads, gets one Certificate
 * per Secret its {@code HTTPS} / {@code TLS} listeners name in {@code tls.certificateRefs}: in the Gateway's
 * namespace, named after the Secret, with the {@code hostname}s of the listeners naming it as {@code dnsNames}.
 *
 * <p>As cert-manager's {@code handleGatewayAPIListeners}: a {@code Passthrough} listener is skipped silently; a
 * listener without {@code hostname}, without {@code certificateRefs}, with a reference to another kind or to another
 * namespace is skipped with a WARNING naming the field (cert-manager's {@code BadConfig} event). An unset
 * {@code tls.mode} is {@code Terminate}, the API's default. A Secret that is among the manifests is served as it is
 * and gets no Certificate. Pure.
 */
final class GatewayShim {
  static final String GROUP = "gateway.networking.k8s.io";
  private final DefaultIssuer defaults;

  GatewayShim(DefaultIssuer defaults) {
    this.defaults = defaults;
  }

  /**
   * The Certificates of the annotated Gateways.
   *
   * @param gateways the Gateway API Gateways of the snapshot
   * @param ourClasses the names of the GatewayClasses whose {@code controllerName} is this gateway's
   * @param manifestSecrets the Secrets of the manifests, {@code namespace/name}
   */
  List<ShimAnnotations.Made> certificates(List<Resource> gateways, Set<String> ourClasses,
      Map<String, IssuerConfig> issuers, Set<String> manifestSecrets, List<Problem> problems) {
    List<ShimAnnotations.Made> out = new ArrayList<>();
    for (Resource g : gateways) {
      JsonNode spec = g.body().path("spec");
      if (!ourClasses.contains(spec.path("gatewayClassName").asText(""))) {
        continue;
      }
      ShimAnnotations.read(g, false, defaults, g.namespace(), problems).ifPresent(shim -> {
        Map<String, Set<String>> hostsBySecret = new LinkedHashMap<>();
        Map<String, String> fieldBySecret = new LinkedHashMap<>();
        Map<String, String> fieldByHost = new LinkedHashMap<>();
        JsonNode listeners = spec.path("listeners");
        for (int i = 0; i < listeners.size(); i++) {
          listener(g, i, listeners.get(i), shim, hostsBySecret, fieldBySecret, fieldByHost, problems);
        }
        hostsBySecret.forEach((secret, hosts) -> {
          String key = g.namespace() + "/" + secret;
          if (manifestSecrets.contains(key)) {
            problems.add(Problem.of(Severity.WARNING, g, fieldBySecret.get(secret), "Secret " + key + " is among the "
                + "manifests: it is served as it is and no Certificate is made for it (expected with "
                + shim.issuerAnnotation() + ": no Secret manifest of that name, so that the gateway issues it)"));
            return;
          }
          List<String> dnsNames = List.copyOf(hosts);
          int before = problems.size();
          checkSolvable(g, n -> fieldByHost.get(dnsNames.get(n)), dnsNames, Map.of(), issuers.get(shim.issuer().key()),
              problems);
          if (problems.size() == before) {
            out.add(new ShimAnnotations.Made(shim.certificate(g.namespace(), secret, dnsNames, "Gateway "
                + GROUP + " " + g.key() + " (" + shim.issuerAnnotation() + ")"), g, fieldBySecret.get(secret)));
          }
        });
      });
    }
    return out;
  }

  private static void listener(Resource g, int i, JsonNode l, ShimAnnotations shim,
      Map<String, Set<String>> hostsBySecret, Map<String, String> fieldBySecret, Map<String, String> fieldByHost,
      List<Problem> problems) {
    String at = "spec.listeners[" + i + "]";
    String protocol = l.path("protocol").asText("");
    JsonNode tls = l.path("tls");
    if (!protocol.equals("HTTPS") && !protocol.equals("TLS")
        || tls.path("mode").asText("Terminate").equals("Passthrough")) {
      return;
    }
    String skipped = "; cert-manager's annotations make no Certificate for this listener";
    String hostname = l.path("hostname").asText("").trim().toLowerCase(Locale.ROOT);
    if (hostname.isEmpty() || !DNS_NAME.matcher(hostname).matches()) {
      problems.add(Problem.of(Severity.WARNING, g, at + ".hostname", (hostname.isEmpty() ? "missing" : hostname)
          + " (expected with " + shim.issuerAnnotation() + ": the DNS name to issue for)" + skipped));
      return;
    }
    if (!tls.path("mode").asText("Terminate").equals("Terminate")) {
      problems.add(Problem.of(Severity.WARNING, g, at + ".tls.mode", tls.path("mode").asText() + " (expected: "
          + "Terminate)" + skipped));
      return;
    }
    JsonNode refs = tls.path("certificateRefs");
    if (refs.isEmpty()) {
      problems.add(Problem.of(Severity.WARNING, g, at + ".tls.certificateRefs", "missing (expected with "
          + shim.issuerAnnotation() + ": the Secret to issue into)" + skipped));
      return;
    }
    for (int k = 0; k < refs.size(); k++) {
      JsonNode ref = refs.get(k);
      String field = at + ".tls.certificateRefs[" + k + "]";
      String group = ref.path("group").asText("");
      String kind = ref.path("kind").asText("Secret");
      String ns = ref.path("namespace").asText("");
      if (!group.isEmpty() && !group.equals("core") || !kind.isEmpty() && !kind.equals("Secret")) {
        problems.add(Problem.of(Severity.WARNING, g, field + ".kind", (group.isEmpty() ? "" : group + "/") + kind
            + " (expected: a core Secret)" + skipped));
        return;
      }
      if (!ns.isEmpty() && !ns.equals(g.namespace())) {
        problems.add(Problem.of(Severity.WARNING, g, field + ".namespace", ns + " (expected: the Gateway's "
            + "namespace, " + g.namespace() + "; cert-manager issues no Secret into another namespace)" + skipped));
        return;
      }
    }
    fieldByHost.putIfAbsent(hostname, at + ".hostname");
    for (int k = 0; k < refs.size(); k++) {
      String name = refs.get(k).path("name").asText("").trim();
      if (!name.isEmpty()) {
        hostsBySecret.computeIfAbsent(name, x -> new LinkedHashSet<>()).add(hostname);
        fieldBySecret.putIfAbsent(name, at + ".tls.certificateRefs[" + k + "].name");
      }
    }
  }
}
