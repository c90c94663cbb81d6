package io.portcullis.config.istio;

import static io.portcullis.config.SpecValues.rawText;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.fabric8.istio.api.api.networking.v1alpha3.ClientTLSSettings;
import io.fabric8.istio.api.api.networking.v1alpha3.ConnectionPoolSettings;
import io.fabric8.istio.api.api.networking.v1alpha3.LoadBalancerSettings;
import io.fabric8.istio.api.api.networking.v1alpha3.LoadBalancerSettingsConsistentHash;
import io.fabric8.istio.api.api.networking.v1alpha3.LoadBalancerSettingsConsistentHashLB;
import io.fabric8.istio.api.api.networking.v1alpha3.LoadBalancerSettingsConsistentHashLBHttpCookie;
import io.fabric8.istio.api.api.networking.v1alpha3.LoadBalancerSettingsConsistentHashLBHttpHeaderName;
import io.fabric8.istio.api.api.networking.v1alpha3.LoadBalancerSettingsConsistentHashLBHttpQueryParameterName;
import io.fabric8.istio.api.api.networking.v1alpha3.LoadBalancerSettingsConsistentHashLBMaglev;
import io.fabric8.istio.api.api.networking.v1alpha3.LoadBalancerSettingsConsistentHashLBUseSourceIp;
import io.fabric8.istio.api.api.networking.v1alpha3.LoadBalancerSettingsSimple;
import io.fabric8.istio.api.api.networking.v1alpha3.OutlierDetection;
import io.fabric8.istio.api.api.networking.v1alpha3.Subset;
import io.fabric8.istio.api.api.networking.v1alpha3.TrafficPolicy;
import io.fabric8.istio.api.api.networking.v1alpha3.TrafficPolicyPortTrafficPolicy;
import io.fabric8.istio.api.networking.v1.DestinationRule;
import io.portcullis.config.FieldCheck;
import io.portcullis.config.Problem.Severity;
import io.portcullis.config.Resource;
import io.portcullis.config.ServiceRegistry;
import io.portcullis.config.SpecValues;
import io.portcullis.config.TranslationContext;
import io.portcullis.routing.TrafficPolicy.ConnectionPool;
import io.portcullis.routing.TrafficPolicy.LoadBalancer.ConsistentHash;
import io.portcullis.routing.TrafficPolicy.LoadBalancer;
import io.portcullis.routing.TrafficPolicy.UpstreamTls;
import java.math.BigInteger;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/**
 * Reads Istio {@code DestinationRule}s ({@code networking.istio.io} v1alpha3, v1beta1, v1: {@code host},
 * {@code trafficPolicy} with {@code tls}, {@code connectionPool}, {@code loadBalancer}, {@code outlierDetection} and
 * {@code portLevelSettings}, {@code subsets[]}, {@code exportTo}) into {@link DestinationRules}, every value checked
 * and defaulted as Istio does. A DestinationRule with an invalid value is reported (resource, field, what was
 * expected) and left out whole, so its host keeps the default policy rather than half of one.
 */
final class DestinationRuleTranslator {
  /**
   * The {@code trafficPolicy} fields the data plane applies; the others are read and checked here (so a mistake is
   * reported), but reported as not supported yet until the proxy acts on them.
   */
  private static final String[] APPLIED_POLICY_FIELDS = {"connectionPool.http.h2UpgradePolicy",
      "connectionPool.http.http2MaxRequests", "connectionPool.http.maxRetries",
      "connectionPool.http.maxRequestsPerConnection", "connectionPool.http.idleTimeout",
      "connectionPool.http.http1MaxPendingRequests", "connectionPool.http.useClientProtocol",
      "connectionPool.tcp.maxConnections", "connectionPool.tcp.connectTimeout",
      "connectionPool.tcp.tcpKeepalive.time", "connectionPool.tcp.tcpKeepalive.interval",
      "connectionPool.tcp.tcpKeepalive.probes", "tls.mode",
      "tls.credentialName", "tls.clientCertificate", "tls.privateKey", "tls.caCertificates", "tls.caCrl", "tls.sni",
      "tls.subjectAltNames[]", "tls.insecureSkipVerify",
      "loadBalancer.simple", "loadBalancer.warmupDurationSecs", "loadBalancer.consistentHash.httpHeaderName",
      "loadBalancer.consistentHash.httpCookie.name", "loadBalancer.consistentHash.httpCookie.path",
      "loadBalancer.consistentHash.httpCookie.ttl", "loadBalancer.consistentHash.useSourceIp",
      "loadBalancer.consistentHash.httpQueryParameterName", "loadBalancer.consistentHash.ringHash.minimumRingSize",
      "loadBalancer.consistentHash.minimumRingSize", "loadBalancer.consistentHash.maglev.tableSize",
      "outlierDetection.consecutive5xxErrors", "outlierDetection.consecutiveGatewayErrors",
      "outlierDetection.consecutiveErrors", "outlierDetection.interval", "outlierDetection.baseEjectionTime",
      "outlierDetection.maxEjectionPercent", "outlierDetection.minHealthPercent"};
  private static final FieldCheck FIELDS = fieldCheck();
  private static final long DEFAULT_RING_SIZE = 1024;
  private static final long DEFAULT_MAGLEV_TABLE_SIZE = 65537;

