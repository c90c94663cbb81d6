package io.portcullis.config.ingress;

import static io.portcullis.config.SpecValues.validHost;

import io.fabric8.kubernetes.api.model.networking.v1.HTTPIngressPath;
import io.fabric8.kubernetes.api.model.networking.v1.IngressBackend;
import io.fabric8.kubernetes.api.model.networking.v1.IngressRule;
import io.fabric8.kubernetes.api.model.networking.v1.IngressServiceBackend;
import io.fabric8.kubernetes.api.model.networking.v1.ServiceBackendPort;
import io.portcullis.config.Problem.Severity;
import io.portcullis.config.Resource;
import io.portcullis.config.ServiceRegistry;
import io.portcullis.config.TranslationContext;
import io.portcullis.config.istio.IstioModel;
import io.portcullis.routing.HeaderOps;
import io.portcullis.routing.HttpRoute;
import io.portcullis.routing.RouteAction;
import io.portcullis.routing.RouteMatch;
import io.portcullis.routing.StringMatcher;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;

/**
 * Turns the rules of the selected Ingresses into HTTP routes by host, as Istio's {@code convertIngressRule} and
 * {@code ingressBackendToHTTPRoute} do: {@code rules[].host} ({@code ""} → {@code *}), {@code pathType}
 * {@code Exact} (exact), {@code Prefix} (whole path elements: {@code /foo} matches {@code /foo/x}, not
 * {@code /foobar}; Envoy {@code path_separated_prefix} under Istio's ingress route semantics) and
 * {@code ImplementationSpecific} (Istio's legacy: {@code ""}, {@code *}, {@code /*}, {@code .*} match everything,
 * {@code X/*} and {@code X.*} are prefixes {@code X}, element-wise; anything else exact), backends by Service port
 * number or name (against the Service's {@code spec.ports[].name}), and Istio's order (Ingresses oldest first, then
 * name, namespace, rule and path index; then longer paths first, exact before prefix at equal length). A bad path is
 * reported and left out; the rest are served. {@code defaultBackend}, which Istio ignores, is served as the last
 * route of host {@code *}.
 */
final class IngressRules {
  private IngressRules() {}

  /** A route with Istio's sort key: {@code getMatchURILength} and whether the match is exact. */
  private record Ranked(HttpRoute route, int length, boolean exact) {}

  /** The routes by host, in Istio's order; each host's list keeps the first Ingress that named it. */
  record HostRoutes(Resource first, List<HttpRoute> routes) {}

