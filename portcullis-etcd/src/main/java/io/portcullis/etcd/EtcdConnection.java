package io.portcullis.etcd;

import static java.util.Objects.requireNonNull;

import io.etcd.jetcd.Client;
import io.etcd.jetcd.ClientBuilder;
import io.etcd.jetcd.common.exception.ErrorCode;
import io.etcd.jetcd.common.exception.EtcdException;
import io.etcd.jetcd.options.GetOption;
import io.grpc.Status;
import io.grpc.netty.GrpcSslContexts;
import io.netty.handler.ssl.SslContextBuilder;
import io.portcullis.storage.IssuanceLocks;
import io.portcullis.storage.SharedChallenges;
import io.portcullis.storage.Storage;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A connection to an etcd v3 cluster ({@code --storage etcd://host:port,...}), and the factory of everything that
 * lives there: {@link #storage()}, {@link #locks(String)}, {@link #challenges()}. It owns the jetcd {@link Client}
 * (gRPC over grpc-netty on Portcullis's own Netty 4.2; gRPC's round_robin policy keeps a connection to every member
 * and sends each call to one that is up), one thread for watch callbacks and re-watches, and the process lease ({@link ProcessLease}) that this
 * replica's locks and HTTP-01 tokens are attached to, so that they vanish by themselves when it dies.
 *
 * <p>Every call blocks for at most {@link Options#timeout()} (5 s by default) and then throws an {@link IOException}
 * naming the endpoints: never a hang. Inside it, an attempt unanswered for a third of it, or failing as unavailable
 * (a member killed, a leader election), is made again: every operation here is safe to repeat. Thread-safe.
 * etcd APIs used: KV (Range, Put, DeleteRange, Txn), Lease (Grant, KeepAlive, Revoke), Watch.
 */
public final class EtcdConnection implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(EtcdConnection.class);
  private static final int DEFAULT_PORT = 2379;
  private static final AtomicInteger THREADS = new AtomicInteger();

  private final Client client;
  private final List<URI> endpoints;
  private final Duration timeout;
  private final ScheduledExecutorService executor;
  private final ProcessLease lease;
  private final EtcdLocks.Registry held = new EtcdLocks.Registry();
  private final EtcdStorage storage;
  private final EtcdChallenges challenges;

  /**
   * Options of a connection: TLS files (with {@code etcds://}), authentication, the call timeout.
   *
   * @param caFile PEM certificates that sign the members' server certificates (etcd's {@code --trusted-ca-file});
   *     empty for the JDK's trust store. Only with {@code etcds://}.
   * @param certFile PEM client certificate chain for mutual TLS (etcd's {@code --client-cert-auth}); with
   *     {@code keyFile}. Only with {@code etcds://}.
   * @param keyFile PEM private key of {@code certFile} (PKCS#8, or PKCS#1/SEC 1)
   * @param user etcd user (etcd's {@code auth enable}); with {@code password}
   * @param password that user's password; {@link #toString()} never shows it
   * @param timeout how long one call may take, retries included (expected: > 0)
   */
  public record Options(Optional<Path> caFile, Optional<Path> certFile, Optional<Path> keyFile,
      Optional<String> user, Optional<String> password, Duration timeout) {

    /** Checks that files and credentials come in pairs and the timeout is positive. */
    public Options {
      requireNonNull(caFile, "caFile");
      requireNonNull(certFile, "certFile");
      requireNonNull(keyFile, "keyFile");
      requireNonNull(user, "user");
      requireNonNull(password, "password");
      requireNonNull(timeout, "timeout");
      if (certFile.isPresent() != keyFile.isPresent()) {
        throw new IllegalArgumentException("etcd client certificate: certFile and keyFile"
            + " (expected: both or neither)");
      }
      if (user.isPresent() != password.isPresent()) {
        throw new IllegalArgumentException("etcd authentication: user and password (expected: both or neither)");
      }
      if (timeout.isNegative() || timeout.isZero()) {
        throw new IllegalArgumentException("etcd timeout: " + timeout + " (expected: > 0)");
      }
    }

    /** Returns plain options: no TLS files, no authentication, a 5 s timeout. */
    public static Options defaults() {
      return new Options(Optional.empty(), Optional.empty(), Optional.empty(), Optional.empty(), Optional.empty(),
          Duration.ofSeconds(5));
    }

    /** Returns these options with CA file {@code file}. */
    public Options withCaFile(Path file) {
      return new Options(Optional.of(file), certFile, keyFile, user, password, timeout);
    }

    /** Returns these options with client certificate {@code cert} and its key {@code key}. */
    public Options withClientCertificate(Path cert, Path key) {
      return new Options(caFile, Optional.of(cert), Optional.of(key), user, password, timeout);
    }

    /** Returns these options authenticating as {@code user} with {@code password}. */
    public Options withUser(String user, String password) {
      return new Options(caFile, certFile, keyFile, Optional.of(user), Optional.of(password), timeout);
    }

    /** Returns these options with call timeout {@code timeout}. */
    public Options withTimeout(Duration timeout) {
      return new Options(caFile, certFile, keyFile, user, password, timeout);
    }

    boolean tlsFiles() {
      return caFile.isPresent() || certFile.isPresent();
    }

    @Override
    public String toString() {
      return "Options[caFile=" + caFile + ", certFile=" + certFile + ", keyFile=" + keyFile + ", user=" + user
          + ", password=" + password.map(p -> "(redacted)") + ", timeout=" + timeout + "]";
    }
  }

  private EtcdConnection(Client client, List<URI> endpoints, Duration timeout) {
    this.client = client;
    this.endpoints = endpoints;
    this.timeout = timeout;
    int n = THREADS.incrementAndGet();
    this.executor = Executors.newSingleThreadScheduledExecutor(r -> {
      Thread t = new Thread(r, "portcullis-etcd-" + n);
      t.setDaemon(true);
      return t;
    });
    // jetcd makes each service's stub (and Vert.x, the channel, TLS) on first use: here, outside any call's timeout
    client.getKVClient();
    client.getLeaseClient();
    client.getWatchClient();
    this.lease = new ProcessLease(this);
    this.storage = new EtcdStorage(this);
    this.challenges = new EtcdChallenges(this);
  }

  /**
   * Parses {@code --storage etcd://host[:port],host[:port],...} (plain) or {@code etcds://...} (TLS) into the
   * endpoint URIs {@link #connect} takes: {@code http://host:port} or {@code https://host:port}, port 2379 when left
   * out, IPv6 literals in brackets.
   *
   * @throws IllegalArgumentException naming {@code --storage}, the value and what was expected
   */
  public static List<URI> endpoints(String storage) {
    requireNonNull(storage, "storage");
    String scheme;
    String rest;
    if (storage.startsWith("etcd://")) {
      scheme = "http";
      rest = storage.substring("etcd://".length());
    } else if (storage.startsWith("etcds://")) {
      scheme = "https";
      rest = storage.substring("etcds://".length());
    } else {
      throw new IllegalArgumentException("--storage " + storage
          + ": (expected: etcd://host:port,host:port,... or etcds://host:port,... for TLS)");
    }
    if (rest.endsWith("/")) {
      rest = rest.substring(0, rest.length() - 1);
    }
    List<URI> out = new ArrayList<>();
    for (String hostPort : rest.split(",", -1)) {
      out.add(endpoint(storage, scheme, hostPort.trim()));
    }
    return List.copyOf(out);
  }

  private static URI endpoint(String storage, String scheme, String hostPort) {
    String host;
    String port;
    if (hostPort.startsWith("[")) {
      int end = hostPort.indexOf(']');
      if (end < 0) {
        throw new IllegalArgumentException("--storage " + storage + ": \"" + hostPort
            + "\" (expected: an IPv6 literal closed by ']', e.g. [::1]:2379)");
      }
      host = hostPort.substring(0, end + 1);
      String after = hostPort.substring(end + 1);
      if (!after.isEmpty() && !after.startsWith(":")) {
        throw new IllegalArgumentException("--storage " + storage + ": \"" + hostPort + "\" (expected: [v6]:port)");
      }
      port = after.isEmpty() ? null : after.substring(1);
    } else {
      int colon = hostPort.lastIndexOf(':');
      host = colon < 0 ? hostPort : hostPort.substring(0, colon);
      port = colon < 0 ? null : hostPort.substring(colon + 1);
    }
    if (host.isEmpty() || host.contains("/") || host.contains("@") || host.contains(":") && !host.startsWith("[")) {
      throw new IllegalArgumentException("--storage " + storage + ": \"" + hostPort
          + "\" (expected: host or host:port, comma-separated)");
    }
    int p = DEFAULT_PORT;
    if (port != null) {
      try {
        p = Integer.parseInt(port);
      } catch (NumberFormatException e) {
        p = -1;
      }
      if (p < 1 || p > 65535) {
        throw new IllegalArgumentException("--storage " + storage + ": port \"" + port + "\" of " + hostPort
            + " (expected: 1..65535)");
      }
    }
    return URI.create(scheme + "://" + host + ":" + p);
  }

  /** {@link #connect(List, Options)} on {@link #endpoints(String) endpoints(storage)}. */
  public static EtcdConnection connect(String storage, Options options) throws IOException {
    return connect(endpoints(storage), options);
  }

  /**
   * Connects to the etcd members {@code endpoints} (all {@code http://} or all {@code https://}, see
   * {@link #endpoints(String)}) and checks, within {@link Options#timeout()}, that the cluster answers a read.
   *
   * @throws IllegalArgumentException when the endpoints mix schemes, or TLS files are given for {@code http://}
   * @throws IOException when a TLS file cannot be read, or the cluster does not answer (the message names the
   *     endpoints)
   */
  public static EtcdConnection connect(List<URI> endpoints, Options options) throws IOException {
    requireNonNull(options, "options");
    List<URI> eps = List.copyOf(endpoints);
    if (eps.isEmpty()) {
      throw new IllegalArgumentException("--storage: no etcd endpoint (expected: etcd://host:port,...)");
    }
    boolean tls = "https".equals(eps.get(0).getScheme());
    for (URI u : eps) {
      if (!(tls ? "https" : "http").equals(u.getScheme())) {
        throw new IllegalArgumentException("--storage: " + eps
            + " (expected: every endpoint http:// (etcd://) or every one https:// (etcds://))");
      }
    }
    if (options.tlsFiles() && !tls) {
      throw new IllegalArgumentException("--storage " + eps
          + ": a CA file or client certificate is set (expected: etcds:// endpoints for TLS)");
    }
    Duration attempt = attemptTimeout(options.timeout());
    ClientBuilder b = Client.builder()
        .endpoints(eps)
        .loadBalancerPolicy("round_robin") // every member connected; a dead one is skipped, not waited for
        .connectTimeout(attempt)
        .keepaliveTime(Duration.ofSeconds(10))
        .keepaliveTimeout(Duration.ofSeconds(5))
        .retryDelay(100)
        .retryMaxDelay(1000)
        .retryMaxAttempts(3)
        .retryMaxDuration(attempt)
        .maxInboundMessageSize(256 << 20); // a load of thousands of Secrets is one Range answer
    if (tls) {
      try {
        SslContextBuilder ssl = GrpcSslContexts.forClient();
        if (options.caFile().isPresent()) {
          ssl.trustManager(readable(options.caFile().get()).toFile());
        }
        if (options.certFile().isPresent()) {
          ssl.keyManager(readable(options.certFile().get()).toFile(), readable(options.keyFile().get()).toFile());
        }
        b.sslContext(ssl.build());
      } catch (IOException | IllegalArgumentException e) {
        throw new IOException("etcd " + eps + ": TLS files: " + e.getMessage(), e);
      }
    }
    if (options.user().isPresent()) {
      b.user(EtcdKeys.bytes(options.user().get()))
          .password(io.etcd.jetcd.ByteSequence.from(options.password().get(), StandardCharsets.UTF_8));
    }
    Client client = b.build();
    EtcdConnection c = new EtcdConnection(client, eps, options.timeout());
    try {
      c.call(() -> client.getKVClient().get(EtcdKeys.bytes(EtcdKeys.ROOT),
          GetOption.builder().isPrefix(true).withCountOnly(true).build()), "connect (a read of " + EtcdKeys.ROOT
          + ")");
    } catch (IOException e) {
      c.close();
      throw e;
    }
    log.info("etcd: connected to {}", eps);
    return c;
  }

  private static Path readable(Path file) throws IOException {
    if (!Files.isReadable(file)) {
      throw new IOException(file + ": cannot be read");
    }
    return file;
  }

  /** Returns the Secrets storage ({@code /portcullis/secrets/}); the same object on every call. */
  public Storage storage() {
    return storage;
  }

  /**
   * Returns issuance locks held as {@code identity} ({@link io.portcullis.storage.ReplicaIdentity#current()}),
   * attached to this connection's process lease.
   */
  public IssuanceLocks locks(String identity) {
    return new EtcdLocks(this, requireNonNull(identity, "identity"), held);
  }

  /** Returns the shared HTTP-01 key authorizations; the same object on every call. */
  public SharedChallenges challenges() {
    return challenges;
  }

  /** Returns the endpoints, as given to {@link #connect}. */
  public List<URI> endpoints() {
    return endpoints;
  }

  /**
   * Stops the watches, revokes the process lease (this replica's locks and HTTP-01 tokens go at once, rather than
   * after the TTL) and closes the client. Release locks first ({@link IssuanceLocks#close()}) to leave their notes.
   */
  @Override
  public void close() {
    storage.close();
    lease.close();
    executor.shutdownNow();
    client.close();
  }

  Client client() {
    return client;
  }

  ProcessLease lease() {
    return lease;
  }

  ScheduledExecutorService executor() {
    return executor;
  }

  /**
   * Runs {@code call} (which must be safe to run again: every caller's is) and waits for its answer; when an
   * attempt gets no answer within a third of the timeout (a member that died with requests in flight, a proposal
   * lost in a leader election) or fails as unavailable, it is cancelled and made again, until the timeout.
   *
   * @throws IOException naming {@code what} and the endpoints when it fails, at once for an error that retrying
   *     cannot mend (e.g. permission denied), else when the timeout is spent
   */
  <T> T call(Supplier<CompletableFuture<T>> call, String what) throws IOException {
    long start = System.nanoTime();
    long deadline = start + timeout.toNanos();
    long attemptNanos = attemptTimeout(timeout).toNanos();
    String last = "none";
    for (int attempt = 1; ; attempt++) {
      long left = deadline - System.nanoTime();
      if (left <= 0) {
        throw new IOException("etcd " + endpoints + ": " + what + ": no answer within " + timeout.toMillis()
            + " ms (" + (attempt - 1) + " attempts; last: " + last + ")");
      }
      CompletableFuture<T> f = call.get();
      try {
        return f.get(Math.min(left, attemptNanos), TimeUnit.NANOSECONDS);
      } catch (TimeoutException e) {
        f.cancel(true);
        last = "no answer within " + TimeUnit.NANOSECONDS.toMillis(Math.min(left, attemptNanos)) + " ms";
      } catch (ExecutionException e) {
        Throwable cause = e.getCause() != null ? e.getCause() : e;
        if (!unavailable(cause)) {
          throw new IOException("etcd " + endpoints + ": " + what + ": " + describe(cause), cause);
        }
        last = describe(cause);
        sleep(Math.min(TimeUnit.MILLISECONDS.toNanos(100L * attempt), deadline - System.nanoTime()), what);
      } catch (InterruptedException e) {
        f.cancel(true);
        Thread.currentThread().interrupt();
        throw new InterruptedIOException("etcd " + endpoints + ": " + what + ": interrupted");
      }
      if (attempt == 1) {
        log.debug("etcd {}: {}: attempt 1 failed ({}); retrying", endpoints, what, last);
      }
    }
  }

  /** Returns how long one attempt of a call may take: a third of {@code timeout}, at least 1 s. */
  private static Duration attemptTimeout(Duration timeout) {
    return Duration.ofMillis(Math.max(1000, timeout.toMillis() / 3));
  }

  /** Returns what etcd said: the gRPC status and its description when there is one (etcd's own words). */
  private static String describe(Throwable t) {
    Status status = Status.fromThrowable(t);
    for (Throwable c = t; c != null; c = c.getCause()) {
      if (c.getMessage() != null && c.getMessage().startsWith("etcdserver: ")) {
        return c.getMessage();
      }
    }
    if (status.getCode() != Status.Code.UNKNOWN && status.getDescription() != null) {
      return status.getCode() + ": " + status.getDescription();
    }
    String message = t.getMessage() != null ? t.getMessage() : t.toString();
    boolean auth = status.getCode() == Status.Code.UNAUTHENTICATED
        || t instanceof EtcdException e && e.getErrorCode() == ErrorCode.UNAUTHENTICATED;
    return auth ? message + " (expected: the user and password of an etcd user)" : message;
  }

  private static boolean unavailable(Throwable t) {
    if (t instanceof EtcdException e) {
      return e.getErrorCode() == ErrorCode.UNAVAILABLE || e.getErrorCode() == ErrorCode.DEADLINE_EXCEEDED;
    }
    Status.Code code = Status.fromThrowable(t).getCode();
    return code == Status.Code.UNAVAILABLE || code == Status.Code.DEADLINE_EXCEEDED;
  }

  private void sleep(long nanos, String what) throws InterruptedIOException {
    if (nanos <= 0) {
      return;
    }
    try {
      TimeUnit.NANOSECONDS.sleep(nanos);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new InterruptedIOException("etcd " + endpoints + ": " + what + ": interrupted");
    }
  }

  @Override
  public String toString() {
    return "etcd " + endpoints;
  }
}
