package io.portcullis.routing;

import io.netty.handler.codec.http.HttpResponseStatus;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;

/** What a matched {@link HttpRoute} does: forward upstream, redirect, or answer directly. */
public sealed interface RouteAction {

  /**
   * Istio {@code route} (with {@code rewrite}, {@code timeout}, {@code retries}).
   *
   * @param destinations weighted upstreams; weights are relative (Istio writes them to sum to 100)
   * @param rewriteUri replaces the matched {@code uri} prefix (or the whole path for exact/regex matches), or empty
   * @param rewriteAuthority replaces {@code :authority}/{@code Host}, or empty
   * @param timeout the whole-request timeout; {@link Duration#ZERO} disables it (Istio's default)
   * @param retries the retry policy
   * @param rewriteFullPath whether {@code rewriteUri} replaces the whole path even when the block matched by prefix
   *     (Gateway API {@code URLRewrite} {@code ReplaceFullPath}); false replaces the matched prefix (Istio
   *     {@code rewrite.uri}; Gateway API {@code ReplacePrefixMatch}, element-wise for a {@code PathPrefix} match)
   * @param mirrors where a copy of each request is also sent, its response ignored (Istio {@code mirrors}, Gateway
   *     API {@code RequestMirror}); empty for none
   * @param clusterNotFoundStatus what a request answers when the destination picked is a cluster nothing declares
   *     ({@link Cluster#known()} false; Envoy's {@code cluster_not_found_response_code}): 503 ({@code NC}) by
   *     default; 500 for a Gateway API HTTPRoute's invalid {@code backendRefs}, as Istio sets it for them
   */
  record Forward(List<WeightedCluster> destinations, Optional<String> rewriteUri, Optional<String> rewriteAuthority,
      Duration timeout, RetryPolicy retries, boolean rewriteFullPath, List<Mirror> mirrors,
      int clusterNotFoundStatus) implements RouteAction {
    /** Copies the lists and checks that there is a destination. */
    public Forward {
      destinations = List.copyOf(destinations);
      mirrors = List.copyOf(mirrors);
      if (destinations.isEmpty()) {
        throw new IllegalArgumentException("destinations: empty (expected: at least one)");
      }
    }

    /** A forward whose undeclared clusters answer 503 ({@code NC}), as Envoy's do by default. */
    public Forward(List<WeightedCluster> destinations, Optional<String> rewriteUri, Optional<String> rewriteAuthority,
        Duration timeout, RetryPolicy retries, boolean rewriteFullPath, List<Mirror> mirrors) {
      this(destinations, rewriteUri, rewriteAuthority, timeout, retries, rewriteFullPath, mirrors, 503);
    }

    /**
     * A forward with Istio's {@code rewrite.uri} semantics (the matched prefix replaced) and no mirrors.
     */
    public Forward(List<WeightedCluster> destinations, Optional<String> rewriteUri, Optional<String> rewriteAuthority,
        Duration timeout, RetryPolicy retries) {
      this(destinations, rewriteUri, rewriteAuthority, timeout, retries, false, List.of());
    }

    /** Picks a destination by weight. Called on an event loop. */
    public WeightedCluster pick() {
      return WeightedCluster.pick(destinations);
    }
  }

  /**
   * Istio {@code redirect}.
   *
   * @param uri replaces the path, or empty to keep it
   * @param authority replaces the authority, or empty
   * @param scheme replaces the scheme, or empty
   * @param port replaces the port, or 0 to keep it
   * @param code 301 (default), 302, 303, 307 or 308
   * @param replacePrefix whether {@code uri} replaces only the prefix the block matched (Gateway API
   *     {@code RequestRedirect} {@code path.type: ReplacePrefixMatch}, element-wise) rather than the whole path
   */
  record Redirect(Optional<String> uri, Optional<String> authority, Optional<String> scheme, int port, int code,
      boolean replacePrefix) implements RouteAction {
    /** A redirect whose {@code uri} replaces the whole path (Istio {@code redirect}). */
    public Redirect(Optional<String> uri, Optional<String> authority, Optional<String> scheme, int port, int code) {
      this(uri, authority, scheme, port, code, false);
    }
  }

