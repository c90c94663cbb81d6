package io.portcullis.config.core;

import com.fasterxml.jackson.databind.JsonNode;
import io.netty.util.NetUtil;
import io.portcullis.config.FieldCheck;
import io.portcullis.config.Problem.Severity;
import io.portcullis.config.Resource;
import io.portcullis.config.SpecValues;
import io.portcullis.config.TranslationContext;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Reads a {@code discovery.k8s.io/v1 EndpointSlice} into the {@link DiscoveredEndpoint}s of the Service its label
 * {@code kubernetes.io/service-name} names: {@code addressType} ({@code IPv4}, {@code IPv6}, {@code FQDN}),
 * {@code endpoints[]} ({@code addresses} — the first is used, as kube-proxy does —, {@code conditions.ready}
 * (unset counts as ready, as the API says), {@code zone}, {@code nodeName}, {@code targetRef}) and {@code ports[]}
 * ({@code name}, {@code port}). Read from the JSON tree: fabric8's discovery model is not among the dependencies.
 */
final class EndpointSliceTranslator {
  /** The label that links a slice to its Service (Kubernetes {@code discovery.k8s.io/v1}). */
  static final String SERVICE_NAME_LABEL = "kubernetes.io/service-name";

  private static final FieldCheck SLICE_FIELDS = new FieldCheck("apiVersion", "kind", "metadata.**", "addressType",
      "endpoints[].addresses[]", "endpoints[].conditions.ready", "endpoints[].conditions.serving",
      "endpoints[].conditions.terminating", "endpoints[].zone", "endpoints[].nodeName", "endpoints[].hostname",
      "endpoints[].targetRef.**", "endpoints[].hints.**", "endpoints[].deprecatedTopology.**", "ports[].name",
      "ports[].port", "ports[].protocol", "ports[].appProtocol");

  /**
   * The endpoints one slice gives a Service.
   *
   * @param service {@code namespace/name} of the Service
   * @param endpoints its endpoints, ready or not
   */
  record Slice(String service, List<DiscoveredEndpoint> endpoints) {}

  private EndpointSliceTranslator() {}

  /** Returns the endpoints of slice {@code r}, or null after reporting why it is left out. */
  static Slice endpointSlice(Resource r, TranslationContext cx) {
    if (!r.apiVersion().equals("discovery.k8s.io/v1")) {
      cx.problem(Severity.ERROR, r, "apiVersion", r.apiVersion() + " (expected: discovery.k8s.io/v1)");
      return null;
    }
    cx.unsupported(r, SLICE_FIELDS);
    JsonNode body = r.body();
    String service = body.path("metadata").path("labels").path(SERVICE_NAME_LABEL).asText("").trim();
    if (service.isEmpty()) {
      cx.problem(Severity.ERROR, r, "metadata.labels." + SERVICE_NAME_LABEL, "missing (expected: the name of the "
          + "Service in namespace " + r.namespace() + " these endpoints belong to)");
      return null;
    }
    String addressType = body.path("addressType").asText("");
    if (!addressType.equals("IPv4") && !addressType.equals("IPv6") && !addressType.equals("FQDN")) {
      cx.problem(Severity.ERROR, r, "addressType", (addressType.isEmpty() ? "missing" : addressType)
          + " (expected: IPv4, IPv6 or FQDN)");
      return null;
    }
    Map<String, Integer> ports = new LinkedHashMap<>();
    JsonNode portList = body.path("ports");
    for (int i = 0; i < portList.size(); i++) {
      JsonNode p = portList.get(i);
      if (p.path("port").isMissingNode() || p.path("port").isNull()) {
        continue; // an unset port means "all ports": the Service's targetPort applies
      }
      int n = p.path("port").asInt(-1);
      if (!p.path("port").canConvertToInt() || n < 1 || n > 65535) {
        cx.problem(Severity.ERROR, r, "ports[" + i + "].port", p.path("port").asText() + " (expected: 1..65535)");
        return null;
      }
      String name = p.path("name").asText("");
      if (ports.putIfAbsent(name, n) != null) {
        cx.problem(Severity.ERROR, r, "ports[" + i + "].name", (name.isEmpty() ? "\"\"" : name) + ": more than one "
            + "port has this name (expected: one port per Service port name)");
        return null;
      }
    }
    List<DiscoveredEndpoint> out = new ArrayList<>();
    JsonNode endpoints = body.path("endpoints");
    for (int i = 0; i < endpoints.size(); i++) {
      JsonNode e = endpoints.get(i);
      String at = "endpoints[" + i + "]";
      JsonNode addresses = e.path("addresses");
      if (!addresses.isArray() || addresses.isEmpty()) {
        cx.problem(Severity.ERROR, r, at + ".addresses", "empty (expected: at least one " + addressType
            + " address); endpoint left out");
        continue;
      }
      String address = addresses.get(0).asText("").trim();
      if (!valid(addressType, address)) {
        cx.problem(Severity.ERROR, r, at + ".addresses[0]", (address.isEmpty() ? "missing" : address)
            + " (expected: an " + addressType + (addressType.equals("FQDN") ? " name" : " address")
            + "); endpoint left out");
        continue;
      }
      JsonNode ready = e.path("conditions").path("ready");
      if (!ready.isMissingNode() && !ready.isNull() && !ready.isBoolean()) {
        cx.problem(Severity.ERROR, r, at + ".conditions.ready", ready.asText() + " (expected: true or false); "
            + "endpoint left out");
        continue;
      }
      JsonNode ref = e.path("targetRef");
      String podRef = ref.path("kind").asText("").equals("Pod") && !ref.path("name").asText("").isEmpty()
          ? ref.path("namespace").asText(r.namespace()) + "/" + ref.path("name").asText() : "";
      out.add(new DiscoveredEndpoint(address, !ready.isBoolean() || ready.booleanValue(), ports,
          e.path("zone").asText(""), e.path("nodeName").asText(""), podRef));
    }
    return new Slice(r.namespace() + "/" + service, out);
  }

  private static boolean valid(String addressType, String address) {
    return switch (addressType) {
      case "IPv4" -> NetUtil.isValidIpV4Address(address);
      case "IPv6" -> NetUtil.isValidIpV6Address(address) && !address.startsWith("[");
      default -> !address.isEmpty() && SpecValues.validHost(address) && !address.contains("*");
    };
  }
}
