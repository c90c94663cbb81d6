package io.portcullis.proxy;

import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.util.AsciiString;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;

/**
 * Removes hop-by-hop headers (RFC 9110 §7.6.1), including those a {@code Connection} header names, except the
 * message's framing and target ({@code Content-Length}, {@code Transfer-Encoding}, {@code Host}): a peer cannot make
 * them hop-by-hop, else {@code Connection: content-length} would send a body upstream unframed, to be read there as
 * the next request on the connection (request smuggling). Called for every request and response: the headers are
 * read as Netty holds them, without a copy or a String per name.
 */
final class HopByHop {
  private static final AsciiString[] NAMES = {HttpHeaderNames.CONNECTION, AsciiString.cached("keep-alive"),
      AsciiString.cached("proxy-connection"), HttpHeaderNames.PROXY_AUTHENTICATE, HttpHeaderNames.PROXY_AUTHORIZATION,
      HttpHeaderNames.TE, HttpHeaderNames.TRAILER, HttpHeaderNames.UPGRADE, AsciiString.cached("http2-settings")};
  /** Names a {@code Connection} header may not make hop-by-hop. */
  private static final AsciiString[] FRAMING = {HttpHeaderNames.CONTENT_LENGTH, HttpHeaderNames.TRANSFER_ENCODING,
      HttpHeaderNames.HOST};
  private static final AsciiString EXTENSION_PREFIX = AsciiString.cached("x-http2-");

  private HopByHop() {}

  /** Strips hop-by-hop headers and Netty's HTTP/2 extension headers ({@code x-http2-*}); keeps transfer-encoding. */
  static void strip(HttpHeaders headers) {
    if (headers.contains(HttpHeaderNames.CONNECTION)) {
      List<String> named = null; // options other than the names removed below anyway (keep-alive, upgrade, ...)
      for (Iterator<? extends CharSequence> i = headers.valueCharSequenceIterator(HttpHeaderNames.CONNECTION);
          i.hasNext(); ) {
        named = options(i.next(), named);
      }
      if (named != null) {
        named.forEach(headers::remove);
      }
    }
    for (AsciiString n : NAMES) {
      headers.remove(n);
    }
    List<CharSequence> ext = null;
    for (Iterator<Map.Entry<CharSequence, CharSequence>> i = headers.iteratorCharSequence(); i.hasNext(); ) {
      CharSequence n = i.next().getKey();
      if (n.length() >= EXTENSION_PREFIX.length()
          && AsciiString.regionMatches(n, true, 0, EXTENSION_PREFIX, 0, EXTENSION_PREFIX.length())) {
        if (ext == null) {
          ext = new ArrayList<>();
        }
        ext.add(n);
      }
    }
    if (ext != null) {
      ext.forEach(headers::remove);
    }
  }

  /** Adds the comma-separated options of one {@code Connection} value to {@code named}, but NAMES and FRAMING. */
  private static List<String> options(CharSequence value, List<String> named) {
    int n = value.length();
    for (int start = 0; start < n; ) {
      int end = start;
      while (end < n && value.charAt(end) != ',') {
        end++;
      }
      int s = start;
      int e = end;
      while (s < e && value.charAt(s) <= ' ') {
        s++;
      }
      while (e > s && value.charAt(e - 1) <= ' ') {
        e--;
      }
      if (e > s && !listed(NAMES, value, s, e) && !listed(FRAMING, value, s, e)) {
        if (named == null) {
          named = new ArrayList<>(2);
        }
        named.add(value.subSequence(s, e).toString());
      }
      start = end + 1;
    }
    return named;
  }

  private static boolean listed(AsciiString[] names, CharSequence value, int start, int end) {
    for (AsciiString name : names) {
      if (name.length() == end - start && AsciiString.regionMatches(value, true, start, name, 0, name.length())) {
        return true;
      }
    }
    return false;
  }
}
