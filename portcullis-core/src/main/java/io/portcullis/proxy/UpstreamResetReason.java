package io.portcullis.proxy;

import java.util.Optional;

/**
 * Why an upstream attempt ended before a response head, as Envoy's {@code StreamResetReason} names it in the body of
 * its local reply: {@code upstream connect error or disconnect/reset before headers. reset reason: REASON} and, for a
 * TLS failure, {@code , transport failure reason: KIND} (the kind only: the details, names and files, go to the
 * access log's {@code upstream_transport_failure_reason}).
 */
enum UpstreamResetReason {
  /** A circuit breaker or the pending queue refused the request (503 {@code UO}). */
  OVERFLOW("overflow"),
  /** The TCP connect or TLS handshake failed (503 {@code UF}). */
  CONNECTION_FAILURE("connection failure"),
  /** The TCP connect took longer than the cluster's connect timeout (503 {@code UF}). */
  CONNECTION_TIMEOUT("connection timeout"),
  /** The upstream reset the stream (503 {@code UR}). */
  REMOTE_RESET("remote reset"),
  /** The upstream closed the connection (503 {@code UC}). */
  CONNECTION_TERMINATION("connection termination");

  private final String text;

  UpstreamResetReason(String text) {
    this.text = text;
  }

  /** Returns the reason of a failed connect: a timeout, else a connection failure. */
  static UpstreamResetReason ofConnectFailure(Throwable cause) {
    return cause instanceof io.netty.channel.ConnectTimeoutException ? CONNECTION_TIMEOUT : CONNECTION_FAILURE;
  }

  /** Returns the local reply's body, without a transport failure reason. */
  String body() {
    return "upstream connect error or disconnect/reset before headers. reset reason: " + text;
  }

  /**
   * Returns the local reply's body with the kind of TLS failure: {@code TLS settings unusable} when the cluster's
   * context could not be built, {@code CERTIFICATE_VERIFY_FAILED} or {@code TLS handshake failed} from
   * {@code tls} (the reason {@link io.portcullis.tls.ClientTlsContexts#failureReason} found); none when empty.
   */
  String body(Optional<String> tls, boolean unusable) {
    if (tls.isEmpty()) {
      return body();
    }
    return body() + ", transport failure reason: " + (unusable ? "TLS settings unusable"
        : tls.get().startsWith("CERTIFICATE_VERIFY_FAILED") ? "CERTIFICATE_VERIFY_FAILED" : "TLS handshake failed");
  }
}
