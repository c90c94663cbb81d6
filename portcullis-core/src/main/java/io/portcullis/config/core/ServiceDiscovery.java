package io.portcullis.config.core;

import io.portcullis.config.Problem.Severity;
import io.portcullis.config.Resource;
import io.portcullis.config.ServiceRegistry;
import io.portcullis.config.TranslationContext;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Joins Services, their endpoints and Pods into the {@link ServiceRegistry}, as Kubernetes and Istio do: a Service's
 * endpoints come from the EndpointSlices labelled {@code kubernetes.io/service-name: <name>} in its namespace, or,
 * when it has none, from the legacy Endpoints of its name (kube-proxy reads slices only); only ready endpoints become
 * instances; an endpoint takes the labels (and, when it names none, the node) of the Pod its {@code targetRef}
 * names, or else of the Pod that has its address. An {@code ExternalName} Service has one instance, its external
 * name, looked up in DNS. Collects in any order, then {@link #register}s.
 */
final class ServiceDiscovery {
  private final List<ServiceTranslator.Declared> services = new ArrayList<>();
  private final Map<String, List<EndpointSliceTranslator.Slice>> slices = new LinkedHashMap<>();
  private final Map<String, List<EndpointSliceTranslator.Slice>> legacy = new LinkedHashMap<>();
  private final Map<String, Resource> endpointSources = new LinkedHashMap<>();
  private final Map<String, PodTranslator.PodInfo> podsByKey = new HashMap<>();
  private final Map<String, PodTranslator.PodInfo> podsByIp = new HashMap<>();

  void service(ServiceTranslator.Declared s) {
    services.add(s);
  }

  void endpointSlice(Resource r, EndpointSliceTranslator.Slice s) {
    slices.computeIfAbsent(s.service(), k -> new ArrayList<>()).add(s);
    endpointSources.putIfAbsent(s.service(), r);
  }

  void endpoints(Resource r, EndpointSliceTranslator.Slice s) {
    legacy.computeIfAbsent(s.service(), k -> new ArrayList<>()).add(s);
    endpointSources.putIfAbsent(s.service(), r);
  }

  void pod(PodTranslator.PodInfo p) {
    podsByKey.put(p.key(), p);
    for (String ip : p.ips()) {
      podsByIp.putIfAbsent(ip, p);
    }
  }

  /**
   * Adds every Service with its ready instances to {@code cx.services()}; warns of a Service without a ready endpoint
   * (its requests answer 503 UH) and of endpoints whose Service is not in the manifests.
   */
  void register(TranslationContext cx) {
    Set<String> known = new LinkedHashSet<>();
    for (ServiceTranslator.Declared s : services) {
      Resource r = s.resource();
      known.add(r.key());
      if (!s.externalName().isEmpty()) {
        cx.services().add(new ServiceRegistry.Service(s.host(), r.namespace(), "Service", s.ports(),
            ServiceRegistry.Resolution.DNS, List.of(new ServiceRegistry.Instance(s.externalName(), Map.of(),
            Map.of()))));
        continue;
      }
      List<EndpointSliceTranslator.Slice> found = slices.getOrDefault(r.key(), legacy.getOrDefault(r.key(),
          List.of()));
      Map<String, ServiceRegistry.Instance> instances = new LinkedHashMap<>();
      int notReady = 0;
      for (EndpointSliceTranslator.Slice slice : found) {
        for (DiscoveredEndpoint e : slice.endpoints()) {
          if (!e.ready()) {
            notReady++;
            continue;
          }
          PodTranslator.PodInfo pod = e.podRef().isEmpty() ? podsByIp.get(e.address()) : podsByKey.get(e.podRef());
          String node = !e.nodeName().isEmpty() ? e.nodeName() : pod == null ? "" : pod.nodeName();
          ServiceRegistry.Instance in = new ServiceRegistry.Instance(e.address(), e.ports(),
              pod == null ? Map.of() : pod.labels(), e.zone(), node);
          instances.putIfAbsent(e.address() + " " + e.ports(), in); // the same endpoint in two slices counts once
        }
      }
      if (instances.isEmpty()) {
        cx.problem(Severity.WARNING, r, "", "no ready endpoint" + (notReady > 0 ? " (" + notReady + " not ready)"
            : found.isEmpty() ? " (expected: an EndpointSlice labelled " + EndpointSliceTranslator.SERVICE_NAME_LABEL
            + ": " + r.name() + " in namespace " + r.namespace() + ", or an Endpoints " + r.key() + ")" : "")
            + "; requests answer 503 UH");
      }
      cx.services().add(new ServiceRegistry.Service(s.host(), r.namespace(), "Service", s.ports(),
          ServiceRegistry.Resolution.STATIC, List.copyOf(instances.values())));
    }
    endpointSources.forEach((service, r) -> {
      if (!known.contains(service)) {
        cx.problem(Severity.WARNING, r, r.kind().equals("EndpointSlice") ? "metadata.labels."
            + EndpointSliceTranslator.SERVICE_NAME_LABEL : "metadata.name", "no Service " + service
            + " in the manifests; these endpoints are not used (expected: the Service they belong to)");
      }
    });
  }
}
