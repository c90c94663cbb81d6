package io.portcullis.admin;

import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.util.NetUtil;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.Locale;
import java.util.Optional;

/**
 * Who may ask the admin server what: pure functions of a request's headers and the address it arrived on.
 *
 * <ul>
 *   <li>Every request: its {@code Host} must name this server, so a page whose name was rebound to 127.0.0.1 (DNS
 *       rebinding) cannot read {@code /config_dump}: {@code localhost}, {@code 127.0.0.1} or {@code [::1]} with any
 *       port or none (port forwards), or the address the connection was accepted on with the admin port
 *       ({@code 10.0.0.5:15000}, {@code [fd00::5]:15000}). An HTTP/1.1 request without exactly one {@code Host} is
 *       400 (RFC 9112 §3.2); an HTTP/1.0 request without one is served, as no browser sends one (HAProxy's
 *       {@code option httpchk} does).</li>
 *   <li>State-changing endpoints, in addition: no {@code Origin} header (browsers send it with every POST; the CLI
 *       and curl never do), and {@code Authorization: Bearer <token>} ({@link AdminToken}, RFC 6750 §2.1).</li>
 * </ul>
 * Envoy's admin guards nothing and is meant for loopback only; this one also protects the write side.
 */
final class AdminAccess {
  private AdminAccess() {}

  /** Why a request is refused: its status, a short reason for the body, and a {@code WWW-Authenticate} value. */
  record Refusal(HttpResponseStatus status, String reason, Optional<String> wwwAuthenticate) {
    Refusal(HttpResponseStatus status, String reason) {
      this(status, reason, Optional.empty());
    }
  }

  /**
   * Checks {@code req}'s {@code Host} against {@code local}, the address its connection was accepted on.
   *
   * @return the refusal (400 or 403), or empty when the request names this server
   */
  static Optional<Refusal> checkHost(HttpRequest req, InetSocketAddress local) {
    List<String> hosts = req.headers().getAll(HttpHeaderNames.HOST);
    if (hosts.isEmpty()) {
      return req.protocolVersion().equals(HttpVersion.HTTP_1_0) ? Optional.empty()
          : Optional.of(new Refusal(HttpResponseStatus.BAD_REQUEST, "no Host header (expected: Host: "
              + ownHost(local) + ", RFC 9112 section 3.2)"));
    }
    if (hosts.size() > 1) {
      return Optional.of(new Refusal(HttpResponseStatus.BAD_REQUEST, "Host: " + hosts.size() + " headers "
          + "(expected: one, RFC 9112 section 3.2)"));
    }
    String host = hosts.get(0).strip();
    if (namesServer(host, local)) {
      return Optional.empty();
    }
    return Optional.of(new Refusal(HttpResponseStatus.FORBIDDEN, "Host: " + printable(host) + " is not this admin "
        + "server (expected: localhost, 127.0.0.1 or [::1], with any port, or " + ownHost(local) + ")"));
  }

  /**
   * Checks what a state-changing request needs besides its {@code Host}: no {@code Origin}, and the token.
   *
   * @return the refusal (403 for an {@code Origin}, 401 without the right token), or empty
   */
  static Optional<Refusal> checkStateChange(HttpRequest req, AdminToken token) {
    String origin = req.headers().get(HttpHeaderNames.ORIGIN);
    if (origin != null) {
      return Optional.of(new Refusal(HttpResponseStatus.FORBIDDEN, "Origin: " + printable(origin) + ": "
          + "state-changing admin endpoints refuse browser requests (expected: no Origin header, as portcullis "
          + "certs and curl send)"));
    }
    String authorization = req.headers().get(HttpHeaderNames.AUTHORIZATION);
    if (authorization == null) {
      return Optional.of(new Refusal(HttpResponseStatus.UNAUTHORIZED, "this endpoint needs the admin token "
          + "(expected: Authorization: Bearer <the contents of " + token.file() + ">)",
          Optional.of("Bearer realm=\"portcullis-admin\"")));
    }
    if (!token.matches(authorization)) {
      return Optional.of(new Refusal(HttpResponseStatus.UNAUTHORIZED, "the admin token does not match "
          + "(expected: Authorization: Bearer <the contents of " + token.file() + ">)",
          Optional.of("Bearer realm=\"portcullis-admin\", error=\"invalid_token\"")));
    }
    return Optional.empty();
  }

  /** Whether {@code host} ({@code name[:port]} or {@code [v6][:port]}) names the server at {@code local}. */
  static boolean namesServer(String host, InetSocketAddress local) {
    String name;
    String port = null;
    if (host.startsWith("[")) {
      int end = host.indexOf(']');
      if (end < 0) {
        return false;
      }
      name = host.substring(1, end);
      String rest = host.substring(end + 1);
      if (!rest.isEmpty()) {
        if (!rest.startsWith(":")) {
          return false;
        }
        port = rest.substring(1);
      }
      if (!NetUtil.isValidIpV6Address(name)) {
        return false;
      }
    } else {
      int colon = host.indexOf(':');
      if (colon >= 0) {
        name = host.substring(0, colon);
        port = host.substring(colon + 1);
      } else {
        name = host;
      }
    }
    int portNumber = 80; // RFC 9110 section 4.2.1: http's default
    if (port != null) {
      if (port.isEmpty() || port.length() > 5 || !port.chars().allMatch(c -> c >= '0' && c <= '9')) {
        return false;
      }
      portNumber = Integer.parseInt(port);
    }
    if (name.toLowerCase(Locale.ROOT).equals("localhost")) {
      return true;
    }
    // Only IP literals from here on: no name is ever looked up (this runs on an event loop).
    InetAddress ip = NetUtil.createInetAddressFromIpAddressString(name);
    if (ip == null) {
      return false;
    }
    if (ip.isLoopbackAddress()) {
      return true;
    }
    return ip.equals(local.getAddress()) && portNumber == local.getPort();
  }

  /** How a client names the server at {@code local}: {@code 127.0.0.1:15000} or {@code [fd00::5]:15000}. */
  static String ownHost(InetSocketAddress local) {
    String ip = NetUtil.toAddressString(local.getAddress());
    return (ip.contains(":") ? "[" + ip + "]" : ip) + ":" + local.getPort();
  }

  /** A header value as it may be echoed: at most 100 printable ASCII characters. */
  private static String printable(String value) {
    StringBuilder b = new StringBuilder();
    for (int i = 0; i < value.length() && b.length() < 100; i++) {
      char c = value.charAt(i);
      b.append(c >= 0x20 && c < 0x7f ? c : '?');
    }
    return value.length() > 100 ? b + "..." : b.toString();
  }
}
