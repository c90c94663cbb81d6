package io.portcullis.proxy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class Http2UpstreamLimitsTest {
  @Test
  void defaultsAndTheConnectionWindow() {
    Http2UpstreamLimits d = Http2UpstreamLimits.defaults();
    assertThat(d.maxConcurrentStreams()).isEqualTo(100);
    assertThat(d.initialStreamWindow()).isEqualTo(65_535);
    assertThat(d.connectionWindow()).isEqualTo(6_553_500);
    assertThat(new Http2UpstreamLimits(Integer.MAX_VALUE, 1 << 20, 60, 0, 30, 1, Duration.ZERO).connectionWindow())
        .isEqualTo(Integer.MAX_VALUE);
    assertThat(d.withIdleTimeout(Duration.ofSeconds(3)).idleTimeout()).isEqualTo(Duration.ofSeconds(3));
  }

  @ParameterizedTest
  @CsvSource({"0, 100", "1, 1", "2, 2", "150, 100"})
  void maxRequestsPerConnectionBoundsTheRequestsThatWaitOnOneConnect(int perConnection, int perConnect) {
    Http2UpstreamLimits l = Http2UpstreamLimits.defaults().withMaxRequestsPerConnection(perConnection);
    assertThat(l.maxRequestsPerConnection()).isEqualTo(perConnection);
    assertThat(l.streamsPerConnect()).isEqualTo(perConnect);
    assertThat(l.withIdleTimeout(Duration.ofSeconds(1)).maxRequestsPerConnection()).isEqualTo(perConnection);
  }

  @Test
  void aNegativeRequestLimitIsNamed() {
    assertThatThrownBy(() -> Http2UpstreamLimits.defaults().withMaxRequestsPerConnection(-1))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("maxRequestsPerConnection: -1 (expected: >= 0, 0 for no limit)");
  }

  @ParameterizedTest
  @CsvSource(delimiter = '|', value = {
      "0 | 65535 | 60   | 200 | 30 | 10000 | 1  | maxConcurrentStreams: 0 (expected: >= 1)",
      "1 | 1000  | 60   | 200 | 30 | 10000 | 1  | initialStreamWindow: 1000 (expected: 65535..2147483647)",
      "1 | 65535 | 0    | 200 | 30 | 10000 | 1  | maxResponseHeadersKb: 0 (expected: 1..8192)",
      "1 | 65535 | 9000 | 200 | 30 | 10000 | 1  | maxResponseHeadersKb: 9000 (expected: 1..8192)",
      "1 | 65535 | 60 | -1  | 30 | 10000 | 1 | "
          + "maxRstFramesPerWindow/rstFramesWindowSeconds: -1/30 (expected: >= 0 / >= 1)",
      "1 | 65535 | 60 | 200 | 0  | 10000 | 1 | "
          + "maxRstFramesPerWindow/rstFramesWindowSeconds: 200/0 (expected: >= 0 / >= 1)",
      "1 | 65535 | 60   | 200 | 30 | 0     | 1  | maxQueuedControlFrames: 0 (expected: >= 1)",
      "1 | 65535 | 60   | 200 | 30 | 10000 | -1 | idleTimeout: PT-1S (expected: >= 0, 0 for never)",
  })
  void outOfRangeValuesAreNamed(int streams, int window, int headersKb, int rst, int rstSeconds, int control,
      long idleSeconds, String message) {
    assertThatThrownBy(() -> new Http2UpstreamLimits(streams, window, headersKb, rst, rstSeconds, control,
        Duration.ofSeconds(idleSeconds))).isInstanceOf(IllegalArgumentException.class).hasMessage(message);
  }
}
