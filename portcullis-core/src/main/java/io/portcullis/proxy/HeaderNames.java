package io.portcullis.proxy;

import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.util.AsciiString;
import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.util.ArrayList;
import java.util.List;

/**
 * Header names in lower case, as HTTP/2 carries them (RFC 9113 §8.2.1), for heads converted from HTTP/1.1, whose
 * peers write names in any case ({@code Content-Type}): a name Netty knows ({@link HttpHeaderNames}) maps to its
 * constant, so converting a head allocates nothing for it; a name already in lower case is returned as it is.
 * Thread-safe (the table is built once).
 */
final class HeaderNames {
  /** Open addressing by {@link AsciiString#hashCode(CharSequence)}, which ignores ASCII case. */
  private static final AsciiString[] TABLE;

  static {
    List<AsciiString> names = new ArrayList<>();
    for (Field f : HttpHeaderNames.class.getFields()) {
      if (Modifier.isStatic(f.getModifiers()) && f.getType() == AsciiString.class) {
        try {
          names.add((AsciiString) f.get(null));
        } catch (IllegalAccessException e) {
          throw new IllegalStateException(e);
        }
      }
    }
    int size = Integer.highestOneBit(names.size() * 4 - 1) << 1;
    TABLE = new AsciiString[size];
    for (AsciiString n : names) {
      int i = AsciiString.hashCode(n) & (size - 1);
      while (TABLE[i] != null && !TABLE[i].contentEquals(n)) {
        i = (i + 1) & (size - 1);
      }
      TABLE[i] = n;
    }
  }

  private HeaderNames() {}

  /** Returns {@code name} in ASCII lower case. */
  static AsciiString lowerCase(CharSequence name) {
    int mask = TABLE.length - 1;
    for (int i = AsciiString.hashCode(name) & mask; TABLE[i] != null; i = (i + 1) & mask) {
      if (TABLE[i].contentEqualsIgnoreCase(name)) {
        return TABLE[i];
      }
    }
    return AsciiString.of(name).toLowerCase();
  }
}
