package io.portcullis.proxy;

import java.net.InetSocketAddress;
import java.net.SocketAddress;

/** Socket addresses as the access log and forwarding headers write them. */
final class Addresses {
  private Addresses() {}

  /** Returns the IP of {@code a} ({@code 127.0.0.1}, {@code ::1}), for {@code x-forwarded-for}. */
  static String ip(SocketAddress a) {
    return a instanceof InetSocketAddress i && i.getAddress() != null ? i.getAddress().getHostAddress()
        : String.valueOf(a);
  }

  /** Returns {@code ip:port}, an IPv6 address bracketed ({@code [::1]:443}), as Envoy logs addresses. */
  static String text(SocketAddress a) {
    if (a instanceof InetSocketAddress i && i.getAddress() != null) {
      String ip = i.getAddress().getHostAddress();
      return (ip.indexOf(':') >= 0 ? "[" + ip + "]" : ip) + ":" + i.getPort();
    }
    return String.valueOf(a);
  }
}
