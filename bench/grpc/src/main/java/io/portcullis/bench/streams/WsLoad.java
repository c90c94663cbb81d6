package io.portcullis.bench.streams;

import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.handler.codec.http.HttpClientCodec;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.websocketx.BinaryWebSocketFrame;
import io.netty.handler.codec.http.websocketx.WebSocketClientProtocolConfig;
import io.netty.handler.codec.http.websocketx.WebSocketClientProtocolHandler;
import io.netty.handler.ssl.OpenSsl;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslProvider;
import io.netty.util.ReferenceCountUtil;
import java.io.File;
import java.net.URI;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.atomic.LongAdder;

/**
 * {@code ws-load}: a closed-loop WebSocket load client. {@code --connections C} connections (HTTP/1.1 upgrade,
 * RFC 6455) each keep {@code --inflight K} binary messages of {@code --size} bytes in flight (default 1: send,
 * wait for the echo, send the next) on {@code --threads} event loops. Each message carries its send time, so the
 * latency is the echo's round trip.
 *
 * <p>Options: {@code --target HOST:PORT}; {@code --tls-ca PEM} trusts that certificate and speaks TLS (no ALPN:
 * HTTP/1.1), otherwise plaintext; {@code --authority} (default {@code localhost}: the server name, {@code Host});
 * {@code --path} (default {@code /ws}); {@code --warmup S} (default 2) and {@code --duration S} (default 10).
 *
 * <p>Prints one line: {@code RESULT mode=ws seconds=… msgs=… msgs_per_s=… p50_ms=… p99_ms=… max_ms=… errors=…
 * connected=… total_msgs=… client_cpu_pct=… error=…}: echoes received in the measured window and their round
 * trips, failed handshakes and lost connections, connections that completed the handshake, echoes over warm-up
 * and window, this client's CPU over the window (100 = one core), the first error ({@code -} when none). Exits 1
 * when no echo arrived in the window.
 */
final class WsLoad {
  private final int size;
  private final int inflight;
  private final Latencies latencies = new Latencies();
  private final LongAdder messages = new LongAdder();
  private final LongAdder totalMessages = new LongAdder();
  private final LongAdder errors = new LongAdder();
  private final LongAdder connected = new LongAdder();
  private final AtomicReference<String> firstError = new AtomicReference<>();
  /** 0 warm-up, 1 measuring, 2 stopping. */
  private volatile int phase;

  private WsLoad(int size, int inflight) {
    this.size = Math.max(8, size);
    this.inflight = inflight;
  }

  static int run(Options o) throws Exception {
    String target = o.string("target", "127.0.0.1:8080");
    String ca = o.string("tls-ca", "");
    String authority = o.string("authority", "localhost");
    String path = o.string("path", "/ws");
    int connections = o.integer("connections", 64);
    int inflight = o.integer("inflight", 1);
    int size = o.integer("size", 64);
    int warmup = o.integer("warmup", 2);
    int duration = o.integer("duration", 10);
    int threads = o.integer("threads", 1);
    o.checkAllRead();
    int colon = target.lastIndexOf(':');
    String host = target.substring(0, colon);
    int port = Integer.parseInt(target.substring(colon + 1));
    SslContext tls = ca.isEmpty() ? null : SslContextBuilder.forClient()
        .sslProvider(OpenSsl.isAvailable() ? SslProvider.OPENSSL : SslProvider.JDK)
        .trustManager(new File(ca)).build();
    WebSocketClientProtocolConfig ws = WebSocketClientProtocolConfig.newBuilder()
        .webSocketUri(URI.create((tls == null ? "ws" : "wss") + "://" + authority + ":" + port + path))
        .handshakeTimeoutMillis(10_000).maxFramePayloadLength(1 << 20).build();
    boolean epoll = Epoll.isAvailable();
    EventLoopGroup group = new MultiThreadIoEventLoopGroup(threads,
        epoll ? EpollIoHandler.newFactory() : NioIoHandler.newFactory());
    WsLoad load = new WsLoad(size, inflight);
    try {
      Bootstrap b = new Bootstrap().group(group)
          .channel(epoll ? EpollSocketChannel.class : NioSocketChannel.class)
          .option(ChannelOption.TCP_NODELAY, true)
          .handler(new ChannelInitializer<SocketChannel>() {
            @Override
            protected void initChannel(SocketChannel ch) {
              if (tls != null) {
                ch.pipeline().addLast(tls.newHandler(ch.alloc(), authority, port));
              }
              ch.pipeline().addLast(new HttpClientCodec(), new HttpObjectAggregator(65536),
                  new WebSocketClientProtocolHandler(ws), load.new Echoer());
            }
          });
      for (int i = 0; i < connections; i++) {
        b.connect(host, port).addListener(f -> {
          if (!f.isSuccess()) {
            load.fail(f.cause());
          }
        });
      }
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
      while (load.connected.sum() + load.errors.sum() < connections && System.nanoTime() < deadline) {
        Thread.sleep(10);
      }
      if (load.connected.sum() > 0) {
        Thread.sleep(warmup * 1000L);
        load.phase = 1;
        long t0 = System.nanoTime();
        long cpu0 = Cpu.processNanos();
        Thread.sleep(duration * 1000L);
        load.phase = 2;
        double seconds = (System.nanoTime() - t0) / 1e9;
        return load.report(seconds, connections, Cpu.percentSince(cpu0, seconds));
      }
      load.phase = 2;
      return load.report(0, connections, -1);
    } finally {
      group.shutdownGracefully(0, 1, TimeUnit.SECONDS).await(5, TimeUnit.SECONDS);
    }
  }

