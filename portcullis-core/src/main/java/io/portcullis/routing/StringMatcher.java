package io.portcullis.routing;

import static java.util.Objects.requireNonNull;

import java.util.regex.Pattern;

/**
 * Istio's {@code StringMatch}: {@code exact}, {@code prefix} or {@code regex} (RE2 syntax in Istio; Java regular
 * expressions here, which accept RE2's common subset), matched against the whole value.
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

  /** Full-string regular expression match. */
  record Regex(Pattern pattern) implements StringMatcher {
    /** Checks for null. */
    public Regex {
      requireNonNull(pattern, "pattern");
    }

    @Override
    public boolean matches(String v) {
      return v != null && pattern.matcher(v).matches();
    }

    @Override
    public String describe() {
      return "regex:" + pattern.pattern();
    }
  }

  /** Compiles {@code regex}, ignoring case when asked; throws {@link java.util.regex.PatternSyntaxException}. */
  static Regex regex(String regex, boolean ignoreCase) {
    return new Regex(Pattern.compile(regex, ignoreCase ? Pattern.CASE_INSENSITIVE : 0));
  }

}
