package io.portcullis.testing;

import io.grpc.CallOptions;
import io.grpc.Channel;
import io.grpc.ClientCall;
import io.grpc.ClientInterceptors;
import io.grpc.ConnectivityState;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.GrpcSslContexts;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientCalls;
import io.grpc.stub.ClientResponseObserver;
import io.grpc.stub.MetadataUtils;
import io.grpc.stub.StreamObserver;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import javax.net.ssl.SSLException;

/**
 * grpc-java clients ({@code grpc-netty-shaded}) for the gRPC ITs: channels to 127.0.0.1 over plaintext HTTP/2 with
 * prior knowledge (h2c) or over TLS trusting a test CA, with an {@code :authority} (and TLS server name) of the test's
 * choosing; client-side retries off, so every try a test counts is one the client made; messages up to
 * {@link GrpcBackend#MAX_MESSAGE} accepted.
 */
public final class GrpcClients {
  private GrpcClients() {}

  /** Returns an h2c channel to 127.0.0.1:{@code port} sending {@code :authority} {@code authority}. */
  public static ManagedChannel plaintext(int port, String authority) {
    return builder(port, authority).usePlaintext().build();
  }

  /**
   * Returns a TLS channel (ALPN {@code h2}) to 127.0.0.1:{@code port} that trusts only {@code ca} and sends
   * {@code authority} as {@code :authority} and as the TLS server name, which the server's certificate must cover.
   *
   * @throws SSLException when {@code ca} cannot be read
   */
  public static ManagedChannel tls(int port, Path ca, String authority) throws SSLException {
    return builder(port, authority)
        .sslContext(GrpcSslContexts.forClient().trustManager(ca.toFile()).build()).build();
  }

  /**
   * Returns an h2c channel for a client that reads slowly: a fixed 1 MiB HTTP/2 stream window (no BDP-driven window
   * growth), so unread messages stop the sender once that much is in flight.
   */
  public static ManagedChannel slowReader(int port, String authority) {
    return builder(port, authority).usePlaintext().flowControlWindow(1024 * 1024).build();
  }

  private static NettyChannelBuilder builder(int port, String authority) {
    return NettyChannelBuilder.forAddress("127.0.0.1", port).overrideAuthority(authority)
        .maxInboundMessageSize(GrpcBackend.MAX_MESSAGE).disableRetry();
  }

  /**
   * Connects {@code channel} and waits (at most {@code timeout}) until it is ready, so that a test's first call with a
   * short deadline is not spent on class loading and the handshake. Returns whether it got ready; a channel that did
   * not is left to fail the tests that use it, each with its own message.
   */
  public static boolean connect(ManagedChannel channel, Duration timeout) throws InterruptedException {
    long end = System.nanoTime() + timeout.toNanos();
    while (System.nanoTime() < end) {
      ConnectivityState s = channel.getState(true);
      if (s == ConnectivityState.READY) {
        return true;
      }
      CountDownLatch changed = new CountDownLatch(1);
      channel.notifyWhenStateChanged(s, changed::countDown);
      changed.await(Math.max(1, end - System.nanoTime()), TimeUnit.NANOSECONDS);
    }
    return false;
  }

  /**
   * Makes one {@link GrpcEcho#UNARY} call on {@code channel} (at most 10 s) and ignores how it ends: the path to the
   * backend (a proxy's upstream connection too) is then open before a test's call with a short deadline.
   */
  public static void warmUp(Channel channel) {
    try {
      unary(channel, GrpcEcho.UNARY, deadline(Duration.ofSeconds(10)), new byte[] {0});
    } catch (StatusRuntimeException e) {
      // the test's own call reports what is wrong
    }
  }

