package io.portcullis.config;

import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Path;

/**
 * One Kubernetes object read from a manifest, as {@code kubectl apply} would take it.
 *
 * @param apiVersion the object's {@code apiVersion}, e.g. {@code networking.istio.io/v1}
 * @param kind the object's {@code kind}, e.g. {@code Gateway}
 * @param namespace {@code metadata.namespace}, or the default namespace when the manifest has none
 * @param name {@code metadata.name}
 * @param source the file it was read from
 * @param body the whole object as a JSON tree (never mutated after construction)
 */
public record Resource(String apiVersion, String kind, String namespace, String name, Path source, JsonNode body) {

  /** Checks that no component is null. */
  public Resource {
    requireNonNull(apiVersion, "apiVersion");
    requireNonNull(kind, "kind");
    requireNonNull(namespace, "namespace");
    requireNonNull(name, "name");
    requireNonNull(source, "source");
    requireNonNull(body, "body");
  }

  /** Returns the API group of {@link #apiVersion()}: {@code ""} for the core group ({@code v1}). */
  public String group() {
    int slash = apiVersion.indexOf('/');
    return slash < 0 ? "" : apiVersion.substring(0, slash);
  }

  /** Returns {@code Kind namespace/name}, the form every message about this object uses. */
  public String id() {
    return kind + " " + namespace + "/" + name;
  }

  /** Returns {@code namespace/name}. */
  public String key() {
    return namespace + "/" + name;
  }

  @Override
  public String toString() {
    return id() + " (" + source + ")"; // never the body: a Secret's body holds key material
  }
}
