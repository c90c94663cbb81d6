package io.portcullis.proxy;

import io.netty.buffer.ByteBuf;
import io.netty.channel.EventLoop;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http2.Http2Headers;
import io.netty.util.ReferenceCountUtil;
import io.portcullis.config.ServerConfig;
import io.portcullis.routing.Cluster;
import io.portcullis.routing.Endpoint;
import io.portcullis.routing.HttpRoute;
import io.portcullis.routing.RouteAction;
import io.portcullis.routing.VirtualHost;
import io.portcullis.tls.TlsContexts.ServerTls;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.Map;
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
final class Exchange {
  private static final Logger log = LoggerFactory.getLogger(Exchange.class);

  // What Forwarding reads and writes: the request, and the outcome the access log shows.
  final Downstream downstream;
  final ProxyContext cx;
  final HttpRequest h1Request;
  final Http2Headers h2Request;
  final int streamId;
  final boolean keepAlive;
  final boolean webSocket;
  /** gRPC-Web's translation to gRPC, or null for other requests. */
  final GrpcWeb grpcWeb;
  HttpRoute route;
  Endpoint endpoint;
  boolean requestComplete;
  boolean responseStarted;
  boolean done;
  long bytesSent;
  long upstreamServiceMs = -1;
  int status;
  String grpcStatus;
  /** Why the last upstream connect failed in TLS (access log {@code upstream_transport_failure_reason}), or null. */
  String transportFailureReason;
  String flags = "-";