  /** Shuts {@code channel} down and waits up to 5 s for its calls to end. */
  public static void close(ManagedChannel channel) {
    if (channel == null) {
      return;
    }
    channel.shutdownNow();
    try {
      channel.awaitTermination(5, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /**
   * A channel that sends extra request metadata and captures what came back.
   *
   * @param channel the channel calls go through
   * @param headers the response headers, once they arrived (null for a trailers-only response)
   * @param trailers the trailers (gRPC-java strips {@code grpc-status} and {@code grpc-message} from them: read those
   *     from the call's {@link io.grpc.Status})
   */
  public record Captured(Channel channel, AtomicReference<Metadata> headers, AtomicReference<Metadata> trailers) {}

  /** Returns {@code channel} with {@code extra} sent on every call and the response metadata captured. */
  public static Captured capturing(Channel channel, Metadata extra) {
    AtomicReference<Metadata> headers = new AtomicReference<>();
    AtomicReference<Metadata> trailers = new AtomicReference<>();
    Channel c = ClientInterceptors.intercept(channel, MetadataUtils.newAttachHeadersInterceptor(extra),
        MetadataUtils.newCaptureMetadataInterceptor(headers, trailers));
    return new Captured(c, headers, trailers);
  }

  /** Returns metadata of ASCII {@code name, value} pairs. */
  public static Metadata metadata(String... pairs) {
    Metadata m = new Metadata();
    for (int i = 0; i + 1 < pairs.length; i += 2) {
      m.put(GrpcEcho.ascii(pairs[i]), pairs[i + 1]);
    }
    return m;
  }

  /** Returns call options with a deadline {@code timeout} from now. */
  public static CallOptions deadline(Duration timeout) {
    return CallOptions.DEFAULT.withDeadlineAfter(timeout.toNanos(), TimeUnit.NANOSECONDS);
  }

  /**
   * Calls {@link GrpcEcho#UNARY} (or another unary method) and returns the answer; a non-OK status is thrown as
   * {@link StatusRuntimeException}. At most 20 s unless {@code options} says otherwise.
   */
  public static byte[] unary(Channel channel, io.grpc.MethodDescriptor<byte[], byte[]> method, CallOptions options,
      byte[] request) {
    CallOptions o = options.getDeadline() == null ? options.withDeadlineAfter(20, TimeUnit.SECONDS) : options;
    return ClientCalls.blockingUnaryCall(channel, method, o, request);
  }

  /**
   * Calls {@link GrpcEcho#SERVER_STREAM} for {@code count} messages of {@code size} bytes and returns them all, read
   * one at a time (the blocking stub asks for the next message only after the previous one was taken).
   */
  public static List<byte[]> serverStream(Channel channel, CallOptions options, int count, int size) {
    List<byte[]> got = new ArrayList<>();
    Iterator<byte[]> it = ClientCalls.blockingServerStreamingCall(channel, GrpcEcho.SERVER_STREAM, options,
        GrpcEcho.streamRequest(count, size));
    it.forEachRemaining(got::add);
    return got;
  }

  /**
   * Calls {@link GrpcEcho#CLIENT_STREAM} with {@code count} messages of {@code size} bytes, sent only while the call
   * is ready (the client's side of backpressure), and returns the backend's answer: the total it received.
   *
   * @throws StatusRuntimeException on a non-OK status or when 30 s pass
   */
  public static long clientStream(Channel channel, int count, int size) throws Exception {
    byte[] message = GrpcEcho.payload(size, 3);
    CompletableFuture<byte[]> answer = new CompletableFuture<>();
    ClientCall<byte[], byte[]> call = channel.newCall(GrpcEcho.CLIENT_STREAM, deadline(Duration.ofSeconds(30)));
    ClientCalls.asyncClientStreamingCall(call, new ClientResponseObserver<byte[], byte[]>() {
      @Override
      public void beforeStart(ClientCallStreamObserver<byte[]> requests) {
        requests.setOnReadyHandler(new Runnable() {
          private int sent;

          @Override
          public void run() {
            while (sent < count && requests.isReady()) {
              requests.onNext(message);
              sent++;
            }
            if (sent == count) {
              sent++; // complete once
              requests.onCompleted();
            }
          }
        });
      }

      @Override
      public void onNext(byte[] value) {
        answer.complete(value);
      }

      @Override
      public void onError(Throwable t) {
        answer.completeExceptionally(t);
      }

      @Override
      public void onCompleted() {
        answer.completeExceptionally(new AssertionError("completed without an answer"));
      }
    });
    return GrpcEcho.decodeLong(await(answer));
  }

  /**
   * Calls {@link GrpcEcho#BIDI} and plays ping-pong: sends message {@code i} ({@code size} bytes, seeded with
   * {@code i}) only after the answer to {@code i - 1} arrived, so a proxy that waits for the end of the requests
   * before forwarding answers never finishes. Returns the answers in order.
   *
   * @throws StatusRuntimeException on a non-OK status, or AssertionError when an answer takes more than 10 s
   */
  public static List<byte[]> pingPong(Channel channel, int rounds, int size) throws Exception {
    BlockingQueue<Object> answers = new LinkedBlockingQueue<>();
    CompletableFuture<Void> closed = new CompletableFuture<>();
    ClientCall<byte[], byte[]> call = channel.newCall(GrpcEcho.BIDI, deadline(Duration.ofSeconds(60)));
    StreamObserver<byte[]> requests = ClientCalls.asyncBidiStreamingCall(call, new StreamObserver<>() {
      @Override
      public void onNext(byte[] value) {
        answers.add(value);
      }

      @Override
      public void onError(Throwable t) {
        answers.add(t);
        closed.completeExceptionally(t);
      }

      @Override
      public void onCompleted() {
        closed.complete(null);
      }
    });
    List<byte[]> got = new ArrayList<>();
    for (int i = 0; i < rounds; i++) {
      requests.onNext(GrpcEcho.payload(size, i));
      Object a = answers.poll(10, TimeUnit.SECONDS);
      if (a == null) {
        call.cancel("no answer", null);
        throw new AssertionError("no answer to message " + i + " within 10 s");
      }
      if (a instanceof Exception e) {
        throw e;
      }
      got.add((byte[]) a);
    }
    requests.onCompleted();
    await(closed);
    return got;
  }

  private static <T> T await(CompletableFuture<T> f) throws Exception {
    try {
      return f.get(60, TimeUnit.SECONDS);
    } catch (ExecutionException e) {
      if (e.getCause() instanceof Exception x) {
        throw x;
      }
      throw e;
    }
  }

  /** Shuts every channel down, as {@link #close(ManagedChannel)}; null ones are skipped. */
  public static void closeAll(ManagedChannel... channels) {
    for (ManagedChannel c : channels) {
      close(c);
    }
  }
}
