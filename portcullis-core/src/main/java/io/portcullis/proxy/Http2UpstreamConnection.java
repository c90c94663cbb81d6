package io.portcullis.proxy;

import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPromise;
import io.netty.handler.codec.http2.Http2Connection;
import io.netty.handler.codec.http2.Http2ConnectionAdapter;
import io.netty.handler.codec.http2.Http2Error;
import io.netty.handler.codec.http2.Http2Exception;
import io.netty.handler.codec.http2.Http2Headers;
import io.netty.handler.codec.http2.Http2LocalFlowController;
import io.netty.handler.codec.http2.Http2Stream;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.Promise;
import io.netty.util.concurrent.ScheduledFuture;
import io.portcullis.routing.Endpoint;
import java.io.IOException;
import java.util.ArrayList;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One multiplexed HTTP/2 client connection to one upstream endpoint: h2c with prior knowledge (RFC 9113 §3.3) or h2
 * over TLS negotiated with ALPN (RFC 7301). Streams are opened with {@link #openStream} while {@link #hasCapacity()}.
 * Not thread-safe: everything runs on the connection's event loop.
 *
 * <p>GOAWAY from the upstream (RFC 9113 §6.8) drains the connection: streams up to its last stream id carry on to
 * their end, those above it are reported refused (safe to retry elsewhere), no new stream is opened, and the
 * connection closes when its last stream ends. A connection error of the upstream's (a RST_STREAM flood, PING or
 * SETTINGS acknowledgements it does not read, a header block far over our limit, a bad frame) closes the connection
 * at once after a GOAWAY; each of its streams gets {@link Http2UpstreamStream.Listener#closed}, and no other
 * connection is touched. A connection with no stream for {@link Http2UpstreamLimits#idleTimeout()} is closed with
 * GOAWAY {@code NO_ERROR}; one that has opened {@link Http2UpstreamLimits#maxRequestsPerConnection()} streams takes
 * no more and is closed the same way once they have ended (counted as {@code upstream_cx_max_requests}).
 */
final class Http2UpstreamConnection {
  private static final Logger log = LoggerFactory.getLogger(Http2UpstreamConnection.class);
  /** How many streams a connection is assumed to take before the upstream's SETTINGS say (RFC 9113 §6.5.2: 100). */
  static final int ASSUMED_MAX_CONCURRENT_STREAMS = 100;

  private final Endpoint endpoint;
  private final Channel channel;
  private final Http2UpstreamLimits limits;
  private final ProxyStats stats;
  private final Http2UpstreamHandler handler;
  private final Http2Connection h2;
  private final Http2Connection.PropertyKey streamKey;
  private final ArrayList<Http2UpstreamStream> touched = new ArrayList<>(4);

  private boolean ready;
  private boolean settingsReceived;
  private boolean draining;
  private boolean reading;
  /** Streams opened and not yet closed (Netty's) or abandoned: what counts against the concurrency limit. */
  private int streams;
  /** Streams opened over the connection's life, for {@link Http2UpstreamLimits#maxRequestsPerConnection()}. */
  private int opened;
  /** {@code maxRequestsPerConnection} streams were opened: no new one; closed once they end. */
  private boolean exhausted;
  /** Told when what the connection can take changes: {@link #stateListener(Runnable)}. */
  private Runnable stateListener;
  /** The last stream id of the upstream's GOAWAY; -1 before one came. */
  private int goAwayLastStreamId = -1;
  private long goAwayErrorCode;
  /** Why the connection failed or closed; streams that end with it get it. */
  private Throwable failure;
  /** The stream whose head is being written: Netty creates it inside the write, and it is attached then. */
  private Http2UpstreamStream creating;
  /** Caller calls under way: endings that they cause are delivered later, not inside the caller's call. */
  private int callerDepth;
  private long idleSinceNanos = -1;
  private ScheduledFuture<?> idleTimer;

  Http2UpstreamConnection(Endpoint endpoint, Channel channel, Http2UpstreamLimits limits, ProxyStats stats) {
    this.endpoint = endpoint;
    this.channel = channel;
    this.limits = limits;
    this.stats = stats;
    this.handler = Http2UpstreamHandler.create(this, new Http2UpstreamFrames(this, stats), limits);
    this.h2 = handler.connection();
    this.streamKey = h2.newKey();
    h2.addListener(new Http2ConnectionAdapter() {
      @Override
      public void onStreamAdded(Http2Stream stream) {
        Http2UpstreamStream s = creating;
        if (s != null && stream.id() == s.id) {
          stream.setProperty(streamKey, s);
          s.stream = stream;
        }
      }

      @Override
      public void onStreamClosed(Http2Stream stream) {
        Http2UpstreamStream s = stream.getProperty(streamKey);
        if (s != null) {
          streamClosed(s);
        }
      }
    });
    handler.encoder().flowController().listener(stream -> {
      Http2UpstreamStream s = stream.getProperty(streamKey);
      if (s != null && !s.done) {
        try {
          s.listener.writabilityChanged();
        } catch (Throwable t) {
          listenerFailed(s, t);
        }
      }
    });
  }

  /** Returns the HTTP/2 handler, for the pipeline (once: TLS puts it there after ALPN). */
  Http2UpstreamHandler handler() {
    return handler;
  }

  /** Returns the endpoint this connection goes to. */
  Endpoint endpoint() {
    return endpoint;
  }

  /** Returns the channel. */
  Channel channel() {
    return channel;
  }

  /** Returns the streams open now (counted against the concurrency limit). */
  int activeStreams() {
    return streams;
  }

  /**
   * Returns the most streams this connection takes at once: the smaller of ours and the upstream's
   * {@code SETTINGS_MAX_CONCURRENT_STREAMS}, or of ours and 100 before the upstream's SETTINGS came.
   */
  int maxConcurrentStreams() {
    int peer = settingsReceived ? h2.local().maxActiveStreams() : ASSUMED_MAX_CONCURRENT_STREAMS;
    return Math.min(peer, limits.maxConcurrentStreams());
  }

  /** Returns whether the upstream's first SETTINGS frame has arrived. */
  boolean settingsReceived() {
    return settingsReceived;
  }

  /** Returns whether the connection takes no new stream: GOAWAY came, it failed, or it is closing. */
  boolean isDraining() {
    return draining || failure != null || !channel.isActive();
  }

  /**
   * Returns whether the connection takes no new stream and will close once its streams end: it is draining
   * ({@link #isDraining()}) or has opened its {@link Http2UpstreamLimits#maxRequestsPerConnection()} streams.
   */
  boolean isRetiring() {
    return exhausted || isDraining();
  }

  /** Returns whether {@link #openStream} would get a stream going now. */
  boolean hasCapacity() {
    return ready && !exhausted && !isDraining() && streams < maxConcurrentStreams();
  }

  /**
   * Sets what is run, on the event loop, when what the connection can take may have changed: a stream ended (a slot
   * is free), the upstream's SETTINGS arrived, or it stopped taking new streams ({@link #isRetiring()}: GOAWAY, its
   * request limit), so that another connection may be opened in its place. The pool serves its waiting requests
   * then. It must not open a stream inside the call (it may come from within Netty's stream bookkeeping or from
   * {@link #openStream}): schedule that.
   */
  void stateListener(Runnable listener) {
    this.stateListener = listener;
  }

  /**
   * Opens a stream for {@code listener}; nothing is sent before {@link Http2UpstreamStream#writeHeaders}. Call on the
   * event loop, when {@link #hasCapacity()}: a stream opened beyond it is refused when its head is written. A caller
   * that gives up before writing the head calls {@link Http2UpstreamStream#reset()}.
   */
  Http2UpstreamStream openStream(Http2UpstreamStream.Listener listener) {
    assert channel.eventLoop().inEventLoop();
    streams++;
    idleSinceNanos = -1;
    int max = limits.maxRequestsPerConnection();
    if (max > 0 && ++opened >= max && !exhausted) {
      exhausted = true; // this stream is still written: only new ones are refused (hasCapacity)
      stats.inc(ProxyStats.UPSTREAM_CX_MAX_REQUESTS);
      stateChanged();
    }
    return new Http2UpstreamStream(this, listener);
  }

  /** Flushes every stream's pending frames (through the flow controller). */
  void flush() {
    ChannelHandlerContext ctx = handler.ctx();
    if (ctx != null) {
      handler.flush(ctx);
    }
  }

  /** Closes the connection gracefully: GOAWAY {@code NO_ERROR}, then the socket once open streams have ended. */
  void close() {
    draining = true;
    channel.close();
  }

  /** Returns a future that completes when the channel has closed. */
  ChannelFuture closeFuture() {
    return channel.closeFuture();
  }

  @Override
  public String toString() {
    return "h2 upstream " + endpoint + " " + channel.id().asShortText();
  }

  // --- called by Http2UpstreamStream --------------------------------------------------------------------------------

  ChannelFuture writeHead(Http2UpstreamStream s, Http2Headers headers, boolean endStream) {
    if (s.done) {
      return channel.newFailedFuture(new IllegalStateException(s + ": already reset"));
    }
    ChannelHandlerContext ctx = handler.ctx();
    if (!ready || isDraining() || h2.goAwayReceived()) {
      return refuseLater(s, "the connection is draining or closed");
    }
    int id = h2.local().incrementAndGetNextStreamId();
    if (id < 0) {
      draining = true; // stream ids are used up (RFC 9113 §5.1.1): a new connection takes the next requests
      return refuseLater(s, "stream ids are exhausted");
    }
    s.id = id;
    ChannelPromise p = ctx.newPromise();
    callerDepth++;
    creating = s;
    try {
      handler.encoder().writeHeaders(ctx, id, headers, 0, endStream, p);
    } finally {
      creating = null;
      callerDepth--;
    }
    if (s.stream == null && !s.done) {
      // Netty did not create it: over the upstream's SETTINGS_MAX_CONCURRENT_STREAMS, or after its GOAWAY.
      return refuseLater(s, p.cause() == null ? "not created" : p.cause().getMessage());
    }
    return p;
  }

  ChannelFuture writeData(Http2UpstreamStream s, ByteBuf data, boolean endStream) {
    if (s.stream == null || s.cancelled) { // else Netty checks the state: after the response ended it may go on
      ReferenceCountUtil.release(data);
      return channel.newFailedFuture(new IllegalStateException(s + ": not open"));
    }
    ChannelHandlerContext ctx = handler.ctx();
    callerDepth++;
    try {
      return handler.encoder().writeData(ctx, s.id, data, 0, endStream, ctx.newPromise());
    } finally {
      callerDepth--;
    }
  }

  ChannelFuture writeTrailers(Http2UpstreamStream s, Http2Headers trailers) {
    if (s.stream == null || s.cancelled) {
      return channel.newFailedFuture(new IllegalStateException(s + ": not open"));
    }
    ChannelHandlerContext ctx = handler.ctx();
    callerDepth++;
    try {
      return handler.encoder().writeHeaders(ctx, s.id, trailers, 0, true, ctx.newPromise());
    } finally {
      callerDepth--;
    }
  }

  void resetStream(Http2UpstreamStream s) {
    if (s.cancelled) {
      return;
    }
    s.cancelled = true;
    s.done = true;
    if (s.stream == null) {
      release(s); // never sent: nothing to tell the upstream
      return;
    }
    if (s.stream.state() == Http2Stream.State.CLOSED || s.stream.isResetSent()) {
      return;
    }
    ChannelHandlerContext ctx = handler.ctx();
    callerDepth++;
    try {
      handler.encoder().writeRstStream(ctx, s.id, Http2Error.CANCEL.code(), ctx.newPromise());
    } finally {
      callerDepth--;
    }
    flushSoon();
  }

  boolean isWritable(Http2UpstreamStream s) {
    if (s.cancelled || s.done && s.stream == null || s.stream != null && s.stream.state() == Http2Stream.State.CLOSED) {
      return false;
    }
    return s.stream == null ? channel.isWritable() : handler.encoder().flowController().isWritable(s.stream);
  }

  void consumed(Http2UpstreamStream s, int bytes) {
    if (bytes <= 0 || s.stream == null || s.stream.state() == Http2Stream.State.CLOSED) {
      return;
    }
    Http2LocalFlowController fc = handler.decoder().flowController();
    int n = Math.min(bytes, fc.unconsumedBytes(s.stream));
    if (n <= 0) {
      return;
    }
    try {
      if (fc.consumeBytes(s.stream, n)) {
        flushSoon();
      }
    } catch (Http2Exception e) {
      handler.onError(handler.ctx(), true, e);
    }
  }

  // --- called by Http2UpstreamHandler -------------------------------------------------------------------------------

  void readStarted() {
    reading = true;
  }

  /** The read batch ended: each listener it touched gets {@code readComplete}, then the handler flushes. */
  void readBatchEnded() {
    for (int i = 0; i < touched.size(); i++) {
      Http2UpstreamStream s = touched.get(i);
      s.touched = false;
      try {
        s.listener.readComplete();
      } catch (Throwable t) {
        listenerFailed(s, t);
      }
    }
    touched.clear();
  }

  void readEnded() {
    reading = false;
  }

  void inactive() {
    draining = true;
    reading = false;
    if (failure == null) {
      failure = new IOException("upstream " + endpoint + " closed the HTTP/2 connection");
    }
    if (idleTimer != null) {
      idleTimer.cancel(false); // else it would hold the closed channel until the idle timeout
      idleTimer = null;
    }
  }

  void streamsClosed() {
    touched.clear();
  }

  void failed(Throwable cause) {
    if (failure == null) {
      failure = new IOException("upstream " + endpoint + ": " + cause, cause);
    }
    draining = true;
  }

  void connectionError(Throwable cause, boolean graceful) {
    draining = true;
    if (graceful) {
      return; // stream ids exhausted and the like: the open streams finish
    }
    if (failure == null) {
      stats.inc(ProxyStats.UPSTREAM_CX_PROTOCOL_ERROR);
      failure = new IOException("upstream " + endpoint + ": HTTP/2 connection error: " + cause.getMessage(), cause);
      log.debug("{}: connection error, closing", this, cause);
    }
  }

  /** Before Netty resets stream {@code id} for an error: returns our stream, marked as ended, or null. */
  Http2UpstreamStream beforeStreamError(int id, boolean outbound, Throwable cause) {
    Http2Stream st = h2.stream(id);
    Http2UpstreamStream s = st == null ? null : st.getProperty(streamKey);
    if (s == null || s.done) {
      return null;
    }
    if (outbound) {
      // Writing the request failed (a head over the upstream's SETTINGS_MAX_HEADER_LIST_SIZE, ...): the stream is
      // closed by Netty, and its closing reports this.
      s.writeFailure = new IOException("upstream " + endpoint + " stream " + id + ": " + cause.getMessage(), cause);
      return s;
    }
    s.done = true;
    return s;
  }

  void afterStreamError(Http2UpstreamStream s, Http2Exception.StreamException e) {
    stats.inc(ProxyStats.UPSTREAM_HTTP2_RX_MESSAGING_ERROR);
    touch(s);
    try {
      s.listener.protocolError("upstream " + endpoint + " stream " + s.id + ": " + e.getMessage());
    } catch (Throwable t) {
      log.warn("{}: the listener failed on a protocol error", s, t);
    }
  }

  // --- internals ----------------------------------------------------------------------------------------------------

  /** The connection is up (TLS: with h2): it takes streams from now on; completes {@code promise} with it. */
  void becameReady(Promise<Http2UpstreamConnection> promise) {
    if (!channel.isActive()) {
      if (!promise.isDone()) {
        stats.inc(ProxyStats.UPSTREAM_CX_CONNECT_FAIL); // before the waiters wake (as Http2UpstreamConnector counts)
        promise.setFailure(failure != null ? failure : new IOException("upstream " + endpoint + " closed at once"));
      }
      return;
    }
    ready = true;
    stats.inc(ProxyStats.UPSTREAM_CX_HTTP2_TOTAL);
    idle();
    if (!promise.trySuccess(this)) {
      close(); // nobody wants it any more
    }
  }

  /** The upstream's SETTINGS arrived (its limits are known from here on). */
  void settingsRead() {
    settingsReceived = true;
    stateChanged();
  }

  /**
   * The upstream's GOAWAY (RFC 9113 §6.8): the connection drains. Netty closes the streams above
   * {@code lastStreamId} next, and they are reported refused.
   */
  void goAwayRead(int lastStreamId, long errorCode) {
    if (goAwayLastStreamId < 0) {
      stats.inc(ProxyStats.UPSTREAM_CX_CLOSE_NOTIFY);
      log.debug("{}: GOAWAY last stream {} error {}", this, lastStreamId, errorCode);
    }
    draining = true;
    goAwayLastStreamId = lastStreamId;
    goAwayErrorCode = errorCode;
    if (streams == 0) {
      channel.eventLoop().execute(channel::close);
    } else {
      stateChanged();
    }
  }

  /** Returns the stream with {@code id}, or null when it is not one of ours (or closed). */
  Http2UpstreamStream streamOf(int id) {
    Http2Stream st = h2.stream(id);
    return st == null ? null : st.getProperty(streamKey);
  }

  /** Marks {@code s} as having had frames in this read batch (its listener hears of the batch's end). */
  void touch(Http2UpstreamStream s) {
    if (reading && !s.touched) {
      s.touched = true;
      touched.add(s);
    }
  }

  private void flushSoon() {
    if (!reading) {
      flush(); // a read batch flushes at its end
    }
  }

  /** Refuses {@code s} (never sent) later on the loop, so the caller's write returns first. */
  private ChannelFuture refuseLater(Http2UpstreamStream s, String why) {
    s.done = true;
    release(s);
    channel.eventLoop().execute(() -> {
      try {
        s.listener.reset(Http2Error.REFUSED_STREAM.code(), true);
      } catch (Throwable t) {
        log.warn("{}: the listener failed on a refusal", s, t);
      }
    });
    return channel.newFailedFuture(new IOException("upstream " + endpoint + ": stream refused: " + why));
  }

  /** Netty closed {@code s}: it no longer counts, and if it had no ending yet it gets one now. */
  private void streamClosed(Http2UpstreamStream s) {
    if (!s.done) {
      s.done = true;
      if (goAwayLastStreamId >= 0 && s.id > goAwayLastStreamId) {
        long code = goAwayErrorCode;
        deliver(() -> s.listener.reset(code, true), s);
      } else {
        Throwable cause = s.writeFailure != null ? s.writeFailure : failure != null ? failure
            : new IOException("upstream " + endpoint + " stream " + s.id + " closed");
        deliver(() -> s.listener.closed(cause), s);
      }
    }
    release(s);
  }

  private void deliver(Runnable ending, Http2UpstreamStream s) {
    Runnable safe = () -> {
      try {
        ending.run();
      } catch (Throwable t) {
        log.warn("{}: the listener failed on the stream's end", s, t);
      }
    };
    if (callerDepth > 0) {
      channel.eventLoop().execute(safe);
    } else {
      safe.run();
    }
  }

  private void release(Http2UpstreamStream s) {
    if (!s.counted) {
      return;
    }
    s.counted = false;
    if (--streams == 0) {
      if ((draining || exhausted) && channel.isActive()) {
        channel.eventLoop().execute(this::close); // drained: GOAWAY NO_ERROR and close
        return;
      }
      idle();
    }
    stateChanged();
  }

  private void stateChanged() {
    Runnable l = stateListener;
    if (l != null) {
      l.run();
    }
  }

  /** A listener threw: the stream is reset, the connection and the other streams carry on. */
  void listenerFailed(Http2UpstreamStream s, Throwable t) {
    log.warn("{}: the listener failed; resetting the stream", s, t);
    resetStream(s);
  }

  private void idle() {
    idleSinceNanos = System.nanoTime();
    long timeout = limits.idleTimeout().toNanos();
    if (idleTimer == null && timeout > 0 && channel.isActive()) {
      idleTimer = channel.eventLoop().schedule(this::checkIdle, timeout, TimeUnit.NANOSECONDS);
    }
  }

  /** One timer per connection, re-armed for what is left of the idle timeout. */
  private void checkIdle() {
    idleTimer = null;
    if (streams > 0 || idleSinceNanos < 0 || !channel.isActive()) {
      return; // in use: the next idle() arms it again
    }
    long left = limits.idleTimeout().toNanos() - (System.nanoTime() - idleSinceNanos);
    if (left > 0) {
      idleTimer = channel.eventLoop().schedule(this::checkIdle, left, TimeUnit.NANOSECONDS);
      return;
    }
    stats.inc(ProxyStats.UPSTREAM_CX_IDLE_TIMEOUT);
    close();
  }
}
