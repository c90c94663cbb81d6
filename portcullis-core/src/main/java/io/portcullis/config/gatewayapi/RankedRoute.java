package io.portcullis.config.gatewayapi;

import io.portcullis.routing.HttpRoute;
import java.util.Comparator;

/**
 * One route of the Istio model with the Gateway API's precedence key (HTTPRoute {@code rules[].matches[]}, as the
 * spec orders them): an Exact path before a RegularExpression before a PathPrefix (Istio's order), longer paths
 * first, then a method match, more header matches, more query parameter matches; ties go to the oldest route
 * ({@code metadata.creationTimestamp}), then {@code namespace/name} alphabetically, then rule and match order.
 *
 * @param route the translated route (one match block)
 * @param pathRank 3 Exact, 2 RegularExpression, 1 PathPrefix (GRPCRoute: 3 exact service and method, 2 regex)
 * @param pathLength the path (or gRPC service/method) value's length
 * @param method whether a method is matched
 * @param headers how many headers are matched
 * @param queryParams how many query parameters are matched
 * @param created {@code metadata.creationTimestamp} as written (RFC 3339 UTC sorts as text); {@code ~} when unset
 * @param key the route's {@code namespace/name}
 * @param rule the rule's index
 * @param match the match's index in the rule
 */
record RankedRoute(HttpRoute route, int pathRank, int pathLength, boolean method, int headers, int queryParams,
    String created, String key, int rule, int match) {

  /** The Gateway API's precedence: the first in this order is matched first. */
  static final Comparator<RankedRoute> PRECEDENCE = Comparator
      .comparingInt((RankedRoute r) -> -r.pathRank())
      .thenComparingInt(r -> -r.pathLength())
      .thenComparing(r -> !r.method())
      .thenComparingInt(r -> -r.headers())
      .thenComparingInt(r -> -r.queryParams())
      .thenComparing(RankedRoute::created)
      .thenComparing(RankedRoute::key)
      .thenComparingInt(RankedRoute::rule)
      .thenComparingInt(RankedRoute::match);
}
