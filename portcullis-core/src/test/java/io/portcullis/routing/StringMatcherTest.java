package io.portcullis.routing;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

class StringMatcherTest {
  @ParameterizedTest
  @CsvSource({"/foo,/foo,true", "/foo,/foo/,true", "/foo,/foo/x,true", "/foo,/foobar,false", "/foo,/fo,false",
      "/foo,/,false", "/foo/bar,/foo/bar/baz,true", "/foo/bar,/foo/barn,false", "/foo,/FOO,false"})
  void pathPrefixMatchesWholeElements(String prefix, String path, boolean expected) {
    assertThat(new StringMatcher.PathPrefix(prefix).matches(path)).isEqualTo(expected);
  }

  @ParameterizedTest
  @ValueSource(strings = {"/", "/foo/", "foo", ""})
  void pathPrefixRefusesATrailingSlashOrARelativeValue(String value) {
    assertThatThrownBy(() -> new StringMatcher.PathPrefix(value)).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("value: " + value);
  }
}
