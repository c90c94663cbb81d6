package io.portcullis.proxy;

import io.portcullis.routing.Endpoint;
import java.io.IOException;

/**
 * A request refused before any connect because too many requests already wait for a connection: DestinationRule
 * {@code connectionPool.http.http1MaxPendingRequests} of the cluster (Envoy's circuit breaker
 * {@code max_pending_requests}), or the HTTP/2 pool's own bound per endpoint. Envoy answers 503 with flag {@code UO};
 * counted as {@code upstream_rq_pending_overflow}.
 */
final class PendingOverflowException extends IOException {
  private final transient Endpoint endpoint;

  /**
   * @param endpoint the endpoint that was asked for
   * @param waiting the requests that were waiting
   * @param limit the bound and where it comes from, e.g. {@code "1 (DestinationRule
   *     connectionPool.http.http1MaxPendingRequests)"}
   */
  PendingOverflowException(Endpoint endpoint, int waiting, String limit) {
    super("upstream " + endpoint + ": " + waiting + " requests already wait for a connection (expected: at most "
        + limit + ")");
    this.endpoint = endpoint;
  }

  /** Returns the endpoint that was asked for. */
  Endpoint endpoint() {
    return endpoint;
  }
}
