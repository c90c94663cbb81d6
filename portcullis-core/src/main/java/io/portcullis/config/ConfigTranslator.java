package io.portcullis.config;

import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import io.portcullis.config.Problem.Severity;
import io.portcullis.config.core.CoreTranslator;
import io.portcullis.config.gatewayapi.GatewayApiTranslator;
import io.portcullis.config.ingress.IngressClassSelection;
import io.portcullis.config.ingress.IngressStatusSource;
import io.portcullis.config.ingress.IngressTranslator;
import io.portcullis.config.istio.IstioTranslator;
import io.portcullis.routing.SafeRegex;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Turns a {@link Snapshot} into a {@link GatewayConfig}: Istio {@code Gateway}, {@code VirtualService},
 * {@code ServiceEntry} and v1 {@code Secret} objects, read through fabric8's Istio and Kubernetes models.
 *
 * <p>A resource or server that fails validation is reported as an ERROR {@link Problem} naming the resource, the
 * field path and what was expected, and is left out; the rest still translates. Fields Portcullis does not act on
 * are reported as WARNINGs; kinds it does not know as INFO. Pure: no I/O, safe on any thread.
 *
 * <p>This class sorts the resources by API family and runs one translator per family over one shared
 * {@link TranslationContext}, in this order: {@link CoreTranslator} (v1 Secret, ConfigMap: credential sources; v1 Service,
 * discovery.k8s.io/v1 EndpointSlice, v1 Endpoints, v1 Pod: Kubernetes Services in the {@link ServiceRegistry}), then
 * {@link IstioTranslator} ({@code networking.istio.io}: ServiceEntry into the {@link ServiceRegistry}, Gateway,
 * VirtualService), with {@link IngressTranslator} ({@code networking.k8s.io} Ingress and IngressClass) adding its
 * servers and routes to the same model before the listeners are assembled by port. Each family's translator runs one
 * translator per kind or concept. {@link GatewayApiTranslator} ({@code gateway.networking.k8s.io}) adds its servers
 * and routes after the Ingresses', and computes the Gateway API status of the objects it serves.
 */
public final class ConfigTranslator {
  private static final String CERT_MANAGER_GROUP = "cert-manager.io";

  private final ObjectMapper mapper = JsonMapper.builder()
      .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
      .enable(DeserializationFeature.FAIL_ON_NUMBERS_FOR_ENUMS)
      .build();
  private final String gatewayNamespace;
  private final int portOffset;
  private final int maxRegexProgramSize;
  private final IngressTranslator ingress;
  private final List<String> addresses;

  /**
   * Creates a translator that accepts regexes of at most Envoy's default program size,
   * {@value SafeRegex#DEFAULT_MAX_PROGRAM_SIZE} RE2 instructions.
   *
   * @param gatewayNamespace the gateway workload's namespace ({@code --namespace}): where {@code credentialName}
   *     Secrets are looked up, as Istio does
   * @param portOffset added to every Gateway port number to get the port to bind ({@code --port-offset})
   */
  public ConfigTranslator(String gatewayNamespace, int portOffset) {
    this(gatewayNamespace, portOffset, SafeRegex.DEFAULT_MAX_PROGRAM_SIZE);
  }

  /**
   * Creates a translator.
   *
   * @param gatewayNamespace the gateway workload's namespace ({@code --namespace}): where {@code credentialName}
   *     Secrets are looked up, as Istio does
   * @param portOffset added to every Gateway port number to get the port to bind ({@code --port-offset})
   * @param maxRegexProgramSize the most RE2 instructions a VirtualService {@code regex} may compile to (Envoy's
   *     {@code re2.max_program_size.error_level}, {@code --max-regex-program-size}); a larger one is an ERROR
   * @throws IllegalArgumentException when {@code maxRegexProgramSize} is outside
   *     1..{@value SafeRegex#MAX_PROGRAM_SIZE_CEILING}
   */
  public ConfigTranslator(String gatewayNamespace, int portOffset, int maxRegexProgramSize) {
    this(gatewayNamespace, portOffset, maxRegexProgramSize, IngressClassSelection.DEFAULT);
  }

  /**
   * Creates a translator that serves the Ingresses {@code ingressClasses} selects ({@code --ingress-class},
   * {@code --ingress-mode}); the other parameters as {@link #ConfigTranslator(String, int, int)}.
   */
  public ConfigTranslator(String gatewayNamespace, int portOffset, int maxRegexProgramSize,
      IngressClassSelection ingressClasses) {
    this(gatewayNamespace, portOffset, maxRegexProgramSize, ingressClasses, List.of());
  }

