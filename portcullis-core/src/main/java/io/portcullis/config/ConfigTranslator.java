package io.portcullis.config;

import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonMappingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import io.fabric8.istio.api.api.networking.v1alpha3.Destination;
import io.fabric8.istio.api.api.networking.v1alpha3.HTTPBodyBytes;
import io.fabric8.istio.api.api.networking.v1alpha3.HTTPBodyString;
import io.fabric8.istio.api.api.networking.v1alpha3.HTTPMatchRequest;
import io.fabric8.istio.api.api.networking.v1alpha3.HTTPRedirectPort;
import io.fabric8.istio.api.api.networking.v1alpha3.HTTPRouteDestination;
import io.fabric8.istio.api.api.networking.v1alpha3.Headers;
import io.fabric8.istio.api.api.networking.v1alpha3.HeadersHeaderOperations;
import io.fabric8.istio.api.api.networking.v1alpha3.Port;
import io.fabric8.istio.api.api.networking.v1alpha3.Server;
import io.fabric8.istio.api.api.networking.v1alpha3.ServerTLSSettings;
import io.fabric8.istio.api.api.networking.v1alpha3.ServicePort;
import io.fabric8.istio.api.api.networking.v1alpha3.WorkloadEntry;
import io.fabric8.istio.api.networking.v1.Gateway;
import io.fabric8.istio.api.networking.v1.ServiceEntry;
import io.fabric8.istio.api.networking.v1.VirtualService;
import io.fabric8.kubernetes.api.model.Secret;
import io.portcullis.config.Problem.Severity;
import io.portcullis.routing.Cluster;
import io.portcullis.routing.Endpoint;
import io.portcullis.routing.HeaderOps;
import io.portcullis.routing.HostTable;
import io.portcullis.routing.HttpRoute;
import io.portcullis.routing.RouteAction;
import io.portcullis.routing.RouteMatch;
import io.portcullis.routing.TlsRoute;
import io.portcullis.routing.VirtualHost;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;

/**
 * Turns a {@link Snapshot} into a {@link GatewayConfig}: Istio {@code Gateway}, {@code VirtualService},
 * {@code ServiceEntry} and v1 {@code Secret} objects, read through fabric8's Istio and Kubernetes models.
 *
 * <p>A resource or server that fails validation is reported as an ERROR {@link Problem} naming the resource, the
 * field path and what was expected, and is left out; the rest still translates. Fields Portcullis does not act on
 * are reported as WARNINGs; kinds it does not know as INFO. Pure: no I/O, safe on any thread.
 */
public final class ConfigTranslator {
  private static final String ISTIO_GROUP = "networking.istio.io";
  private static final Set<String> ISTIO_VERSIONS = Set.of("v1alpha3", "v1beta1", "v1");
  private static final String CLUSTER_DOMAIN = "svc.cluster.local";

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
  private static final FieldCheck VIRTUAL_SERVICE_FIELDS = new FieldCheck("apiVersion", "kind", "metadata.**",
      "status.**", "spec.hosts[]", "spec.gateways[]", "spec.exportTo[]", "spec.http[].name",
      "spec.http[].match[].name", "spec.http[].match[].uri.*", "spec.http[].match[].authority.*",
      "spec.http[].match[].method.*", "spec.http[].match[].headers.*.*", "spec.http[].match[].queryParams.*.*",
      "spec.http[].match[].port",
      "spec.http[].match[].ignoreUriCase", "spec.http[].route[].destination.host",
      "spec.http[].route[].destination.port.number", "spec.http[].route[].weight", "spec.http[].redirect.uri",
      "spec.http[].redirect.authority", "spec.http[].redirect.scheme", "spec.http[].redirect.port",
      "spec.http[].redirect.redirectCode", "spec.http[].directResponse.status",
      "spec.http[].directResponse.body.string", "spec.http[].directResponse.body.bytes", "spec.http[].rewrite.uri",
      "spec.http[].rewrite.authority", "spec.http[].timeout", "spec.http[].retries.attempts",
      "spec.http[].retries.perTryTimeout", "spec.http[].retries.retryOn", "spec.http[].headers.request.set.*",
      "spec.http[].headers.request.add.*", "spec.http[].headers.request.remove[]",
      "spec.http[].headers.response.set.*", "spec.http[].headers.response.add.*",
      "spec.http[].headers.response.remove[]", "spec.tls[].match[].sniHosts[]", "spec.tls[].match[].port",
      "spec.tls[].route[].destination.host", "spec.tls[].route[].destination.port.number", "spec.tls[].route[].weight");
  private static final FieldCheck SERVICE_ENTRY_FIELDS = new FieldCheck("apiVersion", "kind", "metadata.**",
      "status.**", "spec.hosts[]", "spec.ports[].number", "spec.ports[].name", "spec.ports[].protocol",
      "spec.ports[].targetPort", "spec.resolution", "spec.location", "spec.exportTo[]", "spec.endpoints[].address",
      "spec.endpoints[].ports.*", "spec.endpoints[].labels.**");
  private static final FieldCheck CONFIG_MAP_FIELDS = new FieldCheck("apiVersion", "kind", "metadata.**",
      "immutable", "data.*", "binaryData.*");
  // data.** and stringData.**: below a data key is a value of the wrong type (reported by convert, without it), and
  // never a field name worth quoting: it may be the key itself.
  private static final FieldCheck SECRET_FIELDS = new FieldCheck("apiVersion", "kind", "metadata.**", "type",
      "immutable", "data.**", "stringData.**");

  private final ObjectMapper mapper = JsonMapper.builder()
      .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
      .enable(DeserializationFeature.FAIL_ON_NUMBERS_FOR_ENUMS)
      .build();
  private final String gatewayNamespace;
  private final int portOffset;

  /**
   * Creates a translator.
   *
   * @param gatewayNamespace the gateway workload's namespace ({@code --namespace}): where {@code credentialName}
   *     Secrets are looked up, as Istio does
   * @param portOffset added to every Gateway port number to get the port to bind ({@code --port-offset})
   */
  public ConfigTranslator(String gatewayNamespace, int portOffset) {
    this.gatewayNamespace = requireNonNull(gatewayNamespace, "gatewayNamespace");
    this.portOffset = portOffset;
  }

  /** Translates {@code snapshot}; never throws for bad input, which becomes {@link Problem}s instead. */
  public GatewayConfig translate(Snapshot snapshot) {
    Context cx = new Context(snapshot);
    for (Resource r : snapshot.resources()) {
      switch (kindOf(r, cx)) {
        case "Gateway" -> cx.gateways.add(r);
        case "VirtualService" -> cx.virtualServices.add(r);
        case "ServiceEntry" -> cx.serviceEntries.add(r);
        case "Secret" -> secret(r, cx);
        case "ConfigMap" -> configMap(r, cx);
        default -> { }
      }
    }
    for (Resource r : cx.serviceEntries) {
      serviceEntry(r, cx);
    }
    List<ServerConfig> servers = new ArrayList<>();
    for (Resource r : cx.gateways) {
      gateway(r, cx, servers);
    }
    Map<String, List<BoundVs>> vsByGateway = new LinkedHashMap<>();
    for (Resource r : cx.virtualServices) {
      virtualService(r, cx, vsByGateway);
    }
    SortedListeners listeners = listeners(servers, vsByGateway, cx);
    return new GatewayConfig(listeners.map, cx.secrets, cx.problems, snapshot.generation());
  }

