package io.portcullis.config.core;

import static java.util.Objects.requireNonNull;

import java.util.Map;

/**
 * One endpoint of a Kubernetes Service as an EndpointSlice ({@code endpoints[]}) or a legacy Endpoints
 * ({@code subsets[].addresses[]}, {@code notReadyAddresses[]}) lists it, before it is matched to its Pod.
 *
 * @param address the endpoint's (first) address: an IP literal, or a DNS name for {@code addressType: FQDN}
 * @param ready whether it may take traffic ({@code conditions.ready}, unset counting as ready; an Endpoints
 *     {@code notReadyAddresses} entry is not ready)
 * @param ports port numbers by the Service port's name ({@code ports[].name}, {@code ""} for an unnamed port)
 * @param zone {@code zone}, or {@code ""}
 * @param nodeName {@code nodeName}, or {@code ""}
 * @param podRef {@code namespace/name} of the Pod its {@code targetRef} names ({@code kind: Pod}), or {@code ""}
 */
record DiscoveredEndpoint(String address, boolean ready, Map<String, Integer> ports, String zone, String nodeName,
    String podRef) {
  DiscoveredEndpoint {
    requireNonNull(address, "address");
    ports = Map.copyOf(ports);
    requireNonNull(zone, "zone");
    requireNonNull(nodeName, "nodeName");
    requireNonNull(podRef, "podRef");
  }
}
