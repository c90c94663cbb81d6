package io.portcullis.kubernetes;

import static java.util.Objects.requireNonNull;

import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.extended.leaderelection.LeaderCallbacks;
import io.fabric8.kubernetes.client.extended.leaderelection.LeaderElectionConfigBuilder;
import io.fabric8.kubernetes.client.extended.leaderelection.resourcelock.LeaseLock;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Status written by one replica: fabric8's leader election (client-go's algorithm) on the Lease
 * {@code portcullis-status} in the gateway's namespace (lease 15 s, renew deadline 10 s, retry 2 s, released on
 * close); the leader runs a {@link StatusWriter}, the others none, so N replicas never race on status or record an
 * Event N times. The leader's view is complete: a Certificate another replica issues shows {@code Issuing} until its
 * Secret arrives, and failures come from the issuance lock's shared notes.
 */
public final class StatusLeader implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(StatusLeader.class);
  static final String LEASE = "portcullis-status";
  private final KubernetesClient client;
  private final String namespace;
  private final String identity;
  private final Supplier<StatusWriter> writers;
  private StatusWriter writer; // guarded by this
  private CompletableFuture<?> election; // guarded by this
  private volatile boolean closed;

  /**
   * Starts electing; {@code writers} makes the writer when this replica leads. A replica that loses the lead (it
   * could not renew within the deadline: the API server away) stops writing and stands again, as client-go's
   * controllers do when run in a loop.
   *
   * @param namespace where the Lease is
   * @param identity this replica's identity, the Lease's {@code holderIdentity}
   */
  public StatusLeader(KubernetesClient client, String namespace, String identity, Supplier<StatusWriter> writers) {
    this.client = requireNonNull(client, "client");
    this.namespace = requireNonNull(namespace, "namespace");
    this.identity = requireNonNull(identity, "identity");
    this.writers = requireNonNull(writers, "writers");
    stand();
  }

  /** Joins the election (fabric8's elector runs once: its future ends when the lead is lost). */
  private synchronized void stand() {
    if (closed) {
      return;
    }
    election = client.leaderElector().withConfig(new LeaderElectionConfigBuilder()
        .withName(LEASE)
        .withLock(new LeaseLock(namespace, LEASE, identity))
        .withLeaseDuration(Duration.ofSeconds(15))
        .withRenewDeadline(Duration.ofSeconds(10))
        .withRetryPeriod(Duration.ofSeconds(2))
        .withReleaseOnCancel(true)
        .withLeaderCallbacks(new LeaderCallbacks(this::lead, this::follow,
            leader -> log.info("kubernetes: status is written by replica {}", leader)))
        .build()).build().start();
    election.whenComplete((v, err) -> {
      if (!closed) {
        follow();
        log.info("kubernetes: the status election ended ({}); standing again in 2 s",
            err == null ? "lead lost" : err.toString());
        CompletableFuture.delayedExecutor(2, java.util.concurrent.TimeUnit.SECONDS).execute(this::stand);
      }
    });
  }

  private synchronized void lead() {
    if (writer == null) {
      writer = writers.get();
      log.info("kubernetes: this replica leads (Lease {}): writing status", LEASE);
    }
  }

  private synchronized void follow() {
    if (writer != null) {
      writer.close();
      writer = null;
      log.info("kubernetes: this replica no longer leads (Lease {}): not writing status", LEASE);
    }
  }

  @Override
  public void close() {
    closed = true;
    synchronized (this) {
      election.cancel(true); // releases the Lease (releaseOnCancel)
    }
    follow();
  }
}