  private DestinationRuleTranslator() {}

  private static FieldCheck fieldCheck() {
    List<String> p = new ArrayList<>(List.of("apiVersion", "kind", "metadata.**", "status.**", "spec.host",
        "spec.exportTo[]", "spec.subsets[].name", "spec.subsets[].labels.*"));
    for (String level : List.of("spec.trafficPolicy", "spec.subsets[].trafficPolicy")) {
      for (String f : APPLIED_POLICY_FIELDS) {
        p.add(level + "." + f);
        p.add(level + ".portLevelSettings[]." + f);
      }
      p.add(level + ".portLevelSettings[].port.number");
    }
    return new FieldCheck(p.toArray(String[]::new));
  }

  /** Adds a valid DestinationRule that the gateway's namespace can see ({@code exportTo}) to {@code out}. */
  static void destinationRule(Resource r, TranslationContext cx, DestinationRules out) {
    cx.unsupported(r, FIELDS);
    // fabric8's model cannot read consistentHash.ringHash (its oneOf deserializer finds no unique subtype, and the
    // generated class has no minimumRingSize); it is read from the manifest itself below, so it is left out here.
    DestinationRule dr = cx.convert(new Resource(r.apiVersion(), r.kind(), r.namespace(), r.name(), r.source(),
        withoutRingHash(r.body().deepCopy())), DestinationRule.class);
    if (dr == null) {
      return;
    }
    var spec = dr.getSpec();
    if (spec == null || spec.getHost() == null || spec.getHost().isBlank()) {
      cx.problem(Severity.ERROR, r, "spec.host", "missing (expected: the service host the rule applies to, e.g. "
          + "httpbin or httpbin.default.svc.cluster.local)");
      return;
    }
    String host = spec.getHost().trim().toLowerCase(Locale.ROOT);
    if (!SpecValues.validHost(host)) {
      cx.problem(Severity.ERROR, r, "spec.host", host + " (expected: a DNS name, optionally starting with *.)");
      return;
    }
    if (!host.startsWith("*")) {
      host = ServiceRegistry.fqdn(host, r.namespace());
    }
    if (!exportedTo(spec.getExportTo(), r.namespace(), cx.gatewayNamespace())) {
      cx.problem(Severity.INFO, r, "spec.exportTo", spec.getExportTo() + ": not exported to the gateway's namespace "
          + cx.gatewayNamespace() + "; not applied");
      return;
    }
    DestinationRules.Level level = level(r, "spec.trafficPolicy", spec.getTrafficPolicy(), cx);
    if (level == null) {
      return;
    }
    Map<String, DestinationRules.Subset> subsets = new LinkedHashMap<>();
    List<Subset> ss = spec.getSubsets() == null ? List.of() : spec.getSubsets();
    for (int i = 0; i < ss.size(); i++) {
      Subset s = ss.get(i);
      String at = "spec.subsets[" + i + "]";
      if (s == null || s.getName() == null || s.getName().isBlank()) {
        cx.problem(Severity.ERROR, r, at + ".name", "missing (expected: a subset name, e.g. v1)");
        return;
      }
      String name = s.getName().trim();
      if (subsets.containsKey(name)) {
        cx.problem(Severity.ERROR, r, at + ".name", name + ": defined twice (expected: unique subset names)");
        return;
      }
      DestinationRules.Level sl = level(r, at + ".trafficPolicy", s.getTrafficPolicy(), cx);
      if (sl == null) {
        return;
      }
      subsets.put(name, new DestinationRules.Subset(s.getLabels() == null ? Map.of() : s.getLabels(), sl));
    }
    Optional<DestinationRules.Rule> old = out.add(new DestinationRules.Rule(r, host, level, subsets));
    old.ifPresent(o -> cx.problem(Severity.WARNING, r, "spec.host", spec.getHost().trim() + ": DestinationRule "
        + o.resource().namespace() + "/" + o.resource().name() + " already applies to this host; this one is ignored "
        + "(expected: one DestinationRule per host)"));
  }

