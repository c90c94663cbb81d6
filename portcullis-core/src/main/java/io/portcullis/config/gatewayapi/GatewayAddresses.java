package io.portcullis.config.gatewayapi;

import io.netty.util.NetUtil;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.NetworkInterface;
import java.net.SocketException;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * The addresses a Gateway's {@code status.addresses} lists (Gateway API {@code GatewayStatus.addresses}: "the network
 * addresses that have been bound to the Gateway"): the address every Gateway port binds ({@code --bind}), or for a
 * wildcard ({@code 0.0.0.0}, {@code ::}) the addresses of the host's network interfaces that are up (IPv4 only for
 * {@code 0.0.0.0}), the loopback ones last; IP literals in their RFC 5952 form. Reads the interfaces once, when called; call it at startup, not on an
 * event loop.
 */
public final class GatewayAddresses {
  private GatewayAddresses() {}

  /** Returns the addresses Gateways bound at {@code bindAddress} are reachable at, as literals. */
  public static List<String> of(String bindAddress) {
    InetAddress bind;
    try {
      bind = InetAddress.getByName(bindAddress.replace("[", "").replace("]", ""));
    } catch (UnknownHostException e) {
      return List.of(bindAddress); // a host name: reported as written (type Hostname)
    }
    if (!bind.isAnyLocalAddress()) {
      // a literal in its canonical form (no brackets), as status.addresses' IPAddress values must be
      return List.of(isIpLiteral(bindAddress.replace("[", "").replace("]", ""))
          ? NetUtil.toAddressString(bind) : bindAddress);
    }
    List<String> out = new ArrayList<>();
    List<String> loopback = new ArrayList<>();
    try {
      for (NetworkInterface ni : Collections.list(NetworkInterface.getNetworkInterfaces())) {
        if (!ni.isUp()) {
          continue;
        }
        for (InetAddress a : Collections.list(ni.getInetAddresses())) {
          if ((bind instanceof Inet4Address && !(a instanceof Inet4Address)) || a.isLinkLocalAddress()) {
            continue;
          }
          String literal = NetUtil.toAddressString(a).replaceFirst("%.*$", ""); // RFC 5952 form
          (a.isLoopbackAddress() ? loopback : out).add(literal);
        }
      }
    } catch (SocketException e) {
      return List.of(bindAddress);
    }
    out.addAll(loopback);
    return out.isEmpty() ? List.of(bindAddress) : List.copyOf(out);
  }

  /**
   * Returns whether {@code s} is an IPv4 dotted quad or an IPv6 literal (no brackets, no port): Gateway API
   * {@code IPAddress}, Ingress {@code loadBalancer.ingress[].ip}; anything else is a host name. Never looks a name up.
   */
  public static boolean isIpLiteral(String s) {
    if (!s.matches("[0-9a-fA-F:.]+") || !(s.contains(":") || s.matches("\\d{1,3}(\\.\\d{1,3}){3}"))) {
      return false;
    }
    try {
      InetAddress.getByName(s); // a literal: parsed, never resolved
      return true;
    } catch (UnknownHostException e) {
      return false;
    }
  }
}
