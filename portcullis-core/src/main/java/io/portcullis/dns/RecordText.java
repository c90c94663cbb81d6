package io.portcullis.dns;

import java.net.InetAddress;

/** How names and record data are written to the providers' APIs: one place for every provider. */
final class RecordText {
  private RecordText() { }

  /** Returns {@code name} absolute, with its trailing dot ({@code example.com.}). */
  static String absolute(String name) {
    return name.endsWith(".") ? name : name + ".";
  }

  /** Returns {@code name} without its trailing dot ({@code example.com}), as Cloudflare's API takes names. */
  static String relative(String name) {
    return name.endsWith(".") ? name.substring(0, name.length() - 1) : name;
  }

  /** Returns a TXT value in zone-file form: quoted, with {@code "} and {@code \} escaped. */
  static String txt(String value) {
    return "\"" + value.replace("\\", "\\\\").replace("\"", "\\\"") + "\"";
  }

  /**
   * Returns {@code a} as record data: dotted IPv4, or IPv6 in RFC 5952's canonical text (lower case, no leading
   * zeros, the longest run of two or more zero groups as {@code ::}).
   */
  static String address(InetAddress a) {
    if (!(a instanceof java.net.Inet6Address)) {
      return a.getHostAddress();
    }
    byte[] b = a.getAddress();
    int[] g = new int[8];
    for (int i = 0; i < 8; i++) {
      g[i] = ((b[2 * i] & 0xff) << 8) | (b[2 * i + 1] & 0xff);
    }
    int bestStart = -1;
    int bestLen = 1;
    for (int i = 0; i < 8; ) {
      int j = i;
      while (j < 8 && g[j] == 0) {
        j++;
      }
      if (j - i > bestLen) {
        bestStart = i;
        bestLen = j - i;
      }
      i = j == i ? i + 1 : j;
    }
    StringBuilder out = new StringBuilder();
    for (int i = 0; i < 8; i++) {
      if (i == bestStart) {
        out.append("::");
        i += bestLen - 1;
        continue;
      }
      if (out.length() > 0 && out.charAt(out.length() - 1) != ':') {
        out.append(':');
      }
      out.append(Integer.toHexString(g[i]));
    }
    return out.toString();
  }
}