  // ---- kinds ----

  private String kindOf(Resource r, Context cx) {
    String group = r.group();
    String version = r.apiVersion().substring(r.apiVersion().indexOf('/') + 1);
    if (group.equals(ISTIO_GROUP) && Set.of("Gateway", "VirtualService", "ServiceEntry").contains(r.kind())) {
      if (!ISTIO_VERSIONS.contains(version)) {
        cx.problem(Severity.ERROR, r, "apiVersion", r.apiVersion() + " (expected: networking.istio.io/v1, v1beta1 or "
            + "v1alpha3)");
        return "";
      }
      return r.kind();
    }
    if (group.isEmpty() && version.equals("v1") && (r.kind().equals("Secret") || r.kind().equals("ConfigMap"))) {
      return r.kind();
    }
    if (group.equals("cert-manager.io") && Set.of("Issuer", "ClusterIssuer", "Certificate").contains(r.kind())) {
      return ""; // the certificate manager's (io.portcullis.certs.CertManagerTranslator)
    }
    cx.problem(Severity.INFO, r, "", "kind " + r.apiVersion() + " " + r.kind() + " is not used by the gateway; "
        + "ignored");
    return "";
  }

  private void secret(Resource r, Context cx) {
    unsupported(r, SECRET_FIELDS, cx);
    Secret s = convert(r, Secret.class, cx);
    if (s != null) {
      cx.secrets.put(r.key(), new GatewayConfig.SecretData(r.key(), r.source().toString(),
          decode(r, "data", s.getData(), "stringData", s.getStringData(), cx)));
    }
  }

  /**
   * Keeps a ConfigMap's data among the credential sources under {@link GatewayConfig#CONFIG_MAP_PREFIX}: Istio's
   * {@code caCertCredentialName} may name one.
   */
  private void configMap(Resource r, Context cx) {
    unsupported(r, CONFIG_MAP_FIELDS, cx);
    io.fabric8.kubernetes.api.model.ConfigMap m = convert(r, io.fabric8.kubernetes.api.model.ConfigMap.class, cx);
    if (m != null) {
      String key = GatewayConfig.CONFIG_MAP_PREFIX + r.key();
      cx.secrets.put(key, new GatewayConfig.SecretData(key, r.source().toString(),
          decode(r, "binaryData", m.getBinaryData(), "data", m.getData(), cx)));
    }
  }

  /**
   * Merges a base64 map ({@code base64Field}) and a plain-text map ({@code textField}, which wins) into key to bytes;
   * a value that is not base64 is reported and left out.
   */
  private static Map<String, byte[]> decode(Resource r, String base64Field, Map<String, String> base64,
      String textField, Map<String, String> text, Context cx) {
    Map<String, byte[]> data = new TreeMap<>();
    if (base64 != null) {
      for (Map.Entry<String, String> e : base64.entrySet()) {
        try {
          data.put(e.getKey(), Base64.getMimeDecoder().decode(e.getValue() == null ? "" : e.getValue().trim()));
        } catch (IllegalArgumentException ex) {
          cx.problem(Severity.ERROR, r, base64Field + "." + e.getKey(), "not valid base64 (expected: base64 of the "
              + "value; use " + textField + " for plain text)");
        }
      }
    }
    if (text != null) {
      text.forEach((k, v) -> data.put(k, (v == null ? "" : v).getBytes(StandardCharsets.UTF_8)));
    }
    return data;
  }

  private record ServiceInfo(String host, String namespace, List<ServicePort> ports, String resolution,
      List<WorkloadEntry> endpoints) {}

  private void serviceEntry(Resource r, Context cx) {
    unsupported(r, SERVICE_ENTRY_FIELDS, cx);
    ServiceEntry se = convert(r, ServiceEntry.class, cx);
    if (se == null || se.getSpec() == null) {
      if (se != null) {
        cx.problem(Severity.ERROR, r, "spec", "missing (expected: hosts, ports, resolution)");
      }
      return;
    }
    var spec = se.getSpec();
    if (spec.getHosts() == null || spec.getHosts().isEmpty()) {
      cx.problem(Severity.ERROR, r, "spec.hosts", "empty (expected: at least one host)");
      return;
    }
    List<ServicePort> ports = spec.getPorts() == null ? List.of() : spec.getPorts();
    for (int i = 0; i < ports.size(); i++) {
      Long n = ports.get(i).getNumber();
      if (n == null || n < 1 || n > 65535) {
        cx.problem(Severity.ERROR, r, "spec.ports[" + i + "].number", n + " (expected: 1..65535)");
        return;
      }
    }
    String resolution = spec.getResolution() == null ? rawText(r, "spec", "resolution") : spec.getResolution().name();
    if (resolution.isEmpty()) {
      resolution = "NONE";
    }
    if (!resolution.equals("STATIC") && !resolution.equals("DNS")) {
      cx.problem(Severity.ERROR, r, "spec.resolution", resolution + " (expected: STATIC or DNS; the gateway needs "
          + "addresses to connect to)");
      return;
    }
    List<WorkloadEntry> endpoints = spec.getEndpoints() == null ? List.of() : spec.getEndpoints();
    if (resolution.equals("STATIC") && endpoints.isEmpty()) {
      cx.problem(Severity.ERROR, r, "spec.endpoints", "empty (expected: at least one endpoint with an IP address for "
          + "resolution STATIC)");
      return;
    }
    for (int i = 0; i < endpoints.size(); i++) {
      String addr = endpoints.get(i).getAddress();
      if (addr == null || addr.isBlank()) {
        cx.problem(Severity.ERROR, r, "spec.endpoints[" + i + "].address", "missing (expected: an IP address or, with "
            + "resolution DNS, a host name)");
        return;
      }
    }
    for (String host : spec.getHosts()) {
      ServiceInfo info = new ServiceInfo(host, r.namespace(), ports, resolution, endpoints);
      cx.services.putIfAbsent(lower(host), info);
      if (!host.contains(".")) {
        cx.services.putIfAbsent(lower(host + "." + r.namespace() + "." + CLUSTER_DOMAIN), info);
      }
    }
  }

