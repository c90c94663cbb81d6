package io.portcullis.config;

import static io.portcullis.config.SpecValues.lower;
import static io.portcullis.config.SpecValues.rawText;

import io.fabric8.istio.api.api.networking.v1alpha3.Destination;
import io.fabric8.istio.api.api.networking.v1alpha3.ServicePort;
import io.fabric8.istio.api.api.networking.v1alpha3.WorkloadEntry;
import io.fabric8.istio.api.networking.v1.ServiceEntry;
import io.portcullis.config.Problem.Severity;
import io.portcullis.routing.Cluster;
import io.portcullis.routing.Endpoint;
import io.portcullis.routing.RouteAction;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.function.IntFunction;

/**
 * Where route destinations live: reads Istio {@code ServiceEntry}s ({@code hosts}, {@code ports},
 * {@code resolution} STATIC or DNS, {@code endpoints}) into the {@link ConfigTranslator.Context#services} table, and
 * resolves a VirtualService {@code route[].destination} against it into a {@link Cluster} named as Envoy names it
 * ({@code outbound|port||host}). A short host ({@code httpbin}) also answers as
 * {@code httpbin.<namespace>.svc.cluster.local}, as in Kubernetes; a host no ServiceEntry has becomes a cluster
 * without endpoints (503 NC) and a WARNING.
 */
final class ServiceEntryTranslator {
  private static final String CLUSTER_DOMAIN = "svc.cluster.local";

  private static final FieldCheck SERVICE_ENTRY_FIELDS = new FieldCheck("apiVersion", "kind", "metadata.**",
      "status.**", "spec.hosts[]", "spec.ports[].number", "spec.ports[].name", "spec.ports[].protocol",
      "spec.ports[].targetPort", "spec.resolution", "spec.location", "spec.exportTo[]", "spec.endpoints[].address",
      "spec.endpoints[].ports.*", "spec.endpoints[].labels.**");

  private ServiceEntryTranslator() {}

  /** One ServiceEntry host: its namespace, ports, resolution (STATIC or DNS) and endpoints, all validated. */
  record ServiceInfo(String host, String namespace, List<ServicePort> ports, String resolution,
      List<WorkloadEntry> endpoints) {}

  /** Adds the hosts of a valid ServiceEntry to {@code cx.services}; the first ServiceEntry with a host keeps it. */
  static void serviceEntry(Resource r, ConfigTranslator.Context cx) {
    cx.unsupported(r, SERVICE_ENTRY_FIELDS);
    ServiceEntry se = cx.convert(r, ServiceEntry.class);
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

  /**
   * The {@code route[]} of an HTTP or TLS route ({@code count} entries, each read by index), or null after an ERROR.
   */
  static List<RouteAction.WeightedCluster> destinations(Resource r, String at, int count,
      IntFunction<Destination> destination, IntFunction<Integer> weight, ConfigTranslator.Context cx) {
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

  private static RouteAction.WeightedCluster destination(Resource r, String at, Destination d, Integer routeWeight,
      int count, ConfigTranslator.Context cx) {
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
        endpoints, Cluster.Protocol.ofIstio(sp == null ? null : sp.getProtocol())), weight);
  }

  private static ServiceInfo lookupService(String host, String namespace, ConfigTranslator.Context cx) {
    if (!host.contains(".")) {
      ServiceInfo s = cx.services.get(host + "." + namespace + "." + CLUSTER_DOMAIN);
      if (s != null) {
        return s;
      }
    }
    return cx.services.get(host);
  }
}
