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
   * Returns the path to send upstream after {@code rewrite.uri}: Envoy's prefix rewrite when the matching block
   * matched the path by prefix, else the whole path replaced.
   */
  public static String rewritePath(String path, String rewrite, List<RouteMatch> matches, RouteMatch.RequestView req) {
    for (RouteMatch m : matches) {
      if (m.matches(req) && m.uri().isPresent() && m.uri().get() instanceof StringMatcher.Prefix p) {
        return rewrite + path.substring(Math.min(p.value().length(), path.length()));
      }
    }
    return rewrite;
  }
}
