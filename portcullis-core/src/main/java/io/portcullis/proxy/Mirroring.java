package io.portcullis.proxy;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.CompositeByteBuf;
import io.netty.channel.EventLoop;
import io.netty.handler.codec.http.DefaultHttpRequest;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http2.DefaultHttp2Headers;
import io.netty.handler.codec.http2.Http2Headers;
import io.netty.util.concurrent.ScheduledFuture;
import io.portcullis.routing.Endpoint;
import io.portcullis.routing.RouteAction;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The request mirrors of one {@link Exchange} whose route forwards with {@link RouteAction.Forward#mirrors()} (Envoy's
 * {@code request_mirror_policies}, Istio {@code mirror} / {@code mirrors} / {@code mirrorPercentage}, Gateway API
 * {@code RequestMirror}): each mirror is picked with probability {@code percent / 100} when the request starts, and
 * gets a copy of the request as it goes upstream (method, target after rewrites, headers after the route's
 * operations; the authority with Envoy's {@code -shadow} suffix, {@link UpstreamRequest#shadowHost}) and of its
 * body and trailers. Its response is read and discarded. A mirror never delays, fails or changes the request or its
 * response; one that cannot connect, fails or times out is counted ({@code mirror_rq_failed},
 * {@code mirror_rq_timeout}, in total and per cluster as {@code cluster.<name>.mirror_rq_*}) and logged at DEBUG.
 *
 * <p>Bodies: as Envoy's shadowing did before streaming shadows, the copy is sent once the request is complete, with
 * the body the gateway buffered meanwhile, up to {@link #MAX_BODY_BYTES}; a request with a longer body is not
 * mirrored ({@code mirror_rq_body_too_large}). A request that ends before it is complete (the client went away, or
 * its response ended first) is not mirrored either. WebSocket upgrades are never mirrored.
 *
 * <p>The copy goes over the same event loop's upstream pools ({@link UpstreamCalls}) as the request; its endpoint is
 * picked by the mirror cluster's load balancer. It times out after the route's {@code timeout}, or
 * {@link #DEFAULT_TIMEOUT} when the route has none. Runs on the exchange's event loop and never blocks; not
 * thread-safe.
 */
final class Mirroring {
  private static final Logger log = LoggerFactory.getLogger(Mirroring.class);
  /** Request bodies up to this size (bytes) are mirrored; a request with a longer one is not. */
  static final int MAX_BODY_BYTES = 64 * 1024;
  /** How long a mirror's request may take when its route has no {@code timeout}. */
  static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(15);

  private final EventLoop loop;
  private final ProxyContext cx;
  private final UpstreamRequest.Context context;
  private final List<RouteAction.Mirror> mirrors;
  private final HttpRequest h1Head;
  private final Http2Headers h2Head;
  private final int streamId;
  private final boolean clientHttp2;
  private final long timeoutNanos;
  private CompositeByteBuf body;
  private Http2Headers trailers;
  private boolean over;

  private Mirroring(Exchange ex, UpstreamRequest.Context context, List<RouteAction.Mirror> mirrors,
      long timeoutNanos) {
    this.loop = ex.downstream.eventLoop();
    this.cx = ex.cx;
    this.context = context.forShadow();
    this.mirrors = mirrors;
    this.streamId = ex.streamId;
    this.clientHttp2 = ex.downstream.isH2();
    this.timeoutNanos = timeoutNanos > 0 ? timeoutNanos : DEFAULT_TIMEOUT.toNanos();
    // Copies, taken before the request's own head is changed in place for its upstream
    if (ex.h1Request != null) {
      HttpRequest r = ex.h1Request;
      this.h1Head = new DefaultHttpRequest(r.protocolVersion(), r.method(), r.uri(), r.headers().copy());
      this.h2Head = null;
    } else {
      this.h1Head = null;
      this.h2Head = new DefaultHttp2Headers(false, ex.h2Request.size()).add(ex.h2Request);
    }
  }

  /**
   * Picks the mirrors of {@code forward} that this request goes to, and copies its head for them; returns null when
   * none was picked (or the request is a WebSocket upgrade). Call before the request's own head is sent.
   *
   * @param context the request's upstream context, before any attempt
   * @param declaredLength the request's {@code Content-Length}, or -1 when it has none
   * @param timeoutNanos the route's timeout; 0 for {@link #DEFAULT_TIMEOUT}
   */
  static Mirroring start(Exchange ex, RouteAction.Forward forward, UpstreamRequest.Context context,
      long declaredLength, long timeoutNanos) {
    if (forward.mirrors().isEmpty() || ex.webSocket) {
      return null;
    }
    List<RouteAction.Mirror> picked = new ArrayList<>(forward.mirrors().size());
    for (RouteAction.Mirror m : forward.mirrors()) {
      if (m.percent() >= 100 || (m.percent() > 0 && ThreadLocalRandom.current().nextDouble(100) < m.percent())) {
        picked.add(m);
      }
    }
    if (picked.isEmpty()) {
      return null;
    }
    if (declaredLength > MAX_BODY_BYTES) {
      for (RouteAction.Mirror m : picked) {
        count(ex.cx.stats(), m, ProxyStats.MIRROR_RQ_BODY_TOO_LARGE);
      }
      return null;
    }
    return new Mirroring(ex, context, List.copyOf(picked), timeoutNanos);
  }

  /** Request body bytes as sent upstream: copied (the caller keeps {@code data}); {@code last} ends the request. */
  void data(ByteBuf data, boolean last) {
    if (over) {
      return;
    }
    int n = data.readableBytes();
    if (n > 0) {
      if (body == null) {
        body = data.alloc().compositeBuffer(Integer.MAX_VALUE);
      }
      if (body.readableBytes() + (long) n > MAX_BODY_BYTES) {
        for (RouteAction.Mirror m : mirrors) {
          count(cx.stats(), m, ProxyStats.MIRROR_RQ_BODY_TOO_LARGE);
        }
        cancel();
        return;
      }
      body.addComponent(true, data.alloc().buffer(n).writeBytes(data, data.readerIndex(), n));
    }
    if (last) {
      send();
    }
  }

  /** The request's trailers, ending it (copied). */
  void trailers(Http2Headers t) {
    if (over) {
      return;
    }
    trailers = new DefaultHttp2Headers(false, t.size()).add(t);
    send();
  }

  /** The request ended before it was complete (or the exchange gave up): nothing is mirrored. Idempotent. */
  void cancel() {
    over = true;
    if (body != null) {
      body.release();
      body = null;
    }
  }

  /** The request is complete (no body, or its end arrived): sends the copies, after what the loop has queued. */
  void send() {
    if (over) {
      return;
    }
    over = true;
    CompositeByteBuf b = body;
    body = null;
    Http2Headers t = trailers;
    loop.execute(() -> {
      try {
        for (RouteAction.Mirror m : mirrors) {
          new Shadow(m, b == null ? null : b.retainedDuplicate(), t).start();
        }
      } finally {
        if (b != null) {
          b.release();
        }
      }
    });
  }

  private static void count(ProxyStats stats, RouteAction.Mirror m, String name) {
    stats.inc(name);
    stats.inc("cluster." + m.cluster().name() + "." + name);
  }

  /** One mirror's copy of the request: its call, its timeout, its response discarded. */
  private final class Shadow implements UpstreamCall.Listener {
    private final RouteAction.Mirror mirror;
    private ByteBuf body;
    private final Http2Headers trailers;
    private UpstreamCall call;
    private UpstreamCalls.Pending connecting;
    private ScheduledFuture<?> timeout;
    private Endpoint endpoint;
    private boolean reusable = true;
    private boolean ended;

    Shadow(RouteAction.Mirror mirror, ByteBuf body, Http2Headers trailers) {
      this.mirror = mirror;
      this.body = body;
      this.trailers = trailers;
    }

    void start() {
      count(cx.stats(), mirror, ProxyStats.MIRROR_RQ_TOTAL);
      UpstreamCalls calls = cx.upstreams().calls(loop);
      endpoint = mirror.cluster().endpoints().isEmpty() ? null : calls.next(mirror.cluster());
      if (endpoint == null) {
        fail(ProxyStats.MIRROR_RQ_FAILED, "no healthy endpoint");
        return;
      }
      timeout = loop.schedule(this::onTimeout, timeoutNanos, TimeUnit.NANOSECONDS);
      connecting = calls.open(mirror.cluster(), endpoint, clientHttp2, this, new UpstreamCalls.Callback() {
        @Override
        public void opened(UpstreamCall c) {
          connecting = null;
          if (ended) {
            c.abandon();
            return;
          }
          call = c;
          try {
            sendRequest();
          } catch (RuntimeException e) { // a bug of ours: this mirror is given up, nothing else
            log.warn("mirror {} {}: sending the request failed", mirror.cluster().name(), endpoint, e);
            reusable = false;
            fail(ProxyStats.MIRROR_RQ_FAILED, e.toString());
          }
        }

        @Override
        public void failed(Throwable cause) {
          connecting = null;
          fail(ProxyStats.MIRROR_RQ_FAILED, "connect failed: " + cause);
        }
      });
    }

    private void sendRequest() {
      boolean hasBody = body != null && body.isReadable();
      boolean endStream = !hasBody && trailers == null;
      // each copy gets its own head: the call changes it in place (x-forwarded-for, header operations)
      if (h1Head != null) {
        call.sendHead(new DefaultHttpRequest(h1Head.protocolVersion(), h1Head.method(), h1Head.uri(),
            h1Head.headers().copy()), context, endStream);
      } else {
        call.sendHead(new DefaultHttp2Headers(false, h2Head.size()).add(h2Head), streamId, context, endStream);
      }
      if (hasBody) {
        ByteBuf b = body;
        body = null;
        call.sendData(b, trailers == null);
      }
      if (trailers != null) {
        call.sendTrailers(trailers);
      }
      call.flush();
      releaseBody();
    }

    @Override
    public void responseHead(HttpResponse head) {
      if (!HttpUtil.isKeepAlive(head)) {
        reusable = false;
      }
    }

    @Override
    public void responseHead(Http2Headers head, boolean endStream) {
      if (endStream) {
        complete();
      }
    }

    @Override
    public void responseData(ByteBuf data, boolean endStream) {
      int n = data.readableBytes();
      data.release();
      if (call != null && !ended && call.needsConsumedCallbacks()) {
        call.responseConsumed(n);
      }
      if (endStream) {
        complete();
      }
    }

    @Override
    public void responseTrailers(Http2Headers t) {
      complete();
    }

    @Override
    public void responseTrailers(HttpHeaders t) {
      complete();
    }

    @Override
    public void upstreamReadComplete() {}

    @Override
    public void upstreamFailed(UpstreamCall.Failure failure, String why) {
      call = null; // the call ended itself
      fail(ProxyStats.MIRROR_RQ_FAILED, failure + ": " + why);
    }

    private void complete() {
      if (ended) {
        return;
      }
      ended = true;
      cancelTimeout();
      count(cx.stats(), mirror, ProxyStats.MIRROR_RQ_COMPLETED);
      UpstreamCall c = call;
      call = null;
      if (c != null) {
        c.release(reusable);
      }
    }

    private void onTimeout() {
      fail(ProxyStats.MIRROR_RQ_TIMEOUT, "no response within " + TimeUnit.NANOSECONDS.toMillis(timeoutNanos) + " ms");
    }

    private void fail(String counter, String why) {
      if (ended) {
        return;
      }
      ended = true;
      cancelTimeout();
      releaseBody();
      count(cx.stats(), mirror, counter);
      log.debug("mirror {} {}: {}", mirror.cluster().name(), endpoint, why);
      if (connecting != null) {
        connecting.cancel();
        connecting = null;
      }
      UpstreamCall c = call;
      call = null;
      if (c != null) {
        c.abandon();
      }
    }

    private void cancelTimeout() {
      if (timeout != null) {
        timeout.cancel(false);
        timeout = null;
      }
    }

    private void releaseBody() {
      if (body != null) {
        body.release();
        body = null;
      }
    }
  }
}
