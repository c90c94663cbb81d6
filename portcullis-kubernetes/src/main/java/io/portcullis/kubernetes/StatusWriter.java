package io.portcullis.kubernetes;

import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.fabric8.kubernetes.api.model.Event;
import io.fabric8.kubernetes.api.model.EventBuilder;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.portcullis.certs.CertificateStatus;
import io.portcullis.config.ObjectStatus;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Writes the gateway's status back to the API server, as the controllers it replaces would: each Certificate's
 * {@code status} as cert-manager writes it ({@code conditions} Ready / Issuing with their reasons, {@code notBefore},
 * {@code notAfter}, {@code renewalTime}, {@code revision}, {@code lastFailureTime}, {@code failedIssuanceAttempts}),
 * and the status of every Gateway API object and Ingress the translation computed ({@link ObjectStatus}).
 *
 * <p>It also records Kubernetes Events on each Certificate for the issuance steps cert-manager reports, with its
 * reason names: {@code Issuing} (an issuance starts, with the Issuing condition's message), {@code Issued} (a new
 * revision is stored) and {@code Failed} (an attempt failed, with the failure message); they are derived from the
 * status changes between rounds.
 *
 * <p>Every {@code period} on its own thread it compares what it would write with what it last wrote and updates only
 * the objects that changed, through the {@code status} subresource (read, then update with that
 * {@code resourceVersion}; a 409 or a failure is tried again at the next round). An object that is gone is skipped.
 * One writer per cluster: with replicas, only the leader runs one (issue 16, replicas).
 */