  /** Removes every {@code consistentHash.ringHash} from {@code node} (a copy), at any depth; returns it. */
  private static JsonNode withoutRingHash(JsonNode node) {
    if (node instanceof ObjectNode o) {
      if (o.get("consistentHash") instanceof ObjectNode ch) {
        ch.remove("ringHash");
      }
      o.elements().forEachRemaining(DestinationRuleTranslator::withoutRingHash);
    } else if (node != null && node.isArray()) {
      node.elements().forEachRemaining(DestinationRuleTranslator::withoutRingHash);
    }
    return node;
  }

  /** Istio's {@code exportTo}: empty or {@code *} for all namespaces, {@code .} for its own, {@code ~} for none. */
  private static boolean exportedTo(List<String> exportTo, String namespace, String gatewayNamespace) {
    if (exportTo == null || exportTo.isEmpty()) {
      return true;
    }
    for (String e : exportTo) {
      String t = e == null ? "" : e.trim();
      if (t.equals("*") || t.equals(gatewayNamespace) || (t.equals(".") && namespace.equals(gatewayNamespace))) {
        return true;
      }
    }
    return false;
  }

  /** One {@code trafficPolicy} (and its {@code portLevelSettings}); null after reporting an ERROR. */
  private static DestinationRules.Level level(Resource r, String at, TrafficPolicy tp, TranslationContext cx) {
    if (tp == null) {
      return new DestinationRules.Level(DestinationRules.Settings.NONE, Map.of());
    }
    DestinationRules.Settings own = settings(r, at, tp.getTls(), tp.getConnectionPool(), tp.getLoadBalancer(),
        tp.getOutlierDetection(), cx);
    if (own == null) {
      return null;
    }
    Map<Integer, DestinationRules.Settings> ports = new HashMap<>();
    List<TrafficPolicyPortTrafficPolicy> pl = tp.getPortLevelSettings() == null ? List.of()
        : tp.getPortLevelSettings();
    for (int i = 0; i < pl.size(); i++) {
      TrafficPolicyPortTrafficPolicy p = pl.get(i);
      String pat = at + ".portLevelSettings[" + i + "]";
      Long n = p == null || p.getPort() == null ? null : p.getPort().getNumber();
      if (n == null || n < 1 || n > 65535) {
        cx.problem(Severity.ERROR, r, pat + ".port.number", n + " (expected: 1..65535)");
        return null;
      }
      if (ports.containsKey(n.intValue())) {
        cx.problem(Severity.ERROR, r, pat + ".port.number", n + ": listed twice (expected: one entry per port)");
        return null;
      }
      DestinationRules.Settings s = settings(r, pat, p.getTls(), p.getConnectionPool(), p.getLoadBalancer(),
          p.getOutlierDetection(), cx);
      if (s == null) {
        return null;
      }
      ports.put(n.intValue(), s);
    }
    return new DestinationRules.Level(own, ports);
  }

