package io.portcullis.proxy;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http2.DefaultHttp2Headers;
import io.netty.handler.codec.http2.Http2Headers;
import io.netty.util.concurrent.ScheduledFuture;
import io.portcullis.routing.Endpoint;
import io.portcullis.routing.RouteAction;
import io.portcullis.tls.ClientTlsContexts;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The upstream half of an {@link Exchange} whose route forwards: attempts on the cluster's endpoints (over
 * {@link UpstreamCall}s, HTTP/1.1 or HTTP/2), Istio's {@code retries} (attempts, {@code perTryTimeout},
 * {@code retryOn} including the gRPC conditions) and route {@code timeout} (for gRPC, the client's
 * {@code grpc-timeout} capped by it), the request body streamed up (kept up to {@link #MAX_REPLAY_BYTES} for a
 * retry) and the response streamed down with backpressure both ways, a WebSocket tunnel after {@code 101}, and
 * Envoy's response flags for what went wrong (UF, UC, UR, UO, UT, UPE, UH). Each attempt's endpoint is picked by the
 * cluster's load balancer ({@code previous_hosts}: a retry prefers another), and its outcome reported to the
 * cluster's outlier detector. Runs on the exchange's event loop.
 */
final class Forwarding implements UpstreamCall.Listener {
  private static final Logger log = LoggerFactory.getLogger(Forwarding.class);
  /** Request bodies up to this size are kept so a retry can replay them; larger ones are not retried. */
  static final int MAX_REPLAY_BYTES = 64 * 1024;
  /** How many times one request is sent again because an upstream refused it unprocessed. */
  static final int MAX_REFUSALS = 10;

  private final Exchange ex;
  private final Downstream downstream;
  private final ProxyContext cx;
  private final RouteAction.Forward forward;
  private final RouteAction.WeightedCluster cluster;
  private final RequestBody body = new RequestBody();
  private UpstreamCall upstream;
  private UpstreamCalls.Pending connecting;
  private UpstreamRequest.Context upstreamContext;
  /** An attempt has sent the request head. */
  private boolean headSent;
  private boolean responseComplete;
  private boolean tunnel;
  private boolean awaitingWritability;
  private boolean upstreamReusable = true;
  private int attempts;
  /** Attempts an HTTP/2 upstream refused unprocessed (REFUSED_STREAM, GOAWAY): retried apart from the policy. */
  private int refusals;
  /** Every attempt, refused ones included: tells a late callback of an earlier attempt from the current one. */
  private int tries;
  private long upstreamStartNanos;
  private ScheduledFuture<?> timeout;
  private ScheduledFuture<?> perTryTimeout;
  private final AttemptHost host = new AttemptHost();
  private final RequestSlots slots;

  Forwarding(Exchange ex, RouteAction.Forward forward, RouteAction.WeightedCluster cluster) {
    this.ex = ex;
    this.downstream = ex.downstream;
    this.cx = ex.cx;
    this.forward = forward;
    this.cluster = cluster;
    this.slots = new RequestSlots(cx.stats());
  }

  /** Starts the first attempt; {@code timeoutNanos} is the whole request's (0: none). */
  void start(UpstreamRequest.Context context, long timeoutNanos) {
    upstreamContext = context;
    if (!slots.enter(cx.upstreams().calls(downstream.eventLoop()).hosts(cluster.cluster()).breakers(),
        cluster.cluster().policy().connectionPool())) {
      ex.local(503, UpstreamResetReason.OVERFLOW.body(), "UO", null);
      return;
    }
    host.hashKey(cluster.cluster(), context, ex);
    if (timeoutNanos > 0 && !ex.webSocket) {
      timeout = downstream.eventLoop().schedule(this::onTimeout, timeoutNanos, TimeUnit.NANOSECONDS);
    }
    attempt();
  }

  /** Whether the whole response was handed to the downstream (only its write's outcome is left). */
  boolean responseHandedOn() {
    return responseComplete && !tunnel;
  }

  /** Whether the exchange became a WebSocket tunnel. */
  boolean tunnel() {
    return tunnel;
  }

  /** The request body failed: the upstream connection cannot be reused. */
  void requestBroken() {
    upstreamReusable = false;
  }

  /** Request body bytes ({@code n} as they arrived, before any gRPC-Web decoding), owned from here. */
  void requestData(ByteBuf data, boolean last, int n) {
    long at = body.arrived(n);
    if (tunnel) {
      if (upstream == null) {
        data.release(); // the upstream ended the tunnel; its end is on the way to the client
        return;
      }
      upstream.sendData(data, last).addListener(written(at, false));
      upstream.flush();
      return;
    }
    if (body.replayable() && (at > MAX_REPLAY_BYTES || ex.webSocket)) {
      body.stopReplay(upstream != null); // no retry from here on
    }
    if (upstream == null) {
      if (last && !data.isReadable()) {
        data.release(); // an empty end (requestComplete is set): the head or the last chunk carries endStream
      } else {
        body.hold(data); // for the attempt being opened (or retried), which sends it first
      }
      return;
    }
    if (body.replayable()) {
      data = body.keep(data);
    }
    upstream.sendData(data, last).addListener(written(at, last));
    upstream.flush();
  }

  /** The request's trailers, ending it. */
  void requestTrailers(Http2Headers trailers) {
    if (upstream == null || body.replayable()) {
      body.trailers(trailers); // for the attempt being opened, or a replay
    }
    if (upstream == null) {
      return;
    }
    upstream.sendTrailers(trailers);
    upstream.flush();
  }

  /** The exchange finished: timers, a pending connect and the replay copy go. */
  void stop() {
    cancel(timeout);
    cancel(perTryTimeout);
    if (connecting != null) {
      connecting.cancel(); // the backend is not kept waiting by a connection nobody will use
      connecting = null;
      cx.stats().inc(ProxyStats.UPSTREAM_CX_CANCELLED);
    }
    body.release();
    host.end();
    slots.release();
  }

  private void attempt() {
    attempts++;
    tries++;
    UpstreamCalls calls = cx.upstreams().calls(downstream.eventLoop());
    ex.endpoint = host.next(calls, cluster.cluster());
    if (ex.endpoint == null) {
      cx.stats().inc("cluster." + cluster.cluster().name() + "." + ProxyStats.UPSTREAM_CX_NONE_HEALTHY);
      ex.local(503, "no healthy upstream", "UH", null);
      return;
    }
    upstreamStartNanos = System.nanoTime();
    upstreamReusable = true;
    RouteAction.RetryPolicy retry = forward.retries();
    if (!retry.perTryTimeout().isZero() && !ex.webSocket) {
      perTryTimeout = downstream.eventLoop().schedule(this::onPerTryTimeout, retry.perTryTimeout().toNanos(),
          TimeUnit.NANOSECONDS);
    }
    Endpoint ep = ex.endpoint;
    int attempt = tries;
    // After this read batch: an HTTP/2 stream reset in the same batch as its HEADERS (rapid reset), or an HTTP/1.1
    // client gone with its request, has ended the exchange by then and no upstream connection is opened for it.
    downstream.eventLoop().execute(() -> {
      if (ex.done || attempt != tries) {
        cx.stats().inc(ProxyStats.UPSTREAM_CX_CANCELLED);
        return;
      }
      boolean clientHttp2 = downstream.isH2() && !ex.webSocket;
      connecting = calls.open(cluster.cluster(), ep, clientHttp2, this, new UpstreamCalls.Callback() {
        @Override
        public void opened(UpstreamCall call) {
          connecting = null;
          if (ex.done || attempt != tries) {
            call.abandon();
            return;
          }
          try {
            onOpened(call);
          } catch (RuntimeException e) { // a bug of ours: this request fails, the connection and the others go on
            log.warn("{} {}: sending the request failed", cluster.cluster().name(), ep, e);
            upstreamReusable = false;
            ex.local(500, "internal error\n", null, null); // discards the call (not reused)
          }
        }

        @Override
        public void failed(Throwable cause) {
          connecting = null;
          if (!ex.done && attempt == tries) {
            onConnectFailure(cause);
          }
        }
      });
    });
  }

  private void onOpened(UpstreamCall call) {
    upstream = call;
    boolean endStream = ex.requestComplete && body.isEmpty() && body.trailers() == null;
    if (headSent) {
      upstreamContext = upstreamContext.forReplay(); // the head was adapted already (in place, if protocols match)
    }
    headSent = true;
    if (ex.h1Request != null) {
      call.sendHead(ex.h1Request, upstreamContext, endStream);
    } else {
      call.sendHead(ex.h2Request, ex.streamId, upstreamContext, endStream);
    }
    boolean held = !body.isEmpty();
    boolean end = ex.requestComplete && body.trailers() == null;
    ChannelFuture lastWrite = body.sendHeld(call, end);
    if (lastWrite != null) {
      // what this attempt sent and the client has not had back yet (a retry's too: an earlier attempt's writes
      // may never have completed) goes back to the client's window (HTTP/2) or asks for more (HTTP/1.1)
      lastWrite.addListener(written(body.received(), end));
    }
    if (ex.requestComplete && body.trailers() != null) {
      call.sendTrailers(body.trailers());
    }
    call.flush();
    if (!ex.requestComplete && !held) {
      downstream.requestConsumed(0); // ask for the body, now that it has somewhere to go
    }
  }

  /**
   * Returns a listener for a request body write that ends at byte {@code offset} of the body: once it reached the
   * upstream's socket, the bytes up to there not yet returned go back to the client (an HTTP/1.1 client is read
   * again). Only the current attempt's writes count; the last one returns nothing (the request is complete).
   */
  private ChannelFutureListener written(long offset, boolean last) {
    UpstreamCall up = upstream;
    return f -> {
      if (f.isSuccess() && !last && up == upstream && !ex.done) {
        long n = body.toReturn(offset);
        if (n > 0 || !downstream.isH2()) {
          downstream.requestConsumed((int) n);
        }
      }
    };
  }

  @Override
  public void responseHead(HttpResponse resp) {
    ex.touch();
    int code = resp.status().code();
    if (!upstreamHead(code, Grpc.status(resp.headers()), false)) {
      return;
    }
    if (!HttpUtil.isKeepAlive(resp)) {
      upstreamReusable = false;
    }
    HttpResponse out = DownstreamResponse.fromUpstream(resp, ex.route, ex.upstreamServiceMs);
    if (host.setCookie() != null) {
      out.headers().add(HttpHeaderNames.SET_COOKIE, host.setCookie()); // the generated hash cookie (Envoy's)
    }
    if (ex.grpcWeb != null) {
      out.headers().set(HttpHeaderNames.CONTENT_TYPE, ex.grpcWeb.responseType());
      out.headers().remove(HttpHeaderNames.CONTENT_LENGTH);
    }
    if (code == 101 && downstream.isH2()) {
      // RFC 8441 §5: the extended CONNECT's answer is a 2xx; the upgrade's own headers stay on the upstream hop
      downstream.writeHead(new DefaultHttp2Headers().status("200"), false);
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
    ex.touch();
    int code = Grpc.statusCode(resp);
    if (!upstreamHead(code, Grpc.status(resp), endStream)) {
      return;
    }
    if (endStream) {
      ex.grpcStatus = Grpc.status(resp);
      responseComplete = true;
    }
    if (ex.grpcWeb != null) {
      resp.set(HttpHeaderNames.CONTENT_TYPE, ex.grpcWeb.responseType());
      resp.remove(HttpHeaderNames.CONTENT_LENGTH);
    }
    Http2Headers out = DownstreamResponse.fromUpstream(resp, ex.route, ex.upstreamServiceMs);
    if (host.setCookie() != null) {
      out.add(HttpHeaderNames.SET_COOKIE, host.setCookie());
    }
    downstream.writeHead(out, endStream);
    if (endStream) {
      downstream.flush();
      responseWritten(true);
    }
  }

  /** Common to both forms of head; returns false when the head is not relayed (interim, retried, finished). */
  private boolean upstreamHead(int code, String grpcCode, boolean endStream) {
    if (ex.done || responseComplete) {
      upstreamReusable = false;
      return false;
    }
    if (code >= 100 && code < 200 && code != 101) {
      return false; // interim response
    }
    cancel(perTryTimeout);
    host.report(code);
    ex.upstreamServiceMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - upstreamStartNanos);
    if (!ex.responseStarted && (forward.retries().retriesStatus(code)
        || (grpcCode != null && Grpc.retries(forward.retries(), grpcCode))) && canRetry()) {
      discardUpstream();
      retry();
      return false;
    }
    ex.status = code;
    ex.responseStarted = true;
    return true;
  }

  private void startTunnel() {
    tunnel = true;
    upstreamReusable = false;
    upstream.upgrade();
    downstream.upgrade();
    downstream.requestConsumed(0); // an HTTP/1.1 client's upgrade request has ended: read its first frames
  }

  @Override
  public void responseData(ByteBuf data, boolean endStream) {
    ex.touch();
    if (ex.done || responseComplete || !ex.responseStarted) {
      data.release();
      upstreamReusable = false; // bytes after the response (or none expected): the connection is not reused
      return;
    }
    int n = data.readableBytes();
    ex.bytesSent += n;
    if (ex.grpcWeb != null) {
      data = ex.grpcWeb.response(data, downstream.connection().alloc(), endStream);
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
    ex.touch();
    if (ex.done || responseComplete || !ex.responseStarted) {
      return;
    }
    ex.grpcStatus = Grpc.status(trailers);
    responseComplete = true;
    ChannelFuture end = ex.grpcWeb != null
        ? downstream.writeData(ex.grpcWeb.trailers(trailers, downstream.connection().alloc()), true)
        : downstream.writeTrailers(trailers);
    end.addListener(f -> responseWritten(f.isSuccess()));
    downstream.flush();
  }

  @Override
  public void responseTrailers(HttpHeaders trailers) {
    ex.touch();
    if (ex.done || responseComplete || !ex.responseStarted) {
      return;
    }
    ex.grpcStatus = trailers.get("grpc-status");
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
    if (ex.done || upstream == null || responseComplete) {
      return;
    }
    if (ex.responseStarted) {
      downstream.flush();
    }
    if (!downstream.isWritable()) {
      awaitingWritability = true;
      upstream.reading(false);
    }
  }

  /** The downstream can take more again. */
  void downstreamWritable() {
    if (awaitingWritability && !ex.done && upstream != null) {
      awaitingWritability = false;
      upstream.reading(true);
    }
  }

  private void responseWritten(boolean written) {
    if (ex.done) {
      return;
    }
    UpstreamCall up = upstream;
    upstream = null;
    if (up != null) {
      up.release(upstreamReusable && ex.requestComplete);
    }
    ex.finish();
    downstream.responseEnded(written, ex.keepAlive && !ex.bodyPending());
  }

  /**
   * Whether another attempt may be made: attempts left, the body replayable, the timeout not fired, and a retry slot
   * in the cluster ({@link RequestSlots#retry}: taken here, so call this last in a condition).
   */
  private boolean canRetry() {
    return attempts <= forward.retries().attempts() && body.replayable() && (timeout == null || !timeout.isDone())
        && slots.retry(cluster.cluster().policy().connectionPool());
  }

  private void retry() {
    downstream.eventLoop().schedule(() -> {
      if (!ex.done) {
        attempt();
      }
    }, Math.min(25L * attempts, 250L), TimeUnit.MILLISECONDS);
  }

  private void onConnectFailure(Throwable cause) {
    cancel(perTryTimeout);
    log.debug("upstream {} {}: connect failed: {}", cluster.cluster().name(), ex.endpoint, cause.toString());
    if (cause instanceof PendingOverflowException) {
      host.end(); // the gateway's own limit: not the endpoint's fault
      ex.local(503, UpstreamResetReason.OVERFLOW.body(), "UO", null);
      return;
    }
    Optional<String> tls = ClientTlsContexts.failureReason(cause);
    ex.transportFailureReason = tls.orElse(null);
    boolean unusable = cause instanceof ClientTlsContexts.Unavailable; // fails the same way every time
    if (!unusable) {
      host.report(503); // Envoy's LocalOriginConnectFailed, a 503 for outlier detection
    }
    host.end();
    if (forward.retries().retriesConnectFailure() && !unusable && canRetry()) {
      retry();
      return;
    }
    ex.local(503, UpstreamResetReason.ofConnectFailure(cause).body(tls, unusable), "UF", null);
  }

  @Override
  public void upstreamFailed(UpstreamCall.Failure failure, String why) {
    if (ex.done) {
      return;
    }
    if (responseComplete && !tunnel) {
      // The response has all arrived (a close-delimited HTTP/1.0 body ends exactly this way): not a failure, and
      // its end is on the way to the client. The connection only cannot be reused.
      upstreamReusable = false;
      upstream = null;
      return;
    }
    upstream = null;
    cancel(perTryTimeout);
    if (tunnel) {
      responseComplete = true; // the upstream ended the tunnel: end the downstream side too
      downstream.writeData(Unpooled.EMPTY_BUFFER, true).addListener(f -> {
        ex.finish();
        downstream.responseEnded(false, false);
      });
      downstream.flush();
      return;
    }
    if (failure == UpstreamCall.Failure.PROTOCOL_ERROR) { // counted by the call, by kind (h2 stream, h1 connection)
      host.report(502);
      log.debug("upstream {} {}: protocol error: {}", cluster.cluster().name(), ex.endpoint, why);
      if (!ex.responseStarted) {
        ex.local(502, "upstream protocol error\n", "UPE", null);
      } else {
        ex.flags = "UPE";
        ex.abortDownstream();
      }
      return;
    }
    if (failure == UpstreamCall.Failure.TLS && !ex.responseStarted) {
      log.debug("upstream {} {}: TLS error: {}", cluster.cluster().name(), ex.endpoint, why);
      ex.transportFailureReason = why;
      if (forward.retries().retriesConnectFailure() && canRetry()) {
        retry();
        return;
      }
      ex.local(503, UpstreamResetReason.CONNECTION_FAILURE.body() + ", transport failure reason: TLS error", "UF",
          null);
      return;
    }
    if (!ex.responseStarted) {
      boolean refused = failure == UpstreamCall.Failure.REFUSED;
      if (!refused) {
        host.report(503); // a reset or close before the response head
      }
      host.end();
      if (refused && refusals < MAX_REFUSALS && body.replayable() && (timeout == null || !timeout.isDone())) {
        // RFC 9113 §8.7: a refused stream was not processed, so it is safe to send again; the pool does not
        // choose a draining connection. Not counted against retries.attempts (a GOAWAY is not the request's fault).
        refusals++;
        attempts--;
        downstream.eventLoop().execute(() -> {
          if (!ex.done) {
            attempt();
          }
        });
        return;
      }
      if ((refused ? forward.retries().retryOn().contains("refused-stream")
          || forward.retries().retriesConnectFailure() : forward.retries().retriesConnectFailure()) && canRetry()) {
        retry();
        return;
      }
      ex.local(503, (failure == UpstreamCall.Failure.RESET || refused ? UpstreamResetReason.REMOTE_RESET
          : UpstreamResetReason.CONNECTION_TERMINATION).body(), failure == UpstreamCall.Failure.CLOSED ? "UC" : "UR",
          null);
      return;
    }
    ex.flags = failure == UpstreamCall.Failure.CLOSED || failure == UpstreamCall.Failure.TLS ? "UC" : "UR";
    ex.abortDownstream();
  }

  private void onTimeout() {
    if (ex.done) {
      return;
    }
    if (!ex.responseStarted) {
      host.report(504); // Envoy's LocalOriginTimeout
    }
    discardUpstream();
    if (!ex.responseStarted) {
      ex.local(504, "upstream request timeout", "UT", null);
    } else {
      ex.flags = "UT";
      ex.abortDownstream();
    }
  }

  private void onPerTryTimeout() {
    if (ex.done || ex.responseStarted) {
      return;
    }
    host.report(504);
    discardUpstream();
    if (canRetry()) {
      retry();
    } else {
      ex.local(504, "upstream request timeout", "UT", null);
    }
  }

  void discardUpstream() {
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
    host.end();
  }

  private static void cancel(ScheduledFuture<?> f) {
    if (f != null) {
      f.cancel(false);
    }
  }
}
