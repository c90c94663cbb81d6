package io.portcullis.proxy;

import io.netty.util.concurrent.EventExecutor;
import io.netty.util.concurrent.ScheduledFuture;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.function.Supplier;

/**
 * Envoy's {@code stream_idle_timeout} for the exchanges in flight on a connection (the one of an HTTP/1.1
 * connection, those of an HTTP/2 connection's streams): one timer for the connection's life rather than one per
 * request or stream, armed for the earliest deadline; when it fires it times out the exchanges that moved no bytes
 * for the timeout and re-arms itself for what is left of the others' (a later exchange's deadline is never earlier
 * than one already armed for). It lapses while no exchange is in flight and is armed again by the next one. Not
 * thread-safe: used on its event loop.
 */
final class StreamIdleTimer {
  /** The exchanges in flight: calls its argument for each. */
  interface InFlight {
    void forEach(Consumer<Exchange> action);
  }

  private final EventExecutor executor;
  private final long timeoutNanos;
  private final InFlight inFlight;
  private final Runnable check = this::check;
  private final Consumer<Exchange> visit = this::visit;
  private final List<Exchange> expired = new ArrayList<>(0);
  private ScheduledFuture<?> timer;
  private long now;
  private long nextNanos;

  /**
   * For one exchange at a time.
   *
   * @param timeoutNanos 0 disables the timer
   */
  StreamIdleTimer(EventExecutor executor, long timeoutNanos, Supplier<Exchange> current) {
    this(executor, timeoutNanos, action -> {
      Exchange e = current.get();
      if (e != null) {
        action.accept(e);
      }
    });
  }

  /** @param timeoutNanos 0 disables the timer */
  StreamIdleTimer(EventExecutor executor, long timeoutNanos, InFlight inFlight) {
    this.executor = executor;
    this.timeoutNanos = timeoutNanos;
    this.inFlight = inFlight;
  }

  /** An exchange started: arms the timer unless it is armed already. */
  void arm() {
    arm(timeoutNanos);
  }

  private void arm(long delayNanos) {
    if (timer != null || timeoutNanos == 0) {
      return;
    }
    timer = executor.schedule(check, delayNanos, TimeUnit.NANOSECONDS);
  }

  private void check() {
    timer = null;
    now = System.nanoTime();
    nextNanos = Long.MAX_VALUE;
    inFlight.forEach(visit); // collected first: timing one out may close its stream
    if (nextNanos != Long.MAX_VALUE) {
      arm(nextNanos);
    }
    for (int i = 0; i < expired.size(); i++) {
      expired.get(i).streamIdleTimeout();
    }
    expired.clear();
  }

  private void visit(Exchange e) {
    long left = timeoutNanos - (now - e.lastActivityNanos());
    if (left > 0) {
      nextNanos = Math.min(nextNanos, left);
    } else {
      expired.add(e);
    }
  }

  /** The connection closed. */
  void cancel() {
    if (timer != null) {
      timer.cancel(false);
      timer = null;
    }
  }
}
