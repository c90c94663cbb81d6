package io.portcullis.routing;

import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * One Istio {@code HTTPMatchRequest}: every condition present must hold (conditions ANDed).
 *
 * @param uri matched against the request path without its query string, or empty
 * @param authority matched against {@code :authority} / {@code Host}, or empty
 * @param method matched against the request method, or empty
 * @param headers header name (lower case) to matcher; every one must match
 * @param port the Gateway server port the request arrived on (before {@code --port-offset}), 0 for any
 * @param queryParams query parameter name (as sent, case-sensitive) to matcher, matched against the parameter's
 *     first value as sent (not percent-decoded), as Envoy's {@code QueryParameterMatcher} does; every one must match,
 *     and an absent parameter matches nothing
 */
public record RouteMatch(Optional<StringMatcher> uri, Optional<StringMatcher> authority,
    Optional<StringMatcher> method, Map<String, StringMatcher> headers, int port,
    Map<String, StringMatcher> queryParams) {

  /** A match block with no conditions: matches every request. */
  public static final RouteMatch ANY = new RouteMatch(Optional.empty(), Optional.empty(), Optional.empty(), Map.of(), 0);

  /** Copies the maps. */
  public RouteMatch {
    headers = Map.copyOf(headers);
    queryParams = Map.copyOf(queryParams);
  }

  /** A match block without query parameter conditions. */
  public RouteMatch(Optional<StringMatcher> uri, Optional<StringMatcher> authority, Optional<StringMatcher> method,
      Map<String, StringMatcher> headers, int port) {
    this(uri, authority, method, headers, port, Map.of());
  }

  /**
   * Returns whether {@code request} satisfies every condition. Called on an event loop; does not block. The
   * conditions are ANDed, so their order is free: regexes (RE2/J, linear but some 100 ns per character) are checked
   * only after every exact, prefix and presence condition of the block held.
   */
  public boolean matches(RequestView request) {
    if (port != 0 && port != request.port()) {
      return false;
    }
    return holds(request, false) && holds(request, true);
  }

  /** Checks the regex conditions ({@code regexes}) or all the others. */
  private boolean holds(RequestView request, boolean regexes) {
    if (uri.isPresent() && isRegex(uri.get()) == regexes && !uri.get().matches(request.path())) {
      return false;
    }
    if (authority.isPresent() && isRegex(authority.get()) == regexes
        && !authority.get().matches(request.authority())) {
      return false;
    }
    if (method.isPresent() && isRegex(method.get()) == regexes && !method.get().matches(request.method())) {
      return false;
    }
    for (Map.Entry<String, StringMatcher> h : headers.entrySet()) {
      if (isRegex(h.getValue()) == regexes && !h.getValue().matches(request.header(h.getKey()))) {
        return false;
      }
    }
    if (!queryParams.isEmpty()) {
      String query = request.query();
      for (Map.Entry<String, StringMatcher> q : queryParams.entrySet()) {
        if (isRegex(q.getValue()) == regexes && !q.getValue().matches(firstValue(query, q.getKey()))) {
          return false;
        }
      }
    }
    return true;
  }

  private static boolean isRegex(StringMatcher m) {
    return m instanceof StringMatcher.Regex;
  }

  /**
   * Returns the first value of parameter {@code name} in {@code query} ({@code a=1&b&c=}: {@code b} and {@code c}
   * have the value ""), as sent, or null when absent. Envoy's {@code Http::Utility::QueryParamsMulti} reads it so
   * for route matching: split on {@code &}, name and value at the first {@code =}, nothing decoded.
   */
  static String firstValue(String query, String name) {
    int n = query.length();
    int start = 0;
    while (start < n) { // one pass: each character is looked at a bounded number of times
      int end = start;
      int nameEnd = -1;
      while (end < n && query.charAt(end) != '&') {
        if (nameEnd < 0 && query.charAt(end) == '=') {
          nameEnd = end;
        }
        end++;
      }
      if (nameEnd < 0) {
        nameEnd = end;
      }
      if (nameEnd - start == name.length() && !name.isEmpty() && query.startsWith(name, start)) {
        return nameEnd == end ? "" : query.substring(nameEnd + 1, end);
      }
      start = end + 1;
    }
    return null;
  }

  /** Returns a short description for {@code /config_dump}. */
  public String describe() {
    StringBuilder b = new StringBuilder();
    uri.ifPresent(m -> b.append("uri ").append(m.describe()).append(' '));
    authority.ifPresent(m -> b.append("authority ").append(m.describe()).append(' '));
    method.ifPresent(m -> b.append("method ").append(m.describe()).append(' '));
    headers.forEach((k, m) -> b.append("header ").append(k).append(' ').append(m.describe()).append(' '));
    queryParams.forEach((k, m) -> b.append("query ").append(k).append(' ').append(m.describe()).append(' '));
    if (port != 0) {
      b.append("port ").append(port);
    }
    return b.isEmpty() ? "any" : b.toString().trim();
  }

  /** The parts of a request that routing looks at. */
  public interface RequestView {
    /** The path without the query string, e.g. {@code /status/418}. */
    String path();

    /** The query string as sent, without the {@code ?}, e.g. {@code a=1&b=x%20y}; "" when there is none. */
    String query();

    /** {@code :authority} or {@code Host}, as sent (may include a port); "" when absent. */
    String authority();

    /** The method, e.g. {@code GET}. */
    String method();

    /** The first value of header {@code lowerCaseName}, or null when absent. */
    String header(String lowerCaseName);

    /** The Gateway server port the request arrived on, before {@code --port-offset}. */
    int port();
  }

  /** Returns whether any of {@code matches} matches (blocks ORed); an empty list matches everything. */
  public static boolean any(List<RouteMatch> matches, RequestView request) {
    if (matches.isEmpty()) {
      return true;
    }
    for (RouteMatch m : matches) {
      if (m.matches(request)) {
        return true;
      }
    }
    return false;
  }
}
