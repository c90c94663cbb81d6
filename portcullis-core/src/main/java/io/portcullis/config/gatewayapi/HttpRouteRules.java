package io.portcullis.config.gatewayapi;

import io.fabric8.kubernetes.api.model.gatewayapi.v1.BackendObjectReference;
import io.fabric8.kubernetes.api.model.gatewayapi.v1.HTTPBackendRef;
import io.fabric8.kubernetes.api.model.gatewayapi.v1.HTTPHeaderFilter;
import io.fabric8.kubernetes.api.model.gatewayapi.v1.HTTPHeaderMatch;
import io.fabric8.kubernetes.api.model.gatewayapi.v1.HTTPPathModifier;
import io.fabric8.kubernetes.api.model.gatewayapi.v1.HTTPQueryParamMatch;
import io.fabric8.kubernetes.api.model.gatewayapi.v1.HTTPRequestMirrorFilter;
import io.fabric8.kubernetes.api.model.gatewayapi.v1.HTTPRequestRedirectFilter;
import io.fabric8.kubernetes.api.model.gatewayapi.v1.HTTPRoute;
import io.fabric8.kubernetes.api.model.gatewayapi.v1.HTTPRouteFilter;
import io.fabric8.kubernetes.api.model.gatewayapi.v1.HTTPRouteMatch;
import io.fabric8.kubernetes.api.model.gatewayapi.v1.HTTPRouteRule;
import io.fabric8.kubernetes.api.model.gatewayapi.v1.HTTPURLRewriteFilter;
import io.portcullis.config.Problem.Severity;
import io.portcullis.config.Resource;
import io.portcullis.config.SpecValues;
import io.portcullis.config.TranslationContext;
import io.portcullis.config.istio.IstioModel;
import io.portcullis.routing.HeaderOps;
import io.portcullis.routing.HttpRoute;
import io.portcullis.routing.RouteAction;
import io.portcullis.routing.RouteMatch;
import io.portcullis.routing.SafeRegex;
import io.portcullis.routing.StringMatcher;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * Turns the {@code spec.rules} of an HTTPRoute into routes of the Istio model, one per match block, with their
 * precedence ({@link RankedRoute}), as Istio's {@code convertHTTPRoute} does: matches ({@code path} Exact /
 * PathPrefix (element-wise; a trailing {@code /} ignored) / RegularExpression (RE2), {@code headers} and
 * {@code queryParams} Exact / RegularExpression, {@code method}; no match is PathPrefix {@code /}); filters
 * {@code RequestHeaderModifier}, {@code ResponseHeaderModifier}, {@code RequestRedirect} (default 302),
 * {@code URLRewrite} (ReplaceFullPath, ReplacePrefixMatch), {@code RequestMirror}; weighted {@code backendRefs}
 * ({@link BackendRefs}); {@code timeouts.request} (the whole request) and {@code timeouts.backendRequest} (each try).
 *
 * <p>As the spec asks: a rule whose backends are all invalid, or that has none and no redirect, answers 500; so does
 * the share of the requests of an invalid backend among valid ones ({@link BackendRefs#invalid}). A rule that is not
 * valid (a bad match or filter, a filter type Portcullis does not support such as {@code CORS}, {@code ExternalAuth},
 * {@code ExtensionRef}: {@code UnsupportedValue}; {@code RequestRedirect} with {@code URLRewrite}:
 * {@code IncompatibleFilters}) is dropped and recorded in {@link RefStatus}; the others are served.
 */
final class HttpRouteRules {
  /** The route reason of a rule dropped for a value that is not valid or not supported. */
  static final String UNSUPPORTED = "UnsupportedValue";
  private static final Set<String> METHODS = Set.of("GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS",
      "TRACE", "PATCH");

  private HttpRouteRules() {}

  /** Returns the routes of {@code route}, unsorted; problems and reference status go to {@code cx} and {@code refs}. */
  static List<RankedRoute> routes(Resource r, HTTPRoute route, IstioModel model, ReferenceGrants grants,
      RefStatus refs, TranslationContext cx) {
    List<HTTPRouteRule> rules = route.getSpec().getRules() == null ? List.of() : route.getSpec().getRules();
    if (rules.isEmpty()) {
      rules = List.of(new HTTPRouteRule()); // the spec's default: one rule matching every path, with no backend
    }
    String created = r.body().path("metadata").path("creationTimestamp").asText("~");
    List<RankedRoute> out = new ArrayList<>();
    refs.rules = rules.size();
    for (int i = 0; i < rules.size(); i++) {
      int before = cx.problems().size();
      String dropped = rule(r, i, rules.get(i), created, model, grants, refs, cx, out);
      if (dropped != null) {
        refs.drop(i, dropped, cx, before);
      }
    }
    return out;
  }

  /**
   * Adds the routes of rule {@code i} to {@code out}; returns null, or the route reason it is dropped for
   * ({@code UnsupportedValue}, {@code IncompatibleFilters}) after an ERROR.
   */
  private static String rule(Resource r, int i, HTTPRouteRule rule, String created, IstioModel model,
      ReferenceGrants grants, RefStatus refs, TranslationContext cx, List<RankedRoute> out) {
    String at = "spec.rules[" + i + "]";
    List<HTTPRouteMatch> matches = rule.getMatches() == null || rule.getMatches().isEmpty()
        ? List.of(new HTTPRouteMatch()) : rule.getMatches();
    List<RouteMatch> translated = new ArrayList<>();
    List<int[]> ranks = new ArrayList<>();
    List<StringMatcher> paths = new ArrayList<>();
    for (int j = 0; j < matches.size(); j++) {
      int[] rank = new int[5];
      RouteMatch m = match(r, at + ".matches[" + j + "]", matches.get(j), rank, paths, cx);
      if (m == null) {
        return UNSUPPORTED;
      }
      translated.add(m);
      ranks.add(rank);
    }
    HeaderOps request = HeaderOps.NONE;
    HeaderOps response = HeaderOps.NONE;
    RouteAction.Redirect redirect = null;
    HTTPURLRewriteFilter rewrite = null;
    List<RouteAction.Mirror> mirrors = new ArrayList<>();
    List<HTTPRouteFilter> filters = rule.getFilters() == null ? List.of() : rule.getFilters();
    for (int f = 0; f < filters.size(); f++) {
      HTTPRouteFilter filter = filters.get(f);
      String fat = at + ".filters[" + f + "]";
      String type = filter.getType() == null ? "" : filter.getType();
      switch (type) {
        case "RequestHeaderModifier" -> request = headerOps(filter.getRequestHeaderModifier());
        case "ResponseHeaderModifier" -> response = headerOps(filter.getResponseHeaderModifier());
        case "RequestRedirect" -> {
          redirect = redirect(r, fat + ".requestRedirect", filter.getRequestRedirect(), paths, cx);
          if (redirect == null) {
            return UNSUPPORTED;
          }
        }
        case "URLRewrite" -> rewrite = filter.getUrlRewrite();
        case "RequestMirror" -> mirror(r, "HTTPRoute", fat + ".requestMirror", filter.getRequestMirror(), false,
            model, grants, refs, cx).ifPresent(mirrors::add);
        default -> {
          cx.problem(Severity.ERROR, r, fat + ".type", (type.isEmpty() ? "missing" : type) + " (expected: "
              + "RequestHeaderModifier, ResponseHeaderModifier, RequestRedirect, URLRewrite or RequestMirror); "
              + "rule left out");
          return UNSUPPORTED;
        }
      }
    }
    if (redirect != null && rewrite != null) {
      cx.problem(Severity.ERROR, r, at + ".filters", "RequestRedirect and URLRewrite together (expected: one of "
          + "them); rule left out");
      return "IncompatibleFilters";
    }
    RouteAction action;
    if (redirect != null) {
      action = redirect;
    } else {
      action = forward(r, at, rule, rewrite, mirrors, paths, model, grants, refs, cx);
      if (action == null) {
        return UNSUPPORTED;
      }
    }
    for (int j = 0; j < translated.size(); j++) {
      int[] k = ranks.get(j);
      HttpRoute hr = new HttpRoute(r.key() + "." + i + "." + j, List.of(translated.get(j)), action, request,
          response);
      out.add(new RankedRoute(hr, k[0], k[1], k[2] == 1, k[3], k[4], created, r.key(), i, j));
    }
    return null;
  }

  /**
   * Translates one match block; fills {@code rank} (path rank, path length, method 0/1, headers, query params) and
   * adds its path matcher to {@code paths}. Returns null after an ERROR.
   */
  private static RouteMatch match(Resource r, String at, HTTPRouteMatch m, int[] rank, List<StringMatcher> paths,
      TranslationContext cx) {
    String type = m.getPath() == null || m.getPath().getType() == null ? "PathPrefix" : m.getPath().getType();
    String value = m.getPath() == null || m.getPath().getValue() == null ? "/" : m.getPath().getValue();
    StringMatcher path;
    switch (type) {
      case "Exact", "PathPrefix" -> {
        if (!value.startsWith("/") || value.contains("//") || value.contains("/./") || value.contains("/../")
            || value.contains("%2f") || value.contains("%2F") || value.contains("#")) {
          cx.problem(Severity.ERROR, r, at + ".path.value", value + " (expected: an absolute path starting with /, "
              + "without //, /./, /../, %2f or #); rule left out");
          return null;
        }
        if (type.equals("Exact")) {
          path = new StringMatcher.Exact(value, false);
          rank[0] = 3;
        } else {
          String trimmed = value.replaceAll("/+$", "");
          path = trimmed.isEmpty() ? new StringMatcher.Prefix("/", false) : new StringMatcher.PathPrefix(trimmed);
          rank[0] = 1;
        }
      }
      case "RegularExpression" -> {
        path = regex(r, at + ".path.value", value, cx);
        if (path == null) {
          return null;
        }
        rank[0] = 2;
      }
      default -> {
        cx.problem(Severity.ERROR, r, at + ".path.type", type + " (expected: Exact, PathPrefix or "
            + "RegularExpression); rule left out");
        return null;
      }
    }
    // a PathPrefix's trailing "/" does not change what it matches, so it does not count
    rank[1] = type.equals("PathPrefix") ? Math.max(1, value.replaceAll("/+$", "").length()) : value.length();
    paths.add(path);
    Optional<StringMatcher> method = Optional.empty();
    if (m.getMethod() != null && !m.getMethod().isEmpty()) {
      if (!METHODS.contains(m.getMethod())) {
        cx.problem(Severity.ERROR, r, at + ".method", m.getMethod() + " (expected: one of " + new java.util.TreeSet<>(
            METHODS) + "); rule left out");
        return null;
      }
      method = Optional.of(new StringMatcher.Exact(m.getMethod(), false));
      rank[2] = 1;
    }
    Map<String, StringMatcher> headers = new LinkedHashMap<>();
    List<HTTPHeaderMatch> hs = m.getHeaders() == null ? List.of() : m.getHeaders();
    for (int h = 0; h < hs.size(); h++) {
      String name = hs.get(h).getName() == null ? "" : hs.get(h).getName().toLowerCase(Locale.ROOT);
      StringMatcher sm = valueMatch(r, at + ".headers[" + h + "]", name, hs.get(h).getType(), hs.get(h).getValue(),
          true, cx);
      if (sm == null) {
        return null;
      }
      headers.putIfAbsent(name, sm); // the spec: only the first entry of a name counts
    }
    Map<String, StringMatcher> query = new LinkedHashMap<>();
    List<HTTPQueryParamMatch> qs = m.getQueryParams() == null ? List.of() : m.getQueryParams();
    for (int q = 0; q < qs.size(); q++) {
      String name = qs.get(q).getName() == null ? "" : qs.get(q).getName();
      StringMatcher sm = valueMatch(r, at + ".queryParams[" + q + "]", name, qs.get(q).getType(),
          qs.get(q).getValue(), false, cx);
      if (sm == null) {
        return null;
      }
      query.putIfAbsent(name, sm);
    }
    rank[3] = headers.size();
    rank[4] = query.size();
    return new RouteMatch(Optional.of(path), Optional.empty(), method, headers, 0, query);
  }

  /** A header or query parameter match: Exact (default) or RegularExpression; null after an ERROR. */
  static StringMatcher valueMatch(Resource r, String at, String name, String type, String value,
      boolean header, TranslationContext cx) {
    if (name.isEmpty()) {
      cx.problem(Severity.ERROR, r, at + ".name", "missing (expected: a " + (header ? "header" : "query parameter")
          + " name); rule left out");
      return null;
    }
    String v = value == null ? "" : value;
    String t = type == null ? "Exact" : type;
    return switch (t) {
      case "Exact" -> new StringMatcher.Exact(v, false);
      case "RegularExpression" -> regex(r, at + ".value", v, cx);
      default -> {
        cx.problem(Severity.ERROR, r, at + ".type", t + " (expected: Exact or RegularExpression); rule left out");
        yield null;
      }
    };
  }

  /** Compiles an RE2 pattern with {@code --max-regex-program-size}; null after an ERROR. */
  static StringMatcher regex(Resource r, String at, String value, TranslationContext cx) {
    try {
      return StringMatcher.regex(value, false, cx.maxRegexProgramSize());
    } catch (SafeRegex.InvalidRegexException e) {
      cx.problem(Severity.ERROR, r, at, e.getMessage() + "; rule left out");
      return null;
    }
  }

  /** Gateway API {@code HTTPHeaderFilter}: {@code set}, {@code add}, {@code remove}. */
  static HeaderOps headerOps(HTTPHeaderFilter f) {
    if (f == null) {
      return HeaderOps.NONE;
    }
    Map<String, String> set = new LinkedHashMap<>();
    Map<String, String> add = new LinkedHashMap<>();
    if (f.getSet() != null) {
      f.getSet().forEach(h -> set.putIfAbsent(h.getName(), h.getValue() == null ? "" : h.getValue()));
    }
    if (f.getAdd() != null) {
      f.getAdd().forEach(h -> add.putIfAbsent(h.getName(), h.getValue() == null ? "" : h.getValue()));
    }
    return new HeaderOps(set, add, f.getRemove() == null ? List.of() : f.getRemove());
  }

  private static RouteAction.Redirect redirect(Resource r, String at, HTTPRequestRedirectFilter f,
      List<StringMatcher> paths, TranslationContext cx) {
    if (f == null) {
      cx.problem(Severity.ERROR, r, at, "missing with type RequestRedirect; rule left out");
      return null;
    }
    Optional<String> scheme = SpecValues.opt(f.getScheme());
    if (scheme.isPresent() && !scheme.get().equals("http") && !scheme.get().equals("https")) {
      cx.problem(Severity.ERROR, r, at + ".scheme", scheme.get() + " (expected: http or https); rule left out");
      return null;
    }
    int code = f.getStatusCode() == null ? 302 : f.getStatusCode();
    if (!Set.of(301, 302, 303, 307, 308).contains(code)) {
      cx.problem(Severity.ERROR, r, at + ".statusCode", code + " (expected: 301, 302, 303, 307 or 308); rule left "
          + "out");
      return null;
    }
    int port = f.getPort() == null ? 0 : f.getPort();
    if (port < 0 || port > 65535) {
      cx.problem(Severity.ERROR, r, at + ".port", port + " (expected: 1..65535); rule left out");
      return null;
    }
    Optional<String> uri = Optional.empty();
    boolean prefix = false;
    if (f.getPath() != null) {
      PathRewrite p = pathModifier(r, at + ".path", f.getPath(), paths, cx);
      if (p == null) {
        return null;
      }
      uri = Optional.of(p.value());
      prefix = !p.full();
    }
    return new RouteAction.Redirect(uri, SpecValues.opt(f.getHostname()).map(h -> h.toLowerCase(Locale.ROOT)),
        scheme, port, code, prefix);
  }

  /** A path modifier: the value, and whether it replaces the full path. */
  private record PathRewrite(String value, boolean full) {}

  private static PathRewrite pathModifier(Resource r, String at, HTTPPathModifier p, List<StringMatcher> paths,
      TranslationContext cx) {
    String type = p.getType() == null ? "" : p.getType();
    switch (type) {
      case "ReplaceFullPath" -> {
        String v = p.getReplaceFullPath() == null ? "/" : p.getReplaceFullPath();
        return new PathRewrite(v.isEmpty() ? "/" : v, true);
      }
      case "ReplacePrefixMatch" -> {
        boolean allPrefix = paths.stream().allMatch(m -> m instanceof StringMatcher.PathPrefix
            || m instanceof StringMatcher.Prefix);
        if (!allPrefix) {
          cx.problem(Severity.ERROR, r, at + ".type", "ReplacePrefixMatch with a path match that is not "
              + "PathPrefix (expected: every match of the rule of type PathPrefix); rule left out");
          return null;
        }
        String v = p.getReplacePrefixMatch() == null ? "/" : p.getReplacePrefixMatch();
        boolean rootPrefix = paths.stream().anyMatch(m -> m instanceof StringMatcher.Prefix);
        if (rootPrefix && !v.endsWith("/")) {
          // a "/" prefix is matched by StringMatcher.Prefix("/"): its literal rewrite needs the separator kept
          v = v + "/";
        }
        return new PathRewrite(v.isEmpty() ? "/" : v, false);
      }
      default -> {
        cx.problem(Severity.ERROR, r, at + ".type", (type.isEmpty() ? "missing" : type) + " (expected: "
            + "ReplaceFullPath or ReplacePrefixMatch); rule left out");
        return null;
      }
    }
  }

  /** A {@code RequestMirror} filter: its backend and share ({@code percent}, or {@code fraction}). */
  static Optional<RouteAction.Mirror> mirror(Resource r, String routeKind, String at, HTTPRequestMirrorFilter f,
      boolean http2, IstioModel model, ReferenceGrants grants, RefStatus refs, TranslationContext cx) {
    if (f == null || f.getBackendRef() == null) {
      cx.problem(Severity.ERROR, r, at + ".backendRef", "missing (expected: the Service to mirror to)");
      refs.unresolved("BackendNotFound", at + ".backendRef missing");
      return Optional.empty();
    }
    double percent = 100;
    if (f.getPercent() != null) {
      percent = f.getPercent();
    } else if (f.getFraction() != null && f.getFraction().getNumerator() != null) {
      int den = f.getFraction().getDenominator() == null ? 100 : f.getFraction().getDenominator();
      percent = den <= 0 ? 0 : 100.0 * f.getFraction().getNumerator() / den;
    }
    if (percent < 0 || percent > 100) {
      cx.problem(Severity.ERROR, r, at + ".percent", percent + " (expected: 0..100); mirror left out");
      return Optional.empty();
    }
    BackendObjectReference b = f.getBackendRef();
    double share = percent;
    return BackendRefs.resolve(r, routeKind, at + ".backendRef", new BackendRefs.Ref(b.getGroup(), b.getKind(),
        b.getName(), b.getNamespace(), b.getPort(), 1), http2, model, grants, refs, cx)
        .map(wc -> new RouteAction.Mirror(wc.cluster(), share));
  }

  private static RouteAction forward(Resource r, String at, HTTPRouteRule rule, HTTPURLRewriteFilter rewrite,
      List<RouteAction.Mirror> mirrors, List<StringMatcher> paths, IstioModel model, ReferenceGrants grants,
      RefStatus refs, TranslationContext cx) {
    Optional<String> rewriteUri = Optional.empty();
    boolean full = false;
    Optional<String> authority = Optional.empty();
    if (rewrite != null) {
      authority = SpecValues.opt(rewrite.getHostname()).map(h -> h.toLowerCase(Locale.ROOT));
      if (rewrite.getPath() != null) {
        PathRewrite p = pathModifier(r, at + ".filters.urlRewrite.path", rewrite.getPath(), paths, cx);
        if (p == null) {
          return null;
        }
        rewriteUri = Optional.of(p.value());
        full = p.full();
      }
    }
    Duration timeout = Duration.ZERO;
    Duration perTry = Duration.ZERO;
    if (rule.getTimeouts() != null) {
      timeout = SpecValues.duration(r, at + ".timeouts.request", rule.getTimeouts().getRequest(), cx);
      perTry = SpecValues.duration(r, at + ".timeouts.backendRequest", rule.getTimeouts().getBackendRequest(), cx);
      if (timeout == null || perTry == null) {
        return null;
      }
      if (!timeout.isZero() && perTry.compareTo(timeout) > 0) {
        cx.problem(Severity.ERROR, r, at + ".timeouts.backendRequest", rule.getTimeouts().getBackendRequest()
            + " (expected: at most timeouts.request, " + rule.getTimeouts().getRequest() + "); rule left out");
        return null;
      }
    }
    if (rule.getRetry() != null) {
      cx.problem(Severity.WARNING, r, at + ".retry", "not acted on yet; Istio's default retry policy applies");
    }
    if (rule.getSessionPersistence() != null) {
      cx.problem(Severity.WARNING, r, at + ".sessionPersistence", "not supported; ignored");
    }
    List<HTTPBackendRef> backends = rule.getBackendRefs() == null ? List.of() : rule.getBackendRefs();
    List<RouteAction.WeightedCluster> destinations = new ArrayList<>();
    boolean anyValid = false;
    for (int b = 0; b < backends.size(); b++) {
      HTTPBackendRef ref = backends.get(b);
      String bat = at + ".backendRefs[" + b + "]";
      if (ref.getFilters() != null && !ref.getFilters().isEmpty()) {
        cx.problem(Severity.WARNING, r, bat + ".filters", "per-backend filters are not supported; ignored");
      }
      if (ref.getWeight() != null && ref.getWeight() == 0) {
        continue;
      }
      BackendRefs.Ref br = new BackendRefs.Ref(ref.getGroup(), ref.getKind(), ref.getName(), ref.getNamespace(),
          ref.getPort(), ref.getWeight());
      Optional<RouteAction.WeightedCluster> wc = BackendRefs.resolve(r, "HTTPRoute", bat, br, false, model, grants,
          refs, cx);
      anyValid |= wc.isPresent();
      destinations.add(wc.orElseGet(() -> BackendRefs.invalid(r, br)));
    }
    if (!anyValid) {
      return new RouteAction.DirectResponse(500, new byte[0]); // the spec: no valid backend answers 500
    }
    RouteAction.RetryPolicy retries = new RouteAction.RetryPolicy(RouteAction.RetryPolicy.DEFAULT.attempts(), perTry,
        RouteAction.RetryPolicy.DEFAULT.retryOn());
    // an invalid backend's share answers 500, as HTTPRouteRule.backendRefs asks
    return new RouteAction.Forward(destinations, rewriteUri, authority, timeout, retries, full, mirrors, 500);
  }
}
