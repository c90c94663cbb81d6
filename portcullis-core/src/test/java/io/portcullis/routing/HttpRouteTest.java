package io.portcullis.routing;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class HttpRouteTest {

  private static RouteMatch uri(StringMatcher m) {
    return new RouteMatch(Optional.of(m), Optional.empty(), Optional.empty(), Map.of(), 0);
  }

  private static RouteIndexTest.Req req(String path) {
    return new RouteIndexTest.Req(path, "h", "GET", Map.of(), 80);
  }

  /**
   * Gateway API HTTPPathModifier.ReplacePrefixMatch, the table in apis/v1/httproute_types.go; a {@code /foo/} prefix
   * is {@code /foo} as a PathPrefix (translators drop the trailing {@code /}).
   */
  @ParameterizedTest(name = "{0} with prefix {1} replaced by \"{2}\" -> {3}")
  @CsvSource(delimiter = '|', value = {
      "/foo/bar | /foo | /xyz  | /xyz/bar",
      "/foo/bar | /foo | /xyz/ | /xyz/bar",
      "/foo     | /foo | /xyz  | /xyz",
      "/foo/    | /foo | /xyz  | /xyz/",
      "/foo/bar | /foo | ''    | /bar",
      "/foo/    | /foo | ''    | /",
      "/foo     | /foo | ''    | /",
      "/foo/    | /foo | /     | /",
      "/foo     | /foo | /     | /",
      // conformance/tests/httproute-rewrite-path.go
      "/prefix/one/two | /prefix/one | /one | /one/two",
      "/strip-prefix/three | /strip-prefix | / | /three",
      "/strip-prefix | /strip-prefix | / | /",
      "/prefix/rewrite-path-and-modify-headers/one | /prefix/rewrite-path-and-modify-headers | /prefix | /prefix/one",
      // conformance/tests/httproute-redirect-path.go (the Location path)
      "/original-prefix/lemon | /original-prefix | /replacement-prefix | /replacement-prefix/lemon",
      "/path-and-host | /path-and-host | /replacement-prefix | /replacement-prefix",
      "/path-and-status | /path-and-status | /replacement-prefix | /replacement-prefix",
      // element-wise: a deeper prefix, and the rest's own trailing slash kept
      "/a/b/c/ | /a/b | /x | /x/c/",
  })
  void replacePrefixMatchIsElementWise(String path, String prefix, String replacement, String expected) {
    assertThat(HttpRoute.replacePathPrefix(path, prefix, replacement)).isEqualTo(expected);
    RouteMatch m = uri(new StringMatcher.PathPrefix(prefix));
    assertThat(m.matches(req(path))).isTrue();
    assertThat(HttpRoute.rewritePath(path, replacement, false, List.of(m), req(path))).isEqualTo(expected);
  }

  /** Gateway API ReplaceFullPath (conformance httproute-rewrite-path.go and httproute-redirect-path.go). */
  @ParameterizedTest(name = "{0} with prefix {1}, full path {2} -> {3}")
  @CsvSource(delimiter = '|', value = {
      "/full/one/two | /full/one | /one | /one",
      "/full/rewrite-path-and-modify-headers/test | /full/rewrite-path-and-modify-headers | /test | /test",
      "/full/path/original | /full | /full-path-replacement | /full-path-replacement",
      "/full-path-and-host | /full-path-and-host | /replacement-full | /replacement-full",
  })
  void replaceFullPathIgnoresTheMatch(String path, String prefix, String full, String expected) {
    RouteMatch m = uri(new StringMatcher.PathPrefix(prefix));
    assertThat(HttpRoute.rewritePath(path, full, true, List.of(m), req(path))).isEqualTo(expected);
    RouteMatch p = uri(new StringMatcher.Prefix(prefix, false));
    assertThat(HttpRoute.rewritePath(path, full, true, List.of(p), req(path))).isEqualTo(expected);
  }

  /** Istio rewrite.uri with a prefix match: Envoy's prefix_rewrite, character-wise, as before. */
  @ParameterizedTest(name = "{0} with prefix {1} rewritten to {2} -> {3}")
  @CsvSource(delimiter = '|', value = {
      "/status/418 | /status | /s | /s/418",
      "/status | /status | /x | /x",
      "/statusx | /status | /s | /sx",
      "/a/b | / | /x | /xa/b",
      "/a/b | / | /x/ | /x/a/b",
      "/foo/bar | /foo | '' | /bar",
      "/foo/bar | /foo/ | /xyz | /xyzbar",
  })
  void istioPrefixRewriteIsUnchanged(String path, String prefix, String rewrite, String expected) {
    RouteMatch m = uri(new StringMatcher.Prefix(prefix, false));
    assertThat(HttpRoute.rewritePath(path, rewrite, false, List.of(m), req(path))).isEqualTo(expected);
    assertThat(HttpRoute.rewritePath(path, rewrite, List.of(m), req(path))).isEqualTo(expected);
  }

  @ParameterizedTest(name = "{0}: exact or regex match replaces the whole path with {1}")
  @CsvSource({"/exact/path, /new", "/r/123, /other"})
  void exactAndRegexMatchesReplaceTheWholePath(String path, String rewrite) {
    RouteMatch exact = uri(new StringMatcher.Exact(path, false));
    RouteMatch regex = uri(StringMatcher.regex("/.*", false));
    assertThat(HttpRoute.rewritePath(path, rewrite, false, List.of(exact), req(path))).isEqualTo(rewrite);
    assertThat(HttpRoute.rewritePath(path, rewrite, false, List.of(regex), req(path))).isEqualTo(rewrite);
    assertThat(HttpRoute.rewritePath(path, rewrite, false, List.of(), req(path))).isEqualTo(rewrite);
  }

  @ParameterizedTest(name = "{0}: the block that matched decides ({1})")
  @CsvSource(delimiter = '|', value = {"/api/v1/x | /v2/x", "/old/y | /v2/y"})
  void theMatchingBlockDecides(String path, String expected) {
    List<RouteMatch> ms = List.of(uri(new StringMatcher.PathPrefix("/api/v1")), uri(new StringMatcher.PathPrefix(
        "/old")));
    assertThat(HttpRoute.rewritePath(path, "/v2", false, ms, req(path))).isEqualTo(expected);
  }

  @ParameterizedTest(name = "{0} is not under {1}: unchanged")
  @CsvSource({"/foobar, /foo", "/fo, /foo"})
  void aPathThePrefixDoesNotMatchIsKept(String path, String prefix) {
    assertThat(HttpRoute.replacePathPrefix(path, prefix, "/x")).isEqualTo(path);
  }
}
