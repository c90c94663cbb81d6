package io.portcullis.kubernetes;

import static java.util.Objects.requireNonNull;

import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.ConfigMapBuilder;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.portcullis.storage.SharedChallenges;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Map;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@link SharedChallenges} as ConfigMaps in the gateway's namespace: one per HTTP-01 token, named
 * {@code portcullis-http01-<sha-256 of the token, 40 hex>}, data {@code key-authorization}, labelled
 * {@code portcullis.io/http01-owner: <sha-256 of the Certificate's namespace/name, 40 hex>} (a label value cannot
 * hold a {@code /}) so that the next holder of a Certificate's lock removes what a dead replica left. Key
 * authorizations are public by design (the CA fetches them over plain HTTP), so a ConfigMap, not a Secret. A read
 * looks in the informer's cache first, then GETs the ConfigMap by name from the API server: a replica reads what
 * the ordering one wrote a moment ago even before its watch has it.
 * Blocking; thread-safe.
 */
public final class ConfigMapChallenges implements SharedChallenges {
  private static final Logger log = LoggerFactory.getLogger(ConfigMapChallenges.class);
  static final String OWNER_LABEL = "portcullis.io/http01-owner";
  static final String DATA_KEY = "key-authorization";
  private final KubernetesClient client;
  private final String namespace;
  private final java.util.function.Function<String, Optional<String>> cache;

  /** Challenges kept in {@code namespace}, every read from the API server. */
  public ConfigMapChallenges(KubernetesClient client, String namespace) {
    this(client, namespace, name -> Optional.empty());
  }

  /**
   * Challenges kept in {@code namespace}, read first from {@code cache} (ConfigMap name to its
   * {@code key-authorization}: the config source's ConfigMap informer), and from the API server only when it misses
   * (the ordering replica wrote a moment before the CA asked).
   */
  public ConfigMapChallenges(KubernetesClient client, String namespace,
      java.util.function.Function<String, Optional<String>> cache) {
    this.client = requireNonNull(client, "client");
    this.namespace = requireNonNull(namespace, "namespace");
    this.cache = requireNonNull(cache, "cache");
  }

  static String hash(String s) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8)))
          .substring(0, 40);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  static String name(String token) {
    return "portcullis-http01-" + hash(token);
  }

  @Override
  public void put(String token, String keyAuthorization, String owner) throws IOException {
    ConfigMap cm = new ConfigMapBuilder().withMetadata(new ObjectMetaBuilder().withNamespace(namespace)
        .withName(name(token)).withLabels(Map.of(OWNER_LABEL, hash(owner)))
        .withAnnotations(Map.of("portcullis.io/certificate", owner)).build())
        .withData(Map.of(DATA_KEY, keyAuthorization)).build();
    try {
      client.resource(cm).createOr(existing -> existing.update());
    } catch (KubernetesClientException e) {
      throw new IOException("ConfigMap " + namespace + "/" + name(token) + ": " + e.getCode() + " " + e.getMessage(),
          e);
    }
  }

  @Override
  public void remove(String token) {
    try {
      client.configMaps().inNamespace(namespace).withName(name(token)).delete();
    } catch (KubernetesClientException e) {
      log.warn("kubernetes: ConfigMap {}/{}: cannot delete it: {}", namespace, name(token), e.getMessage());
    }
  }

  @Override
  public void removeAll(String owner) {
    try {
      client.configMaps().inNamespace(namespace).withLabel(OWNER_LABEL, hash(owner)).delete();
    } catch (KubernetesClientException e) {
      log.warn("kubernetes: HTTP-01 ConfigMaps of {}: cannot delete them: {}", owner, e.getMessage());
    }
  }

  @Override
  public Optional<String> get(String token) throws IOException {
    Optional<String> cached = cache.apply(name(token));
    if (cached.isPresent()) {
      return cached;
    }
    try {
      ConfigMap cm = client.configMaps().inNamespace(namespace).withName(name(token)).get();
      return cm == null || cm.getData() == null ? Optional.empty() : Optional.ofNullable(cm.getData().get(DATA_KEY));
    } catch (KubernetesClientException e) {
      throw new IOException("ConfigMap " + namespace + "/" + name(token) + ": " + e.getCode() + " " + e.getMessage(),
          e);
    }
  }
}
