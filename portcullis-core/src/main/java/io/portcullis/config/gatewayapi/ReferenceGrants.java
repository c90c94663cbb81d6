package io.portcullis.config.gatewayapi;

import io.fabric8.kubernetes.api.model.gatewayapi.v1beta1.ReferenceGrant;
import io.fabric8.kubernetes.api.model.gatewayapi.v1beta1.ReferenceGrantFrom;
import io.fabric8.kubernetes.api.model.gatewayapi.v1beta1.ReferenceGrantTo;
import io.portcullis.config.Problem.Severity;
import io.portcullis.config.Resource;
import io.portcullis.config.TranslationContext;
import java.util.ArrayList;
import java.util.List;

/**
 * The Gateway API's {@code ReferenceGrant}s ({@code v1beta1}, and {@code v1} read with the same schema): which
 * objects in other namespaces may refer to objects in a grant's namespace. A reference across namespaces (a route's
 * {@code backendRefs[]}, a Gateway's {@code certificateRefs[]}) holds only when a grant in the target's namespace
 * lists the referrer's group, kind and namespace in {@code from} and the target's group, kind and (when set) name in
 * {@code to}. Used on the translating thread only.
 */
final class ReferenceGrants {
  private record Grant(String namespace, List<ReferenceGrantFrom> from, List<ReferenceGrantTo> to) {}

  private final List<Grant> grants = new ArrayList<>();

  /** Reads one ReferenceGrant; a malformed one is reported and grants nothing. */
  void add(Resource r, TranslationContext cx) {
    ReferenceGrant g = cx.convert(r, ReferenceGrant.class);
    if (g == null || g.getSpec() == null) {
      return;
    }
    List<ReferenceGrantFrom> from = g.getSpec().getFrom() == null ? List.of() : g.getSpec().getFrom();
    List<ReferenceGrantTo> to = g.getSpec().getTo() == null ? List.of() : g.getSpec().getTo();
    if (from.isEmpty() || to.isEmpty()) {
      cx.problem(Severity.ERROR, r, from.isEmpty() ? "spec.from" : "spec.to", "empty (expected: at least one "
          + "entry); this ReferenceGrant grants nothing");
      return;
    }
    for (int i = 0; i < from.size(); i++) {
      if (from.get(i).getNamespace() == null || from.get(i).getNamespace().isBlank()) {
        cx.problem(Severity.ERROR, r, "spec.from[" + i + "].namespace", "missing (expected: the namespace of the "
            + "referring objects)");
      }
    }
    grants.add(new Grant(r.namespace(), from, to));
  }

  /**
   * Whether an object of {@code fromGroup}/{@code fromKind} in {@code fromNamespace} may refer to
   * {@code toGroup}/{@code toKind} {@code toName} in {@code toNamespace}; true within one namespace.
   */
  boolean allows(String fromGroup, String fromKind, String fromNamespace, String toGroup, String toKind,
      String toNamespace, String toName) {
    if (fromNamespace.equals(toNamespace)) {
      return true;
    }
    for (Grant g : grants) {
      if (!g.namespace().equals(toNamespace)) {
        continue;
      }
      boolean fromOk = g.from().stream().anyMatch(f -> fromGroup.equals(nz(f.getGroup()))
          && fromKind.equals(nz(f.getKind())) && fromNamespace.equals(nz(f.getNamespace())));
      boolean toOk = g.to().stream().anyMatch(t -> toGroup.equals(nz(t.getGroup())) && toKind.equals(nz(t.getKind()))
          && (t.getName() == null || t.getName().isEmpty() || t.getName().equals(toName)));
      if (fromOk && toOk) {
        return true;
      }
    }
    return false;
  }

  private static String nz(String s) {
    return s == null ? "" : s;
  }
}
