package io.portcullis.config.istio;

import io.fabric8.istio.api.api.networking.v1alpha3.Destination;
import io.portcullis.config.Problem.Severity;
import io.portcullis.config.Resource;
import io.portcullis.config.ServiceRegistry;
import io.portcullis.config.TranslationContext;
import io.portcullis.routing.Cluster;
import io.portcullis.routing.Endpoint;
import io.portcullis.routing.RouteAction;
import io.portcullis.routing.TrafficPolicy;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.function.IntFunction;

/**
 * Resolves a VirtualService {@code route[].destination} ({@code host}, {@code port.number}) against the
 * {@link ServiceRegistry} into a {@link Cluster} named as Envoy names it ({@code outbound|port||host}), with the
 * service's instances as endpoints and the port's protocol, and the traffic policy of the host's DestinationRule
 * (Istio {@code destination.subset} selects the instances by the subset's labels and names the cluster
 * {@code outbound|port|subset|host}). A host no service has, or a subset no DestinationRule defines, becomes an
 * unknown cluster (503 NC) and a WARNING; a known service without a ready instance a cluster without endpoints
 * (503 UH).
 */
final class DestinationTranslator {
  private DestinationTranslator() {}

  /**
   * The {@code route[]} of an HTTP or TLS route ({@code count} entries, each read by index), or null after an ERROR.
   */
  static List<RouteAction.WeightedCluster> destinations(Resource r, String at, int count,
      IntFunction<Destination> destination, IntFunction<Integer> weight, DestinationRules rules,
      TranslationContext cx) {
    List<RouteAction.WeightedCluster> dests = new ArrayList<>();
    for (int d = 0; d < count; d++) {
      RouteAction.WeightedCluster wc = destination(r, at + ".route[" + d + "]", destination.apply(d), weight.apply(d),
          count, rules, cx);
      if (wc == null) {
        return null;
      }
      dests.add(wc);
    }
    return dests;
  }

  private static RouteAction.WeightedCluster destination(Resource r, String at, Destination d, Integer routeWeight,
      int count, DestinationRules rules, TranslationContext cx) {
    int weight = routeWeight == null ? (count == 1 ? 100 : 0) : routeWeight;
    if (d != null && d.getHost() != null && !d.getHost().isBlank() && (weight < 0 || weight > 100)) {
      cx.problem(Severity.ERROR, r, at + ".weight", weight + " (expected: 0..100)");
      return null;
    }
    return destination(r, at + ".destination", d, weight, rules, cx);
  }

  /**
   * Resolves one Istio {@code Destination} found at {@code at} ({@code spec.http[0].route[1].destination},
   * {@code spec.http[0].mirror}, {@code spec.http[0].mirrors[0].destination}), with problems naming its
   * {@code host}, {@code port.number} and {@code subset} fields; returns null after reporting an ERROR.
   */
  static RouteAction.WeightedCluster destination(Resource r, String at, Destination d, int weight,
      DestinationRules rules, TranslationContext cx) {
    if (d == null || d.getHost() == null || d.getHost().isBlank()) {
      cx.problem(Severity.ERROR, r, at + ".host", "missing (expected: a service host, e.g. httpbin)");
      return null;
    }
    String host = d.getHost().trim().toLowerCase(Locale.ROOT);
    Long portNumber = d.getPort() == null ? null : d.getPort().getNumber();
    if (portNumber != null && (portNumber < 1 || portNumber > 65535)) {
      cx.problem(Severity.ERROR, r, at + ".port.number", portNumber + " (expected: 1..65535)");
      return null;
    }
    String subset = d.getSubset() == null ? "" : d.getSubset().trim();
    return resolve(r, at + ".host", at + ".port.number", at + ".subset", host,
        portNumber == null ? OptionalInt.empty() : OptionalInt.of(portNumber.intValue()), subset, weight, rules, cx);
  }

