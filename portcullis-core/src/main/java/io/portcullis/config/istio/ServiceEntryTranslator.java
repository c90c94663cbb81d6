package io.portcullis.config.istio;

import static io.portcullis.config.SpecValues.rawText;

import io.fabric8.istio.api.api.networking.v1alpha3.ServicePort;
import io.fabric8.istio.api.api.networking.v1alpha3.WorkloadEntry;
import io.fabric8.istio.api.networking.v1.ServiceEntry;
import io.portcullis.config.FieldCheck;
import io.portcullis.config.Problem.Severity;
import io.portcullis.config.Resource;
import io.portcullis.config.ServiceRegistry;
import io.portcullis.config.TranslationContext;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Reads Istio {@code ServiceEntry}s ({@code hosts}, {@code ports}, {@code resolution} STATIC or DNS,
 * {@code endpoints}) into the {@link ServiceRegistry}, one service per host; {@link DestinationTranslator} resolves
 * route destinations against it.
 */
final class ServiceEntryTranslator {
  private static final FieldCheck SERVICE_ENTRY_FIELDS = new FieldCheck("apiVersion", "kind", "metadata.**",
      "status.**", "spec.hosts[]", "spec.ports[].number", "spec.ports[].name", "spec.ports[].protocol",
      "spec.ports[].targetPort", "spec.resolution", "spec.location", "spec.exportTo[]", "spec.endpoints[].address",
      "spec.endpoints[].ports.*", "spec.endpoints[].labels.**");

  private ServiceEntryTranslator() {}

  /** Adds the hosts of a valid ServiceEntry to {@code cx.services()}; the first service with a host keeps it. */
  static void serviceEntry(Resource r, TranslationContext cx) {
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
    List<ServiceRegistry.Port> registryPorts = new ArrayList<>();
    for (ServicePort p : ports) {
      int number = p.getNumber().intValue();
      int target = p.getTargetPort() != null && p.getTargetPort() > 0 ? p.getTargetPort().intValue() : number;
      registryPorts.add(new ServiceRegistry.Port(number, p.getName() == null ? "" : p.getName(),
          p.getProtocol() == null ? "" : p.getProtocol(), target));
    }
    List<ServiceRegistry.Instance> instances = new ArrayList<>();
    for (WorkloadEntry we : endpoints) {
      Map<String, Integer> byName = new LinkedHashMap<>();
      if (we.getPorts() != null) {
        we.getPorts().forEach((name, n) -> {
          if (name != null && n != null) {
            byName.put(name, n.intValue());
          }
        });
      }
      instances.add(new ServiceRegistry.Instance(we.getAddress().trim(), byName,
          we.getLabels() == null ? Map.of() : we.getLabels()));
    }
    for (String host : spec.getHosts()) {
      cx.services().add(new ServiceRegistry.Service(host, r.namespace(), "ServiceEntry", registryPorts,
          ServiceRegistry.Resolution.valueOf(resolution), instances));
    }
  }
}