  private static DestinationRules.Settings settings(Resource r, String at, ClientTLSSettings tls,
      ConnectionPoolSettings pool, LoadBalancerSettings lb, OutlierDetection od, TranslationContext cx) {
    Optional<UpstreamTls> t = Optional.empty();
    if (tls != null) {
      UpstreamTls u = tls(r, at + ".tls", tls, cx);
      if (u == null) {
        return null;
      }
      t = Optional.of(u);
    }
    Optional<ConnectionPool> p = Optional.empty();
    if (pool != null) {
      ConnectionPool c = connectionPool(r, at + ".connectionPool", pool, cx);
      if (c == null) {
        return null;
      }
      p = Optional.of(c);
    }
    Optional<LoadBalancer> l = Optional.empty();
    if (lb != null) {
      LoadBalancer b = loadBalancer(r, at + ".loadBalancer", lb, cx);
      if (b == null) {
        return null;
      }
      l = Optional.of(b);
    }
    Optional<io.portcullis.routing.TrafficPolicy.OutlierDetection> o = Optional.empty();
    if (od != null) {
      var d = outlierDetection(r, at + ".outlierDetection", od, cx);
      if (d == null) {
        return null;
      }
      o = Optional.of(d);
    }
    return new DestinationRules.Settings(t, p, l, o);
  }

  private static UpstreamTls tls(Resource r, String at, ClientTLSSettings tls, TranslationContext cx) {
    String modeText = tls.getMode() == null ? rawText(r, at + ".mode") : tls.getMode().name();
    UpstreamTls.Mode mode;
    switch (modeText.isEmpty() ? "DISABLE" : modeText) {
      case "DISABLE" -> mode = UpstreamTls.Mode.DISABLE;
      case "SIMPLE" -> mode = UpstreamTls.Mode.SIMPLE;
      case "MUTUAL" -> mode = UpstreamTls.Mode.MUTUAL;
      case "ISTIO_MUTUAL" -> {
        cx.problem(Severity.ERROR, r, at + ".mode", "ISTIO_MUTUAL (expected: DISABLE, SIMPLE or MUTUAL; ISTIO_MUTUAL "
            + "needs the mesh's identities, which Portcullis does not issue yet)");
        return null;
      }
      default -> {
        cx.problem(Severity.ERROR, r, at + ".mode", modeText + " (expected: DISABLE, SIMPLE or MUTUAL)");
        return null;
      }
    }
    Optional<String> credential = Optional.empty();
    if (notBlank(tls.getCredentialName())) {
      credential = ServerTlsTranslator.credentialKey(r, at + ".credentialName", tls.getCredentialName().trim(), true,
          cx);
      if (credential.isEmpty()) {
        return null;
      }
    }
    Optional<Path> cert = file(r, at + ".clientCertificate", tls.getClientCertificate(), cx);
    Optional<Path> key = file(r, at + ".privateKey", tls.getPrivateKey(), cx);
    Optional<Path> ca = file(r, at + ".caCertificates", tls.getCaCertificates(), cx);
    Optional<Path> crl = file(r, at + ".caCrl", tls.getCaCrl(), cx);
    if (cert == null || key == null || ca == null || crl == null) {
      return null;
    }
    if (cert.isPresent() != key.isPresent()) {
      cx.problem(Severity.ERROR, r, at + (cert.isPresent() ? ".privateKey" : ".clientCertificate"), "missing "
          + "(expected: clientCertificate and privateKey together)");
      return null;
    }
    if (credential.isPresent() && cert.isPresent()) {
      cx.problem(Severity.ERROR, r, at + ".credentialName", "set together with clientCertificate (expected: one of "
          + "credentialName or the clientCertificate and privateKey files)");
      return null;
    }
    if (mode == UpstreamTls.Mode.MUTUAL && credential.isEmpty() && cert.isEmpty()) {
      cx.problem(Severity.ERROR, r, at + ".credentialName", "missing (expected: for mode MUTUAL, credentialName or "
          + "clientCertificate and privateKey)");
      return null;
    }
    if (mode == UpstreamTls.Mode.DISABLE) {
      return UpstreamTls.DISABLED;
    }
    List<String> sans = new ArrayList<>();
    if (tls.getSubjectAltNames() != null) {
      for (String s : tls.getSubjectAltNames()) {
        if (notBlank(s)) {
          sans.add(s.trim());
        }
      }
    }
    Optional<String> sni = notBlank(tls.getSni()) ? Optional.of(tls.getSni().trim()) : Optional.empty();
    return new UpstreamTls(mode, credential, cert, key, ca, crl, sni, sans,
        Boolean.TRUE.equals(tls.getInsecureSkipVerify()));
  }

