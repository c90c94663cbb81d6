package io.portcullis.proxy;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.EventLoop;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.handler.codec.http2.DefaultHttp2Headers;
import io.netty.handler.codec.http2.Http2Headers;
import io.netty.handler.ssl.SslContext;
import io.netty.resolver.DefaultAddressResolverGroup;
import io.portcullis.proxy.lb.CircuitBreakers;
import io.portcullis.routing.Endpoint;
import io.portcullis.routing.TrafficPolicy;
import java.io.ByteArrayOutputStream;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * The code under test driven as the proxy will drive it: an {@link Http2UpstreamPool} on one event loop, requests
 * made on that loop, and a {@link Recording} listener per stream that tests read from their own thread.
 */
final class H2Client implements AutoCloseable {
  final EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
  final EventLoop loop = group.next();
  final ProxyStats stats = new ProxyStats();
  /** The circuit breakers of the one cluster all requests here are for. */
  final CircuitBreakers breakers = new CircuitBreakers();
  final Http2UpstreamPool pool;

  H2Client(Http2UpstreamLimits limits) {
    pool = new Http2UpstreamPool(loop, NioSocketChannel.class, DefaultAddressResolverGroup.INSTANCE,
        Duration.ofSeconds(5), limits, stats);
  }

  /**
   * {@link Http2UpstreamPool#acquire} for a cluster without a DestinationRule {@code connectionPool}, whose breakers
   * are {@link #breakers}; call on the loop.
   */
  Http2UpstreamPool.Pending acquire(Endpoint ep, SslContext ssl, String sni, Consumer<Http2UpstreamConnection> onReady,
      Consumer<Throwable> onFailure) {
    return acquire(ep, ssl, sni, TrafficPolicy.ConnectionPool.DEFAULT, onReady, onFailure);
  }

  /** {@link Http2UpstreamPool#acquire} for a cluster with {@code pool}, whose breakers are {@link #breakers}. */
  Http2UpstreamPool.Pending acquire(Endpoint ep, SslContext ssl, String sni, TrafficPolicy.ConnectionPool pool,
      Consumer<Http2UpstreamConnection> onReady, Consumer<Throwable> onFailure) {
    return this.pool.acquire(ep, ssl, sni, pool, breakers, onReady, onFailure);
  }

  /** Runs {@code c} on the loop and returns its result. */
  <T> T onLoop(Callable<T> c) throws Exception {
    return loop.submit(c).get(30, TimeUnit.SECONDS);
  }

  /** A request: method, path, optional body and trailers; sent once the pool gives a connection. */
  record Request(String method, String path, byte[] body, Http2Headers trailers) {
    static Request get(String path) {
      return new Request("GET", path, null, null);
    }
  }

  /** Sends {@code r} to {@code ep} (h2c when {@code ssl} is null); returns its recording at once. */
  Recording send(Endpoint ep, SslContext ssl, String sni, Request r, boolean autoConsume) {
    Recording rec = new Recording(autoConsume);
    loop.execute(() -> acquire(ep, ssl, sni, c -> start(c, r, rec), rec.ending::completeExceptionally));
    return rec;
  }

  /**
   * Sends {@code r} over h2c to {@code ep} for a cluster with DestinationRule {@code pool}; returns its recording
   * once the pool took the request, with what it returned in {@link Recording#pending}.
   */
  Recording send(Endpoint ep, TrafficPolicy.ConnectionPool pool, Request r) throws Exception {
    Recording rec = new Recording(true);
    rec.pending = onLoop(() -> acquire(ep, null, null, pool, c -> start(c, r, rec), rec.ending::completeExceptionally));
    return rec;
  }

  /** Sends {@code n} copies of {@code r} over h2c, all asked for in one task of the loop; returns their recordings. */
  List<Recording> sendBatch(Endpoint ep, Request r, int n, boolean retryRefused) {
    List<Recording> out = new java.util.ArrayList<>();
    for (int i = 0; i < n; i++) {
      out.add(new Recording(true));
    }
    loop.execute(() -> out.forEach(rec -> {
      if (retryRefused) {
        attempt(ep, r, rec, 1);
      } else {
        acquire(ep, null, null, c -> start(c, r, rec), rec.ending::completeExceptionally);
      }
    }));
    return out;
  }

