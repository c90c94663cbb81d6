package io.portcullis.routing;

import static java.util.Objects.requireNonNull;

import com.google.re2j.Pattern;
import com.google.re2j.PatternSyntaxException;

/**
 * Compiles an Istio {@code StringMatch.regex} the way Envoy's {@code safe_regex} does: RE2 syntax, matched in time
 * linear in the input (RE2/J's automaton, never backtracking), and rejected when its program is too large.
 *
 * <p><b>Program size.</b> Envoy rejects a regex whose RE2 program has more instructions than the runtime value
 * {@code re2.max_program_size.error_level}, default {@value #DEFAULT_MAX_PROGRAM_SIZE} (Envoy
 * {@code source/common/common/regex.cc}, {@code CompiledGoogleReMatcher}; {@code type.matcher.v3.RegexMatcher}).
 * The size here is RE2/J's own count, {@link Pattern#programSize()} (public since RE2/J 1.8: the number of
 * instructions of the compiled program, the measure that gRPC and CEL use across languages). It was chosen over
 * reflection into RE2/J's private {@code RE2.prog} (which an upgrade could break, leaving only a fallback) and over a
 * helper class in package {@code com.google.re2j} calling {@code Prog.numInst()} (a split package, refused on the
 * module path): the public method is the same count and versioned with the library.
 *
 * <p>RE2/J compiles to runes where C++ RE2 compiles to UTF-8 bytes, and C++ RE2 adds two instructions for the
 * unanchored start: for ASCII literals and repetitions the counts differ by those two ({@code a{96}}: 98 here, 100
 * in Envoy), while a character class costs one instruction here and one per byte range there ({@code \p{L}+}: 4
 * here, 1198 in Envoy). So a pattern near the limit may be accepted here and rejected by Envoy; the other way round
 * only where C++ RE2 simplifies further ({@code a*a*a*a*}: 10 here, 5 in Envoy). Istio's proxies run with a limit of
 * 32768 (the runtime flags of Istio's {@code pkg/bootstrap}); the limit here is Envoy's default unless the caller
 * passes another ({@code portcullis run --max-regex-program-size}, 1..{@value #MAX_PROGRAM_SIZE_CEILING}). A larger
 * limit costs matching time: RE2/J simulates the automaton, so a match costs up to program size × input length
 * ({@code docs/configuration.md}, "Regular expressions").
 *
 * <p><b>Before compiling.</b> RE2/J expands counted repetitions while compiling and recurses on nested groups, so
 * {@code ((a{1000}){1000}){1000}} would allocate a billion instructions and 5,000 nested capture groups overflow
 * the stack. A linear scan of the pattern therefore estimates the program size first (atoms times the counts of
 * the repetitions around them) and rejects estimates over a hundred times the limit (at most
 * {@value #MAX_ESTIMATE}, whose compilation took about 100 MB and a quarter of a second) and nesting deeper than
 * {@value #MAX_NESTING} groups (Go's {@code regexp/syntax} limit) without compiling; every other pattern is
 * compiled and measured exactly.
 */
public final class SafeRegex {
  /** Envoy's default {@code re2.max_program_size.error_level}: the most instructions a program may have. */
  public static final int DEFAULT_MAX_PROGRAM_SIZE = 100;

  /** The largest program-size limit accepted (about three times Istio's 32768). */
  public static final int MAX_PROGRAM_SIZE_CEILING = 100_000;

  /**
   * The largest estimate compiled whatever the limit: a million instructions (RE2/J 1.8 took about 100 MB and
   * 0.26 s to compile {@code (a{1000}){1000}}; ten million took 700 MB and 2 s).
   */
  static final long MAX_ESTIMATE = 1_000_000;

  /** The deepest group nesting compiled (Go's {@code regexp/syntax} {@code maxHeight}). */
  static final int MAX_NESTING = 1000;

  private SafeRegex() {}