  /** An absolute file path, or empty when unset; null after reporting an ERROR. */
  private static Optional<Path> file(Resource r, String field, String value, TranslationContext cx) {
    if (!notBlank(value)) {
      return Optional.empty();
    }
    Path p = Path.of(value.trim());
    if (!p.isAbsolute()) {
      cx.problem(Severity.ERROR, r, field, value.trim() + " (expected: an absolute file path)");
      return null;
    }
    return Optional.of(p);
  }

  private static ConnectionPool connectionPool(Resource r, String at, ConnectionPoolSettings pool,
      TranslationContext cx) {
    ConnectionPool d = ConnectionPool.DEFAULT;
    var tcp = pool.getTcp();
    var http = pool.getHttp();
    Integer maxConnections = limit(r, at + ".tcp.maxConnections", tcp == null ? null : tcp.getMaxConnections(), cx);
    Duration connectTimeout = positive(r, at + ".tcp.connectTimeout", tcp == null ? null : tcp.getConnectTimeout(),
        d.connectTimeout(), cx);
    Optional<ConnectionPool.TcpKeepalive> keepalive = Optional.empty();
    if (tcp != null && tcp.getTcpKeepalive() != null) {
      var k = tcp.getTcpKeepalive();
      Duration time = SpecValues.duration(r, at + ".tcp.tcpKeepalive.time", k.getTime(), cx);
      Duration interval = SpecValues.duration(r, at + ".tcp.tcpKeepalive.interval", k.getInterval(), cx);
      long probes = k.getProbes() == null ? 0 : k.getProbes();
      if (time == null || interval == null) {
        return null;
      }
      if (probes < 0 || probes > Integer.MAX_VALUE) {
        cx.problem(Severity.ERROR, r, at + ".tcp.tcpKeepalive.probes", probes + " (expected: >= 0)");
        return null;
      }
      keepalive = Optional.of(new ConnectionPool.TcpKeepalive((int) probes, time, interval));
    }
    Integer pending = limit(r, at + ".http.http1MaxPendingRequests", http == null ? null
        : http.getHttp1MaxPendingRequests(), cx);
    Integer requests = limit(r, at + ".http.http2MaxRequests", http == null ? null : http.getHttp2MaxRequests(), cx);
    Integer perConnection = limit(r, at + ".http.maxRequestsPerConnection", http == null ? null
        : http.getMaxRequestsPerConnection(), cx);
    Integer retries = limit(r, at + ".http.maxRetries", http == null ? null : http.getMaxRetries(), cx);
    Duration idle = positive(r, at + ".http.idleTimeout", http == null ? null : http.getIdleTimeout(),
        d.idleTimeout(), cx);
    if (maxConnections == null || connectTimeout == null || pending == null || requests == null
        || perConnection == null || retries == null || idle == null) {
      return null;
    }
    ConnectionPool.H2UpgradePolicy upgrade = ConnectionPool.H2UpgradePolicy.DEFAULT;
    if (http != null && http.getH2UpgradePolicy() != null) {
      upgrade = ConnectionPool.H2UpgradePolicy.valueOf(http.getH2UpgradePolicy().name());
    }
    return new ConnectionPool(maxConnections == 0 ? d.maxConnections() : maxConnections, connectTimeout, keepalive,
        pending == 0 ? d.http1MaxPendingRequests() : pending, requests == 0 ? d.http2MaxRequests() : requests,
        perConnection, retries == 0 ? d.maxRetries() : retries,
        idle, upgrade, http != null && Boolean.TRUE.equals(http.getUseClientProtocol()));
  }

  /** A count: 0 when unset (Istio's "use the default"), null after reporting a negative one. */
  private static Integer limit(Resource r, String field, Integer value, TranslationContext cx) {
    if (value == null) {
      return 0;
    }
    if (value < 0) {
      cx.problem(Severity.ERROR, r, field, value + " (expected: >= 0; 0 or unset for no limit)");
      return null;
    }
    return value;
  }

