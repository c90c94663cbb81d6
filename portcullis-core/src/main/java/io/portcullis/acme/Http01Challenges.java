package io.portcullis.acme;

import io.portcullis.storage.SharedChallenges;
import java.io.IOException;
import java.util.Optional;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The HTTP-01 challenges being presented (RFC 8555 §8.3): token to key authorization. The data plane answers
 * {@code GET /.well-known/acme-challenge/<token>} on every plain-HTTP listener from this table, before routing.
 *
 * <p>With replicas, the table is backed by {@link SharedChallenges}: what this replica presents is also written
 * there (before the CA is asked to validate), and a token this replica does not present is looked up there
 * ({@link #lookup}, off the event loop) so that whichever replica a validation request reaches answers it. Only a
 * well-formed token (base64url, RFC 8555 §8.1: at least 22 characters) is looked up, and look-ups are bounded
 * (2 threads, 64 waiting; beyond that a request is answered as a miss and counted in {@code /stats} as
 * {@code http01.shared_lookups_refused}): a client sending random tokens costs the storage at most that, never more,
 * and the shared tables answer from a watch's cache where they keep one (Kubernetes), so a flood of random tokens
 * does not starve the CA's requests there. Thread-safe; {@link #forPath} never blocks.
 */
public final class Http01Challenges {
  private static final Logger log = LoggerFactory.getLogger(Http01Challenges.class);
  /** The path prefix the CA requests (RFC 8555 §8.3). */
  public static final String PATH_PREFIX = "/.well-known/acme-challenge/";
  /** RFC 8555 §8.1: base64url, at least 128 bits of entropy. */
  private static final Pattern TOKEN = Pattern.compile("[A-Za-z0-9_-]{22,128}");

  private final ConcurrentHashMap<String, String> byToken = new ConcurrentHashMap<>();
  private final Optional<SharedChallenges> shared;
  private final Executor lookups;
  private final java.util.concurrent.atomic.LongAdder refused = new java.util.concurrent.atomic.LongAdder();

  /** A table of this process only. */
  public Http01Challenges() {
    this(Optional.empty());
  }

  /** A table backed by {@code shared} when present. */
  public Http01Challenges(Optional<SharedChallenges> shared) {
    this.shared = shared;
    ThreadPoolExecutor pool = new ThreadPoolExecutor(2, 2, 30, TimeUnit.SECONDS, new ArrayBlockingQueue<>(64),
        r -> {
          Thread t = new Thread(r, "portcullis-http01-lookup");
          t.setDaemon(true);
          return t;
        });
    pool.allowCoreThreadTimeOut(true);
    this.lookups = pool;
  }

  /** Returns the key authorization to answer for {@code token}, if this replica presents that challenge. */
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

  /**
   * Whether a request for {@code path} that {@link #forPath} missed should be looked up in the shared table: there
   * is one, and the path names a well-formed token.
   */
  public boolean sharedLookupFor(String path) {
    return shared.isPresent() && path.startsWith(PATH_PREFIX)
        && TOKEN.matcher(path.substring(PATH_PREFIX.length())).matches();
  }

  /**
   * Looks the token of {@code path} up in the shared table, off the caller's thread. Completes (on a look-up
   * thread) with the key authorization, or empty when no replica presents it, the storage cannot be reached or too
   * many look-ups are waiting; never exceptionally.
   */
  public CompletableFuture<Optional<String>> lookup(String path) {
    if (!sharedLookupFor(path)) {
      return CompletableFuture.completedFuture(Optional.empty());
    }
    String token = path.substring(PATH_PREFIX.length());
    CompletableFuture<Optional<String>> out = new CompletableFuture<>();
    try {
      lookups.execute(() -> {
        try {
          out.complete(shared.get().get(token));
        } catch (IOException | RuntimeException e) {
          log.warn("acme: HTTP-01 token {}: cannot read the shared challenges: {}", token, e.getMessage());
          out.complete(Optional.empty());
        }
      });
    } catch (RejectedExecutionException e) {
      refused.increment();
      out.complete(Optional.empty());
    }
    return out;
  }

  /** Returns how many shared look-ups were refused because too many were waiting. */
  public long lookupsRefused() {
    return refused.sum();
  }

  /**
   * Starts answering {@code token}: here, and on every replica through the shared table (written first; blocking).
   *
   * @param owner the Certificate ({@code namespace/name}) whose order it is
   * @throws IOException when the shared table cannot be written: the challenge must not be triggered then
   */
  public void present(String token, String keyAuthorization, String owner) throws IOException {
    if (shared.isPresent()) {
      shared.get().put(token, keyAuthorization, owner);
    }
    byToken.put(token, keyAuthorization);
  }

  /** Stops answering {@code token}, here and in the shared table (best effort). */
  public void remove(String token) {
    byToken.remove(token);
    shared.ifPresent(s -> s.remove(token));
  }

  /** Returns how many challenges this replica presents. */
  public int size() {
    return byToken.size();
  }
}