  /**
   * Returns {@code maxProgramSize} when it is a limit {@link #compile(String, boolean, int)} accepts.
   *
   * @param name what to call the value in the message, e.g. {@code --max-regex-program-size}
   * @throws IllegalArgumentException naming {@code name} when it is outside 1..{@value #MAX_PROGRAM_SIZE_CEILING}
   */
  public static int checkMaxProgramSize(String name, int maxProgramSize) {
    if (maxProgramSize < 1 || maxProgramSize > MAX_PROGRAM_SIZE_CEILING) {
      throw new IllegalArgumentException(name + ": " + maxProgramSize + " (expected: 1.." + MAX_PROGRAM_SIZE_CEILING
          + ")");
    }
    return maxProgramSize;
  }

  /** As {@link #compile(String, boolean, int)} with Envoy's default limit, {@value #DEFAULT_MAX_PROGRAM_SIZE}. */
  public static Pattern compile(String regex, boolean ignoreCase) {
    return compile(regex, ignoreCase, DEFAULT_MAX_PROGRAM_SIZE);
  }

  /**
   * Returns {@code regex} compiled for a full-string match, ignoring case ({@code (?i)}) when asked.
   *
   * @param maxProgramSize the most instructions the program may have (Envoy's
   *     {@code re2.max_program_size.error_level}), 1..{@value #MAX_PROGRAM_SIZE_CEILING}
   * @throws InvalidRegexException when RE2 does not accept the syntax (backreferences, lookaround, possessive
   *     quantifiers...) or the program has more than {@code maxProgramSize} instructions
   * @throws IllegalArgumentException when {@code maxProgramSize} is out of range
   */
  public static Pattern compile(String regex, boolean ignoreCase, int maxProgramSize) {
    requireNonNull(regex, "regex");
    checkMaxProgramSize("maxProgramSize", maxProgramSize);
    Estimate e = estimate(regex);
    if (e.depth() > MAX_NESTING) {
      throw new InvalidRegexException(regex, "groups nested " + e.depth() + " deep, over " + MAX_NESTING,
          maxProgramSize);
    }
    if (e.size() > Math.min(100L * maxProgramSize, MAX_ESTIMATE) && !e.badRepeat()) {
      throw new InvalidRegexException(regex, "program size about " + e.size() + " (counted before compiling), "
          + "over " + maxProgramSize, maxProgramSize);
    }
    Pattern p;
    try {
      p = Pattern.compile(regex, ignoreCase ? Pattern.CASE_INSENSITIVE : 0);
    } catch (PatternSyntaxException ex) {
      String at = ex.getPattern().isEmpty() ? "" : ": " + ex.getPattern();
      throw new InvalidRegexException(regex, ex.getDescription() + at, maxProgramSize);
    } catch (StackOverflowError ex) { // the scan's nesting limit should prevent this; a small thread stack may not
      throw new InvalidRegexException(regex, "too deeply nested to compile", maxProgramSize);
    }
    if (p.programSize() > maxProgramSize) {
      throw new InvalidRegexException(regex, "program size " + p.programSize() + ", over " + maxProgramSize,
          maxProgramSize);
    }
    return p;
  }

  /**
   * The scan's result: estimated instructions, deepest group nesting, and whether a repetition count is one RE2's
   * parser rejects (over 1000, or max below min), which it does before expanding anything.
   */
  record Estimate(long size, int depth, boolean badRepeat) {}

