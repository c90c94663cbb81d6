package io.portcullis.admin;

import static java.util.Objects.requireNonNull;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandler;
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
import io.portcullis.config.GatewayConfig;
import io.portcullis.config.ObjectStatus;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The admin server (Envoy's and linkerd's admin port): {@code /ready}, {@code /admin/ping}, {@code /config_dump},
 * {@code /certs}, {@code POST /certs/renew}, and the objects with their computed {@code status} at the Kubernetes API's
 * paths, {@code /apis/GROUP/VERSION/[namespaces/NS/]PLURAL[/NAME]} ({@code ObjectsEndpoint}; what
 * {@code portcullis get} reads). Plain HTTP, meant for loopback ({@code --admin}, default
 * {@code 127.0.0.1:15000}).
 *
 * <p>Each endpoint says whether it changes state. Every request must name this server in its {@code Host} (against
 * DNS rebinding); a state-changing one must also be a POST without {@code Origin} and carry the {@link AdminToken}
 * ({@code AdminAccess}). Forced renewals are limited to one per Certificate per minute unless {@code force=true}
 * ({@code RenewalLimit}).
 */
public final class AdminServer implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(AdminServer.class);

  /** What the admin server shows; implementations must not block (called on an event loop). */
  public interface Model {
    /** Whether every listener is bound and the first configuration applied. */
    boolean ready();

    /** What {@code /ready} adds under {@code LIVE}: why the configuration source is not following changes. */
    default java.util.Optional<String> readyDetail() {
      return java.util.Optional.empty();
    }

    /** The configuration as JSON: listeners, routes, credentials (never key material), problems. */
    String configDumpJson();

    /** Every managed Certificate and its status as JSON ({@link CertsDump}). */
    String certsJson();

    /**
     * The data plane's counters, one {@code name: value} line each, sorted, as Envoy's {@code /stats} prints them
     * ({@code downstream_cx_overflow}, {@code listener.443.downstream_pre_cx_timeout}, ...).
     */
    String statsText();

    /**
     * Forces the renewal of Certificate {@code namespace/name}.
     *
     * @return completes with what happened, or exceptionally with {@link IllegalArgumentException} when there is
     *     no such Certificate
     */
    CompletableFuture<String> renew(String namespace, String name);

    /**
     * The objects whose {@code status} Portcullis computes, with that status ({@link GatewayConfig#statuses()} of
     * the configuration being served), for {@code /apis/...}.
     */
    List<ObjectStatus> objects();
  }

  private static final String APIS = "/apis";
  private static final String APIS_USAGE = "GET /apis/GROUP/VERSION/[namespaces/NS/]PLURAL[/NAME]";

  private final EventLoopGroup group;
  private final Channel channel;

  /**
   * Binds the admin server.
   *
   * @param token what state-changing requests must carry
   * @param clock the time of the renewal limit
   * @throws IllegalStateException when the address cannot be bound
   */
  public AdminServer(InetSocketAddress address, Model model, AdminToken token, Clock clock) {
    Handler handler = new Handler(requireNonNull(model, "model"), requireNonNull(token, "token"),
        new RenewalLimit(clock));
    // Its own thread: rendering /config_dump for 10,000 hosts takes a while and must not hold up a data-plane loop.
    this.group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
    try {
      this.channel = new ServerBootstrap().group(group).channel(NioServerSocketChannel.class)
          .childHandler(new ChannelInitializer<Channel>() {
            @Override
            protected void initChannel(Channel ch) {
              ch.pipeline().addLast(new HttpServerCodec(), new HttpObjectAggregator(65_536), handler);
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

  /**
   * One endpoint: a GET (or HEAD) that reads, or a POST that changes state and so needs what
   * {@link AdminAccess#checkStateChange} checks.
   *
   * @param usage how the 404 page names it
   */
  private record Endpoint(String path, boolean changesState, String usage, Action action) {
    boolean allows(HttpMethod method) {
      return changesState ? method.equals(HttpMethod.POST)
          : method.equals(HttpMethod.GET) || method.equals(HttpMethod.HEAD);
    }

    String allowed() {
      return changesState ? "POST" : "GET, HEAD";
    }
  }

  private interface Action {
    void handle(ChannelHandlerContext ctx, FullHttpRequest req, QueryStringDecoder query);
  }

  /** Shared by every connection: they all run on the admin server's one event loop. */
  @ChannelHandler.Sharable
  private static final class Handler extends SimpleChannelInboundHandler<FullHttpRequest> {
    private final Model model;
    private final AdminToken token;
    private final RenewalLimit renewals;
    private final Map<String, Endpoint> endpoints = new LinkedHashMap<>();

    Handler(Model model, AdminToken token, RenewalLimit renewals) {
      this.model = model;
      this.token = token;
      this.renewals = renewals;
      add(new Endpoint("/ready", false, "GET /ready", (ctx, req, q) -> send(ctx, req, model.ready()
          ? text(HttpResponseStatus.OK, "LIVE\n" + model.readyDetail().map(d -> d + "\n").orElse(""))
          : text(HttpResponseStatus.SERVICE_UNAVAILABLE, "PRE_INITIALIZING\n"))));
      add(new Endpoint("/admin/ping", false, "GET /admin/ping", (ctx, req, q) -> send(ctx, req,
          text(HttpResponseStatus.OK, "pong\n"))));
      add(new Endpoint("/config_dump", false, "GET /config_dump", (ctx, req, q) -> send(ctx, req,
          json(model.configDumpJson()))));
      add(new Endpoint("/certs", false, "GET /certs", (ctx, req, q) -> send(ctx, req, json(model.certsJson()))));
      add(new Endpoint("/stats", false, "GET /stats", (ctx, req, q) -> send(ctx, req,
          text(HttpResponseStatus.OK, model.statsText()))));
      add(new Endpoint("/certs/renew", true, "POST /certs/renew?namespace=NS&name=NAME[&force=true]",
          this::renew));
    }

    private void add(Endpoint e) {
      endpoints.put(e.path(), e);
    }

    @Override
    protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest req) {
      if (!req.decoderResult().isSuccess()) {
        send(ctx, req, text(HttpResponseStatus.BAD_REQUEST, "malformed request\n"));
        return;
      }
      Optional<AdminAccess.Refusal> refused = AdminAccess.checkHost(req, (InetSocketAddress) ctx.channel()
          .localAddress());
      if (refused.isPresent()) {
        refuse(ctx, req, refused.get());
        return;
      }
      if (!req.uri().startsWith("/")) { // absolute-form (RFC 9112 section 3.2.2): only proxies send it
        send(ctx, req, text(HttpResponseStatus.BAD_REQUEST, "request target is not a path (expected: /PATH)\n"));
        return;
      }
      QueryStringDecoder query = new QueryStringDecoder(req.uri());
      if (query.path().equals(APIS) || query.path().startsWith(APIS + "/")) {
        objects(ctx, req, query.path());
        return;
      }
      Endpoint e = endpoints.get(query.path());
      if (e == null) {
        send(ctx, req, text(HttpResponseStatus.NOT_FOUND, "not found; try " + String.join(", ",
            endpoints.values().stream().map(Endpoint::usage).toList()) + ", " + APIS_USAGE + "\n"));
        return;
      }
      if (!e.allows(req.method())) {
        FullHttpResponse r = text(HttpResponseStatus.METHOD_NOT_ALLOWED, req.method() + " " + e.path()
            + " (expected: " + e.usage() + ")\n");
        r.headers().set(HttpHeaderNames.ALLOW, e.allowed());
        send(ctx, req, r);
        return;
      }
      if (e.changesState()) {
        refused = AdminAccess.checkStateChange(req, token);
        if (refused.isPresent()) {
          refuse(ctx, req, refused.get());
          return;
        }
      }
      e.action().handle(ctx, req, query);
    }

    /** {@code GET /apis/...}: reads only, like every endpoint but {@code /certs/renew}. */
    private void objects(ChannelHandlerContext ctx, FullHttpRequest req, String path) {
      if (!req.method().equals(HttpMethod.GET) && !req.method().equals(HttpMethod.HEAD)) {
        FullHttpResponse r = text(HttpResponseStatus.METHOD_NOT_ALLOWED, req.method() + " " + path
            + " (expected: " + APIS_USAGE + ")\n");
        r.headers().set(HttpHeaderNames.ALLOW, "GET, HEAD");
        send(ctx, req, r);
        return;
      }
      ObjectsEndpoint.Answer a = ObjectsEndpoint.get(path, model.objects());
      send(ctx, req, response(a.status(), a.json(), "application/json"));
    }

    private static void refuse(ChannelHandlerContext ctx, FullHttpRequest req, AdminAccess.Refusal r) {
      log.debug("admin: {} {} from {}: {} {}", req.method(), req.uri(), ctx.channel().remoteAddress(),
          r.status().code(), r.reason());
      FullHttpResponse resp = text(r.status(), r.reason() + "\n");
      r.wwwAuthenticate().ifPresent(v -> resp.headers().set(HttpHeaderNames.WWW_AUTHENTICATE, v));
      send(ctx, req, resp);
    }

    /**
     * {@code POST /certs/renew?namespace=NS&name=NAME[&force=true]}: answers once the manager has acted on it; 429
     * with {@code Retry-After} when the Certificate was renewed here less than a minute ago and {@code force} is not
     * {@code true}.
     */
    private void renew(ChannelHandlerContext ctx, FullHttpRequest req, QueryStringDecoder q) {
      String name = param(q, "name");
      String namespace = param(q, "namespace");
      String force = param(q, "force");
      if (name.isEmpty() || namespace.isEmpty()) {
        send(ctx, req, text(HttpResponseStatus.BAD_REQUEST, "name and namespace are required (expected: POST "
            + "/certs/renew?namespace=NS&name=NAME)\n"));
        return;
      }
      if (!force.isEmpty() && !force.equals("true") && !force.equals("false")) {
        send(ctx, req, text(HttpResponseStatus.BAD_REQUEST, "force: " + force + " (expected: true or false)\n"));
        return;
      }
      String key = namespace + "/" + name;
      Optional<Duration> wait = renewals.take(key, force.equals("true"));
      if (wait.isPresent()) {
        long seconds = (wait.get().toMillis() + 999) / 1000;
        FullHttpResponse r = text(HttpResponseStatus.TOO_MANY_REQUESTS, "Certificate " + key + ": renewed less "
            + "than " + RenewalLimit.INTERVAL.toSeconds() + " s ago; retry in " + seconds + " s, or force it "
            + "(&force=true; portcullis certs renew " + name + " --force)\n");
        r.headers().set(HttpHeaderNames.RETRY_AFTER, Long.toString(seconds));
        send(ctx, req, r);
        return;
      }
      log.info("admin: renewal of Certificate {} requested{} from {}", key, force.equals("true") ? " (forced)" : "",
          ctx.channel().remoteAddress());
      req.retain();
      model.renew(namespace, name).whenComplete((msg, err) -> ctx.executor().execute(() -> {
        try {
          Throwable cause = err instanceof java.util.concurrent.CompletionException ? err.getCause() : err;
          if (cause instanceof IllegalArgumentException) {
            renewals.untake(key); // no such Certificate: nothing was issued
          }
          send(ctx, req, cause == null ? text(HttpResponseStatus.OK, msg + "\n")
              : text(cause instanceof IllegalArgumentException ? HttpResponseStatus.NOT_FOUND
                  : HttpResponseStatus.INTERNAL_SERVER_ERROR, cause.getMessage() + "\n"));
        } finally {
          req.release();
        }
      }));
    }

    private static String param(QueryStringDecoder q, String name) {
      return q.parameters().getOrDefault(name, List.of("")).get(0);
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
