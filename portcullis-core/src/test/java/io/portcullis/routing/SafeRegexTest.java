package io.portcullis.routing;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.re2j.Pattern;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** RE2 syntax and full-string matching, Envoy's program-size limit, and the guard that runs before compiling. */
class SafeRegexTest {

  @ParameterizedTest(name = "{0} ~ \"{1}\" -> {2}")
  @CsvSource(delimiterString = " :: ", value = {
      "/((a+)+)+$ :: /aaaa :: true",
      "/((a+)+)+$ :: /aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa! :: false",
      "(a+)+$ :: aaaa :: true",
      "(a+)+$ :: aaaa! :: false",
      "(x+x+)+y :: xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx :: false",
      "/items/[0-9]+ :: /items/42 :: true",
      "/items/[0-9]+ :: /items/42/x :: false", // the whole value, as Envoy's full match
      "/items/[0-9]+ :: x/items/42 :: false",
      "a|ab :: ab :: true", // a full match tries every alternative, not only the leftmost-first one
      "\\pL+ :: héllo :: true",
      "[[:digit:]]{3} :: 123 :: true",
      "\\Qa.b\\E :: a.b :: true",
      "\\Qa.b\\E :: axb :: false",
      "(?P<v>v[0-9])/.* :: v1/x :: true",
      "(?i)/api :: /API :: true",
      "/api :: /API :: false",
      ".* :: '' :: true",
  })
  void acceptsRe2AndMatchesTheWholeValue(String regex, String value, boolean matches) {
    assertThat(StringMatcher.regex(regex, false).matches(value)).isEqualTo(matches);
  }

  @ParameterizedTest(name = "{0} ignoring case ~ {1}: {2}")
  @CsvSource({"/Docs/[a-z]+, /DOCS/INTRO, true", "/é, /É, true", "straße, STRASSE, false", "/a, /b, false"})
  void ignoreCaseFoldsTheLettersOfLiteralsAndClasses(String regex, String value, boolean matches) {
    assertThat(StringMatcher.regex(regex, true).matches(value)).isEqualTo(matches);
    assertThat(StringMatcher.regex(regex, false).matches(value)).isFalse();
  }

  @ParameterizedTest(name = "{0}: {1}")
  @CsvSource(delimiter = '|', value = {
      "(a)\\1|invalid escape sequence: \\1",
      "(?=a)b|invalid or unsupported Perl syntax: (?=",
      "(?!a)b|invalid or unsupported Perl syntax: (?!",
      "(?<=a)b|invalid named capture",
      "a++|invalid nested repetition operator: ++",
      "/de(lay|missing closing ): /de(lay",
      "a{1001}|invalid repeat count: {1001}",
      "\\C|invalid escape sequence: \\C",
      "a{99}|program size 101, over 100",
      "[a-z]{99}|program size 101, over 100",
      "((a{1000}){1000}){1000}|program size about 1002002002 (counted before compiling)", // not expanded
  })
  void rejectsWhatRe2RejectsAndProgramsOverTheLimit(String regex, String reason) {
    assertThatThrownBy(() -> SafeRegex.compile(regex, false))
        .isInstanceOfSatisfying(SafeRegex.InvalidRegexException.class, e -> {
          assertThat(e.reason()).contains(reason);
          assertThat(e.regex()).isEqualTo(regex);
          assertThat(e.getMessage()).isEqualTo("\"" + regex + "\": " + e.reason()
              + " (expected: RE2 syntax, program size <= 100)");
        });
  }

  @ParameterizedTest(name = "limit {0}: {1}")
  @CsvSource(delimiter = '|', value = {
      "200|a{199}|program size 201, over 200",
      "100000|(a{1000}){101}|program size 101204, over 100000",
      // Estimated at 5 million: refused uncompiled even though 100 times the limit is 10 million (700 MB to compile).
      "100000|((a{1000}){1000}){5}|(counted before compiling), over 100000",
      "1000|(a{1000}){200}|(counted before compiling), over 1000", // 100 times the limit, while under a million
  })
  void theLimitIsTheCallersAndTheEstimateStaysBounded(int limit, String regex, String reason) {
    assertThatThrownBy(() -> SafeRegex.compile(regex, false, limit))
        .isInstanceOfSatisfying(SafeRegex.InvalidRegexException.class, e -> {
          assertThat(e.reason()).contains(reason);
          assertThat(e.maxProgramSize()).isEqualTo(limit);
          assertThat(e.getMessage()).endsWith(" (expected: RE2 syntax, program size <= " + limit + ")");
        });
  }

  @ParameterizedTest(name = "limit {0}: {1}")
  @CsvSource({"100, a{98}", "200, a{198}", "100000, '(a{1000}){99}'"})
  void aPatternUpToTheLimitCompiles(int limit, String regex) {
    assertThat(SafeRegex.compile(regex, false, limit).programSize()).isLessThanOrEqualTo(limit);
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource({"0", "100001"})
  void aLimitOutOfRangeIsRefusedByName(int limit) {
    assertThatThrownBy(() -> SafeRegex.checkMaxProgramSize("--max-regex-program-size", limit))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("--max-regex-program-size: " + limit + " (expected: 1..100000)");
  }

  @ParameterizedTest(name = "{0}: {1} instructions")
  @CsvSource({"a{98}, 100", "[a-z]{98}, 100", "/((a+)+)+$, 12", "(a+)+$, 8", "/items/[0-9]+, 11", "'\\pL+', 4"})
  void theLimitIsInclusiveAndCountsRe2jInstructions(String regex, int size) {
    Pattern p = SafeRegex.compile(regex, false);
    assertThat(p.programSize()).isEqualTo(size);
    assertThat(SafeRegex.compile(regex, true).programSize()).isEqualTo(size);
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource(delimiter = '|', value = {
      "a", "(a)", "a*", "/((a+)+)+$", "(a+)+$", "/items/[0-9]+", "a{98}", "(ab){3,5}", "[^]a]x", "\\x{263a}\\x41",
      "(?i)abc", "(?:ab)+c?", "^/v[0-9]+/.*$", "\\pL\\p{Greek}", "(?P<n>a)b{2,}", "[[:alpha:]-]{1,4}", "a{,3}",
  })
  void theEstimateBeforeCompilingIsRe2jsCount(String regex) {
    assertThat(SafeRegex.estimate(regex).size()).isEqualTo(Pattern.compile(regex).programSize());
  }

  @ParameterizedTest(name = "depth {0}")
  @CsvSource({"1000, true", "1001, false"})
  void nestingDeeperThanGoRe2sLimitIsRejectedBeforeCompiling(int depth, boolean accepted) {
    String regex = "(?:".repeat(depth) + "a" + ")".repeat(depth);
    if (accepted) {
      assertThat(SafeRegex.compile(regex, false).matches("a")).isTrue();
    } else {
      assertThatThrownBy(() -> SafeRegex.compile(regex, false)).isInstanceOf(SafeRegex.InvalidRegexException.class)
          .hasMessageContaining("groups nested 1001 deep, over 1000");
    }
  }
}
