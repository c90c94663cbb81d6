package io.portcullis.bench.streams;

import io.grpc.CallOptions;
import io.grpc.ConnectivityState;
import io.grpc.ManagedChannel;
import io.grpc.MethodDescriptor;
import io.grpc.Status;
import io.grpc.netty.shaded.io.grpc.netty.GrpcSslContexts;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.netty.channel.EventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.epoll.Epoll;
import io.grpc.netty.shaded.io.netty.channel.epoll.EpollEventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.epoll.EpollSocketChannel;
import io.grpc.netty.shaded.io.netty.channel.nio.NioEventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.socket.nio.NioSocketChannel;
import io.grpc.netty.shaded.io.netty.handler.ssl.SslContext;
import io.grpc.stub.ClientCalls;
import io.grpc.stub.StreamObserver;
import java.io.File;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.atomic.LongAdder;

/**
 * {@code grpc-load}: a closed-loop gRPC load client. {@code --connections C} channels (one HTTP/2 connection each)
 * keep {@code --calls M} calls in flight each, through grpc-java's async stubs on {@code --threads} event loops
 * (callbacks on the event loop: {@code directExecutor}). A finished call starts the next one at once; a failed
 * one starts the next after 10 ms.
 *
 * <p>Options: {@code --target HOST:PORT}; {@code --tls-ca PEM} trusts that certificate and speaks TLS (ALPN h2),
 * otherwise plaintext h2c; {@code --authority} (default {@code localhost}: the TLS server name and
 * {@code :authority}); {@code --mode unary|stream}; {@code --size} bytes per message (default 64);
 * {@code --messages N} per streaming call (default 100); {@code --warmup S} seconds not measured (default 2);
 * {@code --duration S} seconds measured (default 10).
 *
 * <p>Prints one line: {@code RESULT mode=… seconds=… calls=… calls_per_s=… msgs_per_s=… p50_ms=… p99_ms=…
 * max_ms=… errors=… total_calls=… total_msgs=… total_errors=… client_cpu_pct=… error=…}: calls and response
 * messages completed in the measured window, the latency of those calls from start to final status (for a
 * streaming call: all N messages), calls that ended with a status other than OK (in the window), totals over
 * warm-up and window (what the proxy carried), this client's own CPU over the window (100 = one core: with one
 * event loop, near 100 means the client was the limit), and the first error's status ({@code -} when none).
 * Exits 1 when no call succeeded in the window. Gives up early once 1,000 calls failed without one succeeding.
 */
final class GrpcLoad {
  private final boolean stream;
  private final byte[] request;
  private final EventLoopGroup group;
  private final Latencies latencies = new Latencies();
  private final LongAdder calls = new LongAdder();
  private final LongAdder messages = new LongAdder();
  private final LongAdder errors = new LongAdder();
  private final LongAdder totalCalls = new LongAdder();
  private final LongAdder totalMessages = new LongAdder();
  private final LongAdder totalErrors = new LongAdder();
  private final LongAdder inFlight = new LongAdder();
  private final AtomicReference<String> firstError = new AtomicReference<>();
  /** 0 warm-up, 1 measuring, 2 stopping. */
  private volatile int phase;

  private GrpcLoad(boolean stream, byte[] request, EventLoopGroup group) {
    this.stream = stream;
    this.request = request;
    this.group = group;
  }

