package io.portcullis.admin;

import static java.util.Objects.requireNonNull;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.QueryStringDecoder;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * The admin server (Envoy's and linkerd's admin port): {@code /ready}, {@code /admin/ping}, {@code /config_dump}.
 * Plain HTTP, meant for loopback ({@code --admin}, default {@code 127.0.0.1:15000}).
 */
public final class AdminServer implements AutoCloseable {

  /** What the admin server shows; implementations must not block (called on an event loop). */
  public interface Model {
    /** Whether every listener is bound and the first configuration applied. */
    boolean ready();

    /** The configuration as JSON: listeners, routes, credentials (never key material), problems. */
    String configDumpJson();

    /** Every managed Certificate and its status as JSON ({@link CertsDump}). */
    String certsJson();

    /**
     * Forces the renewal of Certificate {@code namespace/name}.
     *
     * @return completes with what happened, or exceptionally with {@link IllegalArgumentException} when there is
     *     no such Certificate
     */
    CompletableFuture<String> renew(String namespace, String name);
  }

  private final EventLoopGroup group;
  private final Channel channel;

  /**
   * Binds the admin server.
   *
   * @throws IllegalStateException when the address cannot be bound
   */
  public AdminServer(InetSocketAddress address, Model model) {
    requireNonNull(model, "model");
    // Its own thread: rendering /config_dump for 10,000 hosts takes a while and must not hold up a data-plane loop.
    this.group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
    try {
      this.channel = new ServerBootstrap().group(group).channel(NioServerSocketChannel.class)
          .childHandler(new ChannelInitializer<Channel>() {
            @Override
            protected void initChannel(Channel ch) {
              ch.pipeline().addLast(new HttpServerCodec(), new HttpObjectAggregator(65_536), new Handler(model));
            }
          })
          .bind(address).syncUninterruptibly().channel();
    } catch (Exception e) {
      group.shutdownGracefully(0, 1, TimeUnit.SECONDS);
      throw new IllegalStateException("--admin: cannot bind " + address + ": " + e.getMessage(), e);
    }
  }

  /** Returns the bound address (useful with port 0). */
  public InetSocketAddress address() {
    return (InetSocketAddress) channel.localAddress();
  }

  @Override
  public void close() {
    channel.close().awaitUninterruptibly(5, TimeUnit.SECONDS);
    group.shutdownGracefully(0, 1, TimeUnit.SECONDS).awaitUninterruptibly(5, TimeUnit.SECONDS);
  }

  private static final class Handler extends SimpleChannelInboundHandler<FullHttpRequest> {
    private final Model model;

    Handler(Model model) {
      this.model = model;
    }

    @Override
    protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest req) {
      String path = req.uri();
      int q = path.indexOf('?');
      if (q >= 0) {
        path = path.substring(0, q);
      }
      if (path.equals("/certs/renew")) {
        renew(ctx, req);
        return;
      }
      FullHttpResponse resp = switch (path) {
        case "/ready" -> model.ready() ? text(HttpResponseStatus.OK, "LIVE\n")
            : text(HttpResponseStatus.SERVICE_UNAVAILABLE, "PRE_INITIALIZING\n");
        case "/admin/ping" -> text(HttpResponseStatus.OK, "pong\n");
        case "/config_dump" -> json(model.configDumpJson());
        case "/certs" -> json(model.certsJson());
        default -> text(HttpResponseStatus.NOT_FOUND, "not found; try /ready, /admin/ping, /config_dump, /certs, "
            + "POST /certs/renew?namespace=NS&name=NAME\n");
      };
      send(ctx, req, resp);
    }

    /** {@code POST /certs/renew?namespace=NS&name=NAME}: answers once the manager has acted on it. */
    private void renew(ChannelHandlerContext ctx, FullHttpRequest req) {
      if (!req.method().equals(HttpMethod.POST)) {
        send(ctx, req, text(HttpResponseStatus.METHOD_NOT_ALLOWED, "use POST /certs/renew?namespace=NS&name=NAME\n"));
        return;
      }
      QueryStringDecoder q = new QueryStringDecoder(req.uri());
      String name = q.parameters().getOrDefault("name", List.of("")).get(0);
      String namespace = q.parameters().getOrDefault("namespace", List.of("")).get(0);
      if (name.isEmpty() || namespace.isEmpty()) {
        send(ctx, req, text(HttpResponseStatus.BAD_REQUEST, "name and namespace are required (expected: POST "
            + "/certs/renew?namespace=NS&name=NAME)\n"));
        return;
      }
      req.retain();
      model.renew(namespace, name).whenComplete((msg, err) -> ctx.executor().execute(() -> {
        try {
          Throwable cause = err instanceof java.util.concurrent.CompletionException ? err.getCause() : err;
          send(ctx, req, cause == null ? text(HttpResponseStatus.OK, msg + "\n")
              : text(cause instanceof IllegalArgumentException ? HttpResponseStatus.NOT_FOUND
                  : HttpResponseStatus.INTERNAL_SERVER_ERROR, cause.getMessage() + "\n"));
        } finally {
          req.release();
        }
      }));
    }

    private static void send(ChannelHandlerContext ctx, FullHttpRequest req, FullHttpResponse resp) {
      boolean keepAlive = HttpUtil.isKeepAlive(req);
      HttpUtil.setKeepAlive(resp, keepAlive);
      var f = ctx.writeAndFlush(resp);
      if (!keepAlive) {
        f.addListener(ChannelFutureListener.CLOSE);
      }
    }

    private static FullHttpResponse text(HttpResponseStatus status, String body) {
      return response(status, body, "text/plain; charset=utf-8");
    }

    private static FullHttpResponse json(String body) {
      return response(HttpResponseStatus.OK, body, "application/json");
    }

    private static FullHttpResponse response(HttpResponseStatus status, String body, String type) {
      byte[] b = body.getBytes(StandardCharsets.UTF_8);
      FullHttpResponse r = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, status, Unpooled.wrappedBuffer(b));
      r.headers().set(HttpHeaderNames.CONTENT_TYPE, type).setInt(HttpHeaderNames.CONTENT_LENGTH, b.length);
      return r;
    }
  }
}