  /**
   * Creates a translator whose Gateways report {@code addresses} (the addresses their ports are bound to) in
   * {@code status.addresses}; the other parameters as {@link #ConfigTranslator(String, int, int,
   * IngressClassSelection)}.
   */
  public ConfigTranslator(String gatewayNamespace, int portOffset, int maxRegexProgramSize,
      IngressClassSelection ingressClasses, List<String> addresses) {
    this(gatewayNamespace, portOffset, maxRegexProgramSize, ingressClasses, addresses, IngressStatusSource.NONE);
  }

  /**
   * As above, Ingresses' {@code status.loadBalancer} from {@code ingressStatus} ({@code --publish-address},
   * {@code --publish-service}).
   */
  public ConfigTranslator(String gatewayNamespace, int portOffset, int maxRegexProgramSize,
      IngressClassSelection ingressClasses, List<String> addresses, IngressStatusSource ingressStatus) {
    this.addresses = List.copyOf(addresses);
    this.gatewayNamespace = requireNonNull(gatewayNamespace, "gatewayNamespace");
    this.portOffset = portOffset;
    this.maxRegexProgramSize = SafeRegex.checkMaxProgramSize("maxRegexProgramSize", maxRegexProgramSize);
    this.ingress = new IngressTranslator(requireNonNull(ingressClasses, "ingressClasses"), ingressStatus);
  }

  /** Translates {@code snapshot}; never throws for bad input, which becomes {@link Problem}s instead. */
  public GatewayConfig translate(Snapshot snapshot) {
    return translate(snapshot, Map.of(), List.of(), Clock.systemUTC());
  }

  /** As {@link #translate(Snapshot, Map, List, Clock)} without stored Secrets. */
  public GatewayConfig translate(Snapshot snapshot, List<ObjectStatus> previous, Clock clock) {
    return translate(snapshot, Map.of(), previous, clock);
  }

  /**
   * Translates {@code snapshot} as the next of a series, as it would be in a cluster holding {@code stored} too;
   * never throws for bad input.
   *
   * @param stored the Secrets the certificate manager stored (issued ones), by {@code namespace/name}: looked up as
   *     if they were manifests, after the manifests' own (a manifest Secret of the same name is the one read), so that
   *     a reference to an issued Secret resolves (Gateway API {@code ResolvedRefs}, "not found" warnings)
   * @param previous the statuses being served: a status condition that is as there keeps its
   *     {@code lastTransitionTime}; one that changed, or is new, gets {@code clock}'s time
   */
  public GatewayConfig translate(Snapshot snapshot, Map<String, GatewayConfig.SecretData> stored,
      List<ObjectStatus> previous, Clock clock) {
    TranslationContext cx = new TranslationContext(snapshot, mapper, gatewayNamespace, portOffset,
        maxRegexProgramSize, addresses, previous, clock.instant());
    List<Resource> core = new ArrayList<>();
    List<Resource> istio = new ArrayList<>();
    List<Resource> ingresses = new ArrayList<>();
    List<Resource> gatewayApi = new ArrayList<>();
    for (Resource r : snapshot.resources()) {
      if (CoreTranslator.handles(r)) {
        core.add(r);
      } else if (IstioTranslator.handles(r)) {
        istio.add(r);
      } else if (IngressTranslator.handles(r)) {
        ingresses.add(r);
      } else if (GatewayApiTranslator.handles(r)) {
        gatewayApi.add(r);
      } else if (!Set.of(CERT_MANAGER_GROUP, "certmanager.k8s.io").contains(r.group())
          || !Set.of("Issuer", "ClusterIssuer", "Certificate").contains(r.kind())) {
        // cert-manager's are the certificate manager's (io.portcullis.certs.CertManagerTranslator)
        cx.problem(Severity.INFO, r, "", "kind " + r.apiVersion() + " " + r.kind() + " is not used by the gateway; "
            + "ignored");
      }
    }
    CoreTranslator.translate(core, cx);
    stored.forEach(cx.secrets()::putIfAbsent);
    return new GatewayConfig(IstioTranslator.translate(istio, cx,
        List.of(model -> ingress.translate(ingresses, model, cx),
            model -> GatewayApiTranslator.translate(gatewayApi, cx.namespaceLabels(), model, cx))), cx.secrets(), cx.problems(),
        snapshot.generation(), cx.statuses());
  }
}
