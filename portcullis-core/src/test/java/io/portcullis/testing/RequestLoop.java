package io.portcullis.testing;

import java.util.concurrent.Callable;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

/** Runs a request over and over on its own thread, counting successes and failures, until closed. */
public final class RequestLoop implements AutoCloseable {
  private final AtomicBoolean running = new AtomicBoolean(true);
  private final AtomicInteger ok = new AtomicInteger();
  private final AtomicInteger failed = new AtomicInteger();
  private final Thread thread;

  /** Starts calling {@code request} (true: success) until {@link #close()}. */
  public RequestLoop(Callable<Boolean> request) {
    thread = new Thread(() -> {
      while (running.get()) {
        try {
          (request.call() ? ok : failed).incrementAndGet();
        } catch (Exception e) {
          failed.incrementAndGet();
        }
      }
    }, "request-loop");
    thread.start();
  }

  /** Successful requests so far. */
  public int ok() {
    return ok.get();
  }

  /** Failed requests so far. */
  public int failed() {
    return failed.get();
  }

  /** Stops the loop and waits for the request in progress. */
  @Override
  public void close() {
    running.set(false);
    try {
      thread.join(30_000);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
