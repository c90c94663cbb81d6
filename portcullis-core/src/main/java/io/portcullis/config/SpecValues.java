package io.portcullis.config;

import com.fasterxml.jackson.databind.JsonNode;
import io.portcullis.config.Problem.Severity;
import java.time.Duration;
import java.util.Locale;
import java.util.Optional;

/**
 * Reads and checks the small values that several translators share: a field's raw text (for an enum value fabric8
 * could not map), Go durations, host names. Pure; safe on any thread.
 */
public final class SpecValues {
  private SpecValues() {}

  /**
   * Returns the trimmed text of the value at {@code path} in {@code r}'s body (dotted, with {@code [i]} indexes),
   * or {@code ""} when it is absent or not a value.
   */
  public static String rawText(Resource r, String... path) {
    JsonNode n = r.body();
    for (String p : path) {
      for (String part : p.split("\\.")) {
        int bracket = part.indexOf('[');
        if (bracket >= 0) {
          n = n.path(part.substring(0, bracket)).path(Integer.parseInt(part.substring(bracket + 1,
              part.length() - 1)));
        } else {
          n = n.path(part);
        }
      }
    }
    return n.isValueNode() ? n.asText().trim() : "";
  }

  /** Parses a Go duration ({@code 500ms}, {@code 1.5s}); zero when unset, null after reporting an ERROR. */
  public static Duration duration(Resource r, String field, String value, TranslationContext cx) {
    if (value == null || value.isBlank()) {
      return Duration.ZERO;
    }
    Optional<Duration> d = GoDuration.parse(value);
    if (d.isEmpty()) {
      cx.problem(Severity.ERROR, r, field, value + " (expected: a duration such as 500ms, 1.5s or 2m)");
      return null;
    }
    return d.get();
  }

  /** Whether {@code h} is a DNS name, {@code *.} followed by one, or {@code *}. */
  public static boolean validHost(String h) {
    return h.equals("*") || h.matches("(\\*\\.)?[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\\.[A-Za-z0-9]([A-Za-z0-9-]*"
        + "[A-Za-z0-9])?)*");
  }

  /** Empty for a null or empty string. */
  public static Optional<String> opt(String s) {
    return s == null || s.isEmpty() ? Optional.empty() : Optional.of(s);
  }

  /** Returns {@code s} in lower case (root locale). */
  public static String lower(String s) {
    return s.toLowerCase(Locale.ROOT);
  }
}
