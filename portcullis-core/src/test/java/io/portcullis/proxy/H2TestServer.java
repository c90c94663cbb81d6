package io.portcullis.proxy;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.codec.http2.DefaultHttp2DataFrame;
import io.netty.handler.codec.http2.DefaultHttp2Headers;
import io.netty.handler.codec.http2.DefaultHttp2HeadersFrame;
import io.netty.handler.codec.http2.DefaultHttp2WindowUpdateFrame;
import io.netty.handler.codec.http2.Http2DataFrame;
import io.netty.handler.codec.http2.Http2FrameCodec;
import io.netty.handler.codec.http2.Http2FrameCodecBuilder;
import io.netty.handler.codec.http2.Http2FrameStream;
import io.netty.handler.codec.http2.Http2GoAwayFrame;
import io.netty.handler.codec.http2.Http2Headers;
import io.netty.handler.codec.http2.Http2HeadersFrame;
import io.netty.handler.codec.http2.Http2ResetFrame;
import io.netty.handler.codec.http2.Http2Settings;
import io.netty.handler.codec.http2.Http2Stream;
import io.netty.handler.ssl.ApplicationProtocolConfig;
import io.netty.handler.ssl.ApplicationProtocolNames;
import io.netty.handler.ssl.OpenSsl;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslProvider;
import io.netty.util.ReferenceCountUtil;
import io.portcullis.testing.TestPki;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A small real HTTP/2 server for the upstream tests (Netty's {@link Http2FrameCodec}, independent of the code under
 * test): h2c with prior knowledge or h2 over TLS (ALPN {@code h2}, or only {@code http/1.1} to test a refusal).
 * Paths: {@code /echo} answers 200 with the request body and trailers {@code x-echo-bytes}; {@code /big/N} answers N
 * bytes of body; {@code /hold} answers only after {@link #releaseHolds()}; {@code /slow-window} returns the request
 * body's flow-control window only then; anything else 200 {@code ok}.
 */
final class H2TestServer implements AutoCloseable {
  private final EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
  private final Channel server;
  private final Long maxConcurrentStreams;
  final AtomicInteger connections = new AtomicInteger();
  final AtomicInteger requests = new AtomicInteger();
  /** Request body bytes received on {@code /slow-window} streams. */
  final java.util.concurrent.atomic.AtomicLong slowWindowReceived = new java.util.concurrent.atomic.AtomicLong();
  /** GOAWAY error codes the server received from clients. */
  final List<Long> goAwaysReceived = new CopyOnWriteArrayList<>();
  /** RST_STREAM error codes the server received from clients. */
  final List<Long> resetsReceived = new CopyOnWriteArrayList<>();
  private final List<Runnable> held = new ArrayList<>();
  /** Whether {@code /slow-window} bodies still wait for their window; until {@link #releaseHolds()}. */
  private volatile boolean windowHeld = true;
  private final Map<Integer, Http2FrameCodec> bigStreams = new HashMap<>();

  private H2TestServer(SslContext tls, Long maxConcurrentStreams) throws InterruptedException {
    this.maxConcurrentStreams = maxConcurrentStreams;
    server = new ServerBootstrap().group(group).channel(NioServerSocketChannel.class)
        .childHandler(new ChannelInitializer<Channel>() {
          @Override
          protected void initChannel(Channel ch) {
            connections.incrementAndGet();
            if (tls != null) {
              ch.pipeline().addLast(tls.newHandler(ch.alloc()));
            }
            Http2Settings settings = Http2Settings.defaultSettings();
            if (H2TestServer.this.maxConcurrentStreams != null) {
              settings.maxConcurrentStreams(H2TestServer.this.maxConcurrentStreams);
            }
            Http2FrameCodec codec = Http2FrameCodecBuilder.forServer().initialSettings(settings).build();
            ch.pipeline().addLast(codec, new Handler(codec));
          }
        }).bind(new InetSocketAddress("127.0.0.1", 0)).sync().channel();
  }

  /** Starts an h2c server; {@code maxConcurrentStreams} null for Netty's default (unlimited). */
  static H2TestServer plain(Long maxConcurrentStreams) throws InterruptedException {
    return new H2TestServer(null, maxConcurrentStreams);
  }

  /** Starts a TLS server for {@code leaf} offering ALPN {@code protocols}. */
  static H2TestServer tls(TestPki.Leaf leaf, String... protocols) throws Exception {
    SslContext ctx = SslContextBuilder.forServer(leaf.keys().getPrivate(), leaf.cert())
        .sslProvider(OpenSsl.isAvailable() ? SslProvider.OPENSSL : SslProvider.JDK)
        .applicationProtocolConfig(new ApplicationProtocolConfig(ApplicationProtocolConfig.Protocol.ALPN,
            ApplicationProtocolConfig.SelectorFailureBehavior.NO_ADVERTISE,
            ApplicationProtocolConfig.SelectedListenerFailureBehavior.ACCEPT, protocols))
        .build();
    return new H2TestServer(ctx, null);
  }

  int port() {
    return ((InetSocketAddress) server.localAddress()).getPort();
  }

  /** Answers every {@code /hold} request received so far, and returns {@code /slow-window} windows from now on. */
  void releaseHolds() {
    server.eventLoop().execute(() -> {
      windowHeld = false;
      held.forEach(Runnable::run);
      held.clear();
    });
  }

  /** Returns the server's send window for {@code /big} stream {@code id} (bytes it may still send), or -1. */
  int sendWindow(int id) throws Exception {
    return group.next().submit(() -> {
      Http2FrameCodec codec = bigStreams.get(id);
      Http2Stream s = codec == null ? null : codec.connection().stream(id);
      return s == null ? -1 : codec.connection().remote().flowController().windowSize(s);
    }).get();
  }

  @Override
  public void close() {
    server.close().syncUninterruptibly();
    group.shutdownGracefully(0, 1, java.util.concurrent.TimeUnit.SECONDS).syncUninterruptibly();
  }

  private final class Handler extends ChannelInboundHandlerAdapter {
    private final Http2FrameCodec codec;
    private final Map<Http2FrameStream, Http2Headers> heads = new HashMap<>();
    private final Map<Http2FrameStream, ByteBuf> bodies = new HashMap<>();

    Handler(Http2FrameCodec codec) {
      this.codec = codec;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
      try {
        if (msg instanceof Http2HeadersFrame h) {
          if (!heads.containsKey(h.stream())) {
            heads.put(h.stream(), h.headers());
            bodies.put(h.stream(), Unpooled.buffer());
          }
          if (h.isEndStream()) {
            respond(ctx, h.stream());
          }
        } else if (msg instanceof Http2DataFrame d) {
          ByteBuf body = bodies.get(d.stream());
          if (body != null) {
            body.writeBytes(d.content());
          }
          int n = d.initialFlowControlledBytes();
          if (n > 0) {
            Http2FrameStream st = d.stream();
            Http2Headers head = heads.get(st);
            if (head != null && head.path().toString().equals("/slow-window") && windowHeld) {
              slowWindowReceived.addAndGet(n);
              held.add(() -> ctx.writeAndFlush(new DefaultHttp2WindowUpdateFrame(n).stream(st)));
            } else {
              ctx.write(new DefaultHttp2WindowUpdateFrame(n).stream(st));
            }
          }
          if (d.isEndStream()) {
            respond(ctx, d.stream());
          }
        } else if (msg instanceof Http2ResetFrame r) {
          resetsReceived.add(r.errorCode());
        } else if (msg instanceof Http2GoAwayFrame g) {
          goAwaysReceived.add(g.errorCode());
        }
      } finally {
        ReferenceCountUtil.release(msg);
      }
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
      ctx.flush();
    }

    private void respond(ChannelHandlerContext ctx, Http2FrameStream stream) {
      requests.incrementAndGet();
      Http2Headers head = heads.remove(stream);
      ByteBuf body = bodies.remove(stream);
      String path = head.path().toString();
      if (path.equals("/echo") || path.equals("/slow-window")) {
        int n = body.readableBytes();
        ctx.write(new DefaultHttp2HeadersFrame(new DefaultHttp2Headers().status("200")
            .set("x-method", head.method()).set("x-request-header", String.valueOf(head.get("x-test"))))
            .stream(stream));
        ctx.write(new DefaultHttp2DataFrame(body, false).stream(stream));
        ctx.write(new DefaultHttp2HeadersFrame(new DefaultHttp2Headers().set("x-echo-bytes", Integer.toString(n)),
            true).stream(stream));
        return;
      }
      body.release();
      if (path.startsWith("/big/")) {
        int n = Integer.parseInt(path.substring(5));
        bigStreams.put(stream.id(), codec);
        ctx.write(new DefaultHttp2HeadersFrame(new DefaultHttp2Headers().status("200")).stream(stream));
        byte[] chunk = new byte[16_384];
        for (int sent = 0; sent < n; sent += chunk.length) {
          int len = Math.min(chunk.length, n - sent);
          ctx.write(new DefaultHttp2DataFrame(Unpooled.wrappedBuffer(chunk, 0, len), sent + len >= n).stream(stream));
        }
        ctx.flush();
        return;
      }
      Runnable answer = () -> {
        ctx.write(new DefaultHttp2HeadersFrame(new DefaultHttp2Headers().status("200")).stream(stream));
        ctx.writeAndFlush(new DefaultHttp2DataFrame(Unpooled.copiedBuffer(path.equals("/hold") ? "held" : "ok",
            StandardCharsets.US_ASCII), true).stream(stream));
      };
      if (path.equals("/hold")) {
        held.add(answer);
      } else {
        answer.run();
      }
    }
  }
}
