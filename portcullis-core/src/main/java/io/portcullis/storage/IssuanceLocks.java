package io.portcullis.storage;

import static java.util.Objects.requireNonNull;

import java.io.IOException;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * One lock per Certificate, so that N replicas sharing a {@link Storage} order each certificate once (as CertMagic
 * and Caddy do): a replica takes the lock before it issues, reads the stored Secret again once it holds it, and
 * releases it when the Secret is stored or the attempt failed. A held lock is renewed by the implementation until
 * released and expires when its holder dies (a Kubernetes {@code coordination.k8s.io/v1 Lease}'s
 * {@code leaseDurationSeconds}, an etcd lease's TTL), so a replica killed mid-order delays the certificate by that
 * long and loses nothing.
 *
 * <p>Each lock carries <em>notes</em> that outlive its holders: the shared back-off (so that a failing certificate
 * is tried once per back-off period across all replicas, not once per replica) and the clean-ups a holder owed when
 * it died (TXT records, HTTP-01 tokens). Keys and values are short strings, named by the certificate manager.
 *
 * <p>Implementations: {@link #local} (one process, nothing shared), Kubernetes Leases
 * ({@code io.portcullis.kubernetes.LeaseLocks}), etcd leases. Blocking I/O: call it from the certificate manager's
 * threads, never from an event loop. Thread-safe.
 */
public interface IssuanceLocks extends AutoCloseable {

  /** Returns this replica's identity: a Lease's {@code holderIdentity}, an etcd lock's owner, log lines. */
  String identity();

  /**
   * Tries once to take lock {@code name}, without waiting: {@code namespace/name} of a Certificate, or
   * {@code namespace/portcullis-account.name} for an ACME account key Secret (each part a DNS-1123 subdomain).
   *
   * @throws IOException when the backend cannot be reached or answers an error; nothing is held then
   */
  Attempt tryAcquire(String name) throws IOException;

  /** Stops renewing every lock still held and releases them, best effort. */
  @Override
  void close();

  /** The outcome of {@link #tryAcquire}. */
  sealed interface Attempt permits Acquired, Held {}

  /**
   * Taken.
   *
   * @param notes what the previous holders left (empty for a new lock)
   */
  record Acquired(Lock lock, Map<String, String> notes) implements Attempt {
    /** Copies the notes. */
    public Acquired {
      requireNonNull(lock, "lock");
      notes = Map.copyOf(notes);
    }
  }

  /**
   * Held by another replica.
   *
   * @param holder its identity
   * @param notes the lock's notes as last written
   */
  record Held(String holder, Map<String, String> notes) implements Attempt {
    /** Copies the notes. */
    public Held {
      requireNonNull(holder, "holder");
      notes = Map.copyOf(notes);
    }
  }

  /** A lock this replica holds, renewed in the background until {@link #release}. Thread-safe. */
  interface Lock {
    /**
     * Whether it is still held: false once released, or once renewals failed for so long that another replica may
     * take it soon (Kubernetes: 2/3 of the lease; etcd: the lease's keep-alive lost).
     */
    boolean held();

    /**
     * Replaces the lock's notes now, while holding it: what must survive this replica dying (a clean-up it owes).
     *
     * @throws IOException when they cannot be written
     */
    void note(Map<String, String> notes) throws IOException;

    /** Releases the lock, leaving {@code notes} (replacing the previous ones) for the next holder. Best effort. */
    void release(Map<String, String> notes);
  }

  /** Locks for one process: always taken unless this process holds them already; notes kept in memory. */
  static IssuanceLocks local(String identity) {
    return new LocalLocks(identity);
  }

  /** {@link IssuanceLocks#local}. */
  final class LocalLocks implements IssuanceLocks {
    private final String identity;
    private final Map<String, Map<String, String>> notes = new ConcurrentHashMap<>();
    private final Map<String, Boolean> held = new ConcurrentHashMap<>();

    private LocalLocks(String identity) {
      this.identity = requireNonNull(identity, "identity");
    }

    @Override
    public String identity() {
      return identity;
    }

    @Override
    public Attempt tryAcquire(String name) {
      Map<String, String> n = notes.getOrDefault(name, Map.of());
      if (held.putIfAbsent(name, Boolean.TRUE) != null) {
        return new Held(identity, n);
      }
      return new Acquired(new Lock() {
        private volatile boolean mine = true;

        @Override
        public boolean held() {
          return mine;
        }

        @Override
        public void note(Map<String, String> next) {
          notes.put(name, Map.copyOf(next));
        }

        @Override
        public void release(Map<String, String> next) {
          if (mine) {
            mine = false;
            notes.put(name, Map.copyOf(next));
            held.remove(name);
          }
        }
      }, n);
    }

    @Override
    public void close() {
      held.clear();
    }
  }
}