  /**
   * Returns the routes of {@code views} (already in Istio's Ingress order) by host, in order of first appearance,
   * with host {@code *} last and the oldest {@code defaultBackend} as its last route.
   */
  static Map<String, HostRoutes> routes(List<IngressVersions.View> views, IstioModel model, TranslationContext cx) {
    Map<String, List<Ranked>> byHost = new LinkedHashMap<>();
    Map<String, Resource> firstByHost = new LinkedHashMap<>();
    HttpRoute defaultRoute = null;
    Resource defaultOwner = null;
    for (IngressVersions.View v : views) {
      Resource r = v.resource();
      List<IngressRule> rules = v.spec().getRules() == null ? List.of() : v.spec().getRules();
      for (int i = 0; i < rules.size(); i++) {
        IngressRule rule = rules.get(i);
        String at = "spec.rules[" + i + "]";
        String host = rule.getHost() == null ? "" : rule.getHost().trim().toLowerCase(Locale.ROOT);
        if (host.isEmpty()) {
          host = "*";
        }
        if (!validHost(host)) {
          cx.problem(Severity.ERROR, r, v.field(at + ".host"), "\"" + rule.getHost() + "\" (expected: a "
              + "DNS name, or \"*.\" followed by a DNS name)");
          continue;
        }
        if (rule.getHttp() == null) {
          cx.problem(Severity.INFO, r, v.field(at), "no http: nothing to route for host " + host + " (as Istio, "
              + "skipped)");
          continue;
        }
        List<HTTPIngressPath> paths = rule.getHttp().getPaths() == null ? List.of() : rule.getHttp().getPaths();
        for (int p = 0; p < paths.size(); p++) {
          Ranked ranked = path(v, at + ".http.paths[" + p + "]", paths.get(p), i, p, model, cx);
          if (ranked != null) {
            byHost.computeIfAbsent(host, h -> new ArrayList<>()).add(ranked);
            firstByHost.putIfAbsent(host, r);
          }
        }
      }
      if (v.spec().getDefaultBackend() != null) {
        String at = "spec.defaultBackend";
        if (defaultRoute != null) {
          cx.problem(Severity.WARNING, r, v.field(at), "Ingress " + defaultOwner.key() + " already has a "
              + "defaultBackend, which is served (expected: one defaultBackend among the served Ingresses; the oldest "
              + "wins)");
          continue;
        }
        Optional<RouteAction.WeightedCluster> backend = backend(v, at, v.spec().getDefaultBackend(), model,
            cx);
        if (backend.isPresent()) {
          defaultRoute = route(r.key() + ".defaultBackend", List.of(), backend.get());
          defaultOwner = r;
          cx.problem(Severity.INFO, r, v.field(at), "served for requests no rule matches (host *, after every rule); "
              + "Istio ignores it");
        }
      }
    }
    Map<String, HostRoutes> out = new LinkedHashMap<>();
    List<String> hosts = new ArrayList<>(byHost.keySet());
    hosts.remove("*");
    hosts.add("*"); // specific hosts bind first, so their routes come before the "*" ones they share a server with
    for (String host : hosts) {
      List<Ranked> ranked = byHost.getOrDefault(host, List.of());
      List<Ranked> sorted = new ArrayList<>(ranked);
      // Istio sortHTTPRoutes: stable; longer first, exact before prefix at equal length
      sorted.sort(Comparator.comparingInt((Ranked x) -> -x.length()).thenComparing(x -> !x.exact()));
      List<HttpRoute> routes = new ArrayList<>(sorted.stream().map(Ranked::route).toList());
      if (host.equals("*") && defaultRoute != null) {
        routes.add(defaultRoute);
      }
      if (!routes.isEmpty()) {
        out.put(host, new HostRoutes(host.equals("*") && firstByHost.get(host) == null ? defaultOwner
            : firstByHost.get(host), routes));
      }
    }
    return out;
  }

  private static Ranked path(IngressVersions.View v, String at, HTTPIngressPath path, int ruleIndex, int pathIndex,
      IstioModel model, TranslationContext cx) {
    Resource r = v.resource();
    String value = path.getPath() == null ? "" : path.getPath();
    String type = path.getPathType() == null ? "" : path.getPathType();
    Optional<StringMatcher> uri;
    boolean exact;
    switch (type) {
      case "Exact", "Prefix" -> {
        if (!value.startsWith("/")) {
          cx.problem(Severity.ERROR, r, v.field(at + ".path"), (value.isEmpty() ? "missing" : "\"" + value + "\"")
              + " (expected: an absolute path starting with / for pathType " + type + ")");
          return null;
        }
        exact = type.equals("Exact");
        uri = Optional.of(exact ? new StringMatcher.Exact(value, false) : prefix(value));
      }
      case "ImplementationSpecific" -> {
        // Istio createFallbackStringMatch
        if (value.isEmpty() || value.equals("*") || value.equals("/*") || value.equals(".*")) {
          uri = Optional.empty();
          exact = false;
        } else if (value.endsWith("/*") || value.endsWith(".*")) {
          uri = Optional.of(prefix(value.substring(0, value.length() - 2)));
          exact = false;
        } else {
          uri = Optional.of(new StringMatcher.Exact(value, false));
          exact = true;
        }
      }
      default -> {
        cx.problem(Severity.ERROR, r, v.field(at + ".pathType"), (type.isEmpty() ? "missing" : type)
            + " (expected: Exact, Prefix or ImplementationSpecific)");
        return null;
      }
    }
    Optional<RouteAction.WeightedCluster> backend = backend(v, at + ".backend", path.getBackend(), model, cx);
    if (backend.isEmpty()) {
      return null;
    }
    List<RouteMatch> matches = uri.isEmpty() ? List.of()
        : List.of(new RouteMatch(uri, Optional.empty(), Optional.empty(), Map.of(), 0));
    int length = uri.map(IngressRules::operand).map(String::length).orElse(0);
    return new Ranked(route(r.key() + ".rules[" + ruleIndex + "].paths[" + pathIndex + "]", matches, backend.get()),
        length, exact);
  }

