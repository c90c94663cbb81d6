package io.portcullis.config.gatewayapi;

import io.fabric8.kubernetes.api.model.gatewayapi.v1.GRPCBackendRef;
import io.fabric8.kubernetes.api.model.gatewayapi.v1.GRPCHeaderMatch;
import io.fabric8.kubernetes.api.model.gatewayapi.v1.GRPCMethodMatch;
import io.fabric8.kubernetes.api.model.gatewayapi.v1.GRPCRoute;
import io.fabric8.kubernetes.api.model.gatewayapi.v1.GRPCRouteFilter;
import io.fabric8.kubernetes.api.model.gatewayapi.v1.GRPCRouteMatch;
import io.fabric8.kubernetes.api.model.gatewayapi.v1.GRPCRouteRule;
import io.portcullis.config.Problem.Severity;
import io.portcullis.config.Resource;
import io.portcullis.config.TranslationContext;
import io.portcullis.config.istio.IstioModel;
import io.portcullis.routing.HeaderOps;
import io.portcullis.routing.HttpRoute;
import io.portcullis.routing.RouteAction;
import io.portcullis.routing.RouteMatch;
import io.portcullis.routing.StringMatcher;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * Turns the {@code spec.rules} of a GRPCRoute into routes of the Istio model, as Istio's {@code convertGRPCRoute}
 * does: {@code matches[].method} ({@code Exact}: path {@code /service/method}, {@code /service/} prefix for a
 * service alone, any service for a method alone; {@code RegularExpression}: RE2 over both parts), {@code headers};
 * filters {@code RequestHeaderModifier}, {@code ResponseHeaderModifier}, {@code RequestMirror}; weighted
 * {@code backendRefs}, always spoken to as HTTP/2 (h2c) whatever the Service port's protocol. A rule without a valid
 * backend (or with none) answers {@code UNAVAILABLE}, as the spec's {@code GRPCRouteRule.backendRefs} asks: HTTP 503,
 * which the data plane sends a gRPC client as {@code grpc-status: 14}; so does the share of an invalid backend among
 * valid ones ({@link BackendRefs#invalid}). Pure; used on the translating thread.
 */
final class GrpcRouteRules {
  private static final Pattern NAME = Pattern.compile("[A-Za-z0-9_.]+");

  private GrpcRouteRules() {}

  /** Returns the routes of {@code route}, unsorted. */
  static List<RankedRoute> routes(Resource r, GRPCRoute route, IstioModel model, ReferenceGrants grants,
      RefStatus refs, TranslationContext cx) {
    List<GRPCRouteRule> rules = route.getSpec().getRules() == null || route.getSpec().getRules().isEmpty()
        ? List.of(new GRPCRouteRule()) : route.getSpec().getRules();
    String created = r.body().path("metadata").path("creationTimestamp").asText("~");
    List<RankedRoute> out = new ArrayList<>();
    refs.rules = rules.size();
    for (int i = 0; i < rules.size(); i++) {
      String at = "spec.rules[" + i + "]";
      int before = cx.problems().size();
      GRPCRouteRule rule = rules.get(i);
      List<GRPCRouteMatch> matches = rule.getMatches() == null || rule.getMatches().isEmpty()
          ? List.of(new GRPCRouteMatch()) : rule.getMatches();
      List<RouteMatch> translated = new ArrayList<>();
      List<int[]> ranks = new ArrayList<>();
      boolean bad = false;
      for (int j = 0; j < matches.size() && !bad; j++) {
        int[] rank = new int[3];
        RouteMatch m = match(r, at + ".matches[" + j + "]", matches.get(j), rank, cx);
        bad = m == null;
        translated.add(m);
        ranks.add(rank);
      }
      if (bad) {
        refs.drop(i, HttpRouteRules.UNSUPPORTED, cx, before);
        continue;
      }
      HeaderOps request = HeaderOps.NONE;
      HeaderOps response = HeaderOps.NONE;
      List<RouteAction.Mirror> mirrors = new ArrayList<>();
      List<GRPCRouteFilter> filters = rule.getFilters() == null ? List.of() : rule.getFilters();
      for (int f = 0; f < filters.size() && !bad; f++) {
        GRPCRouteFilter filter = filters.get(f);
        String fat = at + ".filters[" + f + "]";
        String type = filter.getType() == null ? "" : filter.getType();
        switch (type) {
          case "RequestHeaderModifier" -> request = HttpRouteRules.headerOps(filter.getRequestHeaderModifier());
          case "ResponseHeaderModifier" -> response = HttpRouteRules.headerOps(filter.getResponseHeaderModifier());
          case "RequestMirror" -> HttpRouteRules.mirror(r, "GRPCRoute", fat + ".requestMirror",
              filter.getRequestMirror(), true, model, grants, refs, cx).ifPresent(mirrors::add);
          default -> {
            cx.problem(Severity.ERROR, r, fat + ".type", (type.isEmpty() ? "missing" : type) + " (expected: "
                + "RequestHeaderModifier, ResponseHeaderModifier or RequestMirror); rule left out");
            bad = true;
          }
        }
      }
      if (bad) {
        refs.drop(i, HttpRouteRules.UNSUPPORTED, cx, before);
        continue;
      }
      if (rule.getSessionPersistence() != null) {
        cx.problem(Severity.WARNING, r, at + ".sessionPersistence", "not supported; ignored");
      }
      List<GRPCBackendRef> backends = rule.getBackendRefs() == null ? List.of() : rule.getBackendRefs();
      List<RouteAction.WeightedCluster> destinations = new ArrayList<>();
      boolean anyValid = false;
      for (int b = 0; b < backends.size(); b++) {
        GRPCBackendRef ref = backends.get(b);
        if (ref.getWeight() != null && ref.getWeight() == 0) {
          continue;
        }
        if (ref.getFilters() != null && !ref.getFilters().isEmpty()) {
          cx.problem(Severity.WARNING, r, at + ".backendRefs[" + b + "].filters", "per-backend filters are not "
              + "supported; ignored");
        }
        BackendRefs.Ref br = new BackendRefs.Ref(ref.getGroup(), ref.getKind(), ref.getName(), ref.getNamespace(),
            ref.getPort(), ref.getWeight());
        Optional<RouteAction.WeightedCluster> wc = BackendRefs.resolve(r, "GRPCRoute", at + ".backendRefs[" + b
            + "]", br, true, model, grants, refs, cx);
        anyValid |= wc.isPresent();
        destinations.add(wc.orElseGet(() -> BackendRefs.invalid(r, br)));
      }
      // GRPCRouteRule.backendRefs: all invalid (or none), and an invalid one's share, is UNAVAILABLE; the data plane
      // answers a gRPC request's 503 as grpc-status 14 (UNAVAILABLE), where a 500 would be 2 (UNKNOWN)
      RouteAction action = !anyValid ? new RouteAction.DirectResponse(503, new byte[0])
          : new RouteAction.Forward(destinations, Optional.empty(), Optional.empty(), Duration.ZERO,
              RouteAction.RetryPolicy.DEFAULT, false, mirrors, 503);
      for (int j = 0; j < translated.size(); j++) {
        int[] k = ranks.get(j);
        HttpRoute hr = new HttpRoute(r.key() + "." + i + "." + j, List.of(translated.get(j)), action, request,
            response);
        out.add(new RankedRoute(hr, k[0], k[1], false, k[2], 0, created, r.key(), i, j));
      }
    }
    return out;
  }

  private static RouteMatch match(Resource r, String at, GRPCRouteMatch m, int[] rank, TranslationContext cx) {
    GRPCMethodMatch mm = m.getMethod();
    StringMatcher path = new StringMatcher.Prefix("/", false);
    if (mm != null) {
      String type = mm.getType() == null ? "Exact" : mm.getType();
      String service = mm.getService() == null ? "" : mm.getService();
      String method = mm.getMethod() == null ? "" : mm.getMethod();
      rank[1] = service.length() + method.length();
      if (service.isEmpty() && method.isEmpty()) {
        cx.problem(Severity.ERROR, r, at + ".method", "neither service nor method (expected: at least one); rule "
            + "left out");
        return null;
      }
      switch (type) {
        case "Exact" -> {
          if ((!service.isEmpty() && !NAME.matcher(service).matches())
              || (!method.isEmpty() && !method.matches("[A-Za-z0-9_]+"))) {
            cx.problem(Severity.ERROR, r, at + ".method", service + "/" + method + " (expected: a gRPC service such "
                + "as pkg.Service and a method name); rule left out");
            return null;
          }
          rank[0] = 3;
          if (!service.isEmpty() && !method.isEmpty()) {
            path = new StringMatcher.Exact("/" + service + "/" + method, false);
          } else if (!service.isEmpty()) {
            path = new StringMatcher.Prefix("/" + service + "/", false);
          } else {
            path = HttpRouteRules.regex(r, at + ".method.method", "/[^/]+/" + Pattern.quote(method), cx);
          }
        }
        case "RegularExpression" -> {
          rank[0] = 2;
          // each part grouped, so that an alternation in one ("a|b") stays inside its path segment
          path = HttpRouteRules.regex(r, at + ".method", "/(?:" + (service.isEmpty() ? "[^/]+" : service) + ")/(?:"
              + (method.isEmpty() ? "[^/]+" : method) + ")", cx);
        }
        default -> {
          cx.problem(Severity.ERROR, r, at + ".method.type", type + " (expected: Exact or RegularExpression); rule "
              + "left out");
          return null;
        }
      }
      if (path == null) {
        return null;
      }
    }
    Map<String, StringMatcher> headers = new LinkedHashMap<>();
    List<GRPCHeaderMatch> hs = m.getHeaders() == null ? List.of() : m.getHeaders();
    for (int h = 0; h < hs.size(); h++) {
      String name = hs.get(h).getName() == null ? "" : hs.get(h).getName().toLowerCase(Locale.ROOT);
      StringMatcher sm = HttpRouteRules.valueMatch(r, at + ".headers[" + h + "]", name, hs.get(h).getType(),
          hs.get(h).getValue(), true, cx);
      if (sm == null) {
        return null;
      }
      headers.putIfAbsent(name, sm);
    }
    rank[2] = headers.size();
    return new RouteMatch(Optional.of(path), Optional.empty(), Optional.empty(), headers, 0, Map.of());
  }
}