  /** Sends {@code r} over h2c, again on another connection each time it is refused (at most 5 tries). */
  private void attempt(Endpoint ep, Request r, Recording out, int n) {
    Recording rec = new Recording(true);
    rec.ending.whenComplete((how, err) -> {
      if (err == null && how.startsWith("reset") && how.endsWith("refused") && n < 5) {
        out.refusals.add(how);
        loop.execute(() -> attempt(ep, r, out, n + 1));
      } else {
        out.copy(rec, how, err);
      }
    });
    acquire(ep, null, null, c -> start(c, r, rec), rec.ending::completeExceptionally);
  }

  private static void start(Http2UpstreamConnection c, Request r, Recording rec) {
    Http2UpstreamStream s = c.openStream(rec);
    rec.stream = s;
    rec.connection = c;
    Http2Headers h = new DefaultHttp2Headers().method(r.method()).scheme(rec.scheme(c)).authority("test")
        .path(r.path()).set("x-test", "yes");
    boolean noBody = r.body() == null && r.trailers() == null;
    s.writeHeaders(h, noBody);
    if (r.body() != null) {
      s.writeData(Unpooled.wrappedBuffer(r.body()), r.trailers() == null);
    }
    if (r.trailers() != null) {
      s.writeTrailers(r.trailers());
    }
    s.flush();
  }

  @Override
  public void close() {
    group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
  }

  /** What one stream's listener saw. Written on the loop, read by the test once {@link #ending} completed. */
  static final class Recording implements Http2UpstreamStream.Listener {
    volatile boolean autoConsume;
    volatile Http2UpstreamStream stream;
    volatile Http2UpstreamConnection connection;
    /** What the pool's acquire returned, when the test asked for it. */
    volatile Http2UpstreamPool.Pending pending;
    final List<String> statuses = new CopyOnWriteArrayList<>();
    final List<String> refusals = new CopyOnWriteArrayList<>();
    volatile Http2Headers head;
    volatile Http2Headers trailers;
    final ByteArrayOutputStream body = new ByteArrayOutputStream();
    volatile long received;
    volatile int readCompletes;
    volatile int writabilityChanges;
    /** "end", "reset CODE" / "reset CODE refused", "closed: why", "protocolError: why". */
    final CompletableFuture<String> ending = new CompletableFuture<>();

    Recording(boolean autoConsume) {
      this.autoConsume = autoConsume;
    }

    /** From now on, each DATA frame is consumed as it arrives. Call on the loop. */
    void autoConsumeFromNowOn() {
      autoConsume = true;
    }

    String scheme(Http2UpstreamConnection c) {
      return c.channel().pipeline().get(io.netty.handler.ssl.SslHandler.class) != null ? "https" : "http";
    }

    void copy(Recording r, String how, Throwable err) {
      stream = r.stream;
      connection = r.connection;
      statuses.addAll(r.statuses);
      head = r.head;
      trailers = r.trailers;
      synchronized (body) {
        body.writeBytes(r.bodyBytes());
      }
      received = r.received;
      if (err != null) {
        ending.completeExceptionally(err);
      } else {
        ending.complete(how);
      }
    }

    byte[] bodyBytes() {
      synchronized (body) {
        return body.toByteArray();
      }
    }

    @Override
    public void headers(Http2Headers headers, boolean endStream) {
      if (head == null && headers.status() != null) {
        statuses.add(headers.status().toString());
        if (headers.status().charAt(0) != '1') {
          head = headers;
        }
      } else {
        trailers = headers;
      }
      if (endStream) {
        ending.complete("end");
      }
    }

    @Override
    public void data(ByteBuf data, boolean endStream) {
      int n = data.readableBytes();
      if (received < 1 << 20) {
        byte[] b = new byte[Math.min(n, (1 << 20) - (int) received)];
        data.getBytes(data.readerIndex(), b);
        synchronized (body) {
          body.writeBytes(b);
        }
      }
      received += n;
      data.release();
      if (autoConsume) {
        stream.consumed(n);
      }
      if (endStream) {
        ending.complete("end");
      }
    }

    @Override
    public void reset(long errorCode, boolean refused) {
      ending.complete("reset " + errorCode + (refused ? " refused" : ""));
    }

    @Override
    public void closed(Throwable cause) {
      ending.complete("closed: " + cause.getMessage());
    }

    @Override
    public void protocolError(String why) {
      ending.complete("protocolError: " + why);
    }

    @Override
    public void readComplete() {
      readCompletes++;
    }

    @Override
    public void writabilityChanged() {
      writabilityChanges++;
    }
  }
}