  private static String operand(StringMatcher m) {
    return m instanceof StringMatcher.Exact e ? e.value() : m instanceof StringMatcher.PathPrefix p ? p.value()
        : m instanceof StringMatcher.Prefix p ? p.value() : "";
  }

  /** Istio's ingress Prefix: element-wise, a trailing {@code /} trimmed; {@code /} (or nothing) matches every path. */
  private static StringMatcher prefix(String value) {
    String trimmed = value;
    while (trimmed.endsWith("/")) {
      trimmed = trimmed.substring(0, trimmed.length() - 1);
    }
    return trimmed.isEmpty() ? new StringMatcher.Prefix("/", false) : new StringMatcher.PathPrefix(trimmed.startsWith(
        "/") ? trimmed : "/" + trimmed);
  }

  private static HttpRoute route(String name, List<RouteMatch> matches, RouteAction.WeightedCluster backend) {
    return new HttpRoute(name, matches, new RouteAction.Forward(List.of(backend), Optional.empty(), Optional.empty(),
        Duration.ZERO, RouteAction.RetryPolicy.DEFAULT), HeaderOps.NONE, HeaderOps.NONE);
  }

  /**
   * Resolves an {@code IngressBackend} ({@code service.name} with {@code port.number} or {@code port.name}) in the
   * Ingress's namespace; empty after an ERROR naming the field.
   */
  static Optional<RouteAction.WeightedCluster> backend(IngressVersions.View v, String at, IngressBackend backend,
      IstioModel model, TranslationContext cx) {
    Resource r = v.resource();
    if (backend == null) {
      cx.problem(Severity.ERROR, r, v.field(at), "missing (expected: service.name and service.port)");
      return Optional.empty();
    }
    if (backend.getResource() != null) {
      cx.problem(Severity.ERROR, r, v.field(at + ".resource"), "not supported (expected: a service backend; Istio "
          + "drops resource backends too)");
      return Optional.empty();
    }
    IngressServiceBackend service = backend.getService();
    String name = service == null || service.getName() == null ? "" : service.getName().trim();
    if (name.isEmpty()) {
      cx.problem(Severity.ERROR, r, v.field(at + ".service.name"), "missing (expected: the name of a Service in "
          + "namespace " + r.namespace() + ")");
      return Optional.empty();
    }
    ServiceBackendPort port = service.getPort() == null ? new ServiceBackendPort() : service.getPort();
    String hostField = v.field(at + ".service.name");
    if (port.getNumber() != null) {
      int number = port.getNumber();
      if (number < 1 || number > 65535) {
        cx.problem(Severity.ERROR, r, v.field(at + ".service.port.number"), number + " (expected: 1..65535)");
        return Optional.empty();
      }
      return model.resolve(r, hostField, v.field(at + ".service.port.number"), name.toLowerCase(Locale.ROOT),
          OptionalInt.of(number), 100, cx);
    }
    String portName = port.getName() == null ? "" : port.getName().trim();
    String portField = v.field(at + ".service.port.name");
    if (portName.isEmpty()) {
      cx.problem(Severity.ERROR, r, v.field(at + ".service.port"), "missing (expected: port.number or port.name)");
      return Optional.empty();
    }
    Optional<ServiceRegistry.Service> svc = cx.services().lookup(name.toLowerCase(Locale.ROOT), r.namespace())
        .filter(s -> s.kind().equals("Service"));
    if (svc.isEmpty()) {
      cx.problem(Severity.ERROR, r, portField, "\"" + portName + "\": no Service " + r.namespace() + "/" + name
          + " to look the port name up in (expected: a v1 Service " + name + " in namespace " + r.namespace()
          + " with a port named " + portName + ")");
      return Optional.empty();
    }
    Optional<ServiceRegistry.Port> sp = svc.get().ports().stream().filter(p -> p.name().equals(portName)).findFirst();
    if (sp.isEmpty()) {
      cx.problem(Severity.ERROR, r, portField, "no port named \"" + portName + "\" on Service " + r.namespace() + "/"
          + name + " (expected one of: " + String.join(", ", svc.get().ports().stream().map(ServiceRegistry.Port::name)
          .filter(n -> !n.isEmpty()).toList()) + ")");
      return Optional.empty();
    }
    return model.resolve(r, hostField, portField, name.toLowerCase(Locale.ROOT), OptionalInt.of(sp.get().number()),
        100, cx);
  }
}
