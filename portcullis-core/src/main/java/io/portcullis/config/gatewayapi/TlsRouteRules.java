package io.portcullis.config.gatewayapi;

import io.fabric8.kubernetes.api.model.gatewayapi.v1.BackendRef;
import io.fabric8.kubernetes.api.model.gatewayapi.v1alpha2.TLSRoute;
import io.fabric8.kubernetes.api.model.gatewayapi.v1alpha2.TLSRouteRule;
import io.portcullis.config.Problem.Severity;
import io.portcullis.config.Resource;
import io.portcullis.config.TranslationContext;
import io.portcullis.config.istio.IstioModel;
import io.portcullis.routing.RouteAction;
import io.portcullis.routing.TlsRoute;
import java.util.ArrayList;
import java.util.List;

/**
 * Turns a TLSRoute ({@code v1alpha2}, {@code v1alpha3} and {@code v1} read with the same schema) into an SNI route
 * of the Istio model for Passthrough listeners: its {@code hostnames} (intersected with the listener's) are the SNI
 * names, the {@code backendRefs} of its rules the weighted destinations the TLS stream goes to untouched. A route
 * without a valid backend gets no route (its connections are closed). Used on the translating thread only.
 */
final class TlsRouteRules {
  /** The translated route; {@code route} is null when no backend is valid. */
  record Translated(TlsRoute route) {}

  private TlsRouteRules() {}

  static Translated route(Resource r, TLSRoute t, IstioModel model, ReferenceGrants grants, RefStatus refs,
      TranslationContext cx) {
    List<TLSRouteRule> rules = t.getSpec().getRules() == null ? List.of() : t.getSpec().getRules();
    List<RouteAction.WeightedCluster> destinations = new ArrayList<>();
    for (int i = 0; i < rules.size(); i++) {
      List<BackendRef> backends = rules.get(i).getBackendRefs() == null ? List.of() : rules.get(i).getBackendRefs();
      for (int b = 0; b < backends.size(); b++) {
        BackendRef ref = backends.get(b);
        if (ref.getWeight() != null && ref.getWeight() == 0) {
          continue;
        }
        BackendRefs.resolve(r, "TLSRoute", "spec.rules[" + i + "].backendRefs[" + b + "]", new BackendRefs.Ref(
            ref.getGroup(), ref.getKind(), ref.getName(), ref.getNamespace(), ref.getPort(), ref.getWeight()), false,
            model, grants, refs, cx).ifPresent(destinations::add);
      }
    }
    if (destinations.isEmpty()) {
      cx.problem(Severity.ERROR, r, "spec.rules", "no valid backendRefs (expected: a Service and port); its "
          + "connections are closed");
      return new Translated(null);
    }
    return new Translated(new TlsRoute(r.key(), destinations));
  }
}
