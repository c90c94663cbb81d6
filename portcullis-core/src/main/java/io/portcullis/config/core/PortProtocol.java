package io.portcullis.config.core;

import java.util.Locale;

/**
 * Chooses a Kubernetes Service port's protocol as Istio does without sniffing ({@code pilot/pkg/serviceregistry/kube}
 * {@code ConvertProtocol}): {@code protocol: UDP} is UDP; else the port's {@code appProtocol} when set (with
 * Kubernetes' standard names {@code kubernetes.io/h2c} → HTTP2, {@code kubernetes.io/ws} → HTTP,
 * {@code kubernetes.io/wss} → HTTPS), else its {@code name}; a value is the protocol itself ({@code grpc}) or the
 * protocol and a suffix after a dash ({@code grpc-echo}, {@code http2-api}; {@code grpc-web} is matched whole first).
 * Case does not matter. Pure.
 */
final class PortProtocol {
  private PortProtocol() {}

  /**
   * Returns the Istio protocol name ({@code HTTP}, {@code HTTP2}, {@code GRPC}, {@code GRPC-WEB}, {@code HTTPS},
   * {@code TLS}, {@code TCP}, {@code UDP}, {@code MONGO}, {@code REDIS}, {@code MYSQL}), or {@code ""} when neither
   * {@code appProtocol} nor {@code name} says one (the gateway then speaks HTTP/1.1).
   *
   * @param transport the port's {@code protocol} ({@code TCP}, {@code UDP}, {@code SCTP}; null is TCP)
   * @param appProtocol the port's {@code appProtocol}, or null
   * @param name the port's {@code name}, or null
   */
  static String of(String transport, String appProtocol, String name) {
    if ("UDP".equalsIgnoreCase(transport)) {
      return "UDP";
    }
    String value = name == null ? "" : name;
    if (appProtocol != null && !appProtocol.isBlank()) {
      value = appProtocol.trim();
      switch (value) {
        case "kubernetes.io/h2c" -> {
          return "HTTP2";
        }
        case "kubernetes.io/ws" -> {
          return "HTTP";
        }
        case "kubernetes.io/wss" -> {
          return "HTTPS";
        }
        default -> { }
      }
    }
    String v = value.toLowerCase(Locale.ROOT);
    if (v.startsWith("grpc-web")) {
      return "GRPC-WEB";
    }
    int dash = v.indexOf('-');
    return switch (dash >= 0 ? v.substring(0, dash) : v) {
      case "http", "http_proxy" -> "HTTP";
      case "http2" -> "HTTP2";
      case "grpc" -> "GRPC";
      case "https" -> "HTTPS";
      case "tls" -> "TLS";
      case "tcp" -> "TCP";
      case "udp" -> "UDP";
      case "mongo" -> "MONGO";
      case "redis" -> "REDIS";
      case "mysql" -> "MYSQL";
      default -> "";
    };
  }
}
