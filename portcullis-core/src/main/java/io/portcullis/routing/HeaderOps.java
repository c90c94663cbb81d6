package io.portcullis.routing;

import java.util.List;
import java.util.Map;

/**
 * Istio's {@code Headers.HeaderOperations}: applied in the order remove, set, add.
 *
 * @param set header name to value, replacing any existing value
 * @param add header name to value, appended
 * @param remove header names to remove
 */
public record HeaderOps(Map<String, String> set, Map<String, String> add, List<String> remove) {
  /** No operations. */
  public static final HeaderOps NONE = new HeaderOps(Map.of(), Map.of(), List.of());

  /** Copies the collections. */
  public HeaderOps {
    set = Map.copyOf(set);
    add = Map.copyOf(add);
    remove = List.copyOf(remove);
  }

  /** Returns whether there is nothing to do. */
  public boolean isEmpty() {
    return set.isEmpty() && add.isEmpty() && remove.isEmpty();
  }

  /** Applies the operations to Netty headers. */
  public void applyTo(io.netty.handler.codec.http.HttpHeaders headers) {
    if (isEmpty()) {
      return; // the common case, per request and response: no iterators
    }
    for (String name : remove) {
      headers.remove(name);
    }
    set.forEach(headers::set);
    add.forEach(headers::add);
  }

  /** Applies the operations to an HTTP/2 header block (names lower-cased, RFC 9113 §8.2.1). */
  public void applyTo(io.netty.handler.codec.http2.Http2Headers headers) {
    if (isEmpty()) {
      return;
    }
    for (String name : remove) {
      headers.remove(lower(name));
    }
    set.forEach((n, v) -> headers.set(lower(n), v));
    add.forEach((n, v) -> headers.add(lower(n), v));
  }

  private static CharSequence lower(String name) {
    return io.netty.util.AsciiString.of(name).toLowerCase();
  }
}
