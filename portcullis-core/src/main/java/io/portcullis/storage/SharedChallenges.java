package io.portcullis.storage;

import java.io.IOException;
import java.util.Optional;

/**
 * HTTP-01 key authorizations (RFC 8555 §8.3) shared by every replica: the replica that places an order writes them
 * here before it asks the CA to validate, and whichever replica a validation request reaches reads them when its own
 * table ({@code io.portcullis.acme.Http01Challenges}) misses, so each of the CA's requests (several per challenge,
 * from several perspectives) is answered wherever it lands. Implementations: Kubernetes ConfigMaps
 * ({@code io.portcullis.kubernetes.ConfigMapChallenges}), etcd keys.
 *
 * <p>Blocking I/O: never call it from an event loop. Thread-safe.
 */
public interface SharedChallenges {

  /**
   * Publishes the key authorization for {@code token}; returns once a read from any replica sees it.
   *
   * @param owner the Certificate ({@code namespace/name}) whose order it belongs to, so that the next holder of its
   *     lock can remove what a dead replica left
   * @throws IOException when it cannot be written (the challenge must not be triggered then)
   */
  void put(String token, String keyAuthorization, String owner) throws IOException;

  /** Removes {@code token}. Best effort: a failure is logged, never thrown. */
  void remove(String token);

  /** Removes every token of {@code owner}'s orders (left by a replica that died mid-order). Best effort. */
  void removeAll(String owner);

  /**
   * Reads the key authorization for {@code token}.
   *
   * @throws IOException when the backend cannot be reached
   */
  Optional<String> get(String token) throws IOException;
}
