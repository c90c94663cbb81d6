package io.portcullis.config.istio;

import static io.portcullis.config.SpecValues.duration;
import static io.portcullis.config.SpecValues.opt;

import io.fabric8.istio.api.api.networking.v1alpha3.HTTPBodyBytes;
import io.fabric8.istio.api.api.networking.v1alpha3.HTTPBodyString;
import io.fabric8.istio.api.api.networking.v1alpha3.HTTPMatchRequest;
import io.fabric8.istio.api.api.networking.v1alpha3.HTTPMirrorPolicy;
import io.fabric8.istio.api.api.networking.v1alpha3.HTTPRedirectPort;
import io.fabric8.istio.api.api.networking.v1alpha3.HTTPRoute;
import io.fabric8.istio.api.api.networking.v1alpha3.HTTPRouteDestination;
import io.fabric8.istio.api.api.networking.v1alpha3.Headers;
import io.fabric8.istio.api.api.networking.v1alpha3.HeadersHeaderOperations;
import io.fabric8.istio.api.api.networking.v1alpha3.Percent;
import io.portcullis.config.Problem.Severity;
import io.portcullis.config.Resource;
import io.portcullis.config.TranslationContext;
import io.portcullis.routing.HeaderOps;
import io.portcullis.routing.HttpRoute;
import io.portcullis.routing.RouteAction;
import io.portcullis.routing.RouteMatch;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;

/**
 * Translates one VirtualService {@code spec.http[]} entry (Istio {@code HTTPRoute}) into an {@link HttpRoute}: its
 * matches ({@link MatchTranslator}), exactly one action ({@code route} with {@code rewrite}, {@code timeout},
 * {@code retries} and {@code mirror} / {@code mirrors}; {@code redirect}; or {@code directResponse}) and its request and response {@code headers}
 * operations. Destinations resolve through {@link ServiceEntryTranslator}.
 */
final class HttpRouteTranslator {
  private HttpRouteTranslator() {}

  /**
   * Returns the route, named by {@code name} or {@code <namespace/name>.<index>}, or null after reporting an ERROR.
   */
  static HttpRoute httpRoute(Resource r, String at, HTTPRoute h, int index, DestinationRules rules,
      TranslationContext cx) {
    List<RouteMatch> matches = new ArrayList<>();
    List<HTTPMatchRequest> ms = h.getMatch() == null ? List.of() : h.getMatch();
    for (int m = 0; m < ms.size(); m++) {
      RouteMatch match = MatchTranslator.routeMatch(r, at + ".match[" + m + "]", ms.get(m), cx.maxRegexProgramSize(),
          cx.problems());
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
      List<RouteAction.WeightedCluster> dests = DestinationTranslator.destinations(r, at, rs.size(),
          d -> rs.get(d).getDestination(), d -> rs.get(d).getWeight(), rules, cx);
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
                + "retries on " + String.join(", ", new TreeSet<>(RouteAction.RetryPolicy.KNOWN))
                + " and status codes)");
          }
          on.add(c);
        }
        retries = new RouteAction.RetryPolicy(attempts, perTry, on);
      }
      Optional<String> rewriteUri = h.getRewrite() == null ? Optional.empty() : opt(h.getRewrite().getUri());
      Optional<String> rewriteAuthority = h.getRewrite() == null ? Optional.empty()
          : opt(h.getRewrite().getAuthority());
      List<RouteAction.Mirror> mirrors = mirrors(r, at, h, rules, cx);
      if (mirrors == null) {
        return null;
      }
      action = new RouteAction.Forward(dests, rewriteUri, rewriteAuthority, timeout, retries, false, mirrors);
    }
    if ((h.getMirror() != null || (h.getMirrors() != null && !h.getMirrors().isEmpty()))
        && !(action instanceof RouteAction.Forward)) {
      cx.problem(Severity.WARNING, r, at + (h.getMirror() != null ? ".mirror" : ".mirrors"), "ignored without route "
          + "(expected: mirrors go with route)");
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

  /**
   * Returns the route's request mirrors: Istio {@code mirror} (a {@code Destination}) with {@code mirrorPercentage}
   * ({@code value}, 0..100, default 100; the deprecated {@code mirrorPercent} when it is absent), or
   * {@code mirrors[]} ({@code destination}, {@code percentage.value}, default 100); both is an ERROR, as Istio's
   * validation says. Destinations resolve as {@code route[]} ones do. Returns null after reporting an ERROR.
   */
  private static List<RouteAction.Mirror> mirrors(Resource r, String at, HTTPRoute h, DestinationRules rules,
      TranslationContext cx) {
    List<HTTPMirrorPolicy> policies = h.getMirrors() == null ? List.of() : h.getMirrors();
    if (h.getMirror() != null && !policies.isEmpty()) {
      cx.problem(Severity.ERROR, r, at + ".mirrors", "set with mirror (expected: one of mirror, mirrors)");
      return null;
    }
    List<RouteAction.Mirror> out = new ArrayList<>();
    if (h.getMirror() != null) {
      Double percent = h.getMirrorPercentage() != null ? percent(r, at + ".mirrorPercentage.value",
          h.getMirrorPercentage(), cx) : h.getMirrorPercent() != null ? percent(r, at + ".mirrorPercent",
          h.getMirrorPercent().doubleValue(), cx) : Double.valueOf(100);
      if (percent == null) {
        return null;
      }
      RouteAction.WeightedCluster wc = DestinationTranslator.destination(r, at + ".mirror", h.getMirror(), 100,
          rules, cx);
      if (wc == null) {
        return null;
      }
      out.add(new RouteAction.Mirror(wc.cluster(), percent));
    } else if (h.getMirrorPercentage() != null || h.getMirrorPercent() != null) {
      cx.problem(Severity.WARNING, r, at + (h.getMirrorPercentage() != null ? ".mirrorPercentage" : ".mirrorPercent"),
          "ignored without mirror (expected: it sets the share of mirror; mirrors[] have percentage)");
    }
    for (int i = 0; i < policies.size(); i++) {
      HTTPMirrorPolicy m = policies.get(i);
      String mat = at + ".mirrors[" + i + "]";
      Double percent = m.getPercentage() == null ? Double.valueOf(100)
          : percent(r, mat + ".percentage.value", m.getPercentage(), cx);
      if (percent == null) {
        return null;
      }
      RouteAction.WeightedCluster wc = DestinationTranslator.destination(r, mat + ".destination",
          m.getDestination(), 100, rules, cx);
      if (wc == null) {
        return null;
      }
      out.add(new RouteAction.Mirror(wc.cluster(), percent));
    }
    return out;
  }

  private static Double percent(Resource r, String at, Percent p, TranslationContext cx) {
    return percent(r, at, p.getValue() == null ? 0 : p.getValue(), cx);
  }

  private static Double percent(Resource r, String at, double value, TranslationContext cx) {
    if (!(value >= 0 && value <= 100)) {
      cx.problem(Severity.ERROR, r, at, value + " (expected: 0..100)");
      return null;
    }
    return value;
  }

  private static HeaderOps headerOps(HeadersHeaderOperations ops) {
    if (ops == null) {
      return HeaderOps.NONE;
    }
    return new HeaderOps(ops.getSet() == null ? Map.of() : ops.getSet(), ops.getAdd() == null ? Map.of()
        : ops.getAdd(), ops.getRemove() == null ? List.of() : ops.getRemove());
  }
}