  private void gateway(Resource r, Context cx, List<ServerConfig> out) {
    unsupported(r, GATEWAY_FIELDS, cx);
    Gateway gw = convert(r, Gateway.class, cx);
    if (gw == null) {
      return;
    }
    if (gw.getSpec() == null || gw.getSpec().getServers() == null || gw.getSpec().getServers().isEmpty()) {
      cx.problem(Severity.ERROR, r, "spec.servers", "empty (expected: at least one server)");
      return;
    }
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
        tlsSettings = tlsSettings(r, at, protocol, tls, cx);
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

  /**
   * Validates Istio {@code ServerTLSSettings}; returns empty after reporting an ERROR. Follows Istio's validation: one
   * credential form, at most two certificates, a client CA for {@code MUTUAL}, well-formed digests.
   */
  private Optional<ServerConfig.TlsSettings> tlsSettings(Resource r, String at, String protocol, ServerTLSSettings tls,
      Context cx) {
    if (tls == null) {
      cx.problem(Severity.ERROR, r, at + ".tls", "missing (expected: mode SIMPLE with a credentialName for an "
          + "HTTPS server, or mode PASSTHROUGH)");
      return Optional.empty();
    }
    String mode = tls.getMode() != null ? tls.getMode().name() : rawText(r, at, "tls", "mode");
    if (mode.isEmpty()) {
      mode = "PASSTHROUGH"; // Istio's default mode
    }
    if (mode.equals("ISTIO_MUTUAL") || mode.equals("AUTO_PASSTHROUGH")) {
      cx.problem(Severity.ERROR, r, at + ".tls.mode", mode + " needs the mesh's identities, which Portcullis does "
          + "not have yet (expected: SIMPLE, MUTUAL, OPTIONAL_MUTUAL or PASSTHROUGH)");
      return Optional.empty();
    }
    if (!Set.of("SIMPLE", "MUTUAL", "OPTIONAL_MUTUAL", "PASSTHROUGH").contains(mode)) {
      cx.problem(Severity.ERROR, r, at + ".tls.mode", mode + " (expected: SIMPLE, MUTUAL, OPTIONAL_MUTUAL or "
          + "PASSTHROUGH)");
      return Optional.empty();
    }
    if (protocol.equals("TLS") && !mode.equals("PASSTHROUGH")) {
      cx.problem(Severity.ERROR, r, at + ".tls.mode", mode + " on a TLS port, whose streams Portcullis does not "
          + "terminate (expected: PASSTHROUGH, or port.protocol HTTPS to terminate TLS)");
      return Optional.empty();
    }
    Optional<String> min = protocolVersion(r, at + ".tls.minProtocolVersion", tls.getMinProtocolVersion() == null
        ? rawText(r, at, "tls", "minProtocolVersion") : tls.getMinProtocolVersion().name(), "TLSv1.2", cx);
    Optional<String> max = protocolVersion(r, at + ".tls.maxProtocolVersion", tls.getMaxProtocolVersion() == null
        ? rawText(r, at, "tls", "maxProtocolVersion") : tls.getMaxProtocolVersion().name(), "TLSv1.3", cx);
    if (min.isEmpty() || max.isEmpty()) {
      return Optional.empty();
    }
    if (min.get().compareTo(max.get()) > 0) {
      cx.problem(Severity.ERROR, r, at + ".tls.minProtocolVersion", min.get() + " is above maxProtocolVersion "
          + max.get() + " (expected: min <= max)");
      return Optional.empty();
    }
    List<String> ciphers = tls.getCipherSuites() == null ? List.of() : tls.getCipherSuites();
    if (mode.equals("PASSTHROUGH")) {
      return Optional.of(new ServerConfig.TlsSettings(mode, List.of(), List.of(), Optional.empty(), Optional.empty(),
          Optional.empty(), List.of(), List.of(), List.of(), min.get(), max.get(), ciphers));
    }
    String cred = tls.getCredentialName() == null ? "" : tls.getCredentialName().trim();
    List<String> creds = tls.getCredentialNames() == null ? List.of() : tls.getCredentialNames().stream()
        .map(c -> c == null ? "" : c.trim()).toList();
    boolean files = notBlank(tls.getServerCertificate()) || notBlank(tls.getPrivateKey());
    List<io.fabric8.istio.api.api.networking.v1alpha3.ServerTLSSettingsTLSCertificate> tlsCerts =
        tls.getTlsCertificates() == null ? List.of() : tls.getTlsCertificates();
    int forms = (cred.isEmpty() ? 0 : 1) + (creds.isEmpty() ? 0 : 1) + (files ? 1 : 0) + (tlsCerts.isEmpty() ? 0 : 1);
    if (forms != 1) {
      cx.problem(Severity.ERROR, r, at + ".tls", (forms == 0 ? "no credential" : "more than one credential form")
          + " (expected: exactly one of credentialName, credentialNames, serverCertificate with privateKey, or "
          + "tlsCertificates)");
      return Optional.empty();
    }
    List<String> credentialKeys = new ArrayList<>();
    List<String> names = !cred.isEmpty() ? List.of(cred) : creds;
    String namesField = !cred.isEmpty() ? ".tls.credentialName" : ".tls.credentialNames";
    if (names.size() > 2 || tlsCerts.size() > 2) {
      cx.problem(Severity.ERROR, r, at + (names.size() > 2 ? namesField : ".tls.tlsCertificates"), (names.size() > 2
          ? names.size() : tlsCerts.size()) + " entries (expected: at most 2, e.g. one RSA and one ECDSA)");
      return Optional.empty();
    }
    for (int n = 0; n < names.size(); n++) {
      String field = at + namesField + (cred.isEmpty() ? "[" + n + "]" : "");
      Optional<String> key = credentialKey(r, field, names.get(n), cx);
      if (key.isEmpty()) {
        return Optional.empty();
      }
      credentialKeys.add(key.get());
    }
    List<ServerConfig.CertificateFiles> certFiles = new ArrayList<>();
    String firstCa = "";
    if (files) {
      if (!notBlank(tls.getServerCertificate()) || !notBlank(tls.getPrivateKey())) {
        cx.problem(Severity.ERROR, r, at + (notBlank(tls.getServerCertificate()) ? ".tls.privateKey"
            : ".tls.serverCertificate"), "missing (expected: serverCertificate and privateKey together)");
        return Optional.empty();
      }
      certFiles.add(new ServerConfig.CertificateFiles(Path.of(tls.getServerCertificate().trim()),
          Path.of(tls.getPrivateKey().trim())));
    }
    for (int n = 0; n < tlsCerts.size(); n++) {
      var tc = tlsCerts.get(n);
      if (!notBlank(tc.getServerCertificate()) || !notBlank(tc.getPrivateKey())) {
        cx.problem(Severity.ERROR, r, at + ".tls.tlsCertificates[" + n + "]" + (notBlank(tc.getServerCertificate())
            ? ".privateKey" : ".serverCertificate"), "missing (expected: serverCertificate and privateKey)");
        return Optional.empty();
      }
      certFiles.add(new ServerConfig.CertificateFiles(Path.of(tc.getServerCertificate().trim()),
          Path.of(tc.getPrivateKey().trim())));
      if (firstCa.isEmpty() && notBlank(tc.getCaCertificates())) {
        firstCa = tc.getCaCertificates().trim();
      }
    }
    for (ServerConfig.CertificateFiles f : certFiles) {
      if (!f.serverCertificate().isAbsolute() || !f.privateKey().isAbsolute()) {
        cx.problem(Severity.ERROR, r, at + ".tls.serverCertificate", (f.serverCertificate().isAbsolute()
            ? f.privateKey() : f.serverCertificate()) + " (expected: an absolute file path)");
        return Optional.empty();
      }
    }
    String caFile = notBlank(tls.getCaCertificates()) ? tls.getCaCertificates().trim() : firstCa;
    String crlFile = notBlank(tls.getCaCrl()) ? tls.getCaCrl().trim() : "";
    for (String[] f : List.of(new String[] {"caCertificates", caFile}, new String[] {"caCrl", crlFile})) {
      if (!f[1].isEmpty() && !Path.of(f[1]).isAbsolute()) {
        cx.problem(Severity.ERROR, r, at + ".tls." + f[0], f[1] + " (expected: an absolute file path)");
        return Optional.empty();
      }
    }
    Optional<String> caCred = Optional.empty();
    if (notBlank(tls.getCaCertCredentialName())) {
      caCred = credentialKey(r, at + ".tls.caCertCredentialName", tls.getCaCertCredentialName().trim(), cx);
      if (caCred.isEmpty()) {
        return Optional.empty();
      }
    }
    boolean mutual = mode.equals("MUTUAL") || mode.equals("OPTIONAL_MUTUAL");
    if (mutual && certFiles.size() > 0 && caFile.isEmpty() && caCred.isEmpty()) {
      cx.problem(Severity.ERROR, r, at + ".tls.caCertificates", "missing (expected: for mode " + mode + " with "
          + "certificate files, the path of the client CA file, or caCertCredentialName)");
      return Optional.empty();
    }
    List<String> sans = tls.getSubjectAltNames() == null ? List.of() : tls.getSubjectAltNames().stream()
        .filter(ConfigTranslator::notBlank).map(String::trim).toList();
    List<byte[]> spki = new ArrayList<>();
    List<String> spkiIn = tls.getVerifyCertificateSpki() == null ? List.of() : tls.getVerifyCertificateSpki();
    for (int n = 0; n < spkiIn.size(); n++) {
      byte[] d;
      try {
        d = Base64.getDecoder().decode(spkiIn.get(n) == null ? "" : spkiIn.get(n).trim());
      } catch (IllegalArgumentException e) {
        d = new byte[0];
      }
      if (d.length != 32) {
        cx.problem(Severity.ERROR, r, at + ".tls.verifyCertificateSpki[" + n + "]", "\"" + spkiIn.get(n) + "\" "
            + "(expected: base64 of a SHA-256 digest, 44 characters: openssl x509 -pubkey -noout | openssl pkey "
            + "-pubin -outform DER | openssl dgst -sha256 -binary | base64)");
        return Optional.empty();
      }
      spki.add(d);
    }
    List<byte[]> hashes = new ArrayList<>();
    List<String> hashIn = tls.getVerifyCertificateHash() == null ? List.of() : tls.getVerifyCertificateHash();
    for (int n = 0; n < hashIn.size(); n++) {
      String hex = hashIn.get(n) == null ? "" : hashIn.get(n).trim().replace(":", "");
      if (!hex.matches("[0-9a-fA-F]{64}")) {
        cx.problem(Severity.ERROR, r, at + ".tls.verifyCertificateHash[" + n + "]", "\"" + hashIn.get(n) + "\" "
            + "(expected: the hex SHA-256 digest of the client certificate, 64 hex digits, colons allowed: openssl "
            + "x509 -noout -fingerprint -sha256)");
        return Optional.empty();
      }
      hashes.add(java.util.HexFormat.of().parseHex(hex));
    }
    if (!mutual && (!sans.isEmpty() || !spki.isEmpty() || !hashes.isEmpty() || caCred.isPresent()
        || !caFile.isEmpty())) {
      cx.problem(Severity.WARNING, r, at + ".tls", "client CA and client-certificate checks are ignored in mode "
          + mode + " (expected: mode MUTUAL or OPTIONAL_MUTUAL to check client certificates)");
    }
    return Optional.of(new ServerConfig.TlsSettings(mode, credentialKeys, certFiles, caCred,
        caFile.isEmpty() ? Optional.empty() : Optional.of(Path.of(caFile)),
        crlFile.isEmpty() ? Optional.empty() : Optional.of(Path.of(crlFile)), sans, spki,
        hashes, min.get(), max.get(), ciphers));
  }

  private static boolean notBlank(String s) {
    return s != null && !s.isBlank();
  }

  /**
   * Resolves a credential name as Istio does ({@code name}, {@code ns/name}, {@code kubernetes://…}) and applies the
   * seed's naming rule; returns empty after reporting an ERROR.
   */
  private Optional<String> credentialKey(Resource r, String field, String credentialName, Context cx) {
    if (credentialName.isEmpty()) {
      cx.problem(Severity.ERROR, r, field, "empty (expected: the name of a Secret in namespace " + gatewayNamespace
          + ")");
      return Optional.empty();
    }
    String c = credentialName.startsWith("kubernetes://") ? credentialName.substring("kubernetes://".length())
        : credentialName;
    String key = c.contains("/") ? c : gatewayNamespace + "/" + c;
    String secretName = key.substring(key.indexOf('/') + 1);
    if (secretName.startsWith("istio") || secretName.startsWith("prometheus")) {
      cx.problem(Severity.ERROR, r, field, credentialName + ": Istio's SDS never serves a Secret whose name starts "
          + "with istio or prometheus (expected: another name, e.g. " + secretName
          .replaceFirst("^(istio|prometheus)-?", "") + "-credential)");
      return Optional.empty();
    }
    return Optional.of(key);
  }

  private static Optional<String> protocolVersion(Resource r, String field, String value, String dflt, Context cx) {
    return switch (value) {
      case "", "TLS_AUTO" -> Optional.of(dflt);
      case "TLSV1_0" -> Optional.of("TLSv1");
      case "TLSV1_1" -> Optional.of("TLSv1.1");
      case "TLSV1_2" -> Optional.of("TLSv1.2");
      case "TLSV1_3" -> Optional.of("TLSv1.3");
      default -> {
        cx.problem(Severity.ERROR, r, field, value + " (expected: TLS_AUTO, TLSV1_0, TLSV1_1, TLSV1_2 or TLSV1_3)");
        yield Optional.empty();
      }
    };
  }

  private record BoundVs(Resource resource, List<String> hosts, List<HttpRoute> routes, List<TlsRule> tlsRoutes) {}

  /** One VirtualService {@code tls[]} entry: SNI hosts (and optional port) of its matches, and where they go. */
  private record TlsRule(List<String> sniHosts, int port, TlsRoute route) {}

  /**
   * The VirtualServices bound to one Gateway, by host, so that binding N servers to N VirtualServices costs N
   * look-ups rather than N × N comparisons. Candidates come back in binding order.
   */
  private static final class VsIndex {
    private final List<BoundVs> bound;
    private final Map<String, List<Integer>> byExactHost = new java.util.HashMap<>();
    private final List<Integer> withWildcard = new ArrayList<>();

    VsIndex(List<BoundVs> bound) {
      this.bound = bound;
      for (int i = 0; i < bound.size(); i++) {
        boolean wildcard = false;
        for (String h : bound.get(i).hosts()) {
          if (h.startsWith("*")) {
            wildcard = true;
          } else {
            byExactHost.computeIfAbsent(h, k -> new ArrayList<>()).add(i);
          }
        }
        if (wildcard) {
          withWildcard.add(i);
        }
      }
    }

    /** Returns the VirtualServices that may share a host with server host {@code serverHost}. */
    List<BoundVs> candidates(String serverHost) {
      if (serverHost.startsWith("*")) {
        return bound; // a wildcard or "*" server may cover any VirtualService host
      }
      java.util.TreeSet<Integer> ordinals = new java.util.TreeSet<>(withWildcard);
      ordinals.addAll(byExactHost.getOrDefault(serverHost, List.of()));
      List<BoundVs> out = new ArrayList<>(ordinals.size());
      ordinals.forEach(i -> out.add(bound.get(i)));
      return out;
    }
  }

  private void virtualService(Resource r, Context cx, Map<String, List<BoundVs>> byGateway) {
    unsupported(r, VIRTUAL_SERVICE_FIELDS, cx);
    VirtualService vs = convert(r, VirtualService.class, cx);
    if (vs == null) {
      return;
    }
    var spec = vs.getSpec();
    if (spec == null || spec.getHosts() == null || spec.getHosts().isEmpty()) {
      cx.problem(Severity.ERROR, r, "spec.hosts", "empty (expected: at least one host)");
      return;
    }
    List<String> hosts = new ArrayList<>();
    for (int i = 0; i < spec.getHosts().size(); i++) {
      String h = spec.getHosts().get(i) == null ? "" : spec.getHosts().get(i).trim().toLowerCase(Locale.ROOT);
      if (!validHost(h)) {
        cx.problem(Severity.ERROR, r, "spec.hosts[" + i + "]", "\"" + spec.getHosts().get(i) + "\" (expected: a DNS "
            + "name, \"*.\" followed by a DNS name, or \"*\")");
        return;
      }
      hosts.add(h);
    }
    List<String> gateways = spec.getGateways() == null ? List.of() : spec.getGateways();
    if (gateways.isEmpty() || gateways.stream().allMatch("mesh"::equals)) {
      cx.problem(Severity.INFO, r, "spec.gateways", "empty or only \"mesh\": applies to sidecars, not to this "
          + "gateway (expected: e.g. [mygateway] to route gateway traffic)");
      return;
    }
    List<HttpRoute> routes = new ArrayList<>();
    var http = spec.getHttp() == null ? List.<io.fabric8.istio.api.api.networking.v1alpha3.HTTPRoute>of()
        : spec.getHttp();
    for (int i = 0; i < http.size(); i++) {
      HttpRoute route = httpRoute(r, "spec.http[" + i + "]", http.get(i), i, cx);
      if (route == null) {
        return; // Istio rejects the whole VirtualService on a bad route
      }
      routes.add(route);
    }
    List<TlsRule> tlsRules = new ArrayList<>();
    var tlsRoutes = spec.getTls() == null ? List.<io.fabric8.istio.api.api.networking.v1alpha3.TLSRoute>of()
        : spec.getTls();
    for (int i = 0; i < tlsRoutes.size(); i++) {
      List<TlsRule> rules = tlsRoute(r, "spec.tls[" + i + "]", tlsRoutes.get(i), hosts, i, cx);
      if (rules == null) {
        return; // Istio rejects the whole VirtualService on a bad route
      }
      tlsRules.addAll(rules);
    }
    for (String g : gateways) {
      if (g.equals("mesh")) {
        continue;
      }
      String key = g.contains("/") ? g : r.namespace() + "/" + g;
      byGateway.computeIfAbsent(key, k -> new ArrayList<>()).add(new BoundVs(r, hosts, routes, tlsRules));
    }
  }

  /**
   * Validates one VirtualService {@code tls[]} route (Istio {@code TLSRoute}): each match needs {@code sniHosts},
   * each a VirtualService host or covered by one. Returns null after reporting an ERROR.
   */
  private List<TlsRule> tlsRoute(Resource r, String at, io.fabric8.istio.api.api.networking.v1alpha3.TLSRoute t,
      List<String> vsHosts, int index, Context cx) {
    var matches = t.getMatch() == null ? List.<io.fabric8.istio.api.api.networking.v1alpha3.TLSMatchAttributes>of()
        : t.getMatch();
    if (matches.isEmpty()) {
      cx.problem(Severity.ERROR, r, at + ".match", "empty (expected: at least one match with sniHosts)");
      return null;
    }
    var rs = t.getRoute() == null ? List.<io.fabric8.istio.api.api.networking.v1alpha3.RouteDestination>of()
        : t.getRoute();
    if (rs.isEmpty()) {
      cx.problem(Severity.ERROR, r, at + ".route", "empty (expected: at least one destination)");
      return null;
    }
    List<RouteAction.WeightedCluster> dests = destinations(r, at, rs.size(), d -> rs.get(d).getDestination(),
        d -> rs.get(d).getWeight(), cx);
    if (dests == null) {
      return null;
    }
    TlsRoute route = new TlsRoute(r.key() + "." + index, dests);
    List<TlsRule> out = new ArrayList<>();
    for (int m = 0; m < matches.size(); m++) {
      var match = matches.get(m);
      List<String> sni = match.getSniHosts() == null ? List.of() : match.getSniHosts();
      if (sni.isEmpty()) {
        cx.problem(Severity.ERROR, r, at + ".match[" + m + "].sniHosts", "empty (expected: at least one SNI host)");
        return null;
      }
      List<String> lowered = new ArrayList<>();
      for (int h = 0; h < sni.size(); h++) {
        String host = sni.get(h) == null ? "" : sni.get(h).trim().toLowerCase(Locale.ROOT);
        if (!validHost(host) || vsHosts.stream().noneMatch(v -> HostTable.covers(v, host))) {
          cx.problem(Severity.ERROR, r, at + ".match[" + m + "].sniHosts[" + h + "]", "\"" + sni.get(h) + "\" "
              + "(expected: a host of the VirtualService's hosts " + vsHosts + ", or one they cover)");
          return null;
        }
        lowered.add(host);
      }
      long port = match.getPort() == null ? 0 : match.getPort();
      out.add(new TlsRule(lowered, (int) port, route));
    }
    return out;
  }

  private HttpRoute httpRoute(Resource r, String at, io.fabric8.istio.api.api.networking.v1alpha3.HTTPRoute h, int index,
      Context cx) {
    List<RouteMatch> matches = new ArrayList<>();
    List<HTTPMatchRequest> ms = h.getMatch() == null ? List.of() : h.getMatch();
    for (int m = 0; m < ms.size(); m++) {
      RouteMatch match = MatchTranslator.routeMatch(r, at + ".match[" + m + "]", ms.get(m), cx.problems);
      if (match == null) {
        return null;
      }
      matches.add(match);
    }
    int actions = (h.getRoute() != null && !h.getRoute().isEmpty() ? 1 : 0) + (h.getRedirect() != null ? 1 : 0)
        + (h.getDirectResponse() != null ? 1 : 0);
    if (actions != 1) {
      cx.problem(Severity.ERROR, r, at, (actions == 0 ? "no action" : "more than one action")
          + " (expected: exactly one of route, redirect, directResponse)");
      return null;
    }
    RouteAction action;
    if (h.getRedirect() != null) {
      var rd = h.getRedirect();
      int code = rd.getRedirectCode() == null ? 301 : rd.getRedirectCode().intValue();
      if (!Set.of(301, 302, 303, 307, 308).contains(code)) {
        cx.problem(Severity.ERROR, r, at + ".redirect.redirectCode", code + " (expected: 301, 302, 303, 307 or 308)");
        return null;
      }
      int port = rd.getRedirectPort() instanceof HTTPRedirectPort p && p.getPort() != null ? p.getPort().intValue() : 0;
      action = new RouteAction.Redirect(opt(rd.getUri()), opt(rd.getAuthority()), opt(rd.getScheme()), port, code);
    } else if (h.getDirectResponse() != null) {
      var d = h.getDirectResponse();
      long status = d.getStatus() == null ? 0 : d.getStatus();
      if (status < 200 || status > 599) {
        cx.problem(Severity.ERROR, r, at + ".directResponse.status", (d.getStatus() == null ? "missing" : status)
            + " (expected: 200..599)");
        return null;
      }
      byte[] body = new byte[0];
      if (d.getBody() != null && d.getBody().getSpecifier() instanceof HTTPBodyString s && s.getString() != null) {
        body = s.getString().getBytes(StandardCharsets.UTF_8);
      } else if (d.getBody() != null && d.getBody().getSpecifier() instanceof HTTPBodyBytes b && b.getBytes() != null) {
        try {
          body = Base64.getDecoder().decode(b.getBytes());
        } catch (IllegalArgumentException e) {
          cx.problem(Severity.ERROR, r, at + ".directResponse.body.bytes", "not valid base64 (expected: base64)");
          return null;
        }
      }
      action = new RouteAction.DirectResponse((int) status, body);
    } else {
      List<HTTPRouteDestination> rs = h.getRoute();
      List<RouteAction.WeightedCluster> dests = destinations(r, at, rs.size(), d -> rs.get(d).getDestination(),
          d -> rs.get(d).getWeight(), cx);
      if (dests == null) {
        return null;
      }
      Duration timeout = duration(r, at + ".timeout", h.getTimeout(), cx);
      if (timeout == null) {
        return null;
      }
      RouteAction.RetryPolicy retries = RouteAction.RetryPolicy.DEFAULT;
      if (h.getRetries() != null) {
        var rt = h.getRetries();
        int attempts = rt.getAttempts() == null ? 0 : rt.getAttempts();
        if (attempts < 0) {
          cx.problem(Severity.ERROR, r, at + ".retries.attempts", attempts + " (expected: >= 0)");
          return null;
        }
        Duration perTry = duration(r, at + ".retries.perTryTimeout", rt.getPerTryTimeout(), cx);
        if (perTry == null) {
          return null;
        }
        Set<String> on = new LinkedHashSet<>();
        String retryOn = rt.getRetryOn() == null || rt.getRetryOn().isBlank()
            ? "connect-failure,refused-stream,unavailable,cancelled,retriable-status-codes" : rt.getRetryOn();
        for (String cond : retryOn.split(",")) {
          String c = cond.trim();
          if (c.isEmpty()) {
            continue;
          }
          if (!RouteAction.RetryPolicy.KNOWN.contains(c) && !c.matches("\\d{3}")) {
            cx.problem(Severity.WARNING, r, at + ".retries.retryOn", "\"" + c + "\" is not acted on (Portcullis "
                + "retries on " + String.join(", ", new java.util.TreeSet<>(RouteAction.RetryPolicy.KNOWN))
                + " and status codes)");
          }
          on.add(c);
        }
        retries = new RouteAction.RetryPolicy(attempts, perTry, on);
      }
      Optional<String> rewriteUri = h.getRewrite() == null ? Optional.empty() : opt(h.getRewrite().getUri());
      Optional<String> rewriteAuthority = h.getRewrite() == null ? Optional.empty()
          : opt(h.getRewrite().getAuthority());
      action = new RouteAction.Forward(dests, rewriteUri, rewriteAuthority, timeout, retries);
    }
    if (h.getRewrite() != null && !(action instanceof RouteAction.Forward)) {
      cx.problem(Severity.WARNING, r, at + ".rewrite", "ignored without route (expected: rewrite goes with route)");
    }
    Headers headers = h.getHeaders();
    HeaderOps request = headerOps(headers == null ? null : headers.getRequest());
    HeaderOps response = headerOps(headers == null ? null : headers.getResponse());
    String name = h.getName() != null && !h.getName().isBlank() ? h.getName() : r.key() + "." + index;
    return new HttpRoute(name, matches, action, request, response);
  }

  private static HeaderOps headerOps(HeadersHeaderOperations ops) {
    if (ops == null) {
      return HeaderOps.NONE;
    }
    return new HeaderOps(ops.getSet() == null ? Map.of() : ops.getSet(), ops.getAdd() == null ? Map.of()
        : ops.getAdd(), ops.getRemove() == null ? List.of() : ops.getRemove());
  }

  /**
   * The {@code route[]} of an HTTP or TLS route ({@code count} entries, each read by index), or null after an ERROR.
   */
  private List<RouteAction.WeightedCluster> destinations(Resource r, String at, int count,
      java.util.function.IntFunction<Destination> destination, java.util.function.IntFunction<Integer> weight,
      Context cx) {
    List<RouteAction.WeightedCluster> dests = new ArrayList<>();
    for (int d = 0; d < count; d++) {
      RouteAction.WeightedCluster wc = destination(r, at + ".route[" + d + "]", destination.apply(d), weight.apply(d),
          count, cx);
      if (wc == null) {
        return null;
      }
      dests.add(wc);
    }
    return dests;
  }

  private RouteAction.WeightedCluster destination(Resource r, String at, Destination d, Integer routeWeight,
      int count, Context cx) {
    if (d == null || d.getHost() == null || d.getHost().isBlank()) {
      cx.problem(Severity.ERROR, r, at + ".destination.host", "missing (expected: a service host, e.g. httpbin)");
      return null;
    }
    int weight = routeWeight == null ? (count == 1 ? 100 : 0) : routeWeight;
    if (weight < 0 || weight > 100) {
      cx.problem(Severity.ERROR, r, at + ".weight", weight + " (expected: 0..100)");
      return null;
    }
    String host = d.getHost().trim().toLowerCase(Locale.ROOT);
    Long portNumber = d.getPort() == null ? null : d.getPort().getNumber();
    if (portNumber != null && (portNumber < 1 || portNumber > 65535)) {
      cx.problem(Severity.ERROR, r, at + ".destination.port.number", portNumber + " (expected: 1..65535)");
      return null;
    }
    ServiceInfo svc = lookupService(host, r.namespace(), cx);
    if (svc == null) {
      String fqdn = host.contains(".") ? host : host + "." + r.namespace() + "." + CLUSTER_DOMAIN;
      int p = portNumber == null ? 80 : portNumber.intValue();
      cx.problem(Severity.WARNING, r, at + ".destination.host", host + ": no ServiceEntry has this host (expected: a "
          + "ServiceEntry with hosts [" + fqdn + "] or [" + host + "]); requests answer 503 NC");
      return new RouteAction.WeightedCluster(new Cluster(Cluster.outboundName(fqdn, p), fqdn, p, List.of()), weight);
    }
    ServicePort sp;
    if (portNumber == null) {
      if (svc.ports().size() != 1) {
        cx.problem(Severity.ERROR, r, at + ".destination.port.number", "missing (expected: one of the ports of "
            + "ServiceEntry host " + svc.host() + ")");
        return null;
      }
      sp = svc.ports().get(0);
    } else {
      sp = svc.ports().stream().filter(p -> p.getNumber() != null && p.getNumber().equals(portNumber)).findFirst()
          .orElse(null);
      if (sp == null && !svc.ports().isEmpty()) {
        cx.problem(Severity.ERROR, r, at + ".destination.port.number", portNumber + " (expected: one of "
            + svc.ports().stream().map(p -> String.valueOf(p.getNumber())).toList() + ", the ports of ServiceEntry "
            + "host " + svc.host() + ")");
        return null;
      }
    }
    int port = sp != null ? sp.getNumber().intValue() : portNumber.intValue();
    int targetPort = sp != null && sp.getTargetPort() != null && sp.getTargetPort() > 0 ? sp.getTargetPort().intValue()
        : port;
    List<Endpoint> endpoints = new ArrayList<>();
    if (svc.endpoints().isEmpty()) {
      endpoints.add(new Endpoint(svc.host(), targetPort)); // DNS resolution of the host itself
    }
    for (WorkloadEntry we : svc.endpoints()) {
      int epPort = targetPort;
      if (sp != null && sp.getName() != null && we.getPorts() != null && we.getPorts().get(sp.getName()) != null) {
        epPort = we.getPorts().get(sp.getName()).intValue();
      }
      endpoints.add(new Endpoint(we.getAddress().trim(), epPort));
    }
    String clusterHost = svc.host().contains(".") ? svc.host()
        : svc.host() + "." + svc.namespace() + "." + CLUSTER_DOMAIN;
    return new RouteAction.WeightedCluster(new Cluster(Cluster.outboundName(clusterHost, port), clusterHost, port,
        endpoints), weight);
  }

  private static ServiceInfo lookupService(String host, String namespace, Context cx) {
    if (!host.contains(".")) {
      ServiceInfo s = cx.services.get(host + "." + namespace + "." + CLUSTER_DOMAIN);
      if (s != null) {
        return s;
      }
    }
    return cx.services.get(host);
  }

  // ---- listeners ----

  private record SortedListeners(TreeMap<Integer, ListenerConfig> map) {}

  /**
   * Binds the VirtualService {@code tls[]} routes of a {@code PASSTHROUGH} server: an SNI host of a match whose port
   * is unset or the server's, and which one of the server's hosts covers (namespace permitting), routes there. The
   * first route bound to a host wins, as Envoy's first matching filter chain does.
   */
  private static void passthroughRoutes(ServerConfig s, List<BoundVs> bound, HostTable.Builder<TlsRoute> table,
      Context cx) {
    boolean any = false;
    for (BoundVs vs : bound) {
      for (TlsRule rule : vs.tlsRoutes()) {
        if (rule.port() != 0 && rule.port() != s.port()) {
          continue;
        }
        for (String sni : rule.sniHosts()) {
          for (ServerConfig.ServerHost sh : s.hosts()) {
            boolean nsOk = sh.namespace().equals("*") || sh.namespace().equals(vs.resource().namespace());
            if (nsOk && HostTable.covers(sh.host(), sni)) {
              table.put(sni, rule.route());
              any = true;
              break;
            }
          }
        }
      }
    }
    if (!any) {
      cx.problems.add(new Problem(Severity.WARNING, "Gateway " + s.gateway(), "", "spec.servers[" + s.index()
          + "].tls.mode", "PASSTHROUGH server " + s.routeName() + " has no VirtualService tls route for its hosts; "
          + "its connections are closed (expected: a VirtualService with tls[].match[].sniHosts bound to this "
          + "Gateway)"));
    }
  }

  private SortedListeners listeners(List<ServerConfig> servers, Map<String, List<BoundVs>> vsByGateway, Context cx) {
    Map<Integer, List<ServerConfig>> byPort = new TreeMap<>();
    for (ServerConfig s : servers) {
      List<ServerConfig> onPort = byPort.computeIfAbsent(s.port(), p -> new ArrayList<>());
      if (!onPort.isEmpty() && onPort.get(0).tls().isPresent() != s.tls().isPresent()) {
        cx.problems.add(new Problem(Severity.ERROR, "Gateway " + s.gateway(), "", "spec.servers[" + s.index()
            + "].port.protocol", s.protocol() + " on port " + s.port() + " conflicts with " + onPort.get(0).protocol()
            + " server " + onPort.get(0).routeName() + " (expected: all servers on one port plain HTTP, or all HTTPS)"));
        continue;
      }
      onPort.add(s);
    }
    Set<String> gatewaysSeen = new HashSet<>();
    servers.forEach(s -> gatewaysSeen.add(s.gateway()));
    for (Map.Entry<String, List<BoundVs>> e : vsByGateway.entrySet()) {
      if (!gatewaysSeen.contains(e.getKey())) {
        for (BoundVs b : e.getValue()) {
          cx.problem(Severity.WARNING, b.resource(), "spec.gateways", "Gateway " + e.getKey() + " does not exist or "
              + "has no valid server; routes not served on it");
        }
      }
    }
    TreeMap<Integer, ListenerConfig> out = new TreeMap<>();
    for (Map.Entry<Integer, List<ServerConfig>> e : byPort.entrySet()) {
      int port = e.getKey();
      HostTable.Builder<ServerConfig> serversByHost = HostTable.builder();
      Map<String, List<HttpRoute>> routesByDomain = new LinkedHashMap<>();
      Map<String, Set<HttpRoute>> seenByDomain = new java.util.HashMap<>();
      Map<String, VsIndex> vsIndexes = new java.util.HashMap<>();
      HostTable.Builder<TlsRoute> passthrough = HostTable.builder();
      for (ServerConfig s : e.getValue()) {
        if (s.tls().isPresent() && s.tls().get().passthrough()) {
          passthroughRoutes(s, vsByGateway.getOrDefault(s.gateway(), List.of()), passthrough, cx);
        }
        for (ServerConfig.ServerHost sh : s.hosts()) {
          if (!serversByHost.put(sh.host(), s)) {
            ServerConfig first = serversByHost.get(sh.host()).orElseThrow();
            if (first != s) {
              cx.problems.add(new Problem(Severity.WARNING, "Gateway " + s.gateway(), "", "spec.servers[" + s.index()
                  + "].hosts", sh.host() + " on port " + port + " is already served by " + first.routeName()
                  + "; that server wins"));
            }
          }
        }
        List<BoundVs> bound = vsByGateway.getOrDefault(s.gateway(), List.of());
        VsIndex vsIndex = bound.isEmpty() ? null : vsIndexes.computeIfAbsent(s.gateway(), g -> new VsIndex(bound));
        for (ServerConfig.ServerHost sh : s.hosts()) {
          for (BoundVs vs : vsIndex == null ? List.<BoundVs>of() : vsIndex.candidates(sh.host())) {
            if (!sh.namespace().equals("*") && !sh.namespace().equals(vs.resource().namespace())) {
              continue;
            }
            for (String vsHost : vs.hosts()) {
              String domain = HostTable.covers(sh.host(), vsHost) ? vsHost
                  : HostTable.covers(vsHost, sh.host()) ? sh.host() : null;
              if (domain != null) {
                // A route reached through two servers or hosts is added once, in order (by identity: equals is
                // deep and slow for large configurations).
                List<HttpRoute> list = routesByDomain.computeIfAbsent(domain, d -> new ArrayList<>());
                Set<HttpRoute> seen = seenByDomain.computeIfAbsent(domain,
                    d -> java.util.Collections.newSetFromMap(new java.util.IdentityHashMap<>()));
                for (HttpRoute route : vs.routes()) {
                  if (seen.add(route)) {
                    list.add(route);
                  }
                }
              }
            }
          }
        }
      }
      HostTable.Builder<VirtualHost> routes = HostTable.builder();
      routesByDomain.forEach((domain, list) -> routes.put(domain, new VirtualHost(domain + ":" + port, list)));
      boolean tls = e.getValue().get(0).tls().isPresent();
      out.put(port, new ListenerConfig(port, port + portOffset, tls, e.getValue(), serversByHost.build(),
          routes.build(), passthrough.build()));
    }
    return new SortedListeners(out);
  }

  // ---- helpers ----

  private <T> T convert(Resource r, Class<T> type, Context cx) {
    try {
      return mapper.treeToValue(r.body(), type);
    } catch (JsonMappingException e) {
      StringBuilder path = new StringBuilder();
      for (JsonMappingException.Reference ref : e.getPath()) {
        if (ref.getFieldName() != null) {
          path.append(path.isEmpty() ? "" : ".").append(ref.getFieldName());
        } else if (ref.getIndex() >= 0) {
          path.append('[').append(ref.getIndex()).append(']');
        }
      }
      if (r.kind().equals("Secret")) {
        // databind quotes the value it could not convert, and a Secret's values are keys: only its type is said.
        cx.problem(Severity.ERROR, r, path.toString(), "not " + ParseErrors.expectedType(e)
            + " (expected: a valid Secret; the value is not shown)");
      } else {
        cx.problem(Severity.ERROR, r, path.toString(), e.getOriginalMessage().split("\n")[0]
            + " (expected: a valid " + r.kind() + ")");
      }
      return null;
    } catch (Exception e) {
      cx.problem(Severity.ERROR, r, "", (r.kind().equals("Secret") ? e.getClass().getSimpleName() : e.getMessage())
          + " (expected: a valid " + r.kind() + ")");
      return null;
    }
  }

  private static void unsupported(Resource r, FieldCheck check, Context cx) {
    for (String field : check.unsupported(r.body())) {
      cx.problem(Severity.WARNING, r, field, "not supported by Portcullis yet; ignored");
    }
  }

  private static String rawText(Resource r, String... path) {
    JsonNode n = r.body();
    for (String p : path) {
      for (String part : p.split("\\.")) {
        int bracket = part.indexOf('[');
        if (bracket >= 0) {
          n = n.path(part.substring(0, bracket)).path(Integer.parseInt(part.substring(bracket + 1,
              part.length() - 1)));
        } else {
          n = n.path(part);
        }
      }
    }
    return n.isValueNode() ? n.asText().trim() : "";
  }

  private static Duration duration(Resource r, String field, String value, Context cx) {
    if (value == null || value.isBlank()) {
      return Duration.ZERO;
    }
    Optional<Duration> d = GoDuration.parse(value);
    if (d.isEmpty()) {
      cx.problem(Severity.ERROR, r, field, value + " (expected: a duration such as 500ms, 1.5s or 2m)");
      return null;
    }
    return d.get();
  }

  private static boolean validHost(String h) {
    return h.equals("*") || h.matches("(\\*\\.)?[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\\.[A-Za-z0-9]([A-Za-z0-9-]*"
        + "[A-Za-z0-9])?)*");
  }

  private static Optional<String> opt(String s) {
    return s == null || s.isEmpty() ? Optional.empty() : Optional.of(s);
  }

  private static String lower(String s) {
    return s.toLowerCase(Locale.ROOT);
  }

  private static final class Context {
    final List<Problem> problems = new ArrayList<>();
    final List<Resource> gateways = new ArrayList<>();
    final List<Resource> virtualServices = new ArrayList<>();
    final List<Resource> serviceEntries = new ArrayList<>();
    final Map<String, ServiceInfo> services = new LinkedHashMap<>();
    final Map<String, GatewayConfig.SecretData> secrets = new LinkedHashMap<>();

    Context(Snapshot snapshot) {
      problems.addAll(snapshot.problems());
    }

    void problem(Severity severity, Resource r, String field, String message) {
      problems.add(Problem.of(severity, r, field, message));
    }
  }
}