  static int run(Options o) throws Exception {
    String target = o.string("target", "127.0.0.1:50051");
    String ca = o.string("tls-ca", "");
    String authority = o.string("authority", "localhost");
    String mode = o.string("mode", "unary");
    int connections = o.integer("connections", 8);
    int perConnection = o.integer("calls", 32);
    int size = o.integer("size", 64);
    int count = o.integer("messages", 100);
    int warmup = o.integer("warmup", 2);
    int duration = o.integer("duration", 10);
    int threads = o.integer("threads", 1);
    o.checkAllRead();
    if (!mode.equals("unary") && !mode.equals("stream")) {
      throw new IllegalArgumentException("--mode " + mode + " (expected: unary or stream)");
    }
    int colon = target.lastIndexOf(':');
    String host = target.substring(0, colon);
    int port = Integer.parseInt(target.substring(colon + 1));
    boolean epoll = Epoll.isAvailable();
    EventLoopGroup group = epoll ? new EpollEventLoopGroup(threads) : new NioEventLoopGroup(threads);
    boolean stream = mode.equals("stream");
    GrpcLoad load = new GrpcLoad(stream, stream ? BenchMethods.streamRequest(count, size) : new byte[size], group);
    SslContext tls = ca.isEmpty() ? null : GrpcSslContexts.forClient().trustManager(new File(ca)).build();
    List<ManagedChannel> channels = new ArrayList<>();
    for (int i = 0; i < connections; i++) {
      NettyChannelBuilder b = NettyChannelBuilder.forAddress(host, port)
          .eventLoopGroup(group).channelType(epoll ? EpollSocketChannel.class : NioSocketChannel.class)
          .directExecutor().overrideAuthority(authority).disableRetry().maxInboundMessageSize(16 << 20);
      channels.add(tls == null ? b.usePlaintext().build() : b.sslContext(tls).build());
    }
    try {
      awaitReady(channels);
      for (ManagedChannel ch : channels) {
        for (int k = 0; k < perConnection; k++) {
          load.new Caller(ch).start();
        }
      }
      load.sleepUnlessAllFail(warmup * 1000L);
      load.phase = 1;
      long t0 = System.nanoTime();
      long cpu0 = Cpu.processNanos();
      load.sleepUnlessAllFail(duration * 1000L);
      load.phase = 2;
      double seconds = (System.nanoTime() - t0) / 1e9;
      double cpu = Cpu.percentSince(cpu0, seconds);
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
      while (load.inFlight.sum() > 0 && System.nanoTime() < deadline) {
        Thread.sleep(10);
      }
      return load.report(mode, seconds, cpu);
    } finally {
      for (ManagedChannel ch : channels) {
        ch.shutdownNow();
      }
      for (ManagedChannel ch : channels) {
        ch.awaitTermination(2, TimeUnit.SECONDS);
      }
      group.shutdownGracefully(0, 1, TimeUnit.SECONDS);
    }
  }

  /** Waits up to 10 s for every channel to connect; one that does not will fail its calls (and be reported). */
  private static void awaitReady(List<ManagedChannel> channels) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    for (ManagedChannel ch : channels) {
      ch.getState(true);
    }
    for (ManagedChannel ch : channels) {
      while (ch.getState(true) != ConnectivityState.READY && System.nanoTime() < deadline) {
        Thread.sleep(10);
      }
    }
  }

  private void sleepUnlessAllFail(long millis) throws InterruptedException {
    long end = System.currentTimeMillis() + millis;
    while (System.currentTimeMillis() < end) {
      if (totalErrors.sum() >= 1000 && totalCalls.sum() == 0) {
        return;
      }
      Thread.sleep(Math.min(50, Math.max(1, end - System.currentTimeMillis())));
    }
  }

  private int report(String mode, double seconds, double cpu) {
    long ok = calls.sum();
    String err = firstError.get();
    System.out.printf(Locale.ROOT, "RESULT mode=%s seconds=%.3f calls=%d calls_per_s=%.1f msgs_per_s=%.1f "
            + "p50_ms=%.3f p99_ms=%.3f max_ms=%.3f errors=%d total_calls=%d total_msgs=%d total_errors=%d "
            + "client_cpu_pct=%.0f error=%s%n",
        mode, seconds, ok, ok / seconds, messages.sum() / seconds, latencies.quantileMillis(0.5),
        latencies.quantileMillis(0.99), latencies.maxMillis(), errors.sum(), totalCalls.sum(), totalMessages.sum(),
        totalErrors.sum(), cpu, err == null ? "-" : err);
    System.out.flush();
    return ok > 0 ? 0 : 1;
  }

  /** One of the M call slots of a channel: runs one call at a time, back to back, on the channel's event loop. */
  private final class Caller implements StreamObserver<byte[]> {
    private final ManagedChannel channel;
    private long started;

    Caller(ManagedChannel channel) {
      this.channel = channel;
    }

    void start() {
      if (phase == 2) {
        return;
      }
      inFlight.increment();
      started = System.nanoTime();
      MethodDescriptor<byte[], byte[]> m = stream ? BenchMethods.STREAM : BenchMethods.ECHO;
      if (stream) {
        ClientCalls.asyncServerStreamingCall(channel.newCall(m, CallOptions.DEFAULT), request, this);
      } else {
        ClientCalls.asyncUnaryCall(channel.newCall(m, CallOptions.DEFAULT), request, this);
      }
    }

    @Override
    public void onNext(byte[] value) {
      totalMessages.increment();
      if (phase == 1) {
        messages.increment();
      }
    }

    @Override
    public void onError(Throwable t) {
      inFlight.decrement();
      totalErrors.increment();
      if (phase == 1) {
        errors.increment();
      }
      Status s = Status.fromThrowable(t);
      String text = s.getCode() + ":" + (s.getDescription() == null ? "" : s.getDescription());
      firstError.compareAndSet(null, Errors.oneWord(text));
      group.schedule(this::start, 10, TimeUnit.MILLISECONDS);
    }

    @Override
    public void onCompleted() {
      inFlight.decrement();
      totalCalls.increment();
      if (phase == 1) {
        calls.increment();
        latencies.record(System.nanoTime() - started);
      }
      start();
    }
  }
}
