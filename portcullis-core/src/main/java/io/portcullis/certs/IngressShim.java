package io.portcullis.certs;

import static io.portcullis.certs.CertificateTranslator.checkSolvable;

import io.portcullis.config.Problem.Severity;
import io.portcullis.config.Problem;
import io.portcullis.config.Resource;
import io.portcullis.config.ServerConfig;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * cert-manager's ingress-shim, answered in-process: an Ingress this gateway serves, annotated as
 * {@link ShimAnnotations} reads (on an Ingress also {@code kubernetes.io/tls-acme: "true"} with the
 * {@link DefaultIssuer}), gets one Certificate per {@code spec.tls[i]}: named after {@code secretName}, with
 * {@code hosts} as {@code dnsNames}.
 *
 * <p>Where it differs from cert-manager, and why: the Certificate (and so its Secret) is made in the gateway
 * namespace, because that is where Istio, and so Portcullis, reads an Ingress's TLS Secret ({@code K8S_INGRESS_NS});
 * cert-manager would make it in the Ingress's namespace, where Istio would never read it. A namespaced
 * {@code cert-manager.io/issuer} is still looked up in the Ingress's namespace, as the annotation means there. A
 * Secret that is among the manifests is served as it is and gets no Certificate. As in cert-manager, a
 * {@code secretName} used by two TLS entries of one Ingress makes that Ingress get no Certificate at all, and an
 * entry without {@code hosts} is skipped. Pure.
 */
final class IngressShim {
  private final DefaultIssuer defaults;

  IngressShim(DefaultIssuer defaults) {
    this.defaults = defaults;
  }

  /**
   * The Certificates of the served Ingresses.
   *
   * @param ingresses every Ingress of the snapshot, by {@link Resource#id()}
   * @param servers the validated servers of the gateway (the Ingresses' HTTPS ones carry their origin)
   * @param manifestSecrets the Secrets of the manifests, {@code namespace/name}
   */
  List<ShimAnnotations.Made> certificates(Map<String, Resource> ingresses, List<ServerConfig> servers,
      Map<String, IssuerConfig> issuers, Set<String> manifestSecrets, List<Problem> problems) {
    Map<String, List<ServerConfig>> byIngress = new LinkedHashMap<>();
    for (ServerConfig sc : servers) {
      if (sc.tls().isPresent() && ingresses.containsKey(sc.origin().subject())) {
        byIngress.computeIfAbsent(sc.origin().subject(), k -> new ArrayList<>()).add(sc);
      }
    }
    List<ShimAnnotations.Made> out = new ArrayList<>();
    byIngress.forEach((id, tlsServers) -> {
      Resource r = ingresses.get(id);
      ShimAnnotations.read(r, true, defaults, r.namespace(), problems).ifPresent(shim -> {
        if (duplicateSecret(r, tlsServers, problems)) {
          return;
        }
        for (ServerConfig sc : tlsServers) {
          String key = sc.tls().get().credentialName().orElse("");
          String secretField = sc.origin().field() + ".secretName";
          int slash = key.indexOf('/');
          if (slash < 0) {
            continue;
          }
          if (sc.hosts().size() == 1 && sc.hosts().get(0).host().equals("*")) {
            problems.add(Problem.of(Severity.WARNING, r, sc.origin().hostsField(), "missing: no Certificate is made "
                + "for this TLS entry (expected with " + shim.issuerAnnotation() + ": the hosts to issue it for, as "
                + "cert-manager requires)"));
            continue;
          }
          if (manifestSecrets.contains(key)) {
            problems.add(Problem.of(Severity.WARNING, r, secretField, "Secret " + key + " is among the manifests: "
                + "it is served as it is and no Certificate is made for it (expected with " + shim.issuerAnnotation()
                + ": no Secret manifest of that name, so that the gateway issues it)"));
            continue;
          }
          List<String> dnsNames = sc.hosts().stream().map(ServerConfig.ServerHost::host).distinct().toList();
          int before = problems.size();
          checkSolvable(r, sc.origin().hostsField(), dnsNames, Map.of(), issuers.get(shim.issuer().key()),
              problems);
          if (problems.size() > before) {
            continue;
          }
          out.add(new ShimAnnotations.Made(shim.certificate(key.substring(0, slash), key.substring(slash + 1), dnsNames, "Ingress "
              + r.key() + " (" + shim.issuerAnnotation() + ")"), r, secretField));
        }
      });
    });
    return out;
  }

  /** cert-manager's {@code checkForDuplicateSecretNames}: one Certificate per TLS entry, so one entry per Secret. */
  private static boolean duplicateSecret(Resource r, List<ServerConfig> tlsServers, List<Problem> problems) {
    Map<String, String> first = new LinkedHashMap<>();
    boolean duplicate = false;
    for (ServerConfig sc : tlsServers) {
      String key = sc.tls().get().credentialName().orElse("");
      String at = sc.origin().field() + ".secretName";
      String earlier = first.putIfAbsent(key, at);
      if (earlier != null) {
        problems.add(Problem.of(Severity.ERROR, r, at, key.substring(key.indexOf('/') + 1) + " is also the "
            + "secretName of " + earlier + " (expected with cert-manager's annotations: each secretName in one TLS "
            + "entry only); no Certificate is made for this Ingress"));
        duplicate = true;
      }
    }
    return duplicate;
  }
}
