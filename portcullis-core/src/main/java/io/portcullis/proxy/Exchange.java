package io.portcullis.proxy;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.EventLoop;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http2.Http2Headers;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.ScheduledFuture;
import io.portcullis.config.ServerConfig;
import io.portcullis.routing.Cluster;
import io.portcullis.routing.Endpoint;
import io.portcullis.routing.HttpRoute;
import io.portcullis.routing.RouteAction;
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
 * One request and its response on a {@link Downstream} (an HTTP/1.1 connection or an HTTP/2 stream): routes it,
 * answers locally or forwards it over an {@link UpstreamCall} (HTTP/1.1 or HTTP/2, as the cluster's port says),
 * streaming both ways with backpressure, retries, and writes its access-log line. A WebSocket upgrade (HTTP/1.1
 * {@code Upgrade} or RFC 8441 extended CONNECT) turns into a byte tunnel once the upstream answers {@code 101}.
 * Runs on the downstream's event loop and never blocks; not thread-safe.
 */
final class Exchange implements UpstreamCall.Listener {
  private static final Logger log = LoggerFactory.getLogger(Exchange.class);
  /** Request bodies up to this size are kept so a retry can replay them; larger ones are not retried. */
  static final int MAX_REPLAY_BYTES = 64 * 1024;

  private final Downstream downstream;
  private final ProxyContext cx;
  private final HttpRequest h1Request;
  private final Http2Headers h2Request;
  private final int streamId;
  private final Instant startTime = Instant.now();
  private final long startNanos = System.nanoTime();
  private final boolean keepAlive;
  private final boolean expectsBody;
  private final boolean grpc;
  /** gRPC-Web's translation to gRPC, or null for other requests. */
  private final GrpcWeb grpcWeb;
  private final boolean webSocket;
  private final List<ByteBuf> body = new ArrayList<>();
  private Http2Headers requestTrailers;
  private ListenerState state;
  private RequestView view;
  private String host = "";
  private HttpRoute route;
  private RouteAction.Forward forward;
  private RequestHead.Checked head;
  private RouteAction.WeightedCluster cluster;
  private Endpoint endpoint;
  private UpstreamCall upstream;
  private UpstreamCalls.Pending connecting;
  private UpstreamRequest.Context upstreamContext;
  private boolean replayable = true;
  private int replayBytes;
  private boolean requestComplete;
  private boolean responseStarted;
  private boolean responseComplete;
  private boolean tunnel;
  private boolean awaitingWritability;
  private boolean done;
  private boolean upstreamReusable = true;
  private int attempts;
  private long bytesReceived;
  private long bytesSent;
  private long upstreamStartNanos;
  private long upstreamServiceMs = -1;
  private int status;
  private String grpcStatus;
  private String flags = "-";
  private String requestId;
  private ScheduledFuture<?> timeout;
  private ScheduledFuture<?> perTryTimeout;
  private long lastActivityNanos = System.nanoTime();

  /** An HTTP/1.1 request; the exchange owns (releases) it. */
  Exchange(Downstream downstream, HttpRequest request) {
    this.downstream = downstream;
    this.cx = downstream.context();
    this.h1Request = request;
    this.h2Request = null;
    this.streamId = 0;
    this.keepAlive = HttpUtil.isKeepAlive(request);
    this.expectsBody = !request.decoderResult().isFailure()
        && (RequestHead.contentLength(request) > 0 || HttpUtil.isTransferEncodingChunked(request));
    String type = request.headers().get(HttpHeaderNames.CONTENT_TYPE);
    this.grpcWeb = GrpcWeb.of(type);
    this.grpc = Grpc.isGrpc(type) || grpcWeb != null;
    this.webSocket = request.headers().containsValue(HttpHeaderNames.UPGRADE, "websocket", true)
        && request.headers().containsValue(HttpHeaderNames.CONNECTION, "upgrade", true)
        && request.method().equals(HttpMethod.GET);
  }

  /** An HTTP/2 request head; {@code endStream} when it carries no body. */
  Exchange(Downstream downstream, Http2Headers request, int streamId, boolean endStream) {
    this.downstream = downstream;
    this.cx = downstream.context();
    this.h1Request = null;
    this.h2Request = request;
    this.streamId = streamId;
    this.keepAlive = true;
    this.requestComplete = endStream;
    this.expectsBody = !endStream;
    CharSequence type = request.get(HttpHeaderNames.CONTENT_TYPE);
    this.grpcWeb = GrpcWeb.of(type);
    this.grpc = Grpc.isGrpc(type) || grpcWeb != null;
    CharSequence protocol = request.get(Http2Headers.PseudoHeaderName.PROTOCOL.value());
    this.webSocket = protocol != null && HttpMethod.CONNECT.asciiName().contentEquals(request.method());
  }

  void start() {
    state = cx.listener().state();
    RequestHead.Result checked = h1Request != null ? RequestHead.check(h1Request, cx.limits(), cx.normalization())
        : RequestHead.check(h2Request, cx.limits(), cx.normalization());
    if (checked instanceof RequestHead.Refused r) {
      cx.stats().inc(r.counter());
      local(r.status(), r.text(), r.status() == 307 ? "-" : "DPE", r.location());
      return;
    }
    head = (RequestHead.Checked) checked;
    String path = head.path();
    String authority = head.authority();
    String uri = head.originForm();
    host = RequestHead.hostOf(authority);
    view = h1Request != null ? RequestView.of(path, head.query(), authority, h1Request, state.config().port())
        : RequestView.of(path, head.query(), authority, h2Request, state.config().port());
    requestId = view.header("x-request-id");
    if (requestId == null || requestId.isEmpty()) {
      requestId = RequestHead.randomUuid();
    }
    if (state.config().tls() && misdirected()) {
      local(421, "misdirected request: " + host + " is not served by the server this connection's SNI chose, or "
          + "its certificate does not cover it\n", "-", null);
      return;
    }
    if (!state.config().tls()) {
      Optional<String> keyAuthorization = cx.challenges().forPath(path); // RFC 8555 §8.3, before routing
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
        downstream.connection().attr(GatewayChannelInitializer.SNI_SERVER).get())) {
      return true;
    }
    String sni = downstream.sni();
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
    if (webSocket && cluster.cluster().protocol() == Cluster.Protocol.HTTP2) {
      local(501, "WebSocket to an HTTP/2 upstream is not supported\n", "-", null);
      return;
    }
    long timeoutNanos = f.timeout().toNanos();
    String grpcTimeout = null;
    if (grpc) {
      long asked = Grpc.parseTimeoutNanos(view.header("grpc-timeout"));
      if (asked > 0 && (timeoutNanos == 0 || asked < timeoutNanos)) {
        timeoutNanos = asked; // gRPC's deadline, capped by the route's timeout (Envoy's grpc_timeout_header_max)
      } else if (timeoutNanos > 0) {
        grpcTimeout = Grpc.formatTimeout(timeoutNanos);
      }
    }
    upstreamContext = new UpstreamRequest.Context(head, view, route, forward,
        Addresses.ip(downstream.connection().remoteAddress()), state.config().tls(), requestId, webSocket,
        expectsBody, grpcTimeout, grpcWeb);
    if (timeoutNanos > 0 && !webSocket) {
      timeout = downstream.eventLoop().schedule(this::onTimeout, timeoutNanos, TimeUnit.NANOSECONDS);
    }
    attempt();
  }

  private void attempt() {
    attempts++;
    UpstreamCalls calls = cx.upstreams().calls(downstream.eventLoop());
    endpoint = calls.next(cluster.cluster());
    upstreamStartNanos = System.nanoTime();
    upstreamReusable = true;
    RouteAction.RetryPolicy retry = forward.retries();
    if (!retry.perTryTimeout().isZero() && !webSocket) {
      perTryTimeout = downstream.eventLoop().schedule(this::onPerTryTimeout, retry.perTryTimeout().toNanos(),
          TimeUnit.NANOSECONDS);
    }
    Endpoint ep = endpoint;
    int attempt = attempts;
    // After this read batch: an HTTP/2 stream reset in the same batch as its HEADERS (rapid reset), or an HTTP/1.1
    // client gone with its request, has ended the exchange by then and no upstream connection is opened for it.
    downstream.eventLoop().execute(() -> {
      if (done || attempt != attempts) {
        cx.stats().inc(ProxyStats.UPSTREAM_CX_CANCELLED);
        return;
      }
      connecting = calls.open(cluster.cluster(), ep, this, new UpstreamCalls.Callback() {
        @Override
        public void opened(UpstreamCall call) {
          connecting = null;
          if (done || attempt != attempts) {
            call.abandon();
            return;
          }
          onOpened(call);
        }

        @Override
        public void failed(Throwable cause) {
          connecting = null;
          if (!done && attempt == attempts) {
            onConnectFailure(cause);
          }
        }
      });
    });
  }

  private void onOpened(UpstreamCall call) {
    upstream = call;
    boolean endStream = requestComplete && body.isEmpty() && requestTrailers == null;
    if (h1Request != null) {
      call.sendHead(h1Request, upstreamContext, endStream);
    } else {
      call.sendHead(h2Request, streamId, upstreamContext, endStream);
    }
    int buffered = 0;
    for (int i = 0; i < body.size(); i++) {
      boolean last = requestComplete && requestTrailers == null && i == body.size() - 1;
      ByteBuf chunk = body.get(i);
      buffered += chunk.readableBytes();
      ChannelFuture f = call.sendData(chunk.retainedDuplicate(), last);
      if (i == body.size() - 1 && attempts == 1) {
        f.addListener(written(buffered, last)); // the client's window (HTTP/2) or next read (HTTP/1.1) for them
      }
    }
    if (requestComplete && requestTrailers != null) {
      call.sendTrailers(requestTrailers);
    }
    call.flush();
    if (!requestComplete && (body.isEmpty() || attempts > 1)) {
      downstream.requestConsumed(0); // ask for the body, now that it has somewhere to go
    }
  }

  /** When bytes last moved for this exchange, either way ({@link System#nanoTime()}). */
  long lastActivityNanos() {
    return lastActivityNanos;
  }

  /** No bytes moved for {@code --stream-idle-timeout} (the downstream's timer): 408 or a reset, flag SI. */
  void streamIdleTimeout() {
    if (done) {
      return;
    }
    cx.stats().inc(ProxyStats.RQ_IDLE_TIMEOUT);
    discardUpstream();
    if (!responseStarted) {
      local(408, "stream timeout\n", "SI", null);
    } else {
      flags = "SI";
      abortDownstream();
    }
  }

  /** An HTTP/1.1 body the decoder found malformed (bad chunk size, bare LF): 400 and close, nothing forwarded. */
  void badRequestBody(String why) {
    cx.stats().inc(ProxyStats.CX_PROTOCOL_ERROR);
    requestComplete = true;
    if (done) {
      downstream.abort();
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
    log.debug("downstream {}: bad request body: {}", downstream.connection(), why);
  }

  /** Request body bytes (owned by the exchange from here); {@code last} ends the request. */
  void requestData(ByteBuf data, boolean last) {
    lastActivityNanos = System.nanoTime();
    int n = data.readableBytes();
    if (done) {
      data.release();
      if (last) {
        requestComplete = true;
      }
      if (!requestComplete) {
        downstream.requestConsumed(n);
      }
      return;
    }
    bytesReceived += n;
    if (last) {
      requestComplete = true;
    }
    if (grpcWeb != null) {
      data = grpcWeb.request(data, downstream.connection().alloc());
    }
    if (tunnel) {
      upstream.sendData(data, false).addListener(written(n, false));
      upstream.flush();
      return;
    }
    if (replayable) {
      replayBytes += n;
      if (replayBytes > MAX_REPLAY_BYTES || webSocket) {
        replayable = false;
        body.forEach(ByteBuf::release);
        body.clear();
      }
    }
    if (upstream == null) {
      if (replayable) {
        body.add(data);
      } else {
        data.release(); // cannot happen: body is read only once connected
        upstreamReusable = false;
      }
      return;
    }
    if (replayable) {
      body.add(data);
      data = data.retainedDuplicate();
    }
    upstream.sendData(data, last).addListener(written(n, last));
    upstream.flush();
  }

  /** The request's trailers (HTTP/2, or a chunked HTTP/1.1 body's), ending it. */
  void requestTrailers(Http2Headers trailers) {
    lastActivityNanos = System.nanoTime();
    requestComplete = true;
    if (done) {
      return;
    }
    if (upstream == null) {
      requestTrailers = trailers;
      return;
    }
    if (replayable) {
      requestTrailers = trailers;
    }
    upstream.sendTrailers(trailers);
    upstream.flush();
  }

  private ChannelFutureListener written(int n, boolean last) {
    UpstreamCall up = upstream;
    return f -> {
      if (f.isSuccess() && !last && up == upstream && !done) {
        downstream.requestConsumed(n);
      }
    };
  }

  @Override
  public void responseHead(HttpResponse resp) {
    lastActivityNanos = System.nanoTime();
    int code = resp.status().code();
    if (!upstreamHead(code, Grpc.status(resp.headers()), false)) {
      return;
    }
    if (!HttpUtil.isKeepAlive(resp)) {
      upstreamReusable = false;
    }
    HttpResponse out = DownstreamResponse.fromUpstream(resp, route, upstreamServiceMs);
    if (grpcWeb != null) {
      out.headers().set(HttpHeaderNames.CONTENT_TYPE, grpcWeb.responseType());
      out.headers().remove(HttpHeaderNames.CONTENT_LENGTH);
    }
    if (code == 101 && downstream.isH2()) {
      // RFC 8441 §5: the extended CONNECT's answer is a 2xx; the upgrade's own headers stay on the upstream hop
      downstream.writeHead(new io.netty.handler.codec.http2.DefaultHttp2Headers().status("200"), false);
    } else {
      downstream.writeHead(out, false);
    }
    if (code == 101) {
      downstream.flush();
      startTunnel();
    }
  }

  @Override
  public void responseHead(Http2Headers resp, boolean endStream) {
    lastActivityNanos = System.nanoTime();
    int code = Grpc.statusCode(resp);
    if (!upstreamHead(code, Grpc.status(resp), endStream)) {
      return;
    }
    if (endStream) {
      grpcStatus = Grpc.status(resp);
      responseComplete = true;
    }
    if (grpcWeb != null) {
      resp.set(HttpHeaderNames.CONTENT_TYPE, grpcWeb.responseType());
      resp.remove(HttpHeaderNames.CONTENT_LENGTH);
    }
    downstream.writeHead(DownstreamResponse.fromUpstream(resp, route, upstreamServiceMs), endStream);
    if (endStream) {
      downstream.flush();
      responseWritten(true);
    }
  }

  /** Common to both forms of head; returns false when the head is not relayed (interim, retried, finished). */
  private boolean upstreamHead(int code, String grpcCode, boolean endStream) {
    if (done || responseComplete) {
      upstreamReusable = false;
      return false;
    }
    if (code >= 100 && code < 200 && code != 101) {
      return false; // interim response
    }
    cancel(perTryTimeout);
    upstreamServiceMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - upstreamStartNanos);
    if (!responseStarted && canRetry() && (forward.retries().retriesStatus(code)
        || (grpcCode != null && Grpc.retries(forward.retries(), grpcCode)))) {
      discardUpstream();
      retry();
      return false;
    }
    status = code;
    responseStarted = true;
    return true;
  }

  private void startTunnel() {
    tunnel = true;
    upstreamReusable = false;
    upstream.upgrade();
    downstream.upgrade();
    if (!requestComplete) {
      downstream.requestConsumed(0);
    }
  }

  @Override
  public void responseData(ByteBuf data, boolean endStream) {
    lastActivityNanos = System.nanoTime();
    if (done || responseComplete || !responseStarted) {
      data.release();
      upstreamReusable = false; // bytes after the response (or none expected): the connection is not reused
      return;
    }
    int n = data.readableBytes();
    bytesSent += n;
    if (grpcWeb != null) {
      data = grpcWeb.response(data, downstream.connection().alloc(), endStream);
    }
    if (endStream) {
      responseComplete = true;
      downstream.writeData(data, true).addListener(f -> responseWritten(f.isSuccess()));
      downstream.flush();
      return;
    }
    UpstreamCall up = upstream;
    ChannelFuture f = downstream.writeData(data, false);
    if (up.needsConsumedCallbacks()) {
      f.addListener(w -> {
        if (w.isSuccess() && up == upstream) {
          up.responseConsumed(n);
        }
      });
    }
  }

  @Override
  public void responseTrailers(Http2Headers trailers) {
    lastActivityNanos = System.nanoTime();
    if (done || responseComplete || !responseStarted) {
      return;
    }
    grpcStatus = Grpc.status(trailers);
    responseComplete = true;
    ChannelFuture end = grpcWeb != null
        ? downstream.writeData(grpcWeb.trailers(trailers, downstream.connection().alloc()), true)
        : downstream.writeTrailers(trailers);
    end.addListener(f -> responseWritten(f.isSuccess()));
    downstream.flush();
  }

  @Override
  public void responseTrailers(HttpHeaders trailers) {
    lastActivityNanos = System.nanoTime();
    if (done || responseComplete || !responseStarted) {
      return;
    }
    grpcStatus = trailers.get("grpc-status");
    responseComplete = true;
    downstream.writeTrailers(trailers).addListener(f -> responseWritten(f.isSuccess()));
    downstream.flush();
  }

  /**
   * Flushes what this upstream read produced, once per read batch rather than per message (Netty's proxy
   * pattern). While the downstream cannot take more, the upstream is not read, until {@link #downstreamWritable()}.
   */
  @Override
  public void upstreamReadComplete() {
    if (done || upstream == null || responseComplete) {
      return;
    }
    if (responseStarted) {
      downstream.flush();
    }
    if (!downstream.isWritable()) {
      awaitingWritability = true;
      upstream.reading(false);
    }
  }

  /** The downstream can take more again. */
  void downstreamWritable() {
    if (awaitingWritability && !done && upstream != null) {
      awaitingWritability = false;
      upstream.reading(true);
    }
  }

  private void responseWritten(boolean written) {
    if (done) {
      return;
    }
    UpstreamCall up = upstream;
    upstream = null;
    if (up != null) {
      up.release(upstreamReusable && requestComplete);
    }
    finish();
    downstream.responseEnded(written, keepAlive && !bodyPending());
  }

  /** Whether request body bytes may still arrive (then an HTTP/1.1 connection cannot be reused). */
  private boolean bodyPending() {
    return expectsBody && !requestComplete;
  }

  private boolean canRetry() {
    return attempts <= forward.retries().attempts() && replayable && (timeout == null || !timeout.isDone());
  }

  private void retry() {
    downstream.eventLoop().schedule(() -> {
      if (!done) {
        attempt();
      }
    }, Math.min(25L * attempts, 250L), TimeUnit.MILLISECONDS);
  }

  private void onConnectFailure(Throwable cause) {
    cancel(perTryTimeout);
    log.debug("upstream {} {}: connect failed: {}", cluster.cluster().name(), endpoint, cause.toString());
    if (cause instanceof Http2UpstreamPool.PendingOverflowException) {
      local(503, "upstream connect error or disconnect/reset before headers. reset reason: overflow", "UO", null);
      return;
    }
    if (forward.retries().retriesConnectFailure() && canRetry()) {
      retry();
      return;
    }
    local(503, "upstream connect error or disconnect/reset before headers. reset reason: connection failure",
        "UF", null);
  }

  @Override
  public void upstreamFailed(UpstreamCall.Failure failure, String why) {
    if (done) {
      return;
    }
    upstream = null;
    cancel(perTryTimeout);
    if (tunnel) {
      responseComplete = true; // the upstream ended the tunnel: end the downstream side too
      downstream.writeData(Unpooled.EMPTY_BUFFER, true).addListener(f -> {
        finish();
        downstream.responseEnded(false, false);
      });
      downstream.flush();
      return;
    }
    if (failure == UpstreamCall.Failure.PROTOCOL_ERROR) {
      cx.stats().inc(ProxyStats.UPSTREAM_HTTP2_RX_MESSAGING_ERROR);
      log.debug("upstream {} {}: protocol error: {}", cluster.cluster().name(), endpoint, why);
      if (!responseStarted) {
        local(502, "upstream protocol error\n", "UPE", null);
      } else {
        flags = "UPE";
        abortDownstream();
      }
      return;
    }
    if (!responseStarted) {
      boolean refused = failure == UpstreamCall.Failure.REFUSED;
      if (canRetry() && (refused ? forward.retries().retryOn().contains("refused-stream")
          || forward.retries().retriesConnectFailure() : forward.retries().retriesConnectFailure())) {
        retry();
        return;
      }
      local(503, "upstream connect error or disconnect/reset before headers. reset reason: "
          + (failure == UpstreamCall.Failure.RESET || refused ? "remote reset" : "connection termination"),
          failure == UpstreamCall.Failure.CLOSED ? "UC" : "UR", null);
      return;
    }
    flags = failure == UpstreamCall.Failure.CLOSED ? "UC" : "UR";
    abortDownstream();
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
      connecting.cancel(); // a per-try timeout or retry leaves no connect behind
      connecting = null;
      cx.stats().inc(ProxyStats.UPSTREAM_CX_CANCELLED);
    }
    UpstreamCall up = upstream;
    upstream = null;
    if (up != null) {
      up.abandon();
    }
  }

  private void abortDownstream() {
    finish();
    downstream.abort(); // an HTTP/2 stream is reset, an HTTP/1.1 connection closed: the response is incomplete
  }

  /** The client went away (connection closed, stream reset); a tunnel's client side ended. */
  void downstreamClosed() {
    if (done || (responseComplete && !tunnel)) {
      return; // the whole response was handed on: its write's outcome ends the exchange
    }
    discardUpstream();
    flags = "DC";
    if (!responseStarted) {
      status = 0;
    }
    if (tunnel) {
      flags = "-"; // a WebSocket ends when either side closes it
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
    responseStarted = true;
    discardUpstream();
    if (grpc && code >= 400) {
      // gRPC clients read the status from grpc-status, not :status (gRPC's HTTP to gRPC status mapping)
      Http2Headers reply = Grpc.trailersOnly(code, responseFlags, new String(content, StandardCharsets.UTF_8));
      grpcStatus = Grpc.status(reply);
      status = 200;
      bytesSent = 0;
      finish();
      downstream.writeHead(reply, true);
      downstream.flush();
      downstream.responseEnded(true, !bodyPending());
      return;
    }
    boolean close = h1Request != null && (!keepAlive || bodyPending() || code == 400
        || h1Request.decoderResult().isFailure());
    FullHttpResponse resp = DownstreamResponse.local(code, content, location, route, close);
    bytesSent = content.length;
    finish();
    downstream.writeHead(resp, false);
    ByteBuf c = resp.content();
    downstream.writeData(c, true).addListener(f -> downstream.responseEnded(f.isSuccess(), !close
        && !bodyPending()));
    downstream.flush();
  }

  private void finish() {
    if (done) {
      return;
    }
    done = true;
    cancel(timeout);
    cancel(perTryTimeout);
    if (connecting != null) {
      connecting.cancel(); // the backend is not kept waiting by a connection nobody will use
      connecting = null;
      cx.stats().inc(ProxyStats.UPSTREAM_CX_CANCELLED);
    }
    body.forEach(ByteBuf::release);
    body.clear();
    if (grpcWeb != null) {
      grpcWeb.release();
    }
    if (h1Request != null) {
      ReferenceCountUtil.release(h1Request);
    }
    downstream.exchangeDone(this);
    if (cx.accessLog().enabled()) {
      cx.accessLog().log(entry());
    }
  }

  private AccessLog.Entry entry() {
    String authority = view != null ? view.authority()
        : h1Request != null ? h1Request.headers().get(HttpHeaderNames.HOST)
        : h2Request.authority() == null ? null : h2Request.authority().toString();
    String upstreamCluster = cluster == null ? null : cluster.cluster().name();
    String upstreamHost = endpoint == null ? null : endpoint.toString();
    String method = h1Request != null ? h1Request.method().name() : String.valueOf(h2Request.method());
    String path = h1Request != null ? h1Request.uri() : String.valueOf(h2Request.path());
    return new AccessLog.Entry(startTime, method, path, downstream.protocol(), status, flags,
        bytesReceived, bytesSent, TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - startNanos), upstreamServiceMs,
        upstreamHost, upstreamCluster, authority, header("x-forwarded-for"), header("user-agent"), requestId,
        downstream.sni(), Addresses.text(downstream.connection().localAddress()),
        Addresses.text(downstream.connection().remoteAddress()), route == null ? null : route.name(),
        head == null ? null : head.originForm(), grpcStatus);
  }

  private String header(String name) {
    if (h1Request != null) {
      return h1Request.headers().get(name);
    }
    CharSequence v = h2Request.get(name);
    return v == null ? null : v.toString();
  }

  /** Whether this is a {@code HEAD} request (its response has no body, RFC 9110 §9.3.2). */
  boolean headRequest() {
    return h1Request != null && h1Request.method().equals(HttpMethod.HEAD);
  }

  /** Whether an HTTP/1.1 connection closes after this exchange's response. */
  boolean closesHttp1Connection() {
    return !keepAlive || bodyPending();
  }

  /** The event loop the exchange runs on. */
  EventLoop eventLoop() {
    return downstream.eventLoop();
  }

  private static void cancel(ScheduledFuture<?> f) {
    if (f != null) {
      f.cancel(false);
    }
  }
}
