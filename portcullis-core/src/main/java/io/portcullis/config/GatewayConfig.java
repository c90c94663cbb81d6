package io.portcullis.config;

import java.util.List;
import java.util.Map;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * The validated, translated configuration: what the data plane serves. Immutable; swapped whole.
 *
 * @param listeners by Gateway port number
 * @param secrets every Secret of the snapshot by {@code namespace/name}, raw (decoded) key to bytes; ConfigMaps too,
 *     by {@link #CONFIG_MAP_PREFIX}{@code namespace/name} (Istio's {@code caCertCredentialName} may name one)
 * @param problems what was reported while translating
 * @param generation the {@link Snapshot#generation()} it came from
 * @param statuses the objects whose {@code status} Portcullis computes (Gateway API objects, Ingresses), in
 *     snapshot order
 */
public record GatewayConfig(SortedMap<Integer, ListenerConfig> listeners, Map<String, SecretData> secrets,
    List<Problem> problems, long generation, List<ObjectStatus> statuses) {

  /** The prefix of a ConfigMap's key in {@link #secrets()}: {@code configmap:namespace/name}. */
  public static final String CONFIG_MAP_PREFIX = "configmap:";

  /** Copies the collections. */
  public GatewayConfig {
    listeners = java.util.Collections.unmodifiableSortedMap(new TreeMap<>(listeners));
    secrets = Map.copyOf(secrets);
    problems = List.copyOf(problems);
    statuses = List.copyOf(statuses);
  }

  /** The configuration before any snapshot: nothing served. */
  public static GatewayConfig empty() {
    return new GatewayConfig(new TreeMap<>(), Map.of(), List.of(), 0, List.of());
  }

  /**
   * A Secret's decoded contents. {@link #toString()} never shows values.
   *
   * @param key {@code namespace/name}
   * @param source the file it came from
   * @param data key to bytes ({@code data} base64-decoded, {@code stringData} UTF-8 encoded; stringData wins)
   */
  public record SecretData(String key, String source, Map<String, byte[]> data) {
    /** Copies the map. */
    public SecretData {
      data = Map.copyOf(data);
    }

    @Override
    public String toString() {
      return "Secret " + key + " " + data.keySet() + " (values redacted)";
    }
  }
}
