package io.portcullis.config.istio;

import io.fabric8.istio.api.api.networking.v1alpha3.HTTPMatchRequest;
import io.fabric8.istio.api.api.networking.v1alpha3.StringMatch;
import io.fabric8.istio.api.api.networking.v1alpha3.StringMatchExact;
import io.fabric8.istio.api.api.networking.v1alpha3.StringMatchPrefix;
import io.fabric8.istio.api.api.networking.v1alpha3.StringMatchRegex;
import io.portcullis.config.Problem.Severity;
import io.portcullis.config.Problem;
import io.portcullis.config.Resource;
import io.portcullis.routing.RouteMatch;
import io.portcullis.routing.SafeRegex;
import io.portcullis.routing.StringMatcher;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/**
 * Translates one VirtualService {@code spec.http[].match[]} block (Istio {@code HTTPMatchRequest}) into a
 * {@link RouteMatch}: {@code uri}, {@code authority}, {@code method}, {@code headers}, {@code queryParams},
 * {@code port}, {@code ignoreUriCase}.
 *
 * <p>Every {@code regex} is compiled by {@link SafeRegex} (RE2 syntax, at most the configured program size, by
 * default Envoy's 100); one RE2 rejects is an ERROR naming the field and the limit, e.g.
 * {@code spec.http[0].match[0].uri.regex: "(a)\1": invalid escape sequence: \1 (expected: RE2 syntax, program size
 * <= 100)}. As Istio builds Envoy's matchers ({@code TranslateRouteMatch}): a query parameter or header with an
 * empty match, or {@code regex: "*"}, only needs to be present. Pure; safe on any thread.
 */
final class MatchTranslator {
  private MatchTranslator() {}

  /**
   * Returns the translated block, or null after adding an ERROR to {@code problems}.
   *
   * @param maxRegexProgramSize the most RE2 instructions a {@code regex} may compile to
   *     ({@code --max-regex-program-size})
   */
  static RouteMatch routeMatch(Resource r, String at, HTTPMatchRequest m, int maxRegexProgramSize,
      List<Problem> problems) {
    boolean ignoreCase = Boolean.TRUE.equals(m.getIgnoreUriCase());
    int max = maxRegexProgramSize;
    Optional<StringMatcher> uri = stringMatch(r, at + ".uri", m.getUri(), ignoreCase, max, problems);
    Optional<StringMatcher> authority = stringMatch(r, at + ".authority", m.getAuthority(), true, max, problems);
    Optional<StringMatcher> method = stringMatch(r, at + ".method", m.getMethod(), false, max, problems);
    if (uri == null || authority == null || method == null) {
      return null;
    }
    Map<String, StringMatcher> headers = presenceMatches(r, at + ".headers", m.getHeaders(), true, max, problems);
    Map<String, StringMatcher> query = presenceMatches(r, at + ".queryParams", m.getQueryParams(), false, max,
        problems);
    if (headers == null || query == null) {
      return null;
    }
    int port = m.getPort() == null ? 0 : m.getPort().intValue();
    if (port < 0 || port > 65535) {
      problems.add(Problem.of(Severity.ERROR, r, at + ".port", port + " (expected: 1..65535)"));
      return null;
    }
    return new RouteMatch(uri, authority, method, headers, port, query);
  }

  /**
   * Translates {@code headers} or {@code queryParams}: name to matcher, where an empty match or {@code regex: "*"}
   * means "present". Header names are lower-cased, query parameter names kept as sent. Returns null after an ERROR.
   */
  private static Map<String, StringMatcher> presenceMatches(Resource r, String at, Map<String, StringMatch> in,
      boolean lowerCaseNames, int maxRegexProgramSize, List<Problem> problems) {
    Map<String, StringMatcher> out = new LinkedHashMap<>();
    if (in == null) {
      return out;
    }
    for (Map.Entry<String, StringMatch> e : in.entrySet()) {
      StringMatch sm = e.getValue();
      String field = at + "." + e.getKey();
      Optional<StringMatcher> matcher;
      if (sm == null || sm.getMatchType() == null
          || (sm.getMatchType() instanceof StringMatchRegex x && "*".equals(x.getRegex()))) {
        matcher = Optional.of(new StringMatcher.Present());
      } else {
        matcher = stringMatch(r, field, sm, false, maxRegexProgramSize, problems);
        if (matcher == null) {
          return null;
        }
      }
      out.put(lowerCaseNames ? e.getKey().toLowerCase(Locale.ROOT) : e.getKey(), matcher.get());
    }
    return out;
  }

  /** Returns empty for no match, null after reporting an error. */
  private static Optional<StringMatcher> stringMatch(Resource r, String at, StringMatch sm, boolean ignoreCase,
      int maxRegexProgramSize, List<Problem> problems) {
    if (sm == null) {
      return Optional.empty();
    }
    Object t = sm.getMatchType();
    if (t instanceof StringMatchExact e && e.getExact() != null) {
      return Optional.of(new StringMatcher.Exact(e.getExact(), ignoreCase));
    }
    if (t instanceof StringMatchPrefix p && p.getPrefix() != null) {
      return Optional.of(new StringMatcher.Prefix(p.getPrefix(), ignoreCase));
    }
    if (t instanceof StringMatchRegex x && x.getRegex() != null) {
      try {
        return Optional.of(StringMatcher.regex(x.getRegex(), ignoreCase, maxRegexProgramSize));
      } catch (SafeRegex.InvalidRegexException e) {
        problems.add(Problem.of(Severity.ERROR, r, at + ".regex", e.getMessage()));
        return null;
      }
    }
    problems.add(Problem.of(Severity.ERROR, r, at, "no exact, prefix or regex (expected: one of them)"));
    return null;
  }
}