  /**
   * A request mirror (Envoy's {@code request_mirror_policies}): a copy of the request is sent to {@code cluster},
   * its response discarded; the original request never waits for it.
   *
   * @param cluster where the copy goes
   * @param percent the share of requests mirrored, 0..100 (Istio {@code mirrorPercentage}, Gateway API
   *     {@code RequestMirror} {@code percent} / {@code fraction}); 100 mirrors all
   */
  record Mirror(Cluster cluster, double percent) {}

  /**
   * Istio {@code directResponse}.
   *
   * @param status the HTTP status, 200..599
   * @param body the body (UTF-8 text or decoded bytes), possibly empty
   */
  record DirectResponse(int status, byte[] body) implements RouteAction {
    /** Copies the body. */
    public DirectResponse {
      body = body.clone();
    }

    @Override
    public byte[] body() {
      return body.clone();
    }
  }

  /**
   * One weighted destination.
   *
   * @param cluster the upstream
   * @param weight relative weight, 0..100
   */
  record WeightedCluster(Cluster cluster, int weight) {
    /** Picks one of {@code destinations} (not empty) by weight; all weights 0 picks uniformly. */
    public static WeightedCluster pick(List<WeightedCluster> destinations) {
      if (destinations.size() == 1) {
        return destinations.get(0);
      }
      int total = 0;
      for (WeightedCluster d : destinations) {
        total += d.weight();
      }
      if (total <= 0) {
        return destinations.get(ThreadLocalRandom.current().nextInt(destinations.size()));
      }
      int r = ThreadLocalRandom.current().nextInt(total);
      for (WeightedCluster d : destinations) {
        r -= d.weight();
        if (r < 0) {
          return d;
        }
      }
      return destinations.get(destinations.size() - 1);
    }
  }

  /**
   * Istio {@code HTTPRetry}.
   *
   * @param attempts retries after the first try (0 disables)
   * @param perTryTimeout timeout of each try; {@link Duration#ZERO} uses the route timeout
   * @param retryOn Envoy retry conditions understood here: {@code 5xx}, {@code gateway-error}, {@code connect-failure},
   *     {@code reset}, {@code refused-stream}, {@code retriable-status-codes} (with its codes as numbers)
   */
  record RetryPolicy(int attempts, Duration perTryTimeout, Set<String> retryOn) {
    /** Envoy's conditions Portcullis acts on. */
    public static final Set<String> KNOWN = Set.of("5xx", "gateway-error", "connect-failure", "reset",
        "refused-stream", "retriable-status-codes", "cancelled", "deadline-exceeded", "internal",
        "resource-exhausted", "unavailable");

    /** Istio's default for gateways: 2 retries on connection failure and refused streams. */
    public static final RetryPolicy DEFAULT = new RetryPolicy(2, Duration.ZERO,
        Set.of("connect-failure", "refused-stream"));

    /** No retries. */
    public static final RetryPolicy NONE = new RetryPolicy(0, Duration.ZERO, Set.of());

    /** Copies the set. */
    public RetryPolicy {
      retryOn = Set.copyOf(retryOn);
    }

    /** Returns whether a response with {@code status} may be retried. */
    public boolean retriesStatus(int status) {
      return (status >= 500 && retryOn.contains("5xx"))
          || ((status == 502 || status == 503 || status == 504) && retryOn.contains("gateway-error"))
          || (!retryOn.isEmpty() && retryOn.contains(statusText(status)));
    }

    /** Returns {@code status} as text; the standard codes' text is Netty's, cached, so a response costs no String. */
    private static String statusText(int status) {
      return status >= 100 && status < 600 ? HttpResponseStatus.valueOf(status).codeAsText().toString()
          : Integer.toString(status);
    }

    /** Returns whether a failure to connect may be retried. */
    public boolean retriesConnectFailure() {
      return retryOn.contains("connect-failure") || retryOn.contains("5xx") || retryOn.contains("gateway-error")
          || retryOn.contains("reset");
    }
  }
}
