package io.portcullis.config.ingress;

import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.MissingNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.fabric8.kubernetes.api.model.networking.v1.IngressClass;
import io.portcullis.config.FieldCheck;
import io.portcullis.config.Problem.Severity;
import io.portcullis.config.ObjectStatus;
import io.portcullis.config.Resource;
import io.portcullis.config.TranslationContext;
import io.portcullis.config.gatewayapi.GatewayAddresses;
import io.portcullis.config.istio.BoundRoutes;
import io.portcullis.config.istio.IstioModel;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The Kubernetes Ingress family: {@code networking.k8s.io/v1} Ingress and IngressClass, and the removed v1beta1
 * Ingress forms ({@link IngressVersions}). Selects the Ingresses this gateway serves ({@link IngressClassSelection},
 * playing the API server's DefaultIngressClass admission in directory mode), orders them as Istio does (oldest
 * {@code metadata.creationTimestamp} first, then name, then namespace), and adds to the Istio model the servers
 * ({@link IngressServers}) and, per host, the routes ({@link IngressRules}) they become, all bound to one gateway key.
 * Used on the translating thread only.
 */
public final class IngressTranslator {
  private static final String DEFAULT_CLASS_ANNOTATION = "ingressclass.kubernetes.io/is-default-class";
  private static final FieldCheck INGRESS_FIELDS = new FieldCheck("apiVersion", "kind", "metadata.**", "status.**",
      "spec.ingressClassName", "spec.rules[].host", "spec.rules[].http.paths[].path",
      "spec.rules[].http.paths[].pathType", "spec.rules[].http.paths[].backend.service.name",
      "spec.rules[].http.paths[].backend.service.port.number", "spec.rules[].http.paths[].backend.service.port.name",
      "spec.rules[].http.paths[].backend.serviceName", "spec.rules[].http.paths[].backend.servicePort",
      "spec.rules[].http.paths[].backend.resource.**", "spec.defaultBackend.service.name",
      "spec.defaultBackend.service.port.number", "spec.defaultBackend.service.port.name",
      "spec.defaultBackend.resource.**", "spec.backend.serviceName", "spec.backend.servicePort",
      "spec.backend.resource.**", "spec.tls[].hosts[]", "spec.tls[].secretName");

  private final IngressClassSelection selection;
  private final IngressStatusSource statusSource;

  /** Creates a translator serving the Ingresses {@code selection} selects, with an empty {@code loadBalancer}. */
  public IngressTranslator(IngressClassSelection selection) {
    this(selection, IngressStatusSource.NONE);
  }

  /**
   * Creates a translator serving the Ingresses {@code selection} selects, their {@code status.loadBalancer} from
   * {@code statusSource}.
   */
  public IngressTranslator(IngressClassSelection selection, IngressStatusSource statusSource) {
    this.selection = requireNonNull(selection, "selection");
    this.statusSource = requireNonNull(statusSource, "statusSource");
  }

  /** Whether {@code r} is of this family: an Ingress ({@code networking.k8s.io}, {@code extensions}), IngressClass. */
  public static boolean handles(Resource r) {
    return (r.group().equals("networking.k8s.io") && (r.kind().equals("Ingress") || r.kind().equals("IngressClass")))
        || (r.group().equals("extensions") && r.kind().equals("Ingress"));
  }

