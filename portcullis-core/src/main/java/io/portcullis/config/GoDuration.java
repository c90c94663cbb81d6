package io.portcullis.config;

import java.time.Duration;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Durations as Go writes them ({@code time.ParseDuration}): a sequence of decimal numbers with units {@code h},
 * {@code m}, {@code s}, {@code ms}, {@code us} ({@code µs}), {@code ns}, e.g. {@code 2160h}, {@code 1h30m},
 * {@code 1.5s}, {@code 500ms}. Istio's and cert-manager's durations are written this way.
 */
public final class GoDuration {
  private static final Pattern PART = Pattern.compile("(\\d+(?:\\.\\d+)?)(ns|us|µs|ms|s|m|h)");

  private GoDuration() {}

  /** Parses {@code s} ({@code 0} alone needs no unit); empty when it is not a Go duration (negative durations are not accepted). */
  public static Optional<Duration> parse(String s) {
    String t = s.trim();
    if (t.equals("0")) {
      return Optional.of(Duration.ZERO); // as Go's time.ParseDuration
    }
    Matcher m = PART.matcher(t);
    int end = 0;
    double nanos = 0;
    while (m.find() && m.start() == end) {
      double n = Double.parseDouble(m.group(1));
      nanos += switch (m.group(2)) {
        case "h" -> n * 3_600e9;
        case "m" -> n * 60e9;
        case "s" -> n * 1e9;
        case "ms" -> n * 1e6;
        case "us", "µs" -> n * 1e3;
        default -> n;
      };
      end = m.end();
    }
    return end == 0 || end != t.length() ? Optional.empty() : Optional.of(Duration.ofNanos((long) nanos));
  }

  /** Formats whole seconds of {@code d} as Go prints them: {@code 2160h0m0s}. */
  public static String format(Duration d) {
    long s = d.getSeconds();
    return (s / 3600) + "h" + (s % 3600 / 60) + "m" + (s % 60) + "s";
  }
}
