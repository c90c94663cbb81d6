package io.portcullis.config.core;

import io.fabric8.kubernetes.api.model.EndpointAddress;
import io.fabric8.kubernetes.api.model.EndpointPort;
import io.fabric8.kubernetes.api.model.EndpointSubset;
import io.fabric8.kubernetes.api.model.Endpoints;
import io.fabric8.kubernetes.api.model.ObjectReference;
import io.netty.util.NetUtil;
import io.portcullis.config.FieldCheck;
import io.portcullis.config.Problem.Severity;
import io.portcullis.config.Resource;
import io.portcullis.config.TranslationContext;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Reads a legacy {@code v1 Endpoints} (named as its Service) into {@link DiscoveredEndpoint}s:
 * {@code subsets[].addresses[]} are ready, {@code subsets[].notReadyAddresses[]} are not, each with the subset's
 * {@code ports[]} by name. An EndpointSlice for the same Service wins over it ({@link ServiceDiscovery}), as
 * kube-proxy reads only slices.
 */
final class EndpointsTranslator {
  private static final FieldCheck ENDPOINTS_FIELDS = new FieldCheck("apiVersion", "kind", "metadata.**",
      "subsets[].addresses[].ip", "subsets[].addresses[].hostname", "subsets[].addresses[].nodeName",
      "subsets[].addresses[].targetRef.**", "subsets[].notReadyAddresses[].ip",
      "subsets[].notReadyAddresses[].hostname", "subsets[].notReadyAddresses[].nodeName",
      "subsets[].notReadyAddresses[].targetRef.**", "subsets[].ports[].name", "subsets[].ports[].port",
      "subsets[].ports[].protocol", "subsets[].ports[].appProtocol");

  private EndpointsTranslator() {}

  /** Returns the endpoints of {@code r} for Service {@code namespace/name} (its own), or null after an ERROR. */
  static EndpointSliceTranslator.Slice endpoints(Resource r, TranslationContext cx) {
    cx.unsupported(r, ENDPOINTS_FIELDS);
    Endpoints e = cx.convert(r, Endpoints.class);
    if (e == null) {
      return null;
    }
    List<DiscoveredEndpoint> out = new ArrayList<>();
    List<EndpointSubset> subsets = e.getSubsets() == null ? List.of() : e.getSubsets();
    for (int s = 0; s < subsets.size(); s++) {
      EndpointSubset subset = subsets.get(s);
      Map<String, Integer> ports = new LinkedHashMap<>();
      List<EndpointPort> portList = subset.getPorts() == null ? List.of() : subset.getPorts();
      for (int i = 0; i < portList.size(); i++) {
        Integer n = portList.get(i).getPort();
        if (n == null || n < 1 || n > 65535) {
          cx.problem(Severity.ERROR, r, "subsets[" + s + "].ports[" + i + "].port", (n == null ? "missing" : n)
              + " (expected: 1..65535)");
          return null;
        }
        ports.put(portList.get(i).getName() == null ? "" : portList.get(i).getName(), n);
      }
      add(r, "subsets[" + s + "].addresses", subset.getAddresses(), true, ports, out, cx);
      add(r, "subsets[" + s + "].notReadyAddresses", subset.getNotReadyAddresses(), false, ports, out, cx);
    }
    return new EndpointSliceTranslator.Slice(r.key(), out);
  }

  private static void add(Resource r, String at, List<EndpointAddress> addresses, boolean ready,
      Map<String, Integer> ports, List<DiscoveredEndpoint> out, TranslationContext cx) {
    if (addresses == null) {
      return;
    }
    for (int i = 0; i < addresses.size(); i++) {
      EndpointAddress a = addresses.get(i);
      String ip = a.getIp() == null ? "" : a.getIp().trim();
      if (!NetUtil.isValidIpV4Address(ip) && !NetUtil.isValidIpV6Address(ip)) {
        cx.problem(Severity.ERROR, r, at + "[" + i + "].ip", (ip.isEmpty() ? "missing" : ip) + " (expected: an IPv4 "
            + "or IPv6 address); address left out");
        continue;
      }
      ObjectReference ref = a.getTargetRef();
      String podRef = ref != null && "Pod".equals(ref.getKind()) && ref.getName() != null
          ? (ref.getNamespace() == null ? r.namespace() : ref.getNamespace()) + "/" + ref.getName() : "";
      out.add(new DiscoveredEndpoint(ip, ready, ports, "", a.getNodeName() == null ? "" : a.getNodeName(), podRef));
    }
  }
}
