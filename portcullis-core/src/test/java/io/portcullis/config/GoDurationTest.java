package io.portcullis.config;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import org.junit.jupiter.api.Test;

class GoDurationTest {
  @Test
  void parsesGoDurationsAsIstioAndCertManagerWriteThem() {
    assertThat(GoDuration.parse("2160h")).contains(Duration.ofDays(90));
    assertThat(GoDuration.parse("1h30m15s")).contains(Duration.ofSeconds(5415));
    assertThat(GoDuration.parse("1.5h")).contains(Duration.ofMinutes(90));
    assertThat(GoDuration.parse(" 500ms ")).contains(Duration.ofMillis(500));
    assertThat(GoDuration.parse("250us")).contains(Duration.ofNanos(250_000));
    assertThat(GoDuration.parse("90 days")).isEmpty();
    assertThat(GoDuration.parse("h")).isEmpty();
    assertThat(GoDuration.parse("-3s")).isEmpty();
    assertThat(GoDuration.parse("")).isEmpty();
  }

  @Test
  void formatsAsGoPrints() {
    assertThat(GoDuration.format(Duration.ofDays(90))).isEqualTo("2160h0m0s");
    assertThat(GoDuration.format(Duration.ofSeconds(3725))).isEqualTo("1h2m5s");
  }
}
