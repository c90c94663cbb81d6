package io.portcullis.config;

import com.fasterxml.jackson.databind.JsonMappingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.portcullis.config.Problem.Severity;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What one {@link ConfigTranslator#translate} shares among the API families' translators: the settings, the problems
 * found so far, the {@link ServiceRegistry} and the credential sources. Used by one thread at a time.
 */
public final class TranslationContext {
  private final List<Problem> problems = new ArrayList<>();
  private final List<ObjectStatus> statuses = new ArrayList<>();
  private final Map<String, Map<String, String>> namespaceLabels = new LinkedHashMap<>();
  private final ServiceRegistry services = new ServiceRegistry();
  private final Map<String, GatewayConfig.SecretData> secrets = new LinkedHashMap<>();
  private final String gatewayNamespace;
  private final int portOffset;
  private final int maxRegexProgramSize;
  private final ObjectMapper mapper;
  private final List<String> addresses;
  private final List<ObjectStatus> previousStatuses;
  private final Instant now;
  private final Snapshot snapshot;

  TranslationContext(Snapshot snapshot, ObjectMapper mapper, String gatewayNamespace, int portOffset,
      int maxRegexProgramSize, List<String> addresses, List<ObjectStatus> previousStatuses, Instant now) {
    problems.addAll(snapshot.problems());
    this.snapshot = snapshot;
    this.mapper = mapper;
    this.gatewayNamespace = gatewayNamespace;
    this.portOffset = portOffset;
    this.maxRegexProgramSize = maxRegexProgramSize;
    this.addresses = List.copyOf(addresses);
    this.previousStatuses = List.copyOf(previousStatuses);
    this.now = now;
  }

  /** Returns the snapshot being translated (every resource, of every family). */
  public Snapshot snapshot() {
    return snapshot;
  }

  /** Returns the addresses Gateway ports are bound to, as a Gateway's {@code status.addresses} lists them. */
  public List<String> addresses() {
    return addresses;
  }

  /**
   * Returns the statuses of the previous translation (what is being served), so that a condition whose status did
   * not change keeps its {@code lastTransitionTime}; empty on the first.
   */
  public List<ObjectStatus> previousStatuses() {
    return previousStatuses;
  }

  /** Returns the time of this translation: a condition that changes status is stamped with it. */
  public Instant now() {
    return now;
  }

  /** Returns the problems found so far, in the order found (mutable: translators add to it). */
  public List<Problem> problems() {
    return problems;
  }

  /** Returns the statuses computed so far (mutable: translators add to it). */
  public List<ObjectStatus> statuses() {
    return statuses;
  }

  /**
   * Returns the labels of the v1 Namespaces of the manifests by name (mutable: the core translator fills it); a
   * namespace without a manifest is absent.
   */
  public Map<String, Map<String, String>> namespaceLabels() {
    return namespaceLabels;
  }

  /** Returns the services route destinations resolve against (ServiceEntry hosts; Kubernetes Services). */
  public ServiceRegistry services() {
    return services;
  }

  /**
   * Returns the credential sources: Secrets by {@code namespace/name}, ConfigMaps by
   * {@link GatewayConfig#CONFIG_MAP_PREFIX} and that (mutable: the core translator fills it).
   */
  public Map<String, GatewayConfig.SecretData> secrets() {
    return secrets;
  }

  /** Returns where {@code credentialName} Secrets live ({@code --namespace}), as Istio looks them up. */
  public String gatewayNamespace() {
    return gatewayNamespace;
  }

  /** Returns what is added to every Gateway port number to get the port to bind ({@code --port-offset}). */
  public int portOffset() {
    return portOffset;
  }

  /** Returns the most RE2 instructions a {@code regex} may compile to ({@code --max-regex-program-size}). */
  public int maxRegexProgramSize() {
    return maxRegexProgramSize;
  }

  /** Reports a problem with {@code field} of {@code r} (a dotted path; {@code ""} for the whole resource). */
  public void problem(Severity severity, Resource r, String field, String message) {
    problems.add(Problem.of(severity, r, field, message));
  }

  /** Reports each field of {@code r} that {@code check} does not list as a WARNING. */
  public void unsupported(Resource r, FieldCheck check) {
    for (String field : check.unsupported(r.body())) {
      problem(Severity.WARNING, r, field, "not supported by Portcullis yet; ignored");
    }
  }

  /**
   * Reads {@code r} as fabric8's model {@code type}; returns null after reporting an ERROR at the field that did
   * not convert. A Secret's values are never quoted: only the type that was expected is said.
   */
  public <T> T convert(Resource r, Class<T> type) {
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
