package io.portcullis.config.core;

import io.fabric8.kubernetes.api.model.IntOrString;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.ServicePort;
import io.fabric8.kubernetes.api.model.ServiceSpec;
import io.portcullis.config.FieldCheck;
import io.portcullis.config.Problem.Severity;
import io.portcullis.config.Resource;
import io.portcullis.config.ServiceRegistry;
import io.portcullis.config.SpecValues;
import io.portcullis.config.TranslationContext;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * Reads a Kubernetes {@code v1 Service}: its {@code ports[]} ({@code port}, {@code name}, {@code targetPort} as a
 * number or a container port name, {@code appProtocol} and Istio's port-name prefixes giving the protocol, see
 * {@link PortProtocol}) and its {@code type} ({@code ExternalName}: the {@code externalName} looked up in DNS, as
 * Istio does; the other types, with or without a {@code clusterIP}, go to their endpoints directly, as Envoy does).
 * {@link ServiceDiscovery} adds the endpoints and registers it as {@code <name>.<namespace>.svc.cluster.local}.
 *
 * <p>Fields that shape how the cluster exposes the Service ({@code selector}, {@code clusterIP}, {@code nodePort},
 * load-balancer and traffic-policy fields) are accepted and do not change what the gateway does: it reads the
 * endpoints that result from them.
 */
final class ServiceTranslator {
  private static final FieldCheck SERVICE_FIELDS = new FieldCheck("apiVersion", "kind", "metadata.**", "status.**",
      "spec.type", "spec.externalName", "spec.clusterIP", "spec.clusterIPs[]", "spec.selector.*",
      "spec.ports[].name", "spec.ports[].port", "spec.ports[].targetPort", "spec.ports[].protocol",
      "spec.ports[].appProtocol", "spec.ports[].nodePort", "spec.ipFamilies[]", "spec.ipFamilyPolicy",
      "spec.sessionAffinity", "spec.sessionAffinityConfig.**", "spec.externalIPs[]", "spec.externalTrafficPolicy",
      "spec.internalTrafficPolicy", "spec.healthCheckNodePort", "spec.loadBalancerIP", "spec.loadBalancerClass",
      "spec.loadBalancerSourceRanges[]", "spec.allocateLoadBalancerNodePorts", "spec.publishNotReadyAddresses",
      "spec.trafficDistribution");
  private static final Set<String> TYPES = Set.of("ClusterIP", "NodePort", "LoadBalancer", "ExternalName");

  /**
   * A valid Service, waiting for its endpoints.
   *
   * @param resource the Service
   * @param ports its TCP ports (UDP and SCTP ones are left out with a WARNING)
   * @param externalName the DNS name of a {@code type: ExternalName} Service, else {@code ""}
   */
  record Declared(Resource resource, List<ServiceRegistry.Port> ports, String externalName) {
    /** Returns {@code <name>.<namespace>.svc.cluster.local}. */
    String host() {
      return resource.name() + "." + resource.namespace() + "." + ServiceRegistry.CLUSTER_DOMAIN;
    }
  }

  private ServiceTranslator() {}

  /** Returns the valid Service {@code r}, or null after reporting why it is left out. */
  static Declared service(Resource r, TranslationContext cx) {
    cx.unsupported(r, SERVICE_FIELDS);
    Service s = cx.convert(r, Service.class);
    if (s == null) {
      return null;
    }
    ServiceSpec spec = s.getSpec();
    if (spec == null) {
      cx.problem(Severity.ERROR, r, "spec", "missing (expected: ports, and a selector or endpoints)");
      return null;
    }
    String type = spec.getType() == null || spec.getType().isBlank() ? "ClusterIP" : spec.getType();
    if (!TYPES.contains(type)) {
      cx.problem(Severity.ERROR, r, "spec.type", type + " (expected: ClusterIP, NodePort, LoadBalancer or "
          + "ExternalName)");
      return null;
    }
    String externalName = "";
    if (type.equals("ExternalName")) {
      externalName = spec.getExternalName() == null ? "" : spec.getExternalName().trim();
      if (externalName.endsWith(".")) {
        externalName = externalName.substring(0, externalName.length() - 1); // an absolute DNS name
      }
      if (externalName.isEmpty() || externalName.contains("*") || !SpecValues.validHost(externalName)) {
        cx.problem(Severity.ERROR, r, "spec.externalName", (externalName.isEmpty() ? "missing" : externalName)
            + " (expected: a DNS name for type ExternalName, e.g. httpbin.org)");
        return null;
      }
    }
    if ("ClientIP".equals(spec.getSessionAffinity())) {
      cx.problem(Severity.WARNING, r, "spec.sessionAffinity", "ClientIP is kube-proxy's; the gateway balances by "
          + "its own policy (expected: a DestinationRule with loadBalancer.consistentHash.useSourceIp for sticky "
          + "clients)");
    }
    List<ServicePort> ports = spec.getPorts() == null ? List.of() : spec.getPorts();
    List<ServiceRegistry.Port> out = new ArrayList<>();
    Set<String> names = new HashSet<>();
    for (int i = 0; i < ports.size(); i++) {
      ServicePort p = ports.get(i);
      String at = "spec.ports[" + i + "]";
      Integer number = p.getPort();
      if (number == null || number < 1 || number > 65535) {
        cx.problem(Severity.ERROR, r, at + ".port", (number == null ? "missing" : number) + " (expected: 1..65535)");
        return null;
      }
      String name = p.getName() == null ? "" : p.getName();
      if (!names.add(name)) {
        cx.problem(Severity.ERROR, r, at + ".name", (name.isEmpty() ? "missing" : name) + ": more than one port has "
            + "this name (expected: a unique name per port)");
        return null;
      }
      int target = number;
      String targetName = "";
      IntOrString tp = p.getTargetPort();
      if (tp != null && tp.getIntVal() != null) {
        target = tp.getIntVal();
        if (target < 1 || target > 65535) {
          cx.problem(Severity.ERROR, r, at + ".targetPort", target + " (expected: 1..65535 or a container port "
              + "name)");
          return null;
        }
      } else if (tp != null && tp.getStrVal() != null && !tp.getStrVal().isBlank()) {
        targetName = tp.getStrVal().trim();
      }
      String protocol = PortProtocol.of(p.getProtocol(), p.getAppProtocol(), name);
      if (p.getProtocol() != null && !p.getProtocol().equalsIgnoreCase("TCP")) {
        cx.problem(Severity.WARNING, r, at + ".protocol", p.getProtocol() + ": the gateway proxies TCP only; this "
            + "port is left out (expected: TCP)");
        continue;
      }
      if (type.equals("ExternalName")) {
        target = number; // Istio: an ExternalName Service's endpoint is the external name at the service port
        targetName = "";
      }
      out.add(new ServiceRegistry.Port(number, name, protocol, target, targetName));
    }
    if (out.isEmpty()) {
      cx.problem(Severity.WARNING, r, "spec.ports", "no TCP port: no route can reach this Service (expected: at "
          + "least one TCP port)");
      return null;
    }
    return new Declared(r, out, externalName);
  }
}