  /**
   * Estimates the program size of {@code regex} in one pass, without RE2/J: each atom (literal, class, escape,
   * {@code .}, anchor) and operator counts one, a capture group two more, and a counted repetition multiplies what
   * it repeats by its largest count. Close to RE2/J's count for most patterns; larger where RE2/J factors
   * alternations ({@code a|b|c} becomes one class). A syntax error is left to the compiler: the estimate of a
   * malformed pattern is only a number.
   */
  static Estimate estimate(String regex) {
    int n = regex.length();
    // One frame per open group: what its completed items cost, and what its last item costs (a repetition
    // multiplies the last item).
    long[] total = new long[16];
    long[] last = new long[16];
    boolean[] capture = new boolean[16];
    int top = 0;
    int deepest = 0;
    boolean badRepeat = false;
    int i = 0;
    while (i < n) {
      char c = regex.charAt(i);
      switch (c) {
        case '\\' -> {
          if (i + 1 < n && regex.charAt(i + 1) == 'Q') { // \Q...\E: every character a literal
            int end = regex.indexOf("\\E", i + 2);
            int stop = end < 0 ? n : end;
            for (int k = i + 2; k < stop; k++) {
              total[top] = sat(total[top] + last[top]);
              last[top] = 1;
            }
            i = end < 0 ? n : end + 2;
            continue;
          }
          i = escapeEnd(regex, i);
          total[top] = sat(total[top] + last[top]);
          last[top] = 1;
          continue;
        }
        case '[' -> {
          i = classEnd(regex, i);
          total[top] = sat(total[top] + last[top]);
          last[top] = 1;
          continue;
        }
        case '(' -> {
          boolean cap = true;
          int j = i + 1;
          if (j < n && regex.charAt(j) == '?') {
            int k = j + 1;
            if (k < n && (regex.charAt(k) == 'P' || regex.charAt(k) == '<')) {
              int close = regex.indexOf('>', k);
              i = close < 0 ? n : close + 1; // (?P<name> or (?<name>: a named capture
            } else {
              while (k < n && regex.charAt(k) != ':' && regex.charAt(k) != ')') {
                k++;
              }
              if (k < n && regex.charAt(k) == ')') { // (?i): flags only, no group
                i = k + 1;
                continue;
              }
              cap = false;
              i = k + 1;
            }
          } else {
            i = j;
          }
          top++;
          if (top == total.length) {
            total = java.util.Arrays.copyOf(total, top * 2);
            last = java.util.Arrays.copyOf(last, top * 2);
            capture = java.util.Arrays.copyOf(capture, top * 2);
          }
          total[top] = 0;
          last[top] = 0;
          capture[top] = cap;
          deepest = Math.max(deepest, top);
          continue;
        }
        case ')' -> {
          if (top == 0) { // unbalanced: the compiler says so
            i++;
            continue;
          }
          long group = sat(total[top] + last[top] + (capture[top] ? 2 : 0));
          top--;
          total[top] = sat(total[top] + last[top]);
          last[top] = group;
          i++;
          continue;
        }
        case '|' -> {
          total[top] = sat(total[top] + last[top] + 1);
          last[top] = 0;
          i++;
          continue;
        }
        case '*', '+', '?' -> {
          last[top] = sat(last[top] + 1);
          i = lazyEnd(regex, i + 1);
          continue;
        }
        case '{' -> {
          int[] counts = repeat(regex, i);
          if (counts != null) {
            // As RE2/J's simplifier expands them: x{n,m} is n copies of x then m-n optional ones (one ALT each);
            // x{n,} is n copies, the last one looping (one ALT); x{0,} is x*.
            if (counts[0] > 1000 || counts[1] > 1000 || (counts[1] >= 0 && counts[1] < counts[0])) {
              badRepeat = true; // RE2's parser rejects it before anything is expanded
            }
            last[top] = counts[1] >= 0 ? sat(last[top] * counts[1] + Math.max(0, counts[1] - counts[0]))
                : sat(last[top] * Math.max(counts[0], 1) + 1);
            i = lazyEnd(regex, counts[2]);
            continue;
          }
          // not a repetition: a literal brace
        }
        default -> { }
      }
      total[top] = sat(total[top] + last[top]); // a literal, '.', '^' or '$'
      last[top] = 1;
      i++;
    }
    long size = last[top] + total[top];
    while (top > 0) { // unclosed groups: the compiler says so
      top--;
      size = sat(size + total[top] + last[top]);
    }
    return new Estimate(sat(size + 2), deepest, badRepeat); // + RE2/J's leading FAIL and final MATCH
  }

