package io.portcullis.routing;

import java.util.List;

/**
 * One Istio {@code HTTPRoute} of a VirtualService, translated.
 *
 * @param name Envoy's {@code route_name}: the route's {@code name}, else {@code <vs-namespace>/<vs-name>.<index>}
 * @param matches match blocks, ORed; empty matches everything
 * @param action what to do
 * @param requestHeaders operations on the request sent upstream
 * @param responseHeaders operations on the response sent downstream
 */
public record HttpRoute(String name, List<RouteMatch> matches, RouteAction action, HeaderOps requestHeaders,
    HeaderOps responseHeaders) {
  /** Copies the match list. */
  public HttpRoute {
    matches = List.copyOf(matches);
  }

  /**
   * Returns the path to send upstream after Istio's {@code rewrite.uri}: Envoy's prefix rewrite when the matching
   * block matched the path by prefix, else the whole path replaced. Same as {@link #rewritePath(String, String,
   * boolean, List, RouteMatch.RequestView)} with {@code fullPath} false.
   */
  public static String rewritePath(String path, String rewrite, List<RouteMatch> matches, RouteMatch.RequestView req) {
    return rewritePath(path, rewrite, false, matches, req);
  }

  /**
   * Returns the path (without query string) to send upstream, or to redirect to, after a path rewrite. Called on an
   * event loop; does not block.
   *
   * <ul>
   *   <li>{@code fullPath}: {@code rewrite} is the whole path, whatever the match (Gateway API
   *       {@code ReplaceFullPath}).
   *   <li>The first block that matches {@code req} matched the path with a {@link StringMatcher.PathPrefix}: the
   *       matched path elements are replaced, element-wise ({@link #replacePathPrefix}; Gateway API
   *       {@code ReplacePrefixMatch}).
   *   <li>It matched with a {@link StringMatcher.Prefix}: Envoy's {@code prefix_rewrite}, the matched characters
   *       replaced by {@code rewrite} as they are (Istio {@code rewrite.uri}: {@code /status} rewritten to {@code /s}
   *       turns {@code /status/418} into {@code /s/418}, and {@code /} rewritten to {@code /x} turns {@code /a} into
   *       {@code /xa}).
   *   <li>Otherwise (exact or regex match, no path condition) the whole path is replaced.
   * </ul>
   *
   * @param path the normalised request path, without query string
   * @param rewrite the replacement (Istio {@code rewrite.uri}, Gateway API {@code replaceFullPath} /
   *     {@code replacePrefixMatch})
   */
  public static String rewritePath(String path, String rewrite, boolean fullPath, List<RouteMatch> matches,
      RouteMatch.RequestView req) {
    if (fullPath) {
      return rewrite.isEmpty() ? "/" : rewrite;
    }
    for (RouteMatch m : matches) {
      if (m.matches(req)) {
        if (m.uri().isPresent() && m.uri().get() instanceof StringMatcher.PathPrefix pp) {
          return replacePathPrefix(path, pp.value(), rewrite);
        }
        if (m.uri().isPresent() && m.uri().get() instanceof StringMatcher.Prefix p) {
          return rewrite + path.substring(Math.min(p.value().length(), path.length()));
        }
        return rewrite;
      }
    }
    return rewrite;
  }

  /**
   * Replaces the path elements {@code prefix} matched in {@code path} with {@code replacement}, as Gateway API's
   * {@code HTTPPathModifier.ReplacePrefixMatch} defines it (apis/v1/httproute_types.go): a trailing {@code /} of the
   * replacement is ignored, the rest of the path is kept with its separator, and an empty result is {@code /}.
   * {@code /foo/bar} with prefix {@code /foo} and replacement {@code /xyz} or {@code /xyz/} gives {@code /xyz/bar};
   * {@code /foo/} gives {@code /xyz/}; {@code /foo} gives {@code /xyz}; replacement {@code ""} or {@code /} gives
   * {@code /bar}, {@code /} and {@code /}.
   *
   * @param path a path {@code prefix} matches ({@link StringMatcher.PathPrefix#matches}); one it does not match is
   *     returned as it is
   * @param prefix the matched prefix, without a trailing {@code /} ({@link StringMatcher.PathPrefix#value()})
   */
  public static String replacePathPrefix(String path, String prefix, String replacement) {
    if (!path.startsWith(prefix) || (path.length() > prefix.length() && path.charAt(prefix.length()) != '/')) {
      return path;
    }
    String head = replacement.endsWith("/") ? replacement.substring(0, replacement.length() - 1) : replacement;
    String out = head + path.substring(prefix.length());
    return out.isEmpty() ? "/" : out;
  }
}
