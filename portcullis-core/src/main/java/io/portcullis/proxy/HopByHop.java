package io.portcullis.proxy;

import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaders;
import java.util.ArrayList;
import java.util.List;

/**
 * Removes hop-by-hop headers (RFC 9110 §7.6.1), including those a {@code Connection} header names, except the
 * message's framing and target ({@code Content-Length}, {@code Transfer-Encoding}, {@code Host}): a peer cannot make
 * them hop-by-hop, else {@code Connection: content-length} would send a body upstream unframed, to be read there as
 * the next request on the connection (request smuggling).
 */
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
        if (!n.isEmpty() && !isFraming(n)) {
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

  private static boolean isFraming(String name) {
    return HttpHeaderNames.CONTENT_LENGTH.contentEqualsIgnoreCase(name)
        || HttpHeaderNames.TRANSFER_ENCODING.contentEqualsIgnoreCase(name)
        || HttpHeaderNames.HOST.contentEqualsIgnoreCase(name);
  }
}
