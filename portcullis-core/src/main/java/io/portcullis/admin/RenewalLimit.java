package io.portcullis.admin;

import static java.util.Objects.requireNonNull;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;

/**
 * One forced renewal per Certificate per {@link #INTERVAL} through the admin server, so a script in a loop cannot
 * spend the ACME account's rate limits (Let's Encrypt: 5 duplicate certificates a week); {@code force} bypasses it.
 *
 * <p>Not thread-safe: used on the admin server's one event loop only.
 */
final class RenewalLimit {
  /** How long after a renewal the next one of the same Certificate must wait unless forced. */
  static final Duration INTERVAL = Duration.ofMinutes(1);

  private final Clock clock;
  /** Certificate {@code namespace/name} to the time its last renewal was accepted. */
  private final Map<String, Instant> last = new HashMap<>();

  RenewalLimit(Clock clock) {
    this.clock = requireNonNull(clock, "clock");
  }

  /**
   * The decision: how long a renewal asked for at {@code now} must wait after one accepted at {@code last}.
   *
   * @return empty when it may go ahead (never renewed, {@link #INTERVAL} passed, or {@code force}); else the time
   *     left, at least one second
   */
  static Optional<Duration> wait(Optional<Instant> last, Instant now, boolean force) {
    if (force || last.isEmpty()) {
      return Optional.empty();
    }
    Duration left = Duration.between(now, last.get().plus(INTERVAL));
    if (left.isNegative() || left.isZero()) {
      return Optional.empty();
    }
    return Optional.of(left.compareTo(Duration.ofSeconds(1)) < 0 ? Duration.ofSeconds(1) : left);
  }

  /**
   * Takes a renewal of {@code key} now if {@link #wait} allows it, recording the time.
   *
   * @return empty when taken; else how long to wait ({@code Retry-After})
   */
  Optional<Duration> take(String key, boolean force) {
    Instant now = clock.instant();
    Optional<Duration> wait = wait(Optional.ofNullable(last.get(key)), now, force);
    if (wait.isEmpty()) {
      last.values().removeIf(t -> !t.plus(INTERVAL).isAfter(now)); // keep only what still limits
      last.put(key, now);
    }
    return wait;
  }

  /** Forgets the last renewal of {@code key}: it named no Certificate, so nothing was issued. */
  void untake(String key) {
    last.remove(key);
  }
}
