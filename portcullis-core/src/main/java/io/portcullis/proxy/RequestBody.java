package io.portcullis.proxy;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelFuture;
import io.netty.handler.codec.http2.Http2Headers;
import java.util.ArrayList;
import java.util.List;

/**
 * One request's body on its way upstream, for {@link Forwarding}: the chunks kept while the request may still be
 * replayed by a retry (up to {@link Forwarding#MAX_REPLAY_BYTES}), and what arrived while no attempt could take it
 * (connecting, or waiting to retry), which the next attempt sends first; the trailers; and the byte counts that let
 * every byte go back to the client's window (HTTP/2) or ask for the next read (HTTP/1.1) exactly once. Bounded by
 * what a client sends unasked: an HTTP/1.1 client is read only as writes upstream complete, an HTTP/2 stream's window
 * is returned only then. Runs on the exchange's event loop.
 */
final class RequestBody {
  private final List<ByteBuf> held = new ArrayList<>();
  private Http2Headers trailers;
  private boolean replayable = true;
  /** Body bytes received so far, as they arrived (before any gRPC-Web decoding). */
  private long received;
  /** Of those, the bytes returned to the client; each is returned once. */
  private long returned;

  /** Counts {@code n} bytes that arrived; returns the offset of their end in the body. */
  long arrived(int n) {
    received += n;
    return received;
  }

  /** Returns the body bytes received so far. */
  long received() {
    return received;
  }

  /** Returns whether a retry could still send the whole request again. */
  boolean replayable() {
    return replayable;
  }

  /**
   * No retry from here on. With {@code attemptUnderWay}, the attempt in flight has every byte kept so far, so they
   * are let go; else they stay held for the attempt being opened.
   */
  void stopReplay(boolean attemptUnderWay) {
    replayable = false;
    if (attemptUnderWay) {
      release();
    }
  }

  /** Holds {@code data} (owned from here) for the attempt being opened or retried. */
  void hold(ByteBuf data) {
    held.add(data);
  }

  /** Keeps {@code data} (owned from here) for a replay; returns a retained duplicate to send now. */
  ByteBuf keep(ByteBuf data) {
    held.add(data);
    return data.retainedDuplicate();
  }

  /** Returns whether no body bytes are held. */
  boolean isEmpty() {
    return held.isEmpty();
  }

  /** The request's trailers, kept for the attempt being opened or for a replay. */
  void trailers(Http2Headers t) {
    trailers = t;
  }

  /** Returns the request's trailers, or null when there are none (yet). */
  Http2Headers trailers() {
    return trailers;
  }

  /**
   * Sends what is held to {@code call}, right after its head, the last chunk with {@code endStream} when
   * {@code end}; keeps the chunks while the body is replayable, else hands them over.
   *
   * @return the last chunk's write, or null when nothing was held
   */
  ChannelFuture sendHeld(UpstreamCall call, boolean end) {
    ChannelFuture last = null;
    for (int i = 0; i < held.size(); i++) {
      boolean lastChunk = i == held.size() - 1;
      ByteBuf chunk = held.get(i);
      last = call.sendData(replayable ? chunk.retainedDuplicate() : chunk, end && lastChunk);
    }
    if (!replayable) {
      held.clear(); // handed on: no retry can need them
    }
    return last;
  }

  /** Returns how many bytes up to body offset {@code offset} are to go back to the client now, counting them. */
  long toReturn(long offset) {
    long n = Math.max(0, offset - returned);
    returned += n;
    return n;
  }

  /** Lets go of every held chunk. */
  void release() {
    held.forEach(ByteBuf::release);
    held.clear();
  }
}