  /** A duration that must be positive when set; {@code dflt} when unset, null after reporting an ERROR. */
  private static Duration positive(Resource r, String field, String value, Duration dflt, TranslationContext cx) {
    Duration v = SpecValues.duration(r, field, value, cx);
    if (v == null) {
      return null;
    }
    if (value == null || value.isBlank()) {
      return dflt;
    }
    if (v.isZero() || v.isNegative()) {
      cx.problem(Severity.ERROR, r, field, value + " (expected: a positive duration, e.g. 10s)");
      return null;
    }
    return v;
  }

  private static LoadBalancer loadBalancer(Resource r, String at, LoadBalancerSettings lb, TranslationContext cx) {
    Duration warmup = SpecValues.duration(r, at + ".warmupDurationSecs", lb.getWarmupDurationSecs(), cx);
    if (warmup == null) {
      return null;
    }
    Object policy = lb.getLbPolicy();
    if (policy instanceof LoadBalancerSettingsConsistentHash ch && ch.getConsistentHash() != null) {
      ConsistentHash h = consistentHash(r, at + ".consistentHash", ch.getConsistentHash(), cx);
      return h == null ? null : new LoadBalancer(LoadBalancer.Simple.ROUND_ROBIN, Optional.of(h), warmup);
    }
    String simple = policy instanceof LoadBalancerSettingsSimple s && s.getSimple() != null ? s.getSimple().name()
        : rawText(r, at + ".simple");
    LoadBalancer.Simple sl;
    switch (simple) {
      case "", "UNSPECIFIED", "ROUND_ROBIN" -> sl = LoadBalancer.Simple.ROUND_ROBIN;
      case "LEAST_REQUEST", "LEAST_CONN" -> sl = LoadBalancer.Simple.LEAST_REQUEST; // LEAST_CONN: Istio's old name
      case "RANDOM" -> sl = LoadBalancer.Simple.RANDOM;
      case "PASSTHROUGH" -> {
        sl = LoadBalancer.Simple.PASSTHROUGH;
        cx.problem(Severity.WARNING, r, at + ".simple", "PASSTHROUGH: a gateway has no original destination to pass "
            + "requests through to; they are balanced round robin (expected: ROUND_ROBIN, LEAST_REQUEST or RANDOM)");
      }
      default -> {
        cx.problem(Severity.ERROR, r, at + ".simple", simple + " (expected: ROUND_ROBIN, LEAST_REQUEST, RANDOM or "
            + "PASSTHROUGH)");
        return null;
      }
    }
    return new LoadBalancer(sl, Optional.empty(), warmup);
  }

