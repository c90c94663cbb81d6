package io.portcullis.storage;

import static java.util.Objects.requireNonNull;

import java.util.Map;
import java.util.TreeMap;

/**
 * A Secret as the certificate manager keeps it: what cert-manager would write to the Kubernetes API.
 *
 * @param namespace {@code metadata.namespace}
 * @param name {@code metadata.name}
 * @param type {@code type}, e.g. {@code kubernetes.io/tls} (RFC 7468 PEM in {@code tls.crt}, {@code tls.key},
 *     {@code ca.crt}) or {@code Opaque}
 * @param annotations {@code metadata.annotations}: cert-manager's {@code cert-manager.io/issuer-name},
 *     {@code cert-manager.io/issuer-kind}, {@code cert-manager.io/certificate-name}, ...
 * @param data key to bytes (not base64). {@link #toString()} never shows values.
 */
public record StoredSecret(String namespace, String name, String type, Map<String, String> annotations,
    Map<String, byte[]> data) {

  /** Copies the maps (sorted, so that a file's bytes depend only on its content) and checks for nulls. */
  public StoredSecret {
    requireNonNull(namespace, "namespace");
    requireNonNull(name, "name");
    requireNonNull(type, "type");
    annotations = java.util.Collections.unmodifiableSortedMap(new TreeMap<>(annotations));
    data = java.util.Collections.unmodifiableSortedMap(new TreeMap<>(data));
  }

  /** Returns {@code namespace/name}. */
  public String key() {
    return namespace + "/" + name;
  }

  @Override
  public String toString() {
    return "Secret " + key() + " " + data.keySet() + " (values redacted)";
  }
}
