package io.portcullis.config.istio;

import static io.portcullis.config.SpecValues.validHost;

import io.fabric8.istio.api.api.networking.v1alpha3.Port;
import io.fabric8.istio.api.api.networking.v1alpha3.Server;
import io.fabric8.istio.api.api.networking.v1alpha3.ServerTLSSettings;
import io.fabric8.istio.api.networking.v1.Gateway;
import io.portcullis.config.FieldCheck;
import io.portcullis.config.Problem.Severity;
import io.portcullis.config.Resource;
import io.portcullis.config.ServerConfig;
import io.portcullis.config.TranslationContext;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;

/**
 * Translates an Istio {@code Gateway}'s {@code spec.servers[]} into {@link ServerConfig}s: {@code port} (number
 * plus {@code --port-offset}, protocol HTTP, HTTPS, HTTP2 or TLS), {@code hosts} ({@code [namespace/]host}) and
 * {@code tls} ({@link ServerTlsTranslator}, or {@code httpsRedirect} alone on plain HTTP). A bad server is reported
 * and left out; the Gateway's other servers still translate.
 */
final class GatewayTranslator {
  private static final FieldCheck GATEWAY_FIELDS = new FieldCheck("apiVersion", "kind", "metadata.**", "status.**",
      "spec.selector.**", "spec.servers[].port.number", "spec.servers[].port.name", "spec.servers[].port.protocol",
      "spec.servers[].hosts[]", "spec.servers[].name", "spec.servers[].tls.mode", "spec.servers[].tls.credentialName",
      "spec.servers[].tls.httpsRedirect", "spec.servers[].tls.minProtocolVersion",
      "spec.servers[].tls.maxProtocolVersion", "spec.servers[].tls.cipherSuites[]",
      "spec.servers[].tls.credentialNames[]", "spec.servers[].tls.serverCertificate", "spec.servers[].tls.privateKey",
      "spec.servers[].tls.caCertificates", "spec.servers[].tls.caCrl", "spec.servers[].tls.caCertCredentialName",
      "spec.servers[].tls.tlsCertificates[].serverCertificate", "spec.servers[].tls.tlsCertificates[].privateKey",
      "spec.servers[].tls.tlsCertificates[].caCertificates", "spec.servers[].tls.subjectAltNames[]",
      "spec.servers[].tls.verifyCertificateSpki[]", "spec.servers[].tls.verifyCertificateHash[]");

  private GatewayTranslator() {}

  /** Adds the valid servers of Gateway {@code r} to {@code out}, in order. */
  static void gateway(Resource r, TranslationContext cx, List<ServerConfig> out) {
    cx.unsupported(r, GATEWAY_FIELDS);
    Gateway gw = cx.convert(r, Gateway.class);
    if (gw == null) {
      return;
    }
    if (gw.getSpec() == null || gw.getSpec().getServers() == null || gw.getSpec().getServers().isEmpty()) {
      cx.problem(Severity.ERROR, r, "spec.servers", "empty (expected: at least one server)");
      return;
    }
    int portOffset = cx.portOffset();
    List<Server> servers = gw.getSpec().getServers();
    for (int i = 0; i < servers.size(); i++) {
      String at = "spec.servers[" + i + "]";
      Server s = servers.get(i);
      Port port = s.getPort();
      if (port == null || port.getNumber() == null) {
        cx.problem(Severity.ERROR, r, at + ".port.number", "missing (expected: 1..65535)");
        continue;
      }
      long number = port.getNumber();
      if (number < 1 || number > 65535 || number + portOffset > 65535 || number + portOffset < 1) {
        cx.problem(Severity.ERROR, r, at + ".port.number", number + (portOffset == 0 ? "" : " (+" + portOffset
            + " --port-offset)") + " (expected: 1..65535)");
        continue;
      }
      String protocol = port.getProtocol() == null ? "" : port.getProtocol().toUpperCase(Locale.ROOT);
      if (!Set.of("HTTP", "HTTPS", "HTTP2", "TLS").contains(protocol)) {
        cx.problem(Severity.ERROR, r, at + ".port.protocol", (protocol.isEmpty() ? "missing" : port.getProtocol())
            + " (expected: HTTP, HTTPS, HTTP2, or TLS with tls.mode PASSTHROUGH)");
        continue;
      }
      List<String> hosts = s.getHosts() == null ? List.of() : s.getHosts();
      if (hosts.isEmpty()) {
        cx.problem(Severity.ERROR, r, at + ".hosts", "empty (expected: at least one host, e.g. \"*\" or "
            + "\"httpbin.example.com\")");
        continue;
      }
      List<ServerConfig.ServerHost> serverHosts = new ArrayList<>();
      boolean badHost = false;
      for (int h = 0; h < hosts.size(); h++) {
        String host = hosts.get(h) == null ? "" : hosts.get(h).trim();
        String ns = "*";
        int slash = host.indexOf('/');
        if (slash >= 0) {
          ns = host.substring(0, slash);
          ns = ns.equals(".") ? r.namespace() : ns;
          host = host.substring(slash + 1);
        }
        if (!validHost(host)) {
          cx.problem(Severity.ERROR, r, at + ".hosts[" + h + "]", "\"" + hosts.get(h) + "\" (expected: a DNS name, "
              + "\"*.\" followed by a DNS name, or \"*\", optionally prefixed by \"namespace/\")");
          badHost = true;
          break;
        }
        serverHosts.add(new ServerConfig.ServerHost(ns, host.toLowerCase(Locale.ROOT)));
      }
      if (badHost) {
        continue;
      }
      ServerTLSSettings tls = s.getTls();
      Optional<ServerConfig.TlsSettings> tlsSettings = Optional.empty();
      boolean redirect = tls != null && Boolean.TRUE.equals(tls.getHttpsRedirect());
      if (protocol.equals("HTTPS") || protocol.equals("TLS")) {
        tlsSettings = ServerTlsTranslator.tlsSettings(r, at, protocol, tls, cx);
        if (tlsSettings.isEmpty()) {
          continue;
        }
      } else if (tls != null && !redirect && tls.getMode() != null) {
        cx.problem(Severity.WARNING, r, at + ".tls", "ignored on a " + protocol + " server (expected: only "
            + "httpsRedirect on plain HTTP servers)");
      }
      String portName = port.getName() == null ? protocol.toLowerCase(Locale.ROOT) : port.getName();
      out.add(new ServerConfig(r.key(), i, portName, (int) number, protocol, serverHosts, tlsSettings, redirect));
    }
  }
}
