package io.portcullis.routing;

import static java.util.Objects.requireNonNull;

import com.google.re2j.Pattern;

/**
 * Istio's {@code StringMatch}: {@code exact}, {@code prefix} or {@code regex} (RE2 syntax, as Istio documents and
 * Envoy's {@code safe_regex} runs it; see {@link SafeRegex}), matched against the whole value; and, for query
 * parameters, Envoy's {@code present_match}.
 */
public sealed interface StringMatcher {

  /** Returns whether {@code value} matches; a null value (header absent) never matches. */
  boolean matches(String value);

  /** Returns {@code exact}, {@code prefix} or {@code regex} with its operand, for {@code /config_dump}. */
  String describe();

  /** Exact match, optionally ignoring ASCII case ({@code ignoreUriCase}). */
  record Exact(String value, boolean ignoreCase) implements StringMatcher {
    /** Checks for null. */
    public Exact {
      requireNonNull(value, "value");
    }

    @Override
    public boolean matches(String v) {
      return v != null && (ignoreCase ? v.equalsIgnoreCase(value) : v.equals(value));
    }

    @Override
    public String describe() {
      return "exact:" + value;
    }
  }

  /** Prefix match, optionally ignoring ASCII case. */
  record Prefix(String value, boolean ignoreCase) implements StringMatcher {
    /** Checks for null. */
    public Prefix {
      requireNonNull(value, "value");
    }

    @Override
    public boolean matches(String v) {
      return v != null && v.regionMatches(ignoreCase, 0, value, 0, value.length());
    }

    @Override
    public String describe() {
      return "prefix:" + value;
    }
  }

  /**
   * Path-element prefix match (Envoy {@code path_separated_prefix}, which Istio emits for Ingress {@code Prefix} and
   * Gateway API {@code PathPrefix}): {@code /foo} matches {@code /foo}, {@code /foo/} and {@code /foo/x}, not
   * {@code /foobar}. A query string is never part of the value matched.
   *
   * @param value the prefix without a trailing {@code /}, starting with {@code /}; use {@link Prefix} for {@code /}
   */
  record PathPrefix(String value) implements StringMatcher {
    /** Checks the value: not null, starting with {@code /}, not ending with {@code /}. */
    public PathPrefix {
      requireNonNull(value, "value");
      if (!value.startsWith("/") || value.endsWith("/")) {
        throw new IllegalArgumentException("value: " + value + " (expected: /x, without a trailing /)");
      }
    }

    @Override
    public boolean matches(String v) {
      return v != null && v.startsWith(value) && (v.length() == value.length() || v.charAt(value.length()) == '/');
    }

    @Override
    public String describe() {
      return "path_separated_prefix:" + value;
    }
  }

  /**
   * Full-string RE2 match (Envoy {@code safe_regex}): time linear in the value's length, whatever the pattern, and
   * at worst in the program's size times that length. Called on an event loop; does not block. Build one with
   * {@link StringMatcher#regex} to get Envoy's limits.
   */
  record Regex(Pattern pattern) implements StringMatcher {
    /** Checks for null. */
    public Regex {
      requireNonNull(pattern, "pattern");
    }

    @Override
    public boolean matches(String v) {
      return v != null && pattern.matches(v);
    }

    @Override
    public String describe() {
      return "regex:" + pattern.pattern();
    }
  }

  /** Matches any value, the empty one too, when present (Envoy {@code present_match}); never an absent one. */
  record Present() implements StringMatcher {
    @Override
    public boolean matches(String v) {
      return v != null;
    }

    @Override
    public String describe() {
      return "present";
    }
  }

  /**
   * Compiles {@code regex} with {@link SafeRegex#compile}, ignoring case ({@code (?i)}) when asked, under Envoy's
   * default program-size limit ({@value SafeRegex#DEFAULT_MAX_PROGRAM_SIZE}).
   *
   * @throws SafeRegex.InvalidRegexException when RE2 rejects the syntax or the program is over Envoy's size limit
   */
  static Regex regex(String regex, boolean ignoreCase) {
    return regex(regex, ignoreCase, SafeRegex.DEFAULT_MAX_PROGRAM_SIZE);
  }

  /**
   * Compiles {@code regex} with {@link SafeRegex#compile}, ignoring case ({@code (?i)}) when asked.
   *
   * @param maxProgramSize the most RE2 instructions the program may have ({@code --max-regex-program-size})
   * @throws SafeRegex.InvalidRegexException when RE2 rejects the syntax or the program has more than
   *     {@code maxProgramSize} instructions
   */
  static Regex regex(String regex, boolean ignoreCase, int maxProgramSize) {
    return new Regex(SafeRegex.compile(regex, ignoreCase, maxProgramSize));
  }

}