  /**
   * Resolves a destination given by any family: {@code host} (lower case, short or fully qualified, in the
   * namespace of {@code r}) and {@code port} (empty: the service's only port) into a weighted cluster, with
   * problems naming the caller's field paths ({@code spec.rules[0].http.paths[1].backend.service.name}). Returns
   * null after reporting an ERROR; an unknown host or subset is a WARNING and an unknown cluster (503 NC).
   *
   * @param subset a DestinationRule subset name, or {@code ""} for none
   * @param weight the relative weight, 0..100
   */
  static RouteAction.WeightedCluster resolve(Resource r, String hostField, String portField, String subsetField,
      String host, OptionalInt port0, String subset, int weight, DestinationRules rules, TranslationContext cx) {
    Long portNumber = port0.isPresent() ? Long.valueOf(port0.getAsInt()) : null;
    ServiceRegistry.Service svc = cx.services().lookup(host, r.namespace()).orElse(null);
    if (svc == null) {
      String fqdn = ServiceRegistry.fqdn(host, r.namespace());
      int p = portNumber == null ? 80 : portNumber.intValue();
      cx.problem(Severity.WARNING, r, hostField, host + ": no ServiceEntry or Service has this host "
          + "(expected: a Service " + host + " in namespace " + r.namespace() + ", or a ServiceEntry with hosts ["
          + fqdn + "] or [" + host + "]); requests answer 503 NC");
      return new RouteAction.WeightedCluster(Cluster.unknown(fqdn, p, ""), weight);
    }
    ServiceRegistry.Port sp;
    if (portNumber == null) {
      if (svc.ports().size() != 1) {
        cx.problem(Severity.ERROR, r, portField, "missing (expected: one of the ports of "
            + svc.kind() + " host " + svc.host() + ")");
        return null;
      }
      sp = svc.ports().get(0);
    } else {
      sp = svc.ports().stream().filter(p -> p.number() == portNumber).findFirst().orElse(null);
      if (sp == null && !svc.ports().isEmpty()) {
        cx.problem(Severity.ERROR, r, portField, portNumber + " (expected: one of "
            + svc.ports().stream().map(p -> String.valueOf(p.number())).toList() + ", the ports of " + svc.kind()
            + " host " + svc.host() + ")");
        return null;
      }
    }
    int port = sp != null ? sp.number() : portNumber.intValue();
    int targetPort = sp != null ? sp.targetPort() : port;
    String clusterHost = svc.fqdn();
    Optional<DestinationRules.Rule> rule = rules.lookup(clusterHost.toLowerCase(Locale.ROOT));
    DestinationRules.Subset ss = null;
    if (!subset.isEmpty()) {
      ss = rule.map(x -> x.subsets().get(subset)).orElse(null);
      if (ss == null) {
        cx.problem(Severity.WARNING, r, subsetField, subset + ": " + (rule.isEmpty()
            ? "no DestinationRule applies to host " + clusterHost : "DestinationRule " + rule.get().resource()
            .namespace() + "/" + rule.get().resource().name() + " has no such subset") + " (expected: a subset of "
            + "the host's DestinationRule); requests answer 503 NC");
        return new RouteAction.WeightedCluster(Cluster.unknown(clusterHost, port, subset), weight);
      }
    }
    List<Endpoint> endpoints = new ArrayList<>();
    if (svc.instances().isEmpty() && ss == null && svc.resolution() == ServiceRegistry.Resolution.DNS) {
      endpoints.add(new Endpoint(svc.host(), targetPort)); // DNS resolution of the host itself
    }
    for (ServiceRegistry.Instance in : svc.instances()) {
      if (ss != null && !ss.selects(in.labels())) {
        continue;
      }
      OptionalInt instancePort = sp != null ? svc.instancePort(in, sp) : OptionalInt.of(targetPort);
      if (instancePort.isPresent()) { // empty: a named targetPort this instance does not map
        endpoints.add(new Endpoint(in.address(), instancePort.getAsInt()));
      }
    }
    TrafficPolicy policy = rule.map(x -> x.policy(port, subset)).orElse(TrafficPolicy.DEFAULT);
    Cluster.Protocol protocol = Cluster.Protocol.ofIstio(sp == null || sp.protocol().isEmpty() ? null
        : sp.protocol());
    if (policy.connectionPool().h2UpgradePolicy() == TrafficPolicy.ConnectionPool.H2UpgradePolicy.UPGRADE) {
      protocol = Cluster.Protocol.HTTP2; // Istio h2UpgradePolicy: UPGRADE, for an HTTP/1.1 port
    }
    return new RouteAction.WeightedCluster(new Cluster(Cluster.outboundName(clusterHost, port, subset), clusterHost,
        port, endpoints, protocol, subset, policy), weight);
  }
}
