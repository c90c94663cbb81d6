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
    for (String name : remove) {
      headers.remove(name);
    }
    set.forEach(headers::set);
    add.forEach(headers::add);
  }
}
