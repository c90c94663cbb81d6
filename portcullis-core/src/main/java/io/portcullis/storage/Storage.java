package io.portcullis.storage;

import java.io.IOException;
import java.util.List;
import java.util.Map;
import java.util.Optional;

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
   * Reads Secret {@code key} ({@code namespace/name}) as stored now, not from a cache: what a replica reads again
   * once it holds a certificate's lock, since another may have stored it meanwhile.
   *
   * @return the Secret; empty when there is none, or when it cannot be parsed (as {@link #load()} leaves such an
   *     entry out, it is issued again and replaced)
   * @throws IOException when the storage cannot be read
   */
  Optional<StoredSecret> read(String key) throws IOException;

  /**
   * Tells {@code listener} of Secrets another writer (another replica) stores or deletes from now on, as soon as
   * the backend says so (a Kubernetes watch, an etcd watch). Storage that only this process writes (a directory)
   * never calls it. A change may be one this process made itself; the listener tells by content.
   */
  default void subscribe(Listener listener) {}

  /** Told of changes by {@link #subscribe}; called on the storage's own thread, never blocking it long. */
  interface Listener {
    /** Secret {@code secret} was stored. */
    void stored(StoredSecret secret);

    /** Secret {@code key} ({@code namespace/name}) was deleted. */
    void deleted(String key);
  }

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
