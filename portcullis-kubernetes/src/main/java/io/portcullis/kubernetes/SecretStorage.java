package io.portcullis.kubernetes;

import static java.util.Objects.requireNonNull;

import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.SecretBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.portcullis.storage.Storage;
import io.portcullis.storage.StoredSecret;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Kubernetes Secrets as the certificate manager's {@link Storage}: an issued certificate is the
 * {@code kubernetes.io/tls} Secret cert-manager would write ({@code tls.crt}, {@code tls.key}, {@code ca.crt}, its
 * {@code cert-manager.io/*} annotations, its {@code controller.cert-manager.io/fao: "true"} label), where it would
 * write it, so that a cluster can move from cert-manager to Portcullis and back; an ACME account key is the Opaque
 * Secret {@code privateKeySecretRef} names, key {@code tls.key}, as cert-manager stores it.
 *
 * <p>What is loaded: the Secrets of the watched namespaces that cert-manager or Portcullis wrote, i.e. those with a
 * {@code cert-manager.io/certificate-name} or {@code portcullis.io/acme-server} annotation. A write reads the
 * Secret, sets what the manager owns (its type, data and those annotations; other annotations and labels are kept)
 * and updates it with the read {@code resourceVersion}: a 409 (someone else wrote in between) is retried on the
 * fresh object, up to 5 times, so nothing another writer changed is lost. Plain updates (PUT), no server-side apply:
 * fabric8's mock server refuses it. Blocking: the certificate manager's thread only.
 */
public final class SecretStorage implements Storage {
  private static final Logger log = LoggerFactory.getLogger(SecretStorage.class);
  static final String CERTIFICATE_NAME = "cert-manager.io/certificate-name";
  static final String ACME_SERVER = "portcullis.io/acme-server";
  /** The revision Portcullis writes on an issued Secret (cert-manager does not). */
  static final String REVISION = "portcullis.io/revision";
  /** cert-manager's label on the Secrets it manages (since 1.12), which its informers filter on. */
  static final String FAO_LABEL = "controller.cert-manager.io/fao";
  private static final int ATTEMPTS = 5;
  private final KubernetesClient client;
  private final List<String> namespaces;
  private final java.util.function.Consumer<Listener> subscriptions;

  /**
   * Creates a storage on {@code client}.
   *
   * @param namespaces {@code --watch-namespaces}: where Secrets are loaded from; empty for all
   */
  public SecretStorage(KubernetesClient client, List<String> namespaces) {
    this(client, namespaces, l -> { });
  }

  /**
   * As {@link #SecretStorage(KubernetesClient, List)}; {@link #subscribe} hands listeners to {@code subscriptions}
   * (the config source's Secret informer, so that Secrets are watched once).
   */
  public SecretStorage(KubernetesClient client, List<String> namespaces,
      java.util.function.Consumer<Listener> subscriptions) {
    this.client = requireNonNull(client, "client");
    this.namespaces = List.copyOf(namespaces);
    this.subscriptions = requireNonNull(subscriptions, "subscriptions");
  }

  /** Secrets other replicas store, as the config source's informer sees them. */
  @Override
  public void subscribe(Listener listener) {
    subscriptions.accept(listener);
  }

  @Override
  public Loaded load() {
    Map<String, StoredSecret> out = new LinkedHashMap<>();
    List<String> problems = new ArrayList<>();
    List<Secret> secrets = new ArrayList<>();
    try {
      if (namespaces.isEmpty()) {
        secrets.addAll(client.secrets().inAnyNamespace().list().getItems());
      } else {
        for (String ns : namespaces) {
          secrets.addAll(client.secrets().inNamespace(ns).list().getItems());
        }
      }
    } catch (KubernetesClientException e) {
      problems.add("Secrets: cannot list them at " + client.getMasterUrl() + ": " + e.getMessage());
    }
    for (Secret s : secrets) {
      if (!managed(s)) {
        continue; // not the manager's
      }
      String key = s.getMetadata().getNamespace() + "/" + s.getMetadata().getName();
      try {
        out.put(key, toStored(s));
      } catch (IllegalArgumentException e) {
        problems.add("Secret " + key + ": data is not base64 (" + e.getMessage() + "); it will be issued again");
      }
    }
    return new Loaded(out, problems);
  }

  private static int revision(Map<String, String> annotations) {
    try {
      return annotations == null ? 0 : Integer.parseInt(annotations.getOrDefault(REVISION, "0"));
    } catch (NumberFormatException e) {
      return 0;
    }
  }

  /** Returns whether {@code s} is one the manager wrote: annotated {@code cert-manager.io/certificate-name} or
   * {@code portcullis.io/acme-server}. */
  static boolean managed(Secret s) {
    Map<String, String> a = s.getMetadata().getAnnotations();
    return a != null && (a.containsKey(CERTIFICATE_NAME) || a.containsKey(ACME_SERVER));
  }

  /**
   * Converts a Secret object.
   *
   * @throws IllegalArgumentException when a data value is not base64
   */
  static StoredSecret toStored(Secret s) {
    Map<String, byte[]> data = new LinkedHashMap<>();
    if (s.getData() != null) {
      s.getData().forEach((k, v) -> data.put(k, Base64.getDecoder().decode(v == null ? "" : v)));
    }
    return new StoredSecret(s.getMetadata().getNamespace(), s.getMetadata().getName(),
        s.getType() == null ? "Opaque" : s.getType(), s.getMetadata().getAnnotations() == null ? Map.of()
        : s.getMetadata().getAnnotations(), data);
  }

  @Override
  public Optional<StoredSecret> read(String key) throws IOException {
    String[] nn = key.split("/", 2);
    try {
      Secret s = client.secrets().inNamespace(nn[0]).withName(nn[1]).get();
      return s == null ? Optional.empty() : Optional.of(toStored(s));
    } catch (KubernetesClientException e) {
      throw new IOException("Secret " + key + ": cannot read it at " + client.getMasterUrl() + ": " + e.getCode()
          + " " + e.getMessage(), e);
    } catch (IllegalArgumentException e) {
      return Optional.empty(); // data not base64: as load() leaves it out, it is issued again
    }
  }

  @Override
  public void put(StoredSecret secret) throws IOException {
    Map<String, String> data = new LinkedHashMap<>();
    secret.data().forEach((k, v) -> data.put(k, Base64.getEncoder().encodeToString(v)));
    KubernetesClientException last = null;
    for (int attempt = 1; attempt <= ATTEMPTS; attempt++) {
      try {
        var resource = client.secrets().inNamespace(secret.namespace()).withName(secret.name());
        Secret current = resource.get();
        if (current == null) {
          client.resource(new SecretBuilder().withMetadata(new ObjectMetaBuilder().withNamespace(secret.namespace())
              .withName(secret.name()).withAnnotations(secret.annotations()).withLabels(Map.of(FAO_LABEL, "true"))
              .build()).withType(secret.type()).withData(data).build()).create();
        } else {
          int stored = revision(current.getMetadata().getAnnotations());
          int ours = revision(secret.annotations());
          if (stored > ours) {
            throw new IOException("Secret " + secret.key() + ": revision " + stored + " is stored, newer than "
                + ours + " (another replica issued it meanwhile); not overwritten");
          }
          Map<String, String> annotations = new LinkedHashMap<>(current.getMetadata().getAnnotations() == null
              ? Map.of() : current.getMetadata().getAnnotations());
          annotations.putAll(secret.annotations());
          Map<String, String> labels = new LinkedHashMap<>(current.getMetadata().getLabels() == null ? Map.of()
              : current.getMetadata().getLabels());
          labels.put(FAO_LABEL, "true");
          Secret next = new SecretBuilder(current).editMetadata().withAnnotations(annotations).withLabels(labels)
              .endMetadata().withType(secret.type()).withData(data).withStringData(null).build();
          // the read resourceVersion stays: the API server refuses the update (409) if someone wrote meanwhile
          client.resource(next).update();
        }
        return;
      } catch (KubernetesClientException e) {
        if (e.getCode() != 409) {
          throw new IOException("Secret " + secret.key() + ": the API server refused the write: " + e.getCode() + " "
              + e.getMessage(), e);
        }
        last = e;
        log.info("kubernetes: Secret {} changed while it was written (409, attempt {} of {}); retrying on the "
            + "fresh object", secret.key(), attempt, ATTEMPTS);
      }
    }
    throw new IOException("Secret " + secret.key() + ": still conflicting (409) after " + ATTEMPTS + " attempts",
        last);
  }
}
