package io.portcullis.proxy;

import io.netty.util.concurrent.EventExecutor;
import io.netty.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/**
 * Envoy's {@code stream_idle_timeout} for the exchange in flight on an HTTP/1.1 connection or HTTP/2 stream: one
 * timer for the connection's (or stream's) life rather than one per request, which checks when the exchange last
 * moved bytes and re-arms itself for what is left; it lapses while no exchange is in flight and is armed again by
 * the next one. Not thread-safe: used on its event loop.
 */
final class StreamIdleTimer {
  private final EventExecutor executor;
  private final long timeoutNanos;
  private final Supplier<Exchange> current;
  private ScheduledFuture<?> timer;

  /** @param timeoutNanos 0 disables the timer */
  StreamIdleTimer(EventExecutor executor, long timeoutNanos, Supplier<Exchange> current) {
    this.executor = executor;
    this.timeoutNanos = timeoutNanos;
    this.current = current;
  }

  /** An exchange started: arms the timer unless it is armed already. */
  void arm() {
    arm(timeoutNanos);
  }

  private void arm(long delayNanos) {
    if (timer != null || timeoutNanos == 0) {
      return;
    }
    timer = executor.schedule(() -> {
      timer = null;
      Exchange e = current.get();
      if (e == null) {
        return;
      }
      long left = timeoutNanos - (System.nanoTime() - e.lastActivityNanos());
      if (left > 0) {
        arm(left);
      } else {
        e.streamIdleTimeout();
      }
    }, delayNanos, TimeUnit.NANOSECONDS);
  }

  /** The connection or stream closed. */
  void cancel() {
    if (timer != null) {
      timer.cancel(false);
      timer = null;
    }
  }
}
