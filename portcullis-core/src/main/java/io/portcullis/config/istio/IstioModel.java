package io.portcullis.config.istio;

import io.portcullis.config.Resource;
import io.portcullis.config.ServerConfig;
import io.portcullis.config.TranslationContext;
import io.portcullis.routing.RouteAction;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;

/**
 * The validated model that Istio's Gateway and VirtualService become, before {@link ListenerTranslator} assembles
 * it into listeners: Gateway servers, and route bindings by gateway key ({@code namespace/name}). Istio manifests
 * fill it first ({@link IstioTranslator}); other families ({@code config.ingress}, later the Gateway API) add their
 * servers and bindings to it, as Istio converts them into the same model, and resolve their backends and
 * credentials through it so that problems name their own objects and fields. Used by one thread at a time.
 */
public final class IstioModel {
  private final List<ServerConfig> servers = new ArrayList<>();
  private final Map<String, List<BoundRoutes>> bindings = new LinkedHashMap<>();
  private final DestinationRules rules;

  IstioModel(DestinationRules rules) {
    this.rules = rules;
  }

  /** Adds a server; servers are kept in order, and the first to claim a host on a port serves it. */
  public void addServer(ServerConfig server) {
    servers.add(java.util.Objects.requireNonNull(server, "server"));
  }

  /** Binds {@code routes} to the servers of gateway key {@code gateway} ({@code namespace/name}). */
  public void bind(String gateway, BoundRoutes routes) {
    bindings.computeIfAbsent(gateway, k -> new ArrayList<>()).add(java.util.Objects.requireNonNull(routes, "routes"));
  }

  /** Returns the servers added so far, in order (unmodifiable view). */
  public List<ServerConfig> servers() {
    return Collections.unmodifiableList(servers);
  }

  /** Returns the bindings by gateway key (the map itself: {@link ListenerTranslator} reads it). */
  Map<String, List<BoundRoutes>> bindings() {
    return bindings;
  }

  DestinationRules rules() {
    return rules;
  }

  /**
   * Resolves a backend ({@code host} in the namespace of {@code r}, e.g. {@code shop}, and a port number, or empty
   * for the service's only port) into a weighted cluster named as Envoy names it, with the host's DestinationRule
   * applied, as {@link DestinationTranslator} resolves a VirtualService destination; problems name
   * {@code hostField} and {@code portField}. Returns empty after an ERROR (a port the service does not have); an
   * unknown host is a WARNING and a cluster that answers 503 NC.
   */
  public Optional<RouteAction.WeightedCluster> resolve(Resource r, String hostField, String portField, String host,
      OptionalInt port, int weight, TranslationContext cx) {
    return Optional.ofNullable(DestinationTranslator.resolve(r, hostField, portField, hostField, host, port, "",
        weight, rules, cx));
  }

  /**
   * Resolves a Secret name as Istio's SDS does ({@code name} in the gateway namespace, {@code ns/name},
   * {@code kubernetes://…}) into its {@code namespace/name}; empty after an ERROR on {@code field}.
   *
   * @param reservedNamesRefused whether names starting with {@code istio} or {@code prometheus} are refused (true
   *     for Istio Gateway {@code credentialName}; false for an Ingress {@code tls[].secretName})
   */
  public static Optional<String> credentialKey(Resource r, String field, String name, boolean reservedNamesRefused,
      TranslationContext cx) {
    return ServerTlsTranslator.credentialKey(r, field, name, reservedNamesRefused, cx);
  }
}
