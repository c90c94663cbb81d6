package io.portcullis.admin;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class RenewalLimitTest {
  static final Instant T0 = Instant.parse("2025-01-01T00:00:00Z");

  @ParameterizedTest(name = "last {0} ms, now {1} ms, force {2}: wait {3} ms")
  @CsvSource({
      ",      0,     false, ",
      ",      0,     true,  ",
      "0,     0,     false, 60000",
      "0,     1500,  false, 58500",
      "0,     59500, false, 1000", // at least a second: Retry-After is whole seconds
      "0,     60000, false, ",
      "0,     90000, false, ",
      "0,     1,     true,  ",
  })
  void oncePerMinuteUnlessForced(Long lastMs, long nowMs, boolean force, Long waitMs) {
    Optional<Instant> last = Optional.ofNullable(lastMs).map(T0::plusMillis);
    assertThat(RenewalLimit.wait(last, T0.plusMillis(nowMs), force))
        .isEqualTo(Optional.ofNullable(waitMs).map(Duration::ofMillis));
  }

  @Test
  void eachCertificateHasItsOwnLimitAndAForgottenOneIsFreeAgain() {
    MutableClock clock = new MutableClock();
    RenewalLimit limit = new RenewalLimit(clock);
    assertThat(limit.take("ns/a", false)).isEmpty();
    assertThat(limit.take("ns/b", false)).isEmpty();
    clock.now = T0.plusSeconds(10);
    assertThat(limit.take("ns/a", false)).contains(Duration.ofSeconds(50));
    assertThat(limit.take("ns/a", true)).isEmpty(); // forced: taken, and the minute starts again
    clock.now = T0.plusSeconds(65);
    assertThat(limit.take("ns/b", false)).isEmpty();
    assertThat(limit.take("ns/a", false)).contains(Duration.ofSeconds(5));
    limit.untake("ns/a");
    assertThat(limit.take("ns/a", false)).isEmpty();
  }

  static final class MutableClock extends Clock {
    Instant now = T0;

    @Override
    public Instant instant() {
      return now;
    }

    @Override
    public ZoneOffset getZone() {
      return ZoneOffset.UTC;
    }

    @Override
    public Clock withZone(java.time.ZoneId zone) {
      return this;
    }
  }
}
