package io.portcullis.certs;

import io.portcullis.storage.StoredSecret;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * The stored Secrets this replica serves, by {@code namespace/name}: what it stored itself and what other replicas
 * stored (their newer revisions win; an echo of its own write changes nothing). Copy on write: readers never lock;
 * written from the certificate manager's thread and from the storage's (another replica's Secret, served at once).
 */
final class ServedSecrets implements AutoCloseable {
  private volatile Map<String, StoredSecret> all;
  private final Runnable onChanged;
  /** Runs {@link #onChanged} for Secrets other replicas stored ({@link #serveSoon}); one pending run at a time. */
  private final ExecutorService serving = Executors.newSingleThreadExecutor(r -> {
    Thread t = new Thread(r, "portcullis-certs-serve");
    t.setDaemon(true);
    return t;
  });
  private final AtomicBoolean pending = new AtomicBoolean();

  /** @param onChanged the gateway serving what changed (the manager's {@code onSecretsChanged}) */
  ServedSecrets(Map<String, StoredSecret> loaded, Runnable onChanged) {
    this.all = new LinkedHashMap<>(loaded);
    this.onChanged = onChanged;
  }

  /**
   * Runs {@code onChanged} on the serving thread, once for a burst: the storage's thread goes back to its events at
   * once, and Secrets that arrive while the gateway rebuilds its TLS contexts are served by the next run.
   */
  void serveSoon() {
    if (!pending.getAndSet(true)) {
      try {
        serving.execute(() -> {
          pending.set(false);
          onChanged.run();
        });
      } catch (RejectedExecutionException closed) {
        pending.set(false);
      }
    }
  }

  @Override
  public void close() {
    serving.shutdownNow();
  }

  /** Every served Secret, unmodifiable, as of now. */
  Map<String, StoredSecret> all() {
    return Collections.unmodifiableMap(all);
  }

  /** The served Secret {@code key}, or null. */
  StoredSecret get(String key) {
    return all.get(key);
  }

  /**
   * Serves {@code s}.
   *
   * @param unlessOlder only if the served copy differs and is not newer (by {@code portcullis.io/revision}): a
   *     Secret another replica stored
   * @return whether it was put
   */
  synchronized boolean put(StoredSecret s, boolean unlessOlder) {
    StoredSecret cur = all.get(s.key());
    if (unlessOlder && cur != null && (SharedIssuance.sameWrite(cur, s)
        || IssuedSecret.revision(s) < IssuedSecret.revision(cur))) {
      return false;
    }
    Map<String, StoredSecret> next = new LinkedHashMap<>(all);
    next.put(s.key(), s);
    all = next;
    return true;
  }

  /** Stops serving {@code key} (deleted from the storage); returns whether it was served. */
  synchronized boolean remove(String key) {
    if (!all.containsKey(key)) {
      return false;
    }
    Map<String, StoredSecret> next = new LinkedHashMap<>(all);
    next.remove(key);
    all = next;
    return true;
  }
}
