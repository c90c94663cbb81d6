package io.portcullis.etcd;

import io.etcd.jetcd.common.exception.EtcdException;
import io.etcd.jetcd.lease.LeaseGrantResponse;
import io.etcd.jetcd.lease.LeaseKeepAliveResponse;
import io.etcd.jetcd.support.CloseableClient;
import io.grpc.stub.StreamObserver;
import java.io.IOException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The one etcd lease of a process (Lease Grant, then jetcd's KeepAlive, which renews it every third of its TTL):
 * this replica's lock keys and HTTP-01 tokens are attached to it, so that all of them vanish together
 * {@link #TTL_SECONDS} after the replica dies, with no clean-up by anyone. One lease per process rather than per
 * lock: one keep-alive for everything a replica holds, and taking a lock is one Txn instead of a Grant and a Txn.
 *
 * <p>Granted lazily by {@link #current()}. When renewals fail past the TTL (etcd unreachable, or it answers that the
 * lease is gone) the grant is dead: the locks on it report {@code held() == false}, and the next {@link #current()}
 * grants a new lease. Thread-safe.
 */
final class ProcessLease {
  private static final Logger log = LoggerFactory.getLogger(ProcessLease.class);
  /** The lease's TTL: how long after a replica dies its locks and tokens remain. */
  static final long TTL_SECONDS = 15;

  private final EtcdConnection etcd;
  private Grant grant;
  private boolean closed;

  ProcessLease(EtcdConnection etcd) {
    this.etcd = etcd;
  }

  /** One granted lease: its id and until when it is known to live. */
  static final class Grant implements StreamObserver<LeaseKeepAliveResponse> {
    final long id;
    private volatile long deadlineNanos;
    private volatile boolean dead;
    private volatile CloseableClient keepAlive;

    Grant(long id, long ttlSeconds, long grantedAtNanos) {
      this.id = id;
      this.deadlineNanos = grantedAtNanos + TimeUnit.SECONDS.toNanos(ttlSeconds);
    }

    /** Whether the lease still lives: renewed within its TTL and not reported gone. */
    boolean alive() {
      return !dead && System.nanoTime() - deadlineNanos < 0;
    }

    @Override
    public void onNext(LeaseKeepAliveResponse r) {
      if (r.getTTL() > 0) {
        deadlineNanos = System.nanoTime() + TimeUnit.SECONDS.toNanos(r.getTTL());
      } else {
        expire("etcd says it is gone");
      }
    }

    @Override
    public void onError(Throwable t) {
      // jetcd restarts the keep-alive stream after a transient error and keeps this observer; only "not found" ends
      if (t instanceof EtcdException e && e.getErrorCode() == io.etcd.jetcd.common.exception.ErrorCode.NOT_FOUND) {
        expire(t.getMessage());
      } else {
        log.warn("etcd lease {}: keep-alive failed ({}); retrying until it expires", Long.toHexString(id),
            t.getMessage());
      }
    }

    @Override
    public void onCompleted() {
      // jetcd's deadline check: no renewal came within the TTL
      expire("no renewal within " + TTL_SECONDS + " s");
    }

    void expire(String why) {
      if (!dead) {
        dead = true;
        log.warn("etcd lease {}: lost ({}); the locks and HTTP-01 tokens on it are no longer held",
            Long.toHexString(id), why);
        CloseableClient k = keepAlive;
        if (k != null) {
          k.close();
        }
      }
    }
  }

  /**
   * Returns the live lease, granting one (and starting its keep-alive) when there is none or the last one died.
   *
   * @throws IOException when etcd cannot grant one
   */
  synchronized Grant current() throws IOException {
    if (closed) {
      throw new IOException(etcd + ": closed");
    }
    if (grant != null && grant.alive()) {
      return grant;
    }
    long start = System.nanoTime();
    LeaseGrantResponse r = etcd.call(() -> etcd.client().getLeaseClient().grant(TTL_SECONDS),
        "Lease Grant (TTL " + TTL_SECONDS + " s)");
    Grant g = new Grant(r.getID(), r.getTTL(), start);
    g.keepAlive = etcd.client().getLeaseClient().keepAlive(r.getID(), g);
    grant = g;
    log.info("etcd lease {}: granted, TTL {} s", Long.toHexString(g.id), r.getTTL());
    return g;
  }

  /** Stops renewing and revokes the lease, so that what is attached to it goes now. Best effort. */
  synchronized void close() {
    closed = true;
    Grant g = grant;
    grant = null;
    if (g == null) {
      return;
    }
    CloseableClient k = g.keepAlive;
    if (k != null) {
      k.close();
    }
    if (!g.dead) {
      try {
        // one attempt, one second: at a process's end, etcd gone must not hold it up; the TTL cleans up then
        etcd.client().getLeaseClient().revoke(g.id).get(1, TimeUnit.SECONDS);
      } catch (ExecutionException | TimeoutException e) {
        log.warn("etcd lease {}: cannot revoke it ({}); it expires within {} s", Long.toHexString(g.id),
            e.getMessage(), TTL_SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      g.dead = true;
    }
  }
}