  private void fail(Throwable t) {
    errors.increment();
    firstError.compareAndSet(null, Errors.oneWord(String.valueOf(t)));
  }

  private int report(double seconds, int connections, double cpu) {
    long n = messages.sum();
    String err = firstError.get();
    System.out.printf(Locale.ROOT, "RESULT mode=ws seconds=%.3f msgs=%d msgs_per_s=%.1f p50_ms=%.3f p99_ms=%.3f "
            + "max_ms=%.3f errors=%d connected=%d/%d total_msgs=%d client_cpu_pct=%.0f error=%s%n",
        seconds, n, seconds > 0 ? n / seconds : 0, latencies.quantileMillis(0.5), latencies.quantileMillis(0.99),
        latencies.maxMillis(), errors.sum(), connected.sum(), connections, totalMessages.sum(), cpu,
        err == null ? "-" : err);
    System.out.flush();
    return n > 0 ? 0 : 1;
  }

  /** Per connection: after the handshake, sends K messages, then one more for every echo. */
  private final class Echoer extends ChannelInboundHandlerAdapter {
    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
      if (evt == WebSocketClientProtocolHandler.ClientHandshakeStateEvent.HANDSHAKE_COMPLETE) {
        connected.increment();
        for (int i = 0; i < inflight; i++) {
          send(ctx);
        }
        ctx.flush();
      } else if (evt == WebSocketClientProtocolHandler.ClientHandshakeStateEvent.HANDSHAKE_TIMEOUT) {
        fail(new IllegalStateException("WebSocket handshake timed out"));
      }
      ctx.fireUserEventTriggered(evt);
    }

    private void send(ChannelHandlerContext ctx) {
      ByteBuf b = ctx.alloc().buffer(size);
      b.writeLong(System.nanoTime()).writeZero(size - 8);
      ctx.write(new BinaryWebSocketFrame(b));
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
      try {
        if (msg instanceof BinaryWebSocketFrame f && f.content().readableBytes() >= 8) {
          long rtt = System.nanoTime() - f.content().getLong(f.content().readerIndex());
          totalMessages.increment();
          if (phase == 1) {
            messages.increment();
            latencies.record(rtt);
          }
          if (phase != 2) {
            send(ctx);
          }
        }
      } finally {
        ReferenceCountUtil.release(msg);
      }
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
      ctx.flush();
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
      if (phase != 2) {
        fail(cause);
      }
      ctx.close();
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
      if (phase != 2) {
        fail(new IllegalStateException("connection closed by the peer"));
      }
      ctx.fireChannelInactive();
    }
  }
}