  /** Saturates at a value far above every limit, so that estimates never overflow. */
  private static long sat(long v) {
    return v < 0 || v > 1L << 40 ? 1L << 40 : v;
  }

  /** Skips the {@code ?} of a lazy quantifier. */
  private static int lazyEnd(String s, int i) {
    return i < s.length() && s.charAt(i) == '?' ? i + 1 : i;
  }

  /** Returns the index after the escape at {@code i} ({@code \d}, {@code \x41}, {@code \x{263a}}, {@code \p{L}}). */
  private static int escapeEnd(String s, int i) {
    int n = s.length();
    if (i + 1 >= n) {
      return n;
    }
    char e = s.charAt(i + 1);
    if ((e == 'x' || e == 'p' || e == 'P') && i + 2 < n && s.charAt(i + 2) == '{') {
      int close = s.indexOf('}', i + 3);
      return close < 0 ? n : close + 1;
    }
    if (e == 'x') {
      return Math.min(n, i + 4);
    }
    if (e == 'p' || e == 'P') {
      return Math.min(n, i + 3); // \pL
    }
    return i + 2;
  }

  /** Returns the index after the class opening at {@code i}: {@code []a]}, {@code [^]]}, {@code [[:alpha:]]}. */
  private static int classEnd(String s, int i) {
    int n = s.length();
    int k = i + 1;
    if (k < n && s.charAt(k) == '^') {
      k++;
    }
    if (k < n && s.charAt(k) == ']') {
      k++; // a leading ']' is a literal
    }
    while (k < n) {
      char c = s.charAt(k);
      if (c == ']') {
        return k + 1;
      }
      if (c == '\\') {
        k = escapeEnd(s, k);
      } else if (c == '[' && k + 1 < n && s.charAt(k + 1) == ':') {
        int close = s.indexOf(":]", k + 2);
        k = close < 0 ? k + 1 : close + 2;
      } else {
        k++;
      }
    }
    return n;
  }

  /**
   * Parses the repetition {@code {n}}, {@code {n,}} or {@code {n,m}} at {@code i}: returns {n, m or -1, the index
   * after it}, or null when the brace is a literal (as RE2 treats {@code {}}, {@code {,3}} or {@code {x}}).
   */
  private static int[] repeat(String s, int i) {
    int n = s.length();
    int k = i + 1;
    int start = k;
    while (k < n && Character.isDigit(s.charAt(k)) && k - start < 9) {
      k++;
    }
    if (k == start || k >= n) {
      return null;
    }
    int min = Integer.parseInt(s, start, k, 10);
    int max = min;
    if (s.charAt(k) == ',') {
      k++;
      int mstart = k;
      while (k < n && Character.isDigit(s.charAt(k)) && k - mstart < 9) {
        k++;
      }
      max = k == mstart ? -1 : Integer.parseInt(s, mstart, k, 10);
    }
    if (k >= n || s.charAt(k) != '}') {
      return null;
    }
    return new int[] {min, max, k + 1};
  }

  /**
   * A regex that RE2 does not accept, or whose program is too large; says which and why, and what was expected:
   * {@code "a{99}": program size 101, over 100 (expected: RE2 syntax, program size <= 100)}.
   */
  public static final class InvalidRegexException extends IllegalArgumentException {
    private static final long serialVersionUID = 1L;
    private final String regex;
    private final String reason;
    private final int maxProgramSize;

    InvalidRegexException(String regex, String reason, int maxProgramSize) {
      super("\"" + regex + "\": " + reason + " (expected: RE2 syntax, program size <= " + maxProgramSize + ")");
      this.regex = regex;
      this.reason = reason;
      this.maxProgramSize = maxProgramSize;
    }

    /** The program-size limit the pattern was compiled under. */
    public int maxProgramSize() {
      return maxProgramSize;
    }

    /** The pattern as configured. */
    public String regex() {
      return regex;
    }

    /** What is wrong, e.g. {@code invalid escape sequence: \1} or {@code program size 102, over 100}. */
    public String reason() {
      return reason;
    }
  }
}
