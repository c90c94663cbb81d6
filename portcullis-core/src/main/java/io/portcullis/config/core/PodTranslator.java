package io.portcullis.config.core;

import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodIP;
import io.portcullis.config.Resource;
import io.portcullis.config.TranslationContext;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Set;

/**
 * Reads a {@code v1 Pod} for what the gateway needs of it: {@code metadata.labels} (the labels DestinationRule
 * subsets select an endpoint by), {@code status.podIPs[].ip} / {@code status.podIP} and {@code spec.nodeName}.
 * The rest of a Pod (containers, volumes, ...) is the kubelet's and is not reported.
 */
final class PodTranslator {
  /**
   * What an endpoint takes from its Pod.
   *
   * @param key {@code namespace/name}
   * @param labels {@code metadata.labels}
   * @param ips {@code status.podIPs[].ip} and {@code status.podIP}
   * @param nodeName {@code spec.nodeName}, or {@code ""}
   */
  record PodInfo(String key, Map<String, String> labels, Set<String> ips, String nodeName) {}

  private PodTranslator() {}

  /** Returns what {@code r} tells of its Pod, or null after reporting that it does not convert. */
  static PodInfo pod(Resource r, TranslationContext cx) {
    Pod p = cx.convert(r, Pod.class);
    if (p == null) {
      return null;
    }
    Map<String, String> labels = new LinkedHashMap<>();
    if (p.getMetadata() != null && p.getMetadata().getLabels() != null) {
      p.getMetadata().getLabels().forEach((k, v) -> {
        if (k != null) {
          labels.put(k, v == null ? "" : v);
        }
      });
    }
    Set<String> ips = new LinkedHashSet<>();
    if (p.getStatus() != null) {
      if (p.getStatus().getPodIPs() != null) {
        for (PodIP ip : p.getStatus().getPodIPs()) {
          if (ip != null && ip.getIp() != null && !ip.getIp().isBlank()) {
            ips.add(ip.getIp().trim());
          }
        }
      }
      if (p.getStatus().getPodIP() != null && !p.getStatus().getPodIP().isBlank()) {
        ips.add(p.getStatus().getPodIP().trim());
      }
    }
    String node = p.getSpec() == null || p.getSpec().getNodeName() == null ? "" : p.getSpec().getNodeName();
    return new PodInfo(r.key(), Map.copyOf(labels), Set.copyOf(ips), node);
  }
}
