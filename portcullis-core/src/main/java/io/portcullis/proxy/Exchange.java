package io.portcullis.proxy;

import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.ScheduledFuture;
import io.portcullis.acme.Http01Challenges;
import io.portcullis.config.ServerConfig;
import io.portcullis.routing.Endpoint;
import io.portcullis.routing.HttpRoute;
import io.portcullis.routing.RouteAction;
import io.portcullis.routing.RouteMatch;
import io.portcullis.routing.VirtualHost;
import io.portcullis.tls.TlsContexts.ServerTls;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One request and its response on a downstream HTTP/1.1 connection or HTTP/2 stream: routes it, answers locally or
 * forwards it upstream, streaming both ways with backpressure, and writes its access-log line. Runs on the channel's
 * event loop and never blocks; not thread-safe.
 */
final class Exchange implements Upstreams.UpstreamListener {
  private static final Logger log = LoggerFactory.getLogger(Exchange.class);
  /** Request bodies up to this size are kept so a retry can replay them; larger ones are not retried. */
  static final int MAX_REPLAY_BYTES = 64 * 1024;

  private final ProxyHandler owner;
  private final ChannelHandlerContext ctx;
  private final Listener listener;
  private final Upstreams upstreams;
  private final AccessLog accessLog;
  private final Http01Challenges challenges;
  private final String sni;
  private final Channel connection;
  private final boolean h2;
  private final ProxyLimits limits;
  private final ProxyStats stats;
  private final HttpRequest request;
  private final Instant startTime = Instant.now();
  private final long startNanos = System.nanoTime();
  private final boolean keepAlive;
  private final boolean expectsBody;
  private final List<HttpContent> body = new ArrayList<>();
  private ListenerState state;
  private View view;
  private String host = "";
  private HttpRoute route;
  private RouteAction.Forward forward;
  private RequestHead.Checked head;
  private RouteAction.WeightedCluster cluster;
  private Upstreams.Pool pool;
  private Endpoint endpoint;
  private Channel upstream;
  private HttpRequest upstreamHead;
  private boolean replayable = true;
  private int replayBytes;
  private boolean requestComplete;
  private boolean responseStarted;
  private boolean responseComplete;
  private boolean awaitingWritability;
  private boolean done;
  private boolean upstreamReusable = true;
  private int attempts;
  private long bytesReceived;
  private long bytesSent;
  private long upstreamStartNanos;
  private long upstreamServiceMs = -1;
  private int status;
  private String flags = "-";
  private String requestId;
  private ScheduledFuture<?> timeout;
  private ScheduledFuture<?> perTryTimeout;
  private long lastActivityNanos = System.nanoTime();
  /** An upstream connect in progress for this exchange: closed if the exchange ends first. */
  private ChannelFuture connecting;

  Exchange(ProxyHandler owner, ChannelHandlerContext ctx, HttpRequest request) {
    this.owner = owner;
    this.ctx = ctx;
    this.listener = owner.listener;
    this.upstreams = owner.upstreams;
    this.accessLog = owner.accessLog;
    this.challenges = owner.challenges;
    this.sni = owner.sni;
    this.connection = owner.connection;
    this.h2 = owner.isH2();
    this.limits = owner.limits;
    this.stats = owner.stats;
    this.request = request;
    this.keepAlive = HttpUtil.isKeepAlive(request);
    this.expectsBody = !(request instanceof FullHttpRequest) && !request.decoderResult().isFailure()
        && (h2 || RequestHead.contentLength(request) > 0 || HttpUtil.isTransferEncodingChunked(request));
    ReferenceCountUtil.retain(request); // released with the exchange when request is a FullHttpRequest
  }

