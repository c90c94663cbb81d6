package io.portcullis.config.istio;

import io.portcullis.config.ListenerConfig;
import io.portcullis.config.Problem.Severity;
import io.portcullis.config.Resource;
import io.portcullis.config.ServerConfig;
import io.portcullis.config.TranslationContext;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SortedMap;
import java.util.function.Consumer;

/**
 * The Istio networking API family ({@code networking.istio.io} v1alpha3, v1beta1, v1): {@code ServiceEntry}s into
 * the service registry ({@link ServiceEntryTranslator}), {@code DestinationRule}s into traffic policies
 * ({@link DestinationRuleTranslator}), {@code Gateway} servers ({@link GatewayTranslator}, with
 * {@link ServerTlsTranslator} for their {@code tls}), {@code VirtualService}s ({@link VirtualServiceTranslator}, with
 * {@link HttpRouteTranslator}, {@link MatchTranslator} and {@link DestinationTranslator}), then the listeners by port
 * ({@link ListenerTranslator}). Other families (Ingress; the Gateway API next) add to this model through
 * {@link IstioModel}, as Istio converts them, so that routing and TLS are translated in one place.
 */
public final class IstioTranslator {
  private static final String GROUP = "networking.istio.io";
  private static final Set<String> VERSIONS = Set.of("v1alpha3", "v1beta1", "v1");
  private static final Set<String> KINDS = Set.of("Gateway", "VirtualService", "ServiceEntry", "DestinationRule");

  private IstioTranslator() {}

  /** Whether {@code r} is of this family: its group and a kind it translates (any version; checked later). */
  public static boolean handles(Resource r) {
    return r.group().equals(GROUP) && KINDS.contains(r.kind());
  }

  /**
   * Translates this family's resources ({@link #handles}) against what {@code cx} holds (credential sources, the
   * service registry), reporting an unknown version as an ERROR and leaving that resource out.
   *
   * @return the listeners by Gateway port number
   */
  public static SortedMap<Integer, ListenerConfig> translate(List<Resource> resources, TranslationContext cx) {
    return translate(resources, cx, List.of());
  }

  /**
   * As {@link #translate(List, TranslationContext)}, letting each of {@code families} add its servers and route
   * bindings to the model (in order, after Istio's own) before the listeners are assembled.
   */
  public static SortedMap<Integer, ListenerConfig> translate(List<Resource> resources, TranslationContext cx,
      List<Consumer<IstioModel>> families) {
    List<Resource> gateways = new ArrayList<>();
    List<Resource> virtualServices = new ArrayList<>();
    DestinationRules rules = new DestinationRules();
    for (Resource r : resources) {
      String version = r.apiVersion().substring(r.apiVersion().indexOf('/') + 1);
      if (!VERSIONS.contains(version)) {
        cx.problem(Severity.ERROR, r, "apiVersion", r.apiVersion() + " (expected: networking.istio.io/v1, v1beta1 or "
            + "v1alpha3)");
        continue;
      }
      switch (r.kind()) {
        case "Gateway" -> gateways.add(r);
        case "VirtualService" -> virtualServices.add(r);
        case "ServiceEntry" -> ServiceEntryTranslator.serviceEntry(r, cx);
        case "DestinationRule" -> DestinationRuleTranslator.destinationRule(r, cx, rules);
        default -> throw new IllegalArgumentException("not an Istio networking resource: " + r.kind());
      }
    }
    IstioModel model = new IstioModel(rules);
    List<ServerConfig> servers = new ArrayList<>();
    for (Resource r : gateways) {
      GatewayTranslator.gateway(r, cx, servers);
    }
    servers.forEach(model::addServer);
    Map<String, List<BoundRoutes>> vsByGateway = new LinkedHashMap<>();
    for (Resource r : virtualServices) {
      VirtualServiceTranslator.virtualService(r, cx, rules, vsByGateway);
    }
    vsByGateway.forEach((g, list) -> list.forEach(b -> model.bind(g, b)));
    families.forEach(f -> f.accept(model));
    return ListenerTranslator.listeners(new ArrayList<>(model.servers()), model.bindings(), cx);
  }
}
