package io.portcullis.acme;

import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The HTTP-01 challenges being presented (RFC 8555 §8.3): token to key authorization. The data plane answers
 * {@code GET /.well-known/acme-challenge/<token>} on every plain-HTTP listener from this table, before routing.
 * Thread-safe; lookups never block.
 */
public final class Http01Challenges {
  /** The path prefix the CA requests (RFC 8555 §8.3). */
  public static final String PATH_PREFIX = "/.well-known/acme-challenge/";

  private final ConcurrentHashMap<String, String> byToken = new ConcurrentHashMap<>();

  /** Returns the key authorization to answer for {@code token}, if that challenge is being presented. */
  public Optional<String> keyAuthorization(String token) {
    return Optional.ofNullable(byToken.get(token));
  }

  /** Returns the key authorization for a request path {@code /.well-known/acme-challenge/<token>}, if presented. */
  public Optional<String> forPath(String path) {
    if (!path.startsWith(PATH_PREFIX) || byToken.isEmpty()) {
      return Optional.empty();
    }
    return keyAuthorization(path.substring(PATH_PREFIX.length()));
  }

  /** Starts answering {@code token}. */
  public void present(String token, String keyAuthorization) {
    byToken.put(token, keyAuthorization);
  }

  /** Stops answering {@code token}. */
  public void remove(String token) {
    byToken.remove(token);
  }

  /** Returns how many challenges are being presented. */
  public int size() {
    return byToken.size();
  }
}