  void start() {
    state = listener.state();
    RequestHead.Result checked = RequestHead.check(request, h2, limits, owner.normalization);
    if (checked instanceof RequestHead.Refused r) {
      stats.inc(r.counter());
      local(r.status(), r.text(), r.status() == 307 ? "-" : "DPE", r.location());
      return;
    }
    head = (RequestHead.Checked) checked;
    String path = head.path();
    String authority = head.authority();
    String uri = head.originForm();
    host = RequestHead.hostOf(authority);
    view = new View(path, head.query(), authority, request.method().name(), request.headers(),
        state.config().port());
    requestId = request.headers().get("x-request-id");
    if (requestId == null || requestId.isEmpty()) {
      requestId = RequestHead.randomUuid();
    }
    if (state.config().tls() && misdirected()) {
      local(421, "misdirected request: " + host + " is not served by the server this connection's SNI chose, or "
          + "its certificate does not cover it\n", "-", null);
      return;
    }
    if (!state.config().tls()) {
      Optional<String> keyAuthorization = challenges.forPath(path); // RFC 8555 §8.3, before routing
      if (keyAuthorization.isPresent()) {
        local(200, keyAuthorization.get(), "-", null);
        return;
      }
      Optional<ServerConfig> server = state.config().serversByHost().find(host);
      if (server.isPresent() && server.get().httpsRedirect()) {
        local(301, "", "-", "https://" + RequestHead.hostWithoutPort(authority) + uri);
        return;
      }
    }
    Optional<VirtualHost> vh = state.config().routes().find(host);
    Optional<HttpRoute> r = vh.flatMap(v -> v.route(view));
    if (r.isEmpty()) {
      local(404, "", "NR", null);
      return;
    }
    route = r.get();
    RouteAction action = route.action();
    if (action instanceof RouteAction.DirectResponse d) {
      local(d.status(), d.body(), "-", null);
    } else if (action instanceof RouteAction.Redirect rd) {
      local(rd.code(), new byte[0], "-", redirectLocation(rd, authority, uri));
    } else if (action instanceof RouteAction.Forward f) {
      startForward(f);
    }
  }

  /**
   * Whether the request's host belongs to another server block than the one the handshake chose by SNI (its TLS
   * settings may differ), or to the same block but is not covered by the certificate served for the SNI: RFC 9110
   * §15.5.20, the case of an HTTP/2 connection reused across hosts (istio#13589). The certificate is checked only
   * when the host differs from the SNI, so the common request costs one string comparison more.
   */
  private boolean misdirected() {
    Optional<ServerTls> byHost = state.tls().find(host);
    if (byHost.isEmpty() || !byHost.get().server().routeName().equals(
        connection.attr(GatewayChannelInitializer.SNI_SERVER).get())) {
      return true;
    }
    return sni != null && !sni.equalsIgnoreCase(host)
        && !byHost.get().credentials().stream().allMatch(c -> c.covers(host));
  }

  private String redirectLocation(RouteAction.Redirect rd, String authority, String uri) {
    String scheme = rd.scheme().orElse(state.config().tls() ? "https" : "http");
    String h = rd.authority().orElse(RequestHead.hostWithoutPort(authority));
    int port = rd.port();
    String p = rd.uri().orElse(uri);
    return scheme + "://" + h + (port > 0 ? ":" + port : "") + p;
  }

  private void startForward(RouteAction.Forward f) {
    forward = f;
    cluster = f.pick();
    if (cluster.cluster().endpoints().isEmpty()) {
      local(503, "no healthy upstream", "NC", null);
      return;
    }
    pool = upstreams.pool(ctx.channel().eventLoop());
    upstreamHead = UpstreamRequest.build(request, head, view, route, forward, Addresses.ip(connection.remoteAddress()),
        state.config().tls(), h2, requestId);
    if (!f.timeout().isZero()) {
      timeout = ctx.executor().schedule(this::onTimeout, f.timeout().toNanos(), TimeUnit.NANOSECONDS);
    }
    attempt();
  }

  private void attempt() {
    attempts++;
    endpoint = pool.next(cluster.cluster());
    upstreamStartNanos = System.nanoTime();
    upstreamReusable = true;
    RouteAction.RetryPolicy retry = forward.retries();
    if (!retry.perTryTimeout().isZero()) {
      perTryTimeout = ctx.executor().schedule(this::onPerTryTimeout, retry.perTryTimeout().toNanos(),
          TimeUnit.NANOSECONDS);
    }
    Endpoint ep = endpoint;
    int attempt = attempts;
    // After this read batch: an HTTP/2 stream reset in the same batch as its HEADERS (rapid reset), or an HTTP/1.1
    // client gone with its request, has ended the exchange by then and no upstream connection is opened for it.
    ctx.executor().execute(() -> {
      if (done || attempt != attempts) {
        stats.inc(ProxyStats.UPSTREAM_CX_CANCELLED);
        return;
      }
      ChannelFuture acquired = pool.acquire(ep);
      if (!acquired.isDone()) {
        connecting = acquired;
      }
      acquired.addListener((ChannelFutureListener) f -> {
        if (connecting == f) {
          connecting = null;
        }
        if (done || attempt != attempts) {
          if (f.isSuccess()) {
            f.channel().close(); // a new connection the exchange no longer needs: never pooled unused
          }
          return;
        }
        if (!f.isSuccess()) {
          onConnectFailure(f.cause());
        } else {
          onConnected(f.channel());
        }
      });
    });
  }