public final class StatusWriter implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(StatusWriter.class);
  private final KubernetesClient client;
  private final Supplier<List<ObjectStatus>> objects;
  private final Supplier<List<CertificateStatus>> certificates;
  private final ObjectMapper mapper = new ObjectMapper();
  private final Map<String, JsonNode> written = new HashMap<>();
  private final Map<String, CertificateStatus> lastCertificates = new HashMap<>();
  private final ScheduledExecutorService executor = Executors.newSingleThreadScheduledExecutor(r -> {
    Thread t = new Thread(r, "portcullis-kubernetes-status");
    t.setDaemon(true);
    return t;
  });

  /**
   * Starts writing every {@code period}.
   *
   * @param objects the object statuses being served ({@code Portcullis::objectStatuses})
   * @param certificates the Certificates' statuses ({@code certificateManager::statuses})
   */
  public StatusWriter(KubernetesClient client, Supplier<List<ObjectStatus>> objects,
      Supplier<List<CertificateStatus>> certificates, Duration period) {
    this.client = requireNonNull(client, "client");
    this.objects = requireNonNull(objects, "objects");
    this.certificates = requireNonNull(certificates, "certificates");
    executor.scheduleWithFixedDelay(this::round, 0, period.toMillis(), TimeUnit.MILLISECONDS);
  }

  private void round() {
    try {
      Map<String, Target> desired = new LinkedHashMap<>();
      for (ObjectStatus o : objects.get()) {
        JsonNode meta = o.resource().body().path("metadata");
        String ns = meta.path("namespace").asText("");
        desired.put(key(o.resource().apiVersion(), o.resource().kind(), ns, o.resource().name()),
            new Target(o.resource().apiVersion(), o.resource().kind(), ns, o.resource().name(), o.status()));
      }
      List<CertificateStatus> certs = certificates.get();
      events(certs);
      for (CertificateStatus c : certs) {
        desired.put(key("cert-manager.io/v1", "Certificate", c.namespace(), c.name()), new Target(
            "cert-manager.io/v1", "Certificate", c.namespace(), c.name(), certificateStatus(c)));
      }
      for (Map.Entry<String, Target> e : desired.entrySet()) {
        if (!e.getValue().status().equals(written.get(e.getKey())) && write(e.getValue())) {
          written.put(e.getKey(), e.getValue().status());
        }
      }
      written.keySet().retainAll(desired.keySet());
    } catch (RuntimeException e) {
      log.warn("kubernetes: status round failed: {}", e.toString());
    }
  }

  private record Target(String apiVersion, String kind, String namespace, String name, ObjectNode status) {}

  private static String key(String apiVersion, String kind, String namespace, String name) {
    return apiVersion + "/" + kind + "/" + namespace + "/" + name;
  }

  /** Records the Events of what changed for each Certificate since the last round. */
  private void events(List<CertificateStatus> certs) {
    Map<String, CertificateStatus> now = new HashMap<>();
    for (CertificateStatus c : certs) {
      String key = c.namespace() + "/" + c.name();
      now.put(key, c);
      CertificateStatus before = lastCertificates.get(key);
      boolean issuing = c.issuing().map(i -> i.status().equals("True")).orElse(false);
      boolean wasIssuing = before != null && before.issuing().map(i -> i.status().equals("True")).orElse(false);
      if (issuing && !wasIssuing) {
        event(c, "Normal", "Issuing", c.issuing().get().message());
      }
      boolean issued = before == null ? c.revision() > 0 && wasNew(c) : c.revision() > before.revision();
      if (issued) {
        event(c, "Normal", "Issued", "The certificate has been successfully issued");
      }
      if (before != null && c.failedIssuanceAttempts() > before.failedIssuanceAttempts()) {
        event(c, "Warning", "Failed", c.issuing().map(CertificateStatus.Condition::message).orElse(c.ready()
            .message()));
      }
    }
    lastCertificates.clear();
    lastCertificates.putAll(now);
  }

  /** Whether {@code c}, first seen now, was issued within the last round or so (not loaded from an old Secret). */
  private static boolean wasNew(CertificateStatus c) {
    return c.notBefore().map(t -> t.isAfter(Instant.now().minusSeconds(10))).orElse(false);
  }

  private void event(CertificateStatus c, String type, String reason, String message) {
    try {
      GenericKubernetesResource cert = client.genericKubernetesResources("cert-manager.io/v1", "Certificate")
          .inNamespace(c.namespace()).withName(c.name()).get();
      String now = time(Instant.now());
      Event e = new EventBuilder()
          .withNewMetadata().withGenerateName(c.name() + ".").withNamespace(c.namespace()).endMetadata()
          .withNewInvolvedObject().withApiVersion("cert-manager.io/v1").withKind("Certificate")
          .withNamespace(c.namespace()).withName(c.name())
          .withUid(cert == null ? null : cert.getMetadata().getUid()).endInvolvedObject()
          .withType(type).withReason(reason).withMessage(message).withCount(1).withFirstTimestamp(now)
          .withLastTimestamp(now).withNewSource().withComponent("portcullis").endSource()
          .withReportingComponent("portcullis.io/certificate-manager").build();
      client.v1().events().inNamespace(c.namespace()).resource(e).create();
    } catch (KubernetesClientException e) {
      log.info("kubernetes: Certificate {}/{}: event {} not recorded: {}", c.namespace(), c.name(), reason,
          e.getMessage());
    }
  }

  /** Returns whether it was written (or the object is gone: nothing to write to). */
  private boolean write(Target t) {
    var op = client.genericKubernetesResources(t.apiVersion(), t.kind());
    var resource = t.namespace().isEmpty() ? op.withName(t.name()) : op.inNamespace(t.namespace()).withName(t.name());
    try {
      GenericKubernetesResource current = resource.get();
      if (current == null) {
        return true;
      }
      current.setAdditionalProperty("status", mapper.convertValue(t.status(), Map.class));
      client.resource(current).updateStatus();
      return true;
    } catch (KubernetesClientException e) {
      log.info("kubernetes: {} {}{}: status not written ({} {}); trying again", t.kind(), t.namespace().isEmpty()
          ? "" : t.namespace() + "/", t.name(), e.getCode(), e.getMessage());
      return false;
    }
  }

  /** A Certificate's {@code status}, as cert-manager's {@code CertificateStatus}. */
  ObjectNode certificateStatus(CertificateStatus c) {
    ObjectNode s = mapper.createObjectNode();
    ArrayNode conditions = s.putArray("conditions");
    condition(conditions, c.ready());
    c.issuing().ifPresent(i -> condition(conditions, i));
    c.notBefore().ifPresent(t -> s.put("notBefore", time(t)));
    c.notAfter().ifPresent(t -> s.put("notAfter", time(t)));
    c.renewalTime().ifPresent(t -> s.put("renewalTime", time(t)));
    if (c.revision() > 0) {
      s.put("revision", c.revision());
    }
    c.lastFailureTime().ifPresent(t -> s.put("lastFailureTime", time(t)));
    if (c.failedIssuanceAttempts() > 0) {
      s.put("failedIssuanceAttempts", c.failedIssuanceAttempts());
    }
    return s;
  }

  private static void condition(ArrayNode conditions, CertificateStatus.Condition c) {
    ObjectNode n = conditions.addObject();
    n.put("type", c.type());
    n.put("status", c.status());
    n.put("reason", c.reason());
    n.put("message", c.message());
    Optional.ofNullable(c.lastTransitionTime()).ifPresent(t -> n.put("lastTransitionTime", time(t)));
  }

  /** metav1.Time: RFC 3339, whole seconds. */
  private static String time(Instant t) {
    return t.truncatedTo(ChronoUnit.SECONDS).toString();
  }

  @Override
  public void close() {
    executor.shutdownNow();
  }
}
