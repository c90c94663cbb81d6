package io.portcullis.proxy;

import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaders;
import java.util.ArrayList;
import java.util.List;

/** Removes hop-by-hop headers (RFC 9110 §7.6.1), including those a {@code Connection} header names. */
final class HopByHop {
  private static final List<CharSequence> NAMES = List.of(HttpHeaderNames.CONNECTION, "keep-alive",
      "proxy-connection", HttpHeaderNames.PROXY_AUTHENTICATE, HttpHeaderNames.PROXY_AUTHORIZATION,
      HttpHeaderNames.TE, HttpHeaderNames.TRAILER, HttpHeaderNames.UPGRADE, "http2-settings");

  private HopByHop() {}

  /** Strips hop-by-hop headers and Netty's HTTP/2 extension headers ({@code x-http2-*}); keeps transfer-encoding. */
  static void strip(HttpHeaders headers) {
    for (String c : headers.getAll(HttpHeaderNames.CONNECTION)) {
      for (String name : c.split(",")) {
        String n = name.trim();
        if (!n.isEmpty()) {
          headers.remove(n);
        }
      }
    }
    for (CharSequence n : NAMES) {
      headers.remove(n);
    }
    List<String> ext = new ArrayList<>();
    for (var e : headers) {
      if (e.getKey().regionMatches(true, 0, "x-http2-", 0, 8)) {
        ext.add(e.getKey());
      }
    }
    ext.forEach(headers::remove);
  }
}