  /** When bytes last moved for this exchange, either way ({@link System#nanoTime()}). */
  long lastActivityNanos() {
    return lastActivityNanos;
  }

  /** No bytes moved for {@code --stream-idle-timeout} ({@link ProxyHandler}'s timer): 408 or a reset, flag SI. */
  void streamIdleTimeout() {
    if (done) {
      return;
    }
    stats.inc(ProxyStats.RQ_IDLE_TIMEOUT);
    discardUpstream();
    if (!responseStarted) {
      local(408, "stream timeout\n", "SI", null);
    } else {
      flags = "SI";
      abortDownstream();
    }
  }

  /** An HTTP/1.1 body the decoder found malformed (bad chunk size, bare LF): 400 and close, nothing forwarded. */
  private void badRequestBody(HttpContent c) {
    stats.inc(ProxyStats.CX_PROTOCOL_ERROR);
    String why = String.valueOf(c.decoderResult().cause());
    c.release();
    requestComplete = true;
    if (done) {
      ctx.close();
      return;
    }
    discardUpstream();
    upstreamReusable = false;
    if (!responseStarted) {
      local(400, "bad request body\n", "DPE", null);
    } else {
      flags = "DPE";
      abortDownstream();
    }
    log.debug("downstream {}: bad request body: {}", ctx.channel(), why);
  }

  private void onConnected(Channel ch) {
    upstream = ch;
    ch.attr(Upstreams.LISTENER).set(this);
    ch.write(ReferenceCountUtil.retain(upstreamHead));
    for (HttpContent c : body) {
      ch.write(c.retainedDuplicate());
    }
    ch.flush(); // upstream connections read freely (auto-read); see upstreamReadComplete for backpressure
    if (!requestComplete) {
      owner.read();
    }
  }

  void requestContent(HttpContent c) {
    lastActivityNanos = System.nanoTime();
    if (c.decoderResult().isFailure()) {
      badRequestBody(c);
      return;
    }
    if (done) {
      c.release();
      if (!requestComplete && c instanceof LastHttpContent) {
        requestComplete = true;
      }
      if (!requestComplete) {
        owner.read();
      }
      return;
    }
    bytesReceived += c.content().readableBytes();
    boolean last = c instanceof LastHttpContent;
    if (last) {
      requestComplete = true;
    }
    if (replayable) {
      replayBytes += c.content().readableBytes();
      if (replayBytes > MAX_REPLAY_BYTES) {
        replayable = false;
        body.forEach(HttpContent::release);
        body.clear();
      }
    }
    if (upstream == null) {
      if (replayable) {
        body.add(c);
      } else {
        c.release(); // cannot happen: body is read only once connected
        upstreamReusable = false;
      }
      return;
    }
    if (replayable) {
      body.add(c);
      c = c.retainedDuplicate();
    }
    Channel up = upstream;
    up.writeAndFlush(c).addListener((ChannelFutureListener) f -> {
      if (f.isSuccess() && !last && up == upstream && !done) {
        owner.read();
      }
    });
  }

