package io.portcullis.internal;

/**
 * Writes JSON string literals (RFC 8259 §7) into a {@link StringBuilder}, for the places that build JSON text by
 * hand: the access log (a hot path: no allocation but the builder's growth) and {@code portcullis get -o json}.
 * Pure and thread-safe.
 */
public final class JsonStrings {
  private static final char[] HEX = "0123456789abcdef".toCharArray();

  private JsonStrings() {}

  /**
   * Appends {@code s} quoted, with {@code "}, {@code \} and the control characters U+0000 to U+001F escaped:
   * {@code \b}, {@code \f}, {@code \n}, {@code \r}, {@code \t} by name, the others as <code>&#92;u00XX</code>
   * (lower-case hex), as Envoy's JSON access log and Go's {@code encoding/json} (since Go 1.22) write them.
   * Everything else is copied as it is; runs that need no escape are copied in one call.
   *
   * @return {@code b}
   */
  public static StringBuilder append(StringBuilder b, String s) {
    return append(b, s, false);
  }

  /**
   * Appends {@code s} as {@link #append} does, and also {@code <}, {@code >}, {@code &}, U+2028 and U+2029 as
   * <code>&#92;u003c</code>, <code>&#92;u003e</code>, <code>&#92;u0026</code>, <code>&#92;u2028</code>,
   * <code>&#92;u2029</code>: Go's {@code encoding/json} default (HTML-safe), which {@code kubectl get -o json} prints.
   *
   * @return {@code b}
   */
  public static StringBuilder appendHtmlSafe(StringBuilder b, String s) {
    return append(b, s, true);
  }

  private static StringBuilder append(StringBuilder b, String s, boolean htmlSafe) {
    b.append('"');
    int plain = 0; // start of the run of characters that need no escape
    for (int i = 0, n = s.length(); i < n; i++) {
      char c = s.charAt(i);
      if (c >= 0x20 && c != '"' && c != '\\' && !(htmlSafe && (c == '<' || c == '>' || c == '&' || c == '\u2028'
          || c == '\u2029'))) {
        continue;
      }
      b.append(s, plain, i);
      plain = i + 1;
      switch (c) {
        case '"' -> b.append("\\\"");
        case '\\' -> b.append("\\\\");
        case '\b' -> b.append("\\b");
        case '\f' -> b.append("\\f");
        case '\n' -> b.append("\\n");
        case '\r' -> b.append("\\r");
        case '\t' -> b.append("\\t");
        default -> b.append("\\u").append(HEX[c >> 12]).append(HEX[(c >> 8) & 15]).append(HEX[(c >> 4) & 15])
            .append(HEX[c & 15]);
      }
    }
    return (plain == 0 ? b.append(s) : b.append(s, plain, s.length())).append('"'); // append(s): one bulk copy
  }
}