  /** For the access log, which shows milliseconds: an Instant is made only when a line is written. */
  private final long startMillis = System.currentTimeMillis();
  private final long startNanos = System.nanoTime();
  private final boolean expectsBody;
  private final boolean grpc;
  private ListenerState state;
  private RequestView view;
  private String host = "";
  private RequestHead.Checked head;
  private RouteAction.WeightedCluster cluster;
  private Forwarding forwarding;
  /** The request's mirrors, or null when it has none. */
  private Mirroring mirroring;
  private long bytesReceived;
  private String requestId;
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
    host = RequestHead.hostOf(authority, downstream.connection());
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
      boolean get = h1Request != null ? h1Request.method().equals(HttpMethod.GET)
          : HttpMethod.GET.asciiName().contentEquals(h2Request.method());
      if (get && !expectsBody && cx.challenges().sharedLookupFor(path)) {
        // maybe another replica's order: the shared table, read off the event loop
        EventLoop loop = eventLoop();
        cx.challenges().lookup(path).thenAccept(ka -> loop.execute(() -> {
          if (ka.isPresent()) {
            local(200, ka.get(), "-", null);
          } else if (!done) {
            route(authority, uri);
          }
        }));
        return;
      }
    }
    route(authority, uri);
  }

  /** Routes the request (after the HTTP-01 challenges): a redirect to HTTPS, a local answer, or forwarding. */
  private void route(String authority, String uri) {
    if (!state.config().tls()) {
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
    if (byHost.isEmpty() || !byHost.get().server().sameRouteName(
        downstream.connection().attr(GatewayChannelInitializer.SNI_SERVER).get())) {
      return true;
    }
    String sni = downstream.sni();
    return sni != null && !sni.equalsIgnoreCase(host)
        && !byHost.get().credentials().stream().allMatch(c -> c.covers(host));
  }

  /**
   * Returns the {@code Location} of a redirect (Istio {@code redirect}, Gateway API {@code RequestRedirect}). The
   * path: {@code uri} replaces the whole path, or with {@code replacePrefix} the prefix the route matched
   * ({@link HttpRoute#rewritePath(String, String, boolean, java.util.List, io.portcullis.routing.RouteMatch.RequestView)},
   * element-wise for a {@code PathPrefix} match); the request's query string is kept unless {@code uri} has one
   * (Envoy's {@code path_redirect}). The port, as Gateway API's {@code RequestRedirect.port} says: the one set, else
   * the scheme's well-known one when the scheme is set, else the port the request named in its authority; never
   * printed when it is the scheme's well-known one (80 for http, 443 for https).
   */
  private String redirectLocation(RouteAction.Redirect rd, String authority, String uri) {
    String scheme = rd.scheme().orElse(state.config().tls() ? "https" : "http");
    String h = rd.authority().orElse(RequestHead.hostWithoutPort(authority));
    int port = rd.port();
    if (port <= 0 && rd.scheme().isEmpty()) {
      port = portOf(authority);
    }
    boolean wellKnown = port <= 0 || (port == 80 && scheme.equalsIgnoreCase("http"))
        || (port == 443 && scheme.equalsIgnoreCase("https"));
    String p = uri;
    if (rd.uri().isPresent()) {
      String to = rd.uri().get();
      String query = head.query();
      int q = to.indexOf('?');
      if (q >= 0) {
        query = to.substring(q + 1);
        to = to.substring(0, q);
      }
      p = (rd.replacePrefix() ? HttpRoute.rewritePath(head.path(), to, false, route.matches(), view) : to)
          + (query.isEmpty() ? "" : "?" + query);
    }
    return scheme + "://" + h + (wellKnown ? "" : ":" + port) + p;
  }

  /** Returns the port in {@code authority} ({@code host:port}, {@code [v6]:port}), or 0 when it names none. */
  private static int portOf(String authority) {
    int colon = authority.lastIndexOf(':');
    if (colon < 0 || authority.indexOf(']', colon) >= 0) {
      return 0;
    }
    try {
      return Integer.parseInt(authority.substring(colon + 1));
    } catch (NumberFormatException e) {
      return 0;
    }
  }

  private void startForward(RouteAction.Forward f) {
    cluster = f.pick();
    if (cluster.cluster().endpoints().isEmpty()) {
      // UH: a known service with no ready endpoint; NC: a host or subset nothing declares (Envoy's flags)
      boolean known = cluster.cluster().known();
      int status = known ? 503 : f.clusterNotFoundStatus(); // Envoy's cluster_not_found_response_code
      local(status, status == 503 ? "no healthy upstream" : "", known ? "UH" : "NC", null);
      return;
    }
    if (webSocket && UpstreamCalls.protocol(cluster.cluster(), false) == Cluster.Protocol.HTTP2) {
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
    UpstreamRequest.Context upstreamContext = new UpstreamRequest.Context(head, view, route, f,
        Addresses.remoteIp(downstream.connection()), state.config().tls(), requestId, webSocket,
        expectsBody, grpcTimeout, grpcWeb, false);
    // before the request's own attempt, which changes its head in place
    mirroring = Mirroring.start(this, f, upstreamContext,
        h1Request != null ? RequestHead.contentLength(h1Request) : contentLength(h2Request), f.timeout().toNanos());
    forwarding = new Forwarding(this, f, cluster);
    forwarding.start(upstreamContext, timeoutNanos);
    if (mirroring != null && requestComplete && !done) {
      mirroring.send(); // no body to wait for
    }
  }

  /** Returns an HTTP/2 request's {@code content-length}, or -1 when it has none or it is not a number. */
  private static long contentLength(Http2Headers request) {
    CharSequence v = request.get(HttpHeaderNames.CONTENT_LENGTH);
    if (v == null) {
      return -1;
    }
    try {
      return Long.parseLong(v.toString().trim());
    } catch (NumberFormatException e) {
      return -1;
    }
  }

  /** Bytes moved for this exchange. */
  void touch() {
    lastActivityNanos = System.nanoTime();
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
    if (forwarding != null) {
      forwarding.requestBroken();
    }
    discardUpstream();
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
    if (last) {
      requestComplete = true;
    }
    if (done || forwarding == null) {
      data.release();
      if (!requestComplete) {
        downstream.requestConsumed(n);
      }
      return;
    }
    bytesReceived += n;
    if (grpcWeb != null) {
      data = grpcWeb.request(data, downstream.connection().alloc());
    }
    if (mirroring != null) {
      mirroring.data(data, last); // a copy, before the upstream write takes the bytes
    }
    forwarding.requestData(data, last, n);
  }

  /** The request's trailers (HTTP/2, or a chunked HTTP/1.1 body's), ending it. */
  void requestTrailers(Http2Headers trailers) {
    lastActivityNanos = System.nanoTime();
    requestComplete = true;
    if (!done && mirroring != null) {
      mirroring.trailers(trailers); // a copy
    }
    if (!done && forwarding != null) {
      forwarding.requestTrailers(trailers);
    }
  }

  /** The downstream can take more again. */
  void downstreamWritable() {
    if (!done && forwarding != null) {
      forwarding.downstreamWritable();
    }
  }

  /** Whether request body bytes may still arrive (then an HTTP/1.1 connection cannot be reused). */
  boolean bodyPending() {
    return expectsBody && !requestComplete;
  }

  /** Ends the exchange with its response incomplete: an HTTP/2 stream is reset, an HTTP/1.1 connection closed. */
  void abortDownstream() {
    finish();
    downstream.abort();
  }

  /** The client went away (connection closed, stream reset); a tunnel's client side ended. */
  void downstreamClosed() {
    if (done || (forwarding != null && forwarding.responseHandedOn())) {
      return; // the whole response was handed on: its write's outcome ends the exchange
    }
    discardUpstream();
    flags = forwarding != null && forwarding.tunnel() ? "-" : "DC"; // a WebSocket ends when either side closes
    if (!responseStarted) {
      status = 0;
    }
    finish();
  }

  private void discardUpstream() {
    if (forwarding != null) {
      forwarding.discardUpstream();
    }
  }

  void local(int code, String text, String responseFlags, String location) {
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
    boolean close = h1Request != null && (!keepAlive || bodyPending() || code == 400
        || h1Request.decoderResult().isFailure());
    FullHttpResponse resp;
    if (grpc && code >= 400) {
      // gRPC clients read the status from grpc-status, not :status (gRPC's HTTP to gRPC status mapping)
      Http2Headers reply = Grpc.trailersOnly(code, responseFlags, new String(content, StandardCharsets.UTF_8));
      if (grpcWeb != null) {
        reply.set(HttpHeaderNames.CONTENT_TYPE, grpcWeb.responseType());
      }
      grpcStatus = Grpc.status(reply);
      status = 200;
      bytesSent = 0;
      if (h1Request == null) {
        finish();
        downstream.writeHead(reply, true);
        downstream.flush();
        downstream.responseEnded(true, !bodyPending());
        return;
      }
      // gRPC-Web over HTTP/1.1: the same fields on an empty 200 with its length, so a keep-alive client sees its end
      content = new byte[0];
      resp = DownstreamResponse.local(200, content, null, route, close);
      for (Map.Entry<CharSequence, CharSequence> e : reply) {
        if (e.getKey().length() > 0 && e.getKey().charAt(0) != ':') {
          resp.headers().set(e.getKey(), e.getValue());
        }
      }
    } else {
      resp = DownstreamResponse.local(code, content, location, route, close);
    }
    bytesSent = content.length;
    finish();
    downstream.writeHead(resp, false);
    ByteBuf c = resp.content();
    downstream.writeData(c, true).addListener(f -> downstream.responseEnded(f.isSuccess(), !close
        && !bodyPending()));
    downstream.flush();
  }

  /** Ends the exchange (once): timers and held bytes go, the downstream is told, the access log line written. */
  void finish() {
    if (done) {
      return;
    }
    done = true;
    if (mirroring != null && !requestComplete) {
      mirroring.cancel(); // an incomplete request is not mirrored
    }
    if (forwarding != null) {
      forwarding.stop();
    }
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
    return new AccessLog.Entry(Instant.ofEpochMilli(startMillis), method, path, downstream.protocol(), status, flags,
        bytesReceived, bytesSent, TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - startNanos), upstreamServiceMs,
        upstreamHost, upstreamCluster, authority, header("x-forwarded-for"), header("user-agent"), requestId,
        downstream.sni(), Addresses.text(downstream.connection().localAddress()),
        Addresses.text(downstream.connection().remoteAddress()), route == null ? null : route.name(),
        head == null ? null : head.originForm(), grpcStatus, transportFailureReason);
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

}
