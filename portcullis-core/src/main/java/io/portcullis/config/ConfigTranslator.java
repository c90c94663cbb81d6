package io.portcullis.config;

import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonMappingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import io.portcullis.config.Problem.Severity;
import io.portcullis.routing.SafeRegex;
import java.util.ArrayList;
import java.util.LinkedHashMap;
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
 * <p>This class sorts the resources by kind and runs one translator per concept, in this order, over one shared
 * {@link Context}: {@link CredentialTranslator} (Secret, ConfigMap), {@link ServiceEntryTranslator} (ServiceEntry;
 * it also resolves route destinations to clusters), {@link GatewayTranslator} (Gateway servers, with
 * {@link ServerTlsTranslator} for their {@code tls}), {@link VirtualServiceTranslator} ({@code hosts},
 * {@code gateways} and {@code tls[]} routes, with {@link HttpRouteTranslator} for {@code http[]} and
 * {@link MatchTranslator} for its matches), then {@link ListenerTranslator} (servers and bound routes by port).
 */
public final class ConfigTranslator {
  private static final String ISTIO_GROUP = "networking.istio.io";
  private static final Set<String> ISTIO_VERSIONS = Set.of("v1alpha3", "v1beta1", "v1");

  private final ObjectMapper mapper = JsonMapper.builder()
      .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
      .enable(DeserializationFeature.FAIL_ON_NUMBERS_FOR_ENUMS)
      .build();
  private final String gatewayNamespace;
  private final int portOffset;
  private final int maxRegexProgramSize;

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
    this.gatewayNamespace = requireNonNull(gatewayNamespace, "gatewayNamespace");
    this.portOffset = portOffset;
    this.maxRegexProgramSize = SafeRegex.checkMaxProgramSize("maxRegexProgramSize", maxRegexProgramSize);
  }

  /** Translates {@code snapshot}; never throws for bad input, which becomes {@link Problem}s instead. */
  public GatewayConfig translate(Snapshot snapshot) {
    Context cx = new Context(snapshot, mapper, gatewayNamespace, portOffset, maxRegexProgramSize);
    List<Resource> gateways = new ArrayList<>();
    List<Resource> virtualServices = new ArrayList<>();
    List<Resource> serviceEntries = new ArrayList<>();
    for (Resource r : snapshot.resources()) {
      switch (kindOf(r, cx)) {
        case "Gateway" -> gateways.add(r);
        case "VirtualService" -> virtualServices.add(r);
        case "ServiceEntry" -> serviceEntries.add(r);
        case "Secret" -> CredentialTranslator.secret(r, cx);
        case "ConfigMap" -> CredentialTranslator.configMap(r, cx);
        default -> { }
      }
    }
    for (Resource r : serviceEntries) {
      ServiceEntryTranslator.serviceEntry(r, cx);
    }
    List<ServerConfig> servers = new ArrayList<>();
    for (Resource r : gateways) {
      GatewayTranslator.gateway(r, cx, servers);
    }
    Map<String, List<VirtualServiceTranslator.BoundVs>> vsByGateway = new LinkedHashMap<>();
    for (Resource r : virtualServices) {
      VirtualServiceTranslator.virtualService(r, cx, vsByGateway);
    }
    return new GatewayConfig(ListenerTranslator.listeners(servers, vsByGateway, cx), cx.secrets, cx.problems,
        snapshot.generation());
  }

  private static String kindOf(Resource r, Context cx) {
    String group = r.group();
    String version = r.apiVersion().substring(r.apiVersion().indexOf('/') + 1);
    if (group.equals(ISTIO_GROUP) && Set.of("Gateway", "VirtualService", "ServiceEntry").contains(r.kind())) {
      if (!ISTIO_VERSIONS.contains(version)) {
        cx.problem(Severity.ERROR, r, "apiVersion", r.apiVersion() + " (expected: networking.istio.io/v1, v1beta1 or "
            + "v1alpha3)");
        return "";
      }
      return r.kind();
    }
    if (group.isEmpty() && version.equals("v1") && (r.kind().equals("Secret") || r.kind().equals("ConfigMap"))) {
      return r.kind();
    }
    if (group.equals("cert-manager.io") && Set.of("Issuer", "ClusterIssuer", "Certificate").contains(r.kind())) {
      return ""; // the certificate manager's (io.portcullis.certs.CertManagerTranslator)
    }
    cx.problem(Severity.INFO, r, "", "kind " + r.apiVersion() + " " + r.kind() + " is not used by the gateway; "
        + "ignored");
    return "";
  }

  /**
   * What one {@link #translate} shares among the translators: the settings, the problems found so far, the
   * ServiceEntry hosts and the credential sources. Used by one thread at a time.
   */
  static final class Context {
    final List<Problem> problems = new ArrayList<>();
    /** ServiceEntry hosts (lower case; a short host also under its cluster-local name) to what they declare. */
    final Map<String, ServiceEntryTranslator.ServiceInfo> services = new LinkedHashMap<>();
    /** Secrets by {@code namespace/name}, ConfigMaps by {@link GatewayConfig#CONFIG_MAP_PREFIX} and that. */
    final Map<String, GatewayConfig.SecretData> secrets = new LinkedHashMap<>();
    /** Where {@code credentialName} Secrets live ({@code --namespace}). */
    final String gatewayNamespace;
    /** Added to every Gateway port number to get the port to bind ({@code --port-offset}). */
    final int portOffset;
    /** The most RE2 instructions a {@code regex} may compile to ({@code --max-regex-program-size}). */
    final int maxRegexProgramSize;
    private final ObjectMapper mapper;

    Context(Snapshot snapshot, ObjectMapper mapper, String gatewayNamespace, int portOffset,
        int maxRegexProgramSize) {
      problems.addAll(snapshot.problems());
      this.mapper = mapper;
      this.gatewayNamespace = gatewayNamespace;
      this.portOffset = portOffset;
      this.maxRegexProgramSize = maxRegexProgramSize;
    }

    void problem(Severity severity, Resource r, String field, String message) {
      problems.add(Problem.of(severity, r, field, message));
    }

    /** Reports each field of {@code r} that {@code check} does not list as a WARNING. */
    void unsupported(Resource r, FieldCheck check) {
      for (String field : check.unsupported(r.body())) {
        problem(Severity.WARNING, r, field, "not supported by Portcullis yet; ignored");
      }
    }

    /**
     * Reads {@code r} as fabric8's model {@code type}; returns null after reporting an ERROR at the field that did
     * not convert. A Secret's values are never quoted: only the type that was expected is said.
     */
    <T> T convert(Resource r, Class<T> type) {
      try {
        return mapper.treeToValue(r.body(), type);
      } catch (JsonMappingException e) {
        StringBuilder path = new StringBuilder();
        for (JsonMappingException.Reference ref : e.getPath()) {
          if (ref.getFieldName() != null) {
            path.append(path.isEmpty() ? "" : ".").append(ref.getFieldName());
          } else if (ref.getIndex() >= 0) {
            path.append('[').append(ref.getIndex()).append(']');
          }
        }
        if (r.kind().equals("Secret")) {
          // databind quotes the value it could not convert, and a Secret's values are keys: only its type is said.
          problem(Severity.ERROR, r, path.toString(), "not " + ParseErrors.expectedType(e)
              + " (expected: a valid Secret; the value is not shown)");
        } else {
          problem(Severity.ERROR, r, path.toString(), e.getOriginalMessage().split("\n")[0]
              + " (expected: a valid " + r.kind() + ")");
        }
        return null;
      } catch (Exception e) {
        problem(Severity.ERROR, r, "", (r.kind().equals("Secret") ? e.getClass().getSimpleName() : e.getMessage())
            + " (expected: a valid " + r.kind() + ")");
        return null;
      }
    }
  }
}
