package io.portcullis.config.istio;

import static io.portcullis.config.SpecValues.validHost;

import io.fabric8.istio.api.api.networking.v1alpha3.HTTPRoute;
import io.fabric8.istio.api.api.networking.v1alpha3.RouteDestination;
import io.fabric8.istio.api.api.networking.v1alpha3.TLSMatchAttributes;
import io.fabric8.istio.api.api.networking.v1alpha3.TLSRoute;
import io.fabric8.istio.api.networking.v1.VirtualService;
import io.portcullis.config.FieldCheck;
import io.portcullis.config.Problem.Severity;
import io.portcullis.config.Resource;
import io.portcullis.config.TranslationContext;
import io.portcullis.routing.HostTable;
import io.portcullis.routing.HttpRoute;
import io.portcullis.routing.RouteAction;
import io.portcullis.config.istio.BoundRoutes.TlsRule;
import io.portcullis.routing.TlsRoute;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Translates an Istio {@code VirtualService}: its {@code hosts}, the {@code gateways} it binds to, its
 * {@code http[]} routes ({@link HttpRouteTranslator}) and its {@code tls[]} routes (SNI hosts to destinations, for
 * PASSTHROUGH servers). As Istio does, one bad route rejects the whole VirtualService. Which server serves which
 * route is decided later, by {@link ListenerTranslator}.
 */
final class VirtualServiceTranslator {
  private static final FieldCheck VIRTUAL_SERVICE_FIELDS = new FieldCheck("apiVersion", "kind", "metadata.**",
      "status.**", "spec.hosts[]", "spec.gateways[]", "spec.exportTo[]", "spec.http[].name",
      "spec.http[].match[].name", "spec.http[].match[].uri.*", "spec.http[].match[].authority.*",
      "spec.http[].match[].method.*", "spec.http[].match[].headers.*.*", "spec.http[].match[].queryParams.*.*",
      "spec.http[].match[].port",
      "spec.http[].match[].ignoreUriCase", "spec.http[].route[].destination.host",
      "spec.http[].route[].destination.subset", "spec.tls[].route[].destination.subset",
      "spec.http[].route[].destination.port.number", "spec.http[].route[].weight", "spec.http[].redirect.uri",
      "spec.http[].redirect.authority", "spec.http[].redirect.scheme", "spec.http[].redirect.port",
      "spec.http[].redirect.redirectCode", "spec.http[].directResponse.status",
      "spec.http[].directResponse.body.string", "spec.http[].directResponse.body.bytes", "spec.http[].rewrite.uri",
      "spec.http[].rewrite.authority", "spec.http[].mirror.host", "spec.http[].mirror.port.number",
      "spec.http[].mirror.subset", "spec.http[].mirrorPercentage.value", "spec.http[].mirrorPercent",
      "spec.http[].mirrors[].destination.host", "spec.http[].mirrors[].destination.port.number",
      "spec.http[].mirrors[].destination.subset", "spec.http[].mirrors[].percentage.value", "spec.http[].timeout", "spec.http[].retries.attempts",
      "spec.http[].retries.perTryTimeout", "spec.http[].retries.retryOn", "spec.http[].headers.request.set.*",
      "spec.http[].headers.request.add.*", "spec.http[].headers.request.remove[]",
      "spec.http[].headers.response.set.*", "spec.http[].headers.response.add.*",
      "spec.http[].headers.response.remove[]", "spec.tls[].match[].sniHosts[]", "spec.tls[].match[].port",
      "spec.tls[].route[].destination.host", "spec.tls[].route[].destination.port.number", "spec.tls[].route[].weight");

  private VirtualServiceTranslator() {}

  /**
   * Adds a valid VirtualService to {@code byGateway} under each Gateway it names ({@code namespace/name}; a bare
   * name is in the VirtualService's namespace; {@code mesh} is skipped).
   */
  static void virtualService(Resource r, TranslationContext cx, DestinationRules rules,
      Map<String, List<BoundRoutes>> byGateway) {
    cx.unsupported(r, VIRTUAL_SERVICE_FIELDS);
    VirtualService vs = cx.convert(r, VirtualService.class);
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
    List<HTTPRoute> http = spec.getHttp() == null ? List.of() : spec.getHttp();
    for (int i = 0; i < http.size(); i++) {
      HttpRoute route = HttpRouteTranslator.httpRoute(r, "spec.http[" + i + "]", http.get(i), i, rules,
          cx);
      if (route == null) {
        return; // Istio rejects the whole VirtualService on a bad route
      }
      routes.add(route);
    }
    List<TlsRule> tlsRules = new ArrayList<>();
    List<TLSRoute> tlsRoutes = spec.getTls() == null ? List.of() : spec.getTls();
    for (int i = 0; i < tlsRoutes.size(); i++) {
      List<TlsRule> matched = tlsRoute(r, "spec.tls[" + i + "]", tlsRoutes.get(i), hosts, i, rules, cx);
      if (matched == null) {
        return; // Istio rejects the whole VirtualService on a bad route
      }
      tlsRules.addAll(matched);
    }
    for (String g : gateways) {
      if (g.equals("mesh")) {
        continue;
      }
      String key = g.contains("/") ? g : r.namespace() + "/" + g;
      byGateway.computeIfAbsent(key, k -> new ArrayList<>()).add(new BoundRoutes(r, hosts, routes, tlsRules));
    }
  }

  /**
   * Validates one VirtualService {@code tls[]} route (Istio {@code TLSRoute}): each match needs {@code sniHosts},
   * each a VirtualService host or covered by one. Returns null after reporting an ERROR.
   */
  private static List<TlsRule> tlsRoute(Resource r, String at, TLSRoute t, List<String> vsHosts, int index,
      DestinationRules rules, TranslationContext cx) {
    List<TLSMatchAttributes> matches = t.getMatch() == null ? List.of() : t.getMatch();
    if (matches.isEmpty()) {
      cx.problem(Severity.ERROR, r, at + ".match", "empty (expected: at least one match with sniHosts)");
      return null;
    }
    List<RouteDestination> rs = t.getRoute() == null ? List.of() : t.getRoute();
    if (rs.isEmpty()) {
      cx.problem(Severity.ERROR, r, at + ".route", "empty (expected: at least one destination)");
      return null;
    }
    List<RouteAction.WeightedCluster> dests = DestinationTranslator.destinations(r, at, rs.size(),
        d -> rs.get(d).getDestination(), d -> rs.get(d).getWeight(), rules, cx);
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
}
