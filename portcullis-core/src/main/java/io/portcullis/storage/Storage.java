package io.portcullis.storage;

import java.io.IOException;
import java.util.List;
import java.util.Map;

/**
 * Keeps Secrets across restarts: issued certificates with their keys, ACME account keys. Implementations: a
 * directory ({@link DirectoryStorage}) and Kubernetes Secrets ({@code io.portcullis.kubernetes.SecretStorage}).
 *
 * <p>Blocking I/O: call it from the certificate manager's executor, never from an event loop. Thread-safe.
 */
public interface Storage {

  /**
   * Reads every stored Secret. An entry that cannot be read or parsed is left out and named in
   * {@link Loaded#problems()}; it never stops the others from loading.
   */
  Loaded load();

  /**
   * Stores {@code secret}, replacing any Secret of the same namespace and name atomically (a reader sees the old or
   * the new one, never a mix).
   *
   * @throws IOException when it cannot be written; the previous entry is then unchanged
   */
  void put(StoredSecret secret) throws IOException;

  /**
   * What {@link #load()} found.
   *
   * @param secrets by {@code namespace/name}
   * @param problems one line per entry left out, naming the entry and why (e.g. a corrupt file)
   */
  record Loaded(Map<String, StoredSecret> secrets, List<String> problems) {
    /** Copies both. */
    public Loaded {
      secrets = Map.copyOf(secrets);
      problems = List.copyOf(problems);
    }
  }
}