  private static ConsistentHash consistentHash(Resource r, String at, LoadBalancerSettingsConsistentHashLB ch,
      TranslationContext cx) {
    Object key = ch.getHashKey();
    ConsistentHash.Key kind;
    String name = "";
    String cookiePath = "";
    Duration ttl = Duration.ZERO;
    if (key instanceof LoadBalancerSettingsConsistentHashLBHttpHeaderName h && notBlank(h.getHttpHeaderName())) {
      kind = ConsistentHash.Key.HEADER;
      name = h.getHttpHeaderName().trim().toLowerCase(Locale.ROOT);
    } else if (key instanceof LoadBalancerSettingsConsistentHashLBHttpCookie c && c.getHttpCookie() != null) {
      var cookie = c.getHttpCookie();
      if (!notBlank(cookie.getName())) {
        cx.problem(Severity.ERROR, r, at + ".httpCookie.name", "missing (expected: the cookie's name)");
        return null;
      }
      kind = ConsistentHash.Key.COOKIE;
      name = cookie.getName().trim();
      cookiePath = cookie.getPath() == null ? "" : cookie.getPath().trim();
      ttl = SpecValues.duration(r, at + ".httpCookie.ttl", cookie.getTtl(), cx);
      if (ttl == null) {
        return null;
      }
    } else if (key instanceof LoadBalancerSettingsConsistentHashLBUseSourceIp s
        && Boolean.TRUE.equals(s.getUseSourceIp())) {
      kind = ConsistentHash.Key.SOURCE_IP;
    } else if (key instanceof LoadBalancerSettingsConsistentHashLBHttpQueryParameterName q
        && notBlank(q.getHttpQueryParameterName())) {
      kind = ConsistentHash.Key.QUERY_PARAMETER;
      name = q.getHttpQueryParameterName().trim();
    } else {
      cx.problem(Severity.ERROR, r, at, "no hash key (expected: one of httpHeaderName, httpCookie, useSourceIp: true "
          + "or httpQueryParameterName)");
      return null;
    }
    ConsistentHash.Algorithm algorithm = ConsistentHash.Algorithm.RING_HASH;
    long size = DEFAULT_RING_SIZE;
    String legacy = rawText(r, at + ".minimumRingSize");
    String ring = rawText(r, at + ".ringHash.minimumRingSize");
    if (ch.getHashAlgorithm() instanceof LoadBalancerSettingsConsistentHashLBMaglev m) {
      algorithm = ConsistentHash.Algorithm.MAGLEV;
      size = m.getMaglev() == null || m.getMaglev().getTableSize() == null || m.getMaglev().getTableSize() == 0
          ? DEFAULT_MAGLEV_TABLE_SIZE : m.getMaglev().getTableSize();
      if (size < 2 || size > 5_000_011 || !BigInteger.valueOf(size).isProbablePrime(30)) {
        cx.problem(Severity.ERROR, r, at + ".maglev.tableSize", size + " (expected: a prime number up to 5000011, "
            + "e.g. 65537)");
        return null;
      }
    } else if (!ring.isEmpty() || !legacy.isEmpty()) {
      String v = ring.isEmpty() ? legacy : ring;
      String field = at + (ring.isEmpty() ? ".minimumRingSize" : ".ringHash.minimumRingSize");
      try {
        size = Long.parseLong(v);
      } catch (NumberFormatException e) {
        size = -1;
      }
      if (size == 0) {
        size = DEFAULT_RING_SIZE;
      }
      if (size < 1 || size > 8_388_608) {
        cx.problem(Severity.ERROR, r, field, v + " (expected: 1..8388608, default 1024)");
        return null;
      }
    }
    return new ConsistentHash(kind, name, cookiePath, ttl, algorithm, size);
  }

  private static io.portcullis.routing.TrafficPolicy.OutlierDetection outlierDetection(Resource r, String at,
      OutlierDetection od, TranslationContext cx) {
    Integer c5xx = od.getConsecutive5xxErrors();
    Integer gateway = od.getConsecutiveGatewayErrors();
    if (gateway == null && od.getConsecutiveErrors() != null) {
      gateway = od.getConsecutiveErrors(); // Istio's deprecated field, applied as gateway errors as Istio does
    }
    Duration interval = positive(r, at + ".interval", od.getInterval(), Duration.ofSeconds(10), cx);
    Duration base = positive(r, at + ".baseEjectionTime", od.getBaseEjectionTime(), Duration.ofSeconds(30), cx);
    if (interval == null || base == null) {
      return null;
    }
    int maxEjection = od.getMaxEjectionPercent() == null ? 10 : od.getMaxEjectionPercent();
    int minHealth = od.getMinHealthPercent() == null ? 0 : od.getMinHealthPercent();
    for (Object[] f : new Object[][] {{"consecutive5xxErrors", c5xx}, {"consecutiveGatewayErrors", gateway}}) {
      if (f[1] != null && (Integer) f[1] < 0) {
        cx.problem(Severity.ERROR, r, at + "." + f[0], f[1] + " (expected: >= 0; 0 disables)");
        return null;
      }
    }
    for (Object[] f : new Object[][] {{"maxEjectionPercent", maxEjection}, {"minHealthPercent", minHealth}}) {
      int v = (Integer) f[1];
      if (v < 0 || v > 100) {
        cx.problem(Severity.ERROR, r, at + "." + f[0], v + " (expected: 0..100)");
        return null;
      }
    }
    return new io.portcullis.routing.TrafficPolicy.OutlierDetection(c5xx == null ? 5 : c5xx,
        gateway == null ? 0 : gateway, interval, base, maxEjection, minHealth);
  }

  private static boolean notBlank(String s) {
    return s != null && !s.isBlank();
  }
}
