package io.portcullis.testing;

import java.io.IOException;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

/**
 * The other client of an attack test: on its own thread and its own keep-alive connection (opened before the attack),
 * sends {@code GET path} every 100 ms and counts answers with the expected status; any other outcome (another
 * status, no answer within 5 s, the connection closed) is a failure. Reconnects after a failure.
 */
public final class Bystander implements AutoCloseable {
  private final AtomicBoolean running = new AtomicBoolean(true);
  private final AtomicInteger ok = new AtomicInteger();
  private final AtomicInteger failed = new AtomicInteger();
  private final AtomicReference<String> lastFailure = new AtomicReference<>("");
  private final Thread thread;

  /**
   * Connects to 127.0.0.1:{@code port} and starts.
   *
   * @param host the Host header to send
   */
  public Bystander(int port, String host, String path, int expectedStatus) throws IOException {
    RawClient first = RawClient.connect(port);
    thread = new Thread(() -> {
      RawClient c = first;
      try {
        while (running.get()) {
          try {
            if (c == null) {
              c = RawClient.connect(port);
            }
            RawClient.Response r = c.send("GET " + path + " HTTP/1.1\r\nHost: " + host + "\r\n\r\n")
                .readResponse(Duration.ofSeconds(5));
            if (r != null && r.status() == expectedStatus) {
              ok.incrementAndGet();
            } else {
              fail(r == null ? "connection closed" : r.head().lines().findFirst().orElse(""));
              c.close();
              c = null;
            }
          } catch (IOException e) {
            fail(e.toString());
            if (c != null) {
              c.close();
            }
            c = null;
          }
          Thread.sleep(100);
        }
      } catch (InterruptedException | IOException e) {
        Thread.currentThread().interrupt();
      } finally {
        try {
          if (c != null) {
            c.close();
          }
        } catch (IOException ignored) {
          // closing anyway
        }
      }
    }, "bystander");
    thread.setDaemon(true);
    thread.start();
  }

  private void fail(String why) {
    failed.incrementAndGet();
    lastFailure.set(why);
  }

  /** Answers with the expected status so far. */
  public int ok() {
    return ok.get();
  }

  /** Waits until {@code n} more answers than so far came back, or {@code timeout} passed. */
  public void awaitMore(int n, Duration timeout) {
    int target = ok() + n;
    long deadline = System.nanoTime() + timeout.toNanos();
    while (ok() < target && System.nanoTime() < deadline && thread.isAlive()) {
      try {
        Thread.sleep(20);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return;
      }
    }
  }

  /**
   * Waits for two more answers (so it was served after the probe, not only before), stops, and fails unless every
   * request it made was answered as expected.
   *
   * @throws AssertionError naming the counts and the last failure
   */
  public void assertServedThroughout() {
    awaitMore(2, Duration.ofSeconds(5));
    String result = stop();
    if (failed() > 0 || ok() < 2) {
      throw new AssertionError("the bystander was not served throughout: " + result);
    }
  }

  /** Failures so far. */
  public int failed() {
    return failed.get();
  }

  /** Stops, and returns a line such as {@code 42 ok, 0 failed} (with the last failure, if any). */
  public String stop() {
    close();
    return ok() + " ok, " + failed() + " failed" + (failed() > 0 ? " (last: " + lastFailure.get() + ")" : "");
  }

  @Override
  public void close() {
    running.set(false);
    try {
      thread.join(10_000);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