  /** Adds the servers and routes of the selected Ingresses among {@code resources} to {@code model}. */
  public void translate(List<Resource> resources, IstioModel model, TranslationContext cx) {
    Map<String, String> controllers = new LinkedHashMap<>();
    List<String> defaults = new ArrayList<>();
    List<Resource> ingresses = new ArrayList<>();
    for (Resource r : resources) {
      if (r.kind().equals("IngressClass")) {
        IngressClass ic = cx.convert(r, IngressClass.class);
        if (ic == null) {
          continue;
        }
        controllers.put(r.name(), ic.getSpec() == null || ic.getSpec().getController() == null ? ""
            : ic.getSpec().getController());
        if ("true".equals(r.body().path("metadata").path("annotations").path(DEFAULT_CLASS_ANNOTATION).asText())) {
          defaults.add(r.name());
        }
      } else {
        ingresses.add(r);
      }
    }
    ObjectNode loadBalancer = loadBalancer(cx);
    List<IngressVersions.View> selected = new ArrayList<>();
    for (Resource r : ingresses) {
      Optional<IngressVersions.View> v = IngressVersions.read(r, cx);
      if (v.isEmpty()) {
        continue;
      }
      if (select(v.get(), controllers, defaults, cx)) {
        cx.unsupported(r, INGRESS_FIELDS);
        selected.add(v.get());
        ObjectNode status =
            JsonNodeFactory.instance.objectNode();
        status.set("loadBalancer", loadBalancer.deepCopy());
        cx.statuses().add(new ObjectStatus(r, status));
      }
    }
    selected.sort(Comparator.comparing((IngressVersions.View v) -> v.resource().body().path("metadata")
        .path("creationTimestamp").asText("~")) // RFC 3339 UTC sorts as text; unset sorts last
        .thenComparing(v -> v.resource().name()).thenComparing(v -> v.resource().namespace()));
    IngressServers.servers(selected, model, cx);
    String gateway = IngressServers.gatewayKey(cx);
    IngressRules.routes(selected, model, cx).forEach((host, hr) -> model.bind(gateway,
        new BoundRoutes(hr.first(), List.of(host), hr.routes(), List.of())));
  }

  private boolean select(IngressVersions.View v, Map<String, String> controllers, List<String> defaults,
      TranslationContext cx) {
    Resource r = v.resource();
    Optional<String> annotation = v.annotation(IngressClassSelection.CLASS_ANNOTATION);
    String written = v.spec().getIngressClassName();
    Optional<String> className = written == null || written.isBlank() ? Optional.empty()
        : Optional.of(written.trim());
    if (annotation.isEmpty() && className.isEmpty() && defaults.size() == 1) {
      className = Optional.of(defaults.get(0)); // the API server's DefaultIngressClass admission
      cx.problem(Severity.INFO, r, "spec.ingressClassName", "unset: IngressClass " + defaults.get(0) + " is the "
          + "default class (" + DEFAULT_CLASS_ANNOTATION + ": \"true\"), as the API server would set it");
    }
    Optional<String> controller = className.map(controllers::get);
    boolean selected = selection.selects(annotation, controller);
    if (!selected) {
      String why;
      String field;
      if (annotation.isPresent()) {
        field = "metadata.annotations." + IngressClassSelection.CLASS_ANNOTATION;
        why = selection.mode() == IngressClassSelection.Mode.OFF ? "class " + annotation.get() + ": not served with "
            + "--ingress-mode OFF" : "class " + annotation.get() + ": not this gateway's (expected: "
            + selection.ingressClass() + ")";
      } else if (controller.isPresent()) {
        field = "spec.ingressClassName";
        why = "IngressClass " + className.get() + " has controller " + controller.get() + ": not this gateway's "
            + "(expected: " + IngressClassSelection.CONTROLLER + ")";
      } else {
        field = className.isPresent() ? "spec.ingressClassName" : "";
        why = (className.isPresent() ? "IngressClass " + className.get() + " does not exist" : "no class")
            + ": served only with --ingress-mode DEFAULT (expected: annotation "
            + IngressClassSelection.CLASS_ANNOTATION
            + ": " + selection.ingressClass() + ", or an IngressClass with controller "
            + IngressClassSelection.CONTROLLER + ")";
      }
      cx.problem(Severity.INFO, r, field, why + "; ignored");
    }
    return selected;
  }

  /** The {@code status.loadBalancer} of every served Ingress ({@link IngressStatusSource}). */
  private ObjectNode loadBalancer(TranslationContext cx) {
    ObjectNode lb =
        JsonNodeFactory.instance.objectNode();
    if (!statusSource.addresses().isEmpty()) {
      ArrayNode ingress = lb.putArray("ingress");
      for (String a : statusSource.addresses()) {
        ingress.addObject().put(GatewayAddresses.isIpLiteral(a) ? "ip" : "hostname", a);
      }
    } else if (statusSource.service().isPresent()) {
      String key = statusSource.service().get();
      Optional<Resource> service = cx.snapshot().resources().stream().filter(x -> x.group().isEmpty()
          && x.kind().equals("Service") && x.key().equals(key)).findFirst();
      JsonNode published = service.map(x -> x.body().path("status")
          .path("loadBalancer")).orElse(MissingNode.getInstance());
      if (published.isObject()) {
        lb.setAll((ObjectNode) published);
      }
    }
    return lb;
  }
}