  @Override
  public void upstreamRead(Object msg) {
    lastActivityNanos = System.nanoTime();
    if (done) {
      ReferenceCountUtil.release(msg);
      return;
    }
    if (responseComplete) {
      // Bytes after the end of the response (a backend that answered twice, or early and then read the body as a
      // new request): never forwarded as the answer to the next request, and the connection is not reused.
      ReferenceCountUtil.release(msg);
      upstreamReusable = false;
      return;
    }
    if (msg instanceof HttpResponse resp) {
      int code = resp.status().code();
      if (code >= 100 && code < 200) {
        ReferenceCountUtil.release(msg); // interim response: upstreamReadComplete reads on
        return;
      }
      cancel(perTryTimeout);
      upstreamServiceMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - upstreamStartNanos);
      if (!responseStarted && forward.retries().retriesStatus(code) && canRetry()) {
        ReferenceCountUtil.release(msg);
        discardUpstream();
        retry();
        return;
      }
      if (!HttpUtil.isKeepAlive(resp)) {
        upstreamReusable = false;
      }
      status = code;
      responseStarted = true;
      HttpResponse out = DownstreamResponse.fromUpstream(resp, route, upstreamServiceMs, h2, request.method(),
          !keepAlive || bodyPending());
      ctx.write(out, ctx.voidPromise()); // flushed with the body, or on upstreamReadComplete
      if (msg instanceof HttpContent c) {
        forwardResponseContent(c);
      }
      return;
    }
    if (msg instanceof HttpContent c && responseStarted) {
      forwardResponseContent(c);
      return;
    }
    ReferenceCountUtil.release(msg);
  }

  /**
   * Flushes what this upstream read produced, once per read batch rather than per message (Netty's proxy
   * pattern). Upstream connections read freely; only when the downstream cannot take more does reading stop,
   * until {@link #downstreamWritable()}: no epoll change per read, no unbounded buffering.
   */
  @Override
  public void upstreamReadComplete() {
    if (done || upstream == null || responseComplete) {
      return;
    }
    if (responseStarted) {
      ctx.flush();
    }
    if (!ctx.channel().isWritable()) {
      awaitingWritability = true;
      upstream.config().setAutoRead(false);
    }
  }

  void downstreamWritable() {
    if (awaitingWritability && !done && upstream != null) {
      awaitingWritability = false;
      upstream.config().setAutoRead(true);
    }
  }

  private void forwardResponseContent(HttpContent c) {
    bytesSent += c.content().readableBytes();
    if (c instanceof LastHttpContent) {
      responseComplete = true;
      Channel up = upstream;
      ctx.writeAndFlush(c).addListener((ChannelFutureListener) f -> finishForward(up, f.isSuccess()));
      return;
    }
    ctx.write(c, ctx.voidPromise());
  }

  private void finishForward(Channel up, boolean written) {
    if (done) {
      return;
    }
    if (up != null) {
      if (upstreamReusable && requestComplete && up == upstream) {
        pool.release(endpoint, up);
      } else {
        up.attr(Upstreams.LISTENER).set(null);
        up.close();
      }
      upstream = null;
    }
    finish();
    if (!written || h2) {
      return;
    }
    if (keepAlive && !bodyPending()) {
      owner.read();
    } else {
      ctx.close();
    }
  }

  /** Whether request body bytes may still arrive (then an HTTP/1.1 connection cannot be reused). */
  private boolean bodyPending() {
    return expectsBody && !requestComplete;
  }

  private boolean canRetry() {
    return attempts <= forward.retries().attempts() && replayable && (timeout == null || !timeout.isDone());
  }

  private void retry() {
    ctx.executor().schedule(() -> {
      if (!done) {
        attempt();
      }
    }, Math.min(25L * attempts, 250L), TimeUnit.MILLISECONDS);
  }

  private void onConnectFailure(Throwable cause) {
    cancel(perTryTimeout);
    log.debug("upstream {} {}: connect failed: {}", cluster.cluster().name(), endpoint, cause.toString());
    if (forward.retries().retriesConnectFailure() && canRetry()) {
      retry();
      return;
    }
    local(503, "upstream connect error or disconnect/reset before headers. reset reason: connection failure",
        "UF", null);
  }

  @Override
  public void upstreamClosed() {
    if (done) {
      return;
    }
    upstream = null;
    cancel(perTryTimeout);
    if (!responseStarted) {
      if (forward.retries().retriesConnectFailure() && canRetry()) {
        retry();
        return;
      }
      local(503, "upstream connect error or disconnect/reset before headers. reset reason: connection termination",
          "UC", null);
      return;
    }
    flags = "UC";
    abortDownstream();
  }

  @Override
  public void upstreamException(Throwable cause) {
    log.debug("upstream {} {}: {}", cluster.cluster().name(), endpoint, cause.toString());
    upstreamClosed();
  }

  private void onTimeout() {
    if (done) {
      return;
    }
    discardUpstream();
    if (!responseStarted) {
      local(504, "upstream request timeout", "UT", null);
    } else {
      flags = "UT";
      abortDownstream();
    }
  }

  private void onPerTryTimeout() {
    if (done || responseStarted) {
      return;
    }
    discardUpstream();
    if (canRetry()) {
      retry();
    } else {
      local(504, "upstream request timeout", "UT", null);
    }
  }

  private void discardUpstream() {
    if (connecting != null) {
      connecting.channel().close(); // a per-try timeout or retry leaves no connect behind
      connecting = null;
      stats.inc(ProxyStats.UPSTREAM_CX_CANCELLED);
    }
    Channel up = upstream;
    upstream = null;
    if (up != null) {
      up.attr(Upstreams.LISTENER).set(null);
      up.close();
    }
  }

  private void abortDownstream() {
    finish();
    ctx.close(); // an HTTP/2 stream is reset, an HTTP/1.1 connection closed: the response is incomplete
  }

  void downstreamClosed() {
    if (done) {
      return;
    }
    discardUpstream();
    if (!responseStarted) {
      flags = "DC";
      status = 0;
    } else {
      flags = "DC";
    }
    finish();
  }

  private void local(int code, String text, String responseFlags, String location) {
    local(code, text.getBytes(StandardCharsets.UTF_8), responseFlags, location);
  }

  private void local(int code, byte[] content, String responseFlags, String location) {
    if (done) {
      return;
    }
    status = code;
    flags = responseFlags;
    boolean close = !h2 && (!keepAlive || bodyPending() || code == 400 || request.decoderResult().isFailure());
    boolean resetStream = h2 && bodyPending();
    FullHttpResponse resp = DownstreamResponse.local(code, content, location, route, close);
    bytesSent = content.length;
    responseStarted = true;
    discardUpstream();
    finish();
    ctx.writeAndFlush(resp).addListener((ChannelFutureListener) f -> {
      if (h2) {
        if (resetStream) {
          ctx.close(); // the client is still sending: reset the stream (RST_STREAM) rather than read on
        }
        return;
      }
      if (close || !f.isSuccess()) {
        ctx.close();
      } else {
        owner.read();
      }
    });
  }

  private void finish() {
    if (done) {
      return;
    }
    done = true;
    cancel(timeout);
    cancel(perTryTimeout);
    if (connecting != null) {
      connecting.channel().close(); // the backend is not kept waiting by a connection nobody will use
      connecting = null;
      stats.inc(ProxyStats.UPSTREAM_CX_CANCELLED);
    }
    body.forEach(HttpContent::release);
    body.clear();
    ReferenceCountUtil.release(request);
    if (upstreamHead != null) {
      ReferenceCountUtil.release(upstreamHead);
    }
    owner.exchangeDone(this);
    if (accessLog.enabled()) {
      accessLog.log(entry());
    }
  }

  private AccessLog.Entry entry() {
    HttpHeaders h = request.headers();
    String authority = view == null ? h.get(HttpHeaderNames.HOST) : view.authority();
    String upstreamCluster = cluster == null ? null : cluster.cluster().name();
    String upstreamHost = endpoint == null ? null : endpoint.toString();
    return new AccessLog.Entry(startTime, request.method().name(), request.uri(), owner.protocol, status, flags,
        bytesReceived, bytesSent, TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - startNanos), upstreamServiceMs,
        upstreamHost, upstreamCluster, authority, h.get("x-forwarded-for"),
        h.get(HttpHeaderNames.USER_AGENT), requestId, sni, Addresses.text(connection.localAddress()),
        Addresses.text(connection.remoteAddress()), route == null ? null : route.name(), head == null ? null : head.originForm());
  }

  /** The parts of the request routing looks at. */
  private record View(String path, String query, String authority, String method, HttpHeaders headers, int port)
      implements RouteMatch.RequestView {
    @Override
    public String header(String lowerCaseName) {
      return headers.get(lowerCaseName);
    }
  }

  private static void cancel(ScheduledFuture<?> f) {
    if (f != null) {
      f.cancel(false);
    }
  }
}
