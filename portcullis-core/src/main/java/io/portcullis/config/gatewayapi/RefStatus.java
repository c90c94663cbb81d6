package io.portcullis.config.gatewayapi;

/**
 * What a route's rules found while they were translated, for its parents' {@code ResolvedRefs} and
 * {@code Accepted} conditions: the first unresolved reference (Gateway API route reasons {@code RefNotPermitted},
 * {@code InvalidKind}, {@code BackendNotFound}, {@code UnsupportedProtocol}) and the first unsupported value.
 */
final class RefStatus {
  String refReason = "";
  String refMessage = "";
  String unsupportedMessage = "";

  /** Records an unresolved reference; the first one is kept. */
  void unresolved(String reason, String message) {
    if (refReason.isEmpty()) {
      refReason = reason;
      refMessage = message;
    }
  }

  /** Records a value Portcullis does not support; the route is not accepted. */
  void unsupported(String message) {
    if (unsupportedMessage.isEmpty()) {
      unsupportedMessage = message;
    }
  }
}
