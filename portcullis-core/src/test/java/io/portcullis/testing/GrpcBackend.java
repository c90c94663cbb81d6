package io.portcullis.testing;

import io.grpc.Context;
import io.grpc.Contexts;
import io.grpc.Deadline;
import io.grpc.ForwardingServerCall;
import io.grpc.ForwardingServerCallListener;
import io.grpc.Metadata;
import io.grpc.Server;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.ServerInterceptors;
import io.grpc.ServerServiceDefinition;
import io.grpc.Status;
import io.grpc.netty.shaded.io.grpc.netty.GrpcSslContexts;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.ServerCalls;
import io.grpc.stub.StreamObserver;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A real grpc-java server ({@code grpc-netty-shaded}) on a free loopback port serving {@link GrpcEcho}'s
 * {@code portcullis.test.Echo}: plaintext HTTP/2 with prior knowledge (h2c) by default, or TLS with ALPN {@code h2}.
 *
 * <p>It records every call as it arrived ({@link Call}: method, {@code :authority}, request metadata, the deadline it
 * got from {@code grpc-timeout}) and how it went (status, cancellation, messages and bytes, flow-control pauses), for
 * the tests to assert what the gateway forwarded. {@link GrpcEcho#SLEEP} waits on a scheduler, never on a serving
 * thread, and stops waiting when the call is cancelled. Messages up to {@link #MAX_MESSAGE} bytes are accepted.
 */
public final class GrpcBackend implements AutoCloseable {
  /** The largest message either side of a test accepts: 16 MiB, above the 4 MiB messages of the tests. */
  public static final int MAX_MESSAGE = 16 * 1024 * 1024;
  private static final Metadata.Key<String> GRPC_TIMEOUT = GrpcEcho.ascii("grpc-timeout");
  private static final Context.Key<Call> CALL = Context.key("portcullis-test-call");

  private final Server server;
  private final List<Call> calls = new CopyOnWriteArrayList<>();
  private final Map<String, AtomicInteger> failCounters = new ConcurrentHashMap<>();
  private final ScheduledExecutorService sleeper = Executors.newSingleThreadScheduledExecutor(r -> {
    Thread t = new Thread(r, "grpc-backend-sleep");
    t.setDaemon(true);
    return t;
  });

  private GrpcBackend(NettyServerBuilder builder) throws IOException {
    ServerServiceDefinition echo = ServerServiceDefinition.builder(GrpcEcho.SERVICE)
        .addMethod(GrpcEcho.UNARY, ServerCalls.asyncUnaryCall((req, out) -> {
          out.onNext(req);
          out.onCompleted();
        }))
        .addMethod(GrpcEcho.SERVER_STREAM, ServerCalls.asyncServerStreamingCall(this::serverStream))
        .addMethod(GrpcEcho.CLIENT_STREAM, ServerCalls.asyncClientStreamingCall(this::clientStream))
        .addMethod(GrpcEcho.BIDI, ServerCalls.asyncBidiStreamingCall(this::bidi))
        .addMethod(GrpcEcho.SLEEP, ServerCalls.asyncUnaryCall(this::sleep))
        .build();
    server = builder.maxInboundMessageSize(MAX_MESSAGE)
        .addService(ServerInterceptors.intercept(echo, new Recorder()))
        .build().start();
  }

  /** Starts a plaintext (h2c prior knowledge) backend on a free loopback port. */
  public static GrpcBackend start() throws IOException {
    return new GrpcBackend(NettyServerBuilder.forAddress(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0)));
  }

  /**
   * Starts a TLS backend (ALPN {@code h2}) on a free loopback port.
   *
   * @param certificateChain PEM, leaf first
   * @param privateKey PEM PKCS#8
   */
  public static GrpcBackend startTls(Path certificateChain, Path privateKey) throws IOException {
    return new GrpcBackend(NettyServerBuilder.forAddress(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0))
        .sslContext(GrpcSslContexts.forServer(certificateChain.toFile(), privateKey.toFile()).build()));
  }

  /**
   * Starts a TLS backend (ALPN {@code h2}) that requires a client certificate signed by {@code clientCa}.
   *
   * @param clientCa PEM CA certificates
   */
  public static GrpcBackend startMutualTls(Path certificateChain, Path privateKey, Path clientCa) throws IOException {
    return new GrpcBackend(NettyServerBuilder.forAddress(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0))
        .sslContext(GrpcSslContexts.forServer(certificateChain.toFile(), privateKey.toFile())
            .trustManager(clientCa.toFile())
            .clientAuth(io.grpc.netty.shaded.io.netty.handler.ssl.ClientAuth.REQUIRE).build()));
  }

  /** Returns its port. */
  public int port() {
    return server.getPort();
  }

  /** Returns every call received so far, oldest first. */
  public List<Call> calls() {
    return List.copyOf(calls);
  }

  /** Returns the calls whose {@link GrpcEcho#TEST_ID} header is {@code testId}, oldest first. */
  public List<Call> calls(String testId) {
    return calls.stream().filter(c -> testId.equals(c.headers().get(GrpcEcho.TEST_ID))).toList();
  }

  /** Returns the only call with {@link GrpcEcho#TEST_ID} {@code testId}; fails unless there is exactly one. */
  public Call call(String testId) {
    List<Call> found = calls(testId);
    if (found.size() != 1) {
      throw new AssertionError("expected one call with x-test-id " + testId + ", got " + found.size() + ": " + found);
    }
    return found.get(0);
  }

  /** Returns how many calls carried {@link GrpcEcho#FAIL_UNTIL} with {@link GrpcEcho#FAIL_KEY} {@code key}. */
  public int failCounter(String key) {
    AtomicInteger n = failCounters.get(key);
    return n == null ? 0 : n.get();
  }

  @Override
  public void close() {
    server.shutdownNow();
    sleeper.shutdownNow();
    try {
      server.awaitTermination(5, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /**
   * One call as the backend saw it. The fields after {@code deadline} change while the call runs.
   *
   * <p>{@code deadline} is the time left on the call's deadline when it arrived (from the {@code grpc-timeout} request
   * header, gRPC over HTTP/2 spec "Timeout"), empty without one; {@code grpcTimeout} is that header as received.
   */
  public static final class Call {
    private final String method;
    private final String authority;
    private final Metadata headers;
    private final Optional<Duration> deadline;
    private final Optional<String> grpcTimeout;
    private volatile Status status;
    private volatile boolean cancelled;
    private final AtomicInteger messagesReceived = new AtomicInteger();
    private volatile long bytesReceived;
    private final AtomicInteger messagesSent = new AtomicInteger();
    private final AtomicInteger flowControlPauses = new AtomicInteger();

    Call(String method, String authority, Metadata headers, Optional<Duration> deadline,
        Optional<String> grpcTimeout) {
      this.method = method;
      this.authority = authority;
      this.headers = headers;
      this.deadline = deadline;
      this.grpcTimeout = grpcTimeout;
    }

    /** Returns the full method name, {@code portcullis.test.Echo/Unary}. */
    public String method() {
      return method;
    }

    /** Returns the {@code :authority} it came with. */
    public String authority() {
      return authority;
    }

    /** Returns the request metadata (a copy: read only). */
    public Metadata headers() {
      return headers;
    }

    /** Returns the time left on the call's deadline on arrival, if it had one. */
    public Optional<Duration> deadline() {
      return deadline;
    }

    /** Returns the {@code grpc-timeout} header as received, if the transport left it in the metadata. */
    public Optional<String> grpcTimeout() {
      return grpcTimeout;
    }

    /** Returns the status the backend answered, or null while it has not. */
    public Status status() {
      return status;
    }

    /** Returns whether the call was cancelled (by the client, a reset stream or the deadline) before it ended. */
    public boolean cancelled() {
      return cancelled;
    }

    /** Returns how many request messages arrived. */
    public int messagesReceived() {
      return messagesReceived.get();
    }

    /** Returns how many request bytes arrived (message payloads). */
    public long bytesReceived() {
      return bytesReceived;
    }

    /** Returns how many response messages the backend handed to the transport. */
    public int messagesSent() {
      return messagesSent.get();
    }

    /** Returns how often {@link GrpcEcho#SERVER_STREAM} stopped sending because the stream was not ready. */
    public int flowControlPauses() {
      return flowControlPauses.get();
    }

    @Override
    public String toString() {
      return method + " authority=" + authority + " deadline=" + deadline.orElse(null) + " grpc-timeout="
          + grpcTimeout.orElse(null) + " status=" + status + " cancelled=" + cancelled + " sent=" + messagesSent
          + " received=" + messagesReceived + " pauses=" + flowControlPauses;
    }
  }

  /** Records each call, adds the backend's header and trailers, and serves the failure headers. */
  private final class Recorder implements ServerInterceptor {
    @Override
    public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers,
        ServerCallHandler<Q, R> next) {
      Deadline d = Context.current().getDeadline();
      Metadata copy = new Metadata();
      copy.merge(headers);
      Call rec = new Call(call.getMethodDescriptor().getFullMethodName(), call.getAuthority(), copy,
          d == null ? Optional.empty() : Optional.of(Duration.ofNanos(d.timeRemaining(TimeUnit.NANOSECONDS))),
          Optional.ofNullable(headers.get(GRPC_TIMEOUT)));
      calls.add(rec);
      String trailer = Optional.ofNullable(headers.get(GrpcEcho.TRAILER_VALUE_KEY)).orElse(GrpcEcho.TRAILER_VALUE);
      ServerCall<Q, R> wrapped = new ForwardingServerCall.SimpleForwardingServerCall<>(call) {
        @Override
        public void sendHeaders(Metadata h) {
          h.put(GrpcEcho.BACKEND, "grpc");
          super.sendHeaders(h);
        }

        @Override
        public void sendMessage(R message) {
          rec.messagesSent.incrementAndGet();
          super.sendMessage(message);
        }

        @Override
        public void close(Status status, Metadata trailers) {
          trailers.put(GrpcEcho.TRAILER, trailer);
          trailers.put(GrpcEcho.TRAILER_BIN_KEY, GrpcEcho.TRAILER_BIN);
          rec.status = status;
          super.close(status, trailers);
        }
      };
      Status failure = failure(headers);
      if (failure != null) {
        wrapped.close(failure, new Metadata());
        return new ServerCall.Listener<>() {};
      }
      ServerCall.Listener<Q> listener = Contexts.interceptCall(Context.current().withValue(CALL, rec), wrapped,
          headers, next);
      return new ForwardingServerCallListener.SimpleForwardingServerCallListener<>(listener) {
        @Override
        public void onMessage(Q message) {
          rec.messagesReceived.incrementAndGet();
          super.onMessage(message);
        }

        @Override
        public void onCancel() {
          rec.cancelled = true;
          super.onCancel();
        }
      };
    }

    private Status failure(Metadata headers) {
      String code = headers.get(GrpcEcho.FAIL_STATUS);
      if (code != null) {
        byte[] message = headers.get(GrpcEcho.FAIL_MESSAGE);
        return Status.fromCodeValue(Integer.parseInt(code.trim()))
            .withDescription(message == null ? null : new String(message, StandardCharsets.UTF_8));
      }
      String until = headers.get(GrpcEcho.FAIL_UNTIL);
      if (until != null) {
        String key = Optional.ofNullable(headers.get(GrpcEcho.FAIL_KEY)).orElse("default");
        int n = failCounters.computeIfAbsent(key, k -> new AtomicInteger()).incrementAndGet();
        int k = Integer.parseInt(until.trim());
        if (n <= k) {
          String status = Optional.ofNullable(headers.get(GrpcEcho.FAIL_UNTIL_STATUS)).orElse("14");
          return Status.fromCodeValue(Integer.parseInt(status.trim()))
              .withDescription("x-fail-until: call " + n + " of " + k + " fails");
        }
      }
      return null;
    }
  }

  private void serverStream(byte[] request, StreamObserver<byte[]> responses) {
    ByteBuffer b = ByteBuffer.wrap(request);
    int count = b.getInt();
    int size = b.getInt();
    Call rec = CALL.get();
    ServerCallStreamObserver<byte[]> out = (ServerCallStreamObserver<byte[]>) responses;
    // Both run on the call's serialising executor, never at once.
    Runnable drain = new Runnable() {
      private int next;
      private boolean done;

      @Override
      public void run() {
        while (!done && next < count && out.isReady() && !out.isCancelled()) {
          byte[] m = new byte[size];
          for (int j = 0; j < size; j++) {
            m[j] = GrpcEcho.patternByte(next, j);
          }
          out.onNext(m);
          next++;
        }
        if (!done && next == count) {
          done = true;
          out.onCompleted();
        } else if (!done && !out.isCancelled() && !out.isReady()) {
          rec.flowControlPauses.incrementAndGet();
        }
      }
    };
    out.setOnCancelHandler(() -> {});
    out.setOnReadyHandler(drain);
    drain.run();
  }

  private StreamObserver<byte[]> clientStream(StreamObserver<byte[]> responses) {
    Call rec = CALL.get();
    return new StreamObserver<>() {
      private long total;

      @Override
      public void onNext(byte[] message) {
        total += message.length;
        rec.bytesReceived = total;
      }

      @Override
      public void onError(Throwable t) {}

      @Override
      public void onCompleted() {
        responses.onNext(GrpcEcho.encodeLong(total));
        responses.onCompleted();
      }
    };
  }

  private StreamObserver<byte[]> bidi(StreamObserver<byte[]> responses) {
    Call rec = CALL.get();
    return new StreamObserver<>() {
      private long total;

      @Override
      public void onNext(byte[] message) {
        total += message.length;
        rec.bytesReceived = total;
        responses.onNext(message);
      }

      @Override
      public void onError(Throwable t) {}

      @Override
      public void onCompleted() {
        responses.onCompleted();
      }
    };
  }

  private void sleep(byte[] request, StreamObserver<byte[]> response) {
    long ms = GrpcEcho.decodeLong(request);
    ServerCallStreamObserver<byte[]> out = (ServerCallStreamObserver<byte[]>) response;
    ScheduledFuture<?> wake = sleeper.schedule(() -> {
      if (!out.isCancelled()) {
        out.onNext(new byte[0]);
        out.onCompleted();
      }
    }, ms, TimeUnit.MILLISECONDS);
    out.setOnCancelHandler(() -> wake.cancel(false));
  }
}
