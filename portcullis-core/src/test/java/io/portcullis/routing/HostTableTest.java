package io.portcullis.routing;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class HostTableTest {

  @ParameterizedTest(name = "{0} -> {1}")
  @CsvSource(nullValues = "NULL", value = {
      "httpbin.example.com, exact",
      "a.example.com, wild-example",
      "a.b.example.com, wild-b",
      "x.y.b.example.com, wild-b",
      "example.com, star",
      "other.org, star",
      "NULL, star",
  })
  void picksExactThenLongestWildcardThenStar(String host, String expected) {
    HostTable.Builder<String> b = HostTable.builder();
    b.put("httpbin.example.com", "exact");
    b.put("*.example.com", "wild-example");
    b.put("*.b.example.com", "wild-b");
    b.put("*", "star");
    HostTable<String> t = b.build();
    assertThat(t.find(host).orElse(null)).isEqualTo(expected);
  }

  @ParameterizedTest(name = "{0} covers {1}: {2}")
  @CsvSource({
      "*, anything.example.com, true",
      "*.example.com, a.example.com, true",
      "*.example.com, example.com, false",
      "*.example.com, a.b.example.com, true",
      "httpbin.example.com, HTTPBIN.EXAMPLE.COM, true",
      "httpbin.example.com, helloworld.example.com, false",
  })
  void coversFollowsIstioHostSemantics(String pattern, String host, boolean covers) {
    assertThat(HostTable.covers(pattern, host)).isEqualTo(covers);
  }

  @ParameterizedTest
  @CsvSource(nullValues = "NULL", value = {"NULL", "unknown.org", "a.example.com"})
  void withoutStarAnUncoveredHostFindsNothing(String host) {
    HostTable.Builder<String> b = HostTable.builder();
    b.put("httpbin.example.com", "exact");
    b.put("*.b.example.com", "wild");
    assertThat(b.build().find(host)).isEmpty();
  }
}
