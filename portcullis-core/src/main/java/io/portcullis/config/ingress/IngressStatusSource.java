package io.portcullis.config.ingress;

import static java.util.Objects.requireNonNull;

import java.util.List;
import java.util.Optional;

/**
 * Where a served Ingress's {@code status.loadBalancer.ingress} comes from, as ingress controllers publish it:
 * {@code --publish-address} (ingress-nginx's {@code --publish-status-address}: IPs or host names, listed as they are),
 * else {@code --publish-service NAMESPACE/NAME} (ingress-nginx's flag, Istio's meshConfig {@code ingressService}:
 * that Service's own {@code status.loadBalancer}); with neither, {@code loadBalancer} is empty.
 *
 * @param addresses IPs ({@code ip}) or DNS names ({@code hostname}); empty for none
 * @param service {@code namespace/name} of the Service whose load balancer the gateway is behind
 */
public record IngressStatusSource(List<String> addresses, Optional<String> service) {
  /** Neither: an empty {@code loadBalancer}. */
  public static final IngressStatusSource NONE = new IngressStatusSource(List.of(), Optional.empty());

  /** Copies the list. */
  public IngressStatusSource {
    addresses = List.copyOf(addresses);
    requireNonNull(service, "service");
  }
}
