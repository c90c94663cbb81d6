package io.portcullis.routing;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.TreeSet;

/**
 * Finds the first matching route among many without checking each one.
 *
 * <p>Every match block of a route either needs an exact path, needs a path prefix, or may match any path (no
 * {@code uri} condition, or a regex). A route can match a request only if one of its blocks can, so the candidates
 * are: the routes with an exact block for the path, those with a prefix block the path starts with, and those with an
 * any-path block. Candidates are checked in route order with the full conditions, so the first match is the same as
 * a scan's. Costs one hash probe per distinct prefix length, plus the checks of the candidates.
 */
final class RouteIndex {
  private static final int[] NONE = new int[0];

  private final List<HttpRoute> routes;
  private final Map<String, int[]> exact;
  private final Map<String, int[]> exactIgnoreCase;
  private final Map<String, int[]> prefix;
  private final Map<String, int[]> prefixIgnoreCase;
  private final int[] prefixLengths;
  private final int[] prefixLengthsIgnoreCase;
  private final int[] anyPath;

  RouteIndex(List<HttpRoute> routes) {
    this.routes = routes;
    Map<String, List<Integer>> ex = new HashMap<>();
    Map<String, List<Integer>> exIc = new HashMap<>();
    Map<String, List<Integer>> pre = new HashMap<>();
    Map<String, List<Integer>> preIc = new HashMap<>();
    List<Integer> any = new ArrayList<>();
    for (int i = 0; i < routes.size(); i++) {
      List<RouteMatch> blocks = routes.get(i).matches();
      if (blocks.isEmpty()) {
        any.add(i);
        continue;
      }
      for (RouteMatch m : blocks) {
        StringMatcher uri = m.uri().orElse(null);
        if (uri != null && isIgnoreCase(uri) && !isAscii(value(uri))) {
          add(any, i); // case folding beyond ASCII is left to the full check
        } else if (uri instanceof StringMatcher.Exact e) {
          add(e.ignoreCase() ? exIc : ex, e.ignoreCase() ? lower(e.value()) : e.value(), i);
        } else if (uri instanceof StringMatcher.Prefix p) {
          add(p.ignoreCase() ? preIc : pre, p.ignoreCase() ? lower(p.value()) : p.value(), i);
        } else if (uri instanceof StringMatcher.PathPrefix p) {
          add(pre, p.value(), i); // a candidate by plain prefix; the full check rejects /foobar for /foo
        } else {
          add(any, i);
        }
      }
    }
    exact = freeze(ex);
    exactIgnoreCase = freeze(exIc);
    prefix = freeze(pre);
    prefixIgnoreCase = freeze(preIc);
    prefixLengths = lengths(pre);
    prefixLengthsIgnoreCase = lengths(preIc);
    anyPath = any.stream().distinct().mapToInt(Integer::intValue).toArray();
  }

  Optional<HttpRoute> route(RouteMatch.RequestView request) {
    String path = request.path();
    if (!isAscii(path)) {
      return VirtualHost.scan(routes, request); // the index folds ASCII case only
    }
    String lowerPath = exactIgnoreCase.isEmpty() && prefixIgnoreCase.isEmpty() ? path : lower(path);
    // Candidate route numbers from every source; checked in ascending order.
    int[] candidates = merge(path, lowerPath);
    for (int i : candidates) {
      HttpRoute r = routes.get(i);
      if (RouteMatch.any(r.matches(), request)) {
        return Optional.of(r);
      }
    }
    return Optional.empty();
  }

  private int[] merge(String path, String lowerPath) {
    int[][] parts = new int[3 + prefixLengths.length + prefixLengthsIgnoreCase.length][];
    int n = 0;
    int total = 0;
    parts[n++] = exact.getOrDefault(path, NONE);
    parts[n++] = exactIgnoreCase.isEmpty() ? NONE : exactIgnoreCase.getOrDefault(lowerPath, NONE);
    parts[n++] = anyPath;
    for (int len : prefixLengths) {
      if (len > path.length()) {
        break;
      }
      parts[n++] = prefix.getOrDefault(path.substring(0, len), NONE);
    }
    for (int len : prefixLengthsIgnoreCase) {
      if (len > lowerPath.length()) {
        break;
      }
      parts[n++] = prefixIgnoreCase.getOrDefault(lowerPath.substring(0, len), NONE);
    }
    for (int i = 0; i < n; i++) {
      total += parts[i].length;
    }
    int[] all = new int[total];
    int k = 0;
    for (int i = 0; i < n; i++) {
      System.arraycopy(parts[i], 0, all, k, parts[i].length);
      k += parts[i].length;
    }
    Arrays.sort(all);
    return all; // duplicates are harmless: a route that did not match once does not match again
  }

  private static void add(Map<String, List<Integer>> map, String key, int route) {
    add(map.computeIfAbsent(key, k -> new ArrayList<>()), route);
  }

  private static void add(List<Integer> list, int route) {
    if (list.isEmpty() || list.get(list.size() - 1) != route) {
      list.add(route);
    }
  }

  private static Map<String, int[]> freeze(Map<String, List<Integer>> map) {
    Map<String, int[]> out = new HashMap<>();
    map.forEach((k, v) -> out.put(k, v.stream().mapToInt(Integer::intValue).toArray()));
    return out;
  }

  private static int[] lengths(Map<String, List<Integer>> map) {
    return new TreeSet<>(map.keySet().stream().map(String::length).toList()).stream().mapToInt(Integer::intValue)
        .toArray();
  }

  private static boolean isIgnoreCase(StringMatcher m) {
    return (m instanceof StringMatcher.Exact e && e.ignoreCase()) || (m instanceof StringMatcher.Prefix p
        && p.ignoreCase());
  }

  private static String value(StringMatcher m) {
    return m instanceof StringMatcher.Exact e ? e.value() : m instanceof StringMatcher.Prefix p ? p.value()
        : m instanceof StringMatcher.PathPrefix p ? p.value() : "";
  }

  private static boolean isAscii(String s) {
    for (int i = 0; i < s.length(); i++) {
      if (s.charAt(i) >= 0x80) {
        return false;
      }
    }
    return true;
  }

  /** Lower-cases ASCII letters only, as ASCII case-insensitive comparison does. */
  private static String lower(String s) {
    return s.toLowerCase(Locale.ROOT);
  }
}
