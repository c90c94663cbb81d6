package io.portcullis.proxy;

import io.netty.channel.Channel;
import io.netty.util.Attribute;
import io.netty.util.AttributeKey;
import io.netty.util.NetUtil;
import io.portcullis.routing.Endpoint;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketAddress;

/** Socket addresses as the access log and forwarding headers write them, and as upstream connects take them. */
final class Addresses {
  private static final AttributeKey<String> REMOTE_IP = AttributeKey.valueOf("portcullis.remote-ip");

  private Addresses() {}

  /** Returns the IP of {@code connection}'s peer ({@link #ip}), worked out once per connection. */
  static String remoteIp(Channel connection) {
    Attribute<String> cached = connection.attr(REMOTE_IP);
    String ip = cached.get();
    if (ip == null) {
      SocketAddress a = connection.remoteAddress();
      ip = ip(a);
      if (a != null) {
        cached.set(ip);
      }
    }
    return ip;
  }

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

  /**
   * Returns where to connect for {@code endpoint}: an IP literal ({@code 10.0.0.1}, {@code ::1}) as an address, parsed
   * without a lookup; anything else unresolved, for the bootstrap's resolver to look up off the caller's thread (a
   * name that only looks like an address, {@code 999.1.1.1}, is a name: no blocking lookup on an event loop).
   */
  static InetSocketAddress upstream(Endpoint endpoint) {
    InetAddress ip = NetUtil.createInetAddressFromIpAddressString(endpoint.host());
    return ip != null ? new InetSocketAddress(ip, endpoint.port())
        : InetSocketAddress.createUnresolved(endpoint.host(), endpoint.port());
  }
}
