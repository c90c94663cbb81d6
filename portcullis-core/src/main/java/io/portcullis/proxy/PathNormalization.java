package io.portcullis.proxy;

import static java.util.Objects.requireNonNull;

/**
 * How request paths are normalised before routing, rewrite and the upstream request see them: Istio's
 * {@code meshConfig.pathNormalization.normalization} ({@code ProxyPathNormalization.NormalizationType}) together
 * with Envoy's {@code HttpConnectionManager.path_with_escaped_slashes_action}. {@link RequestTarget} validates the
 * target and decides on escaped slashes; this type holds the normalising pass it then runs over the path.
 *
 * <p>Istio maps the type to Envoy's {@code normalize_path}, {@code merge_slashes} and
 * {@code path_with_escaped_slashes_action} (pilot's listener builder); {@link #of(Type)} does the same, except for the
 * escaped-slash action of {@code BASE} and {@code MERGE_SLASHES} (see {@link Type#defaultEscapedSlashes()}).
 *
 * @param type what is normalised
 * @param escapedSlashes what a {@code %2F}, {@code %2f}, {@code %5C} or {@code %5c} in the path does; an explicit
 *     action always wins over the type's default
 */
public record PathNormalization(Type type, EscapedSlashesAction escapedSlashes) {

  /** Istio's default ({@code DEFAULT} is {@code BASE}) with our default escaped-slash action, {@code REJECT_REQUEST}. */
  public static final PathNormalization DEFAULT = of(Type.BASE);

  private static final char[] HEX = "0123456789ABCDEF".toCharArray();

  // Token kinds of the normalising pass.
  private static final int T_LITERAL = 0;
  private static final int T_SLASH = 1;
  private static final int T_DOT = 2;
  private static final int T_KEEP = 3; // a %XX kept as sent
  private static final int T_ENCODE = 4; // a raw character to percent-encode

  /** Character classes of visible ASCII. */
  private static final byte[] CLASS = new byte[128];
  private static final byte UNRESERVED = 1;
  private static final byte TO_ENCODE = 2;

  static {
    for (char c = 'A'; c <= 'Z'; c++) {
      CLASS[c] = UNRESERVED;
      CLASS[c + 32] = UNRESERVED;
    }
    for (char c = '0'; c <= '9'; c++) {
      CLASS[c] = UNRESERVED;
    }
    for (char c : "-._~".toCharArray()) {
      CLASS[c] = UNRESERVED;
    }
    for (char c : "\"<>^`{|}".toCharArray()) {
      CLASS[c] = TO_ENCODE;
    }
  }

  /** Checks both are given. */
  public PathNormalization {
    requireNonNull(type, "type");
    requireNonNull(escapedSlashes, "escapedSlashes");
  }

  /** Returns {@code type} with its default escaped-slash action, {@link Type#defaultEscapedSlashes()}. */
  public static PathNormalization of(Type type) {
    return new PathNormalization(type, type.defaultEscapedSlashes());
  }

  /**
   * Normalises {@code t[start, end)}, a path that starts with {@code /} and that {@link RequestTarget} has validated
   * (every {@code %} is followed by two hex digits): {@code normalize_path} then {@code merge_slashes} as this type
   * says, with escaped slashes decoded first when {@code unescapeSlashes}. Called on an event loop.
   *
   * @param encodes whether the path has characters to percent-encode (sizes the buffer)
   */
  String apply(String t, int start, int end, boolean unescapeSlashes, boolean encodes) {
    return type.normalizes() ? normalize(t, start, end, unescapeSlashes, type.mergesSlashes(), encodes)
        : unescapeSlashes(t, start, end);
  }

  /** Whether octet {@code c} is unreserved: ALPHA, DIGIT, {@code - . _ ~} (RFC 3986 §2.3). */
  static boolean unreserved(int c) {
    return c < 128 && CLASS[c] == UNRESERVED;
  }

  /**
   * Whether {@code normalize_path} percent-encodes the raw character {@code c} (above 0x20, not DEL):
   * {@code " < > ^ `} {@code { | }} and 0x80..0xFF, as Chromium's path character table says.
   */
  static boolean encoded(char c) {
    return c >= 0x80 || CLASS[c] == TO_ENCODE;
  }

  /**
   * Envoy's {@code normalize_path} (Chromium's {@code DoPartialPath}) over {@code t[start, end)}, which starts with
   * {@code /} and is valid, then {@code merge_slashes} when asked.
   */
  private static String normalize(String t, int start, int end, boolean unescape, boolean merge, boolean encodes) {
    char[] out = new char[encodes ? (end - start) * 3 : end - start];
    int w = 0;
    int i = start;
    while (i < end) {
      int d = token(t, i, end, unescape);
      int kind = d & 0xF;
      int len = (d >> 4) & 0xF;
      if (kind == T_DOT && w > 0 && out[w - 1] == '/') { // RFC 3986 §5.2.4, as Chromium's ClassifyAfterDot
        int j = i + len;
        if (j == end) { // "/." at the end
          i = j;
          continue;
        }
        int d2 = token(t, j, end, unescape);
        if ((d2 & 0xF) == T_SLASH) { // "/./"
          i = j + ((d2 >> 4) & 0xF);
          continue;
        }
        if ((d2 & 0xF) == T_DOT) {
          int k = j + ((d2 >> 4) & 0xF);
          if (k == end) { // "/.." at the end
            w = backUp(out, w);
            i = k;
            continue;
          }
          int d3 = token(t, k, end, unescape);
          if ((d3 & 0xF) == T_SLASH) { // "/../"
            w = backUp(out, w);
            i = k + ((d3 >> 4) & 0xF);
            continue;
          }
        }
        out[w++] = '.'; // a dot starting a name such as ".well-known" or "..."
        i = j;
        continue;
      }
      switch (kind) {
        case T_SLASH:
          out[w++] = '/';
          break;
        case T_KEEP:
          out[w++] = '%';
          out[w++] = t.charAt(i + 1);
          out[w++] = t.charAt(i + 2);
          break;
        case T_ENCODE:
          int ch = d >>> 8;
          out[w++] = '%';
          out[w++] = HEX[ch >> 4];
          out[w++] = HEX[ch & 0xF];
          break;
        default: // T_LITERAL, T_DOT
          out[w++] = (char) (d >>> 8);
          break;
      }
      i += len;
    }
    if (merge) {
      int m = 0;
      for (int r = 0; r < w; r++) {
        if (out[r] != '/' || m == 0 || out[m - 1] != '/') {
          out[m++] = out[r];
        }
      }
      w = m;
    }
    return new String(out, 0, w);
  }

  /**
   * Returns the token at {@code t[i]}: kind in bits 0..3, length in {@code t} (1 or 3) in bits 4..7, the character
   * it stands for in bits 8..15.
   */
  private static int token(String t, int i, int end, boolean unescape) {
    char c = t.charAt(i);
    if (c == '%') {
      int v = (hex(t.charAt(i + 1)) << 4) | hex(t.charAt(i + 2));
      int kind;
      if (v == '/' || v == '\\') {
        kind = unescape ? T_SLASH : T_KEEP;
      } else if (v == '.') {
        kind = T_DOT;
      } else {
        kind = unreserved(v) ? T_LITERAL : T_KEEP;
      }
      return v << 8 | 3 << 4 | kind;
    }
    int kind;
    if (c == '/' || c == '\\') {
      kind = T_SLASH;
    } else if (c == '.') {
      kind = T_DOT;
    } else {
      kind = encoded(c) ? T_ENCODE : T_LITERAL;
    }
    return c << 8 | 1 << 4 | kind;
  }

  /** Drops the last segment of {@code out[0, w)}, which ends with {@code /}; never the root {@code /}. */
  private static int backUp(char[] out, int w) {
    int i = w - 1;
    if (i == 0) {
      return w;
    }
    i--;
    while (i > 0 && out[i] != '/') {
      i--;
    }
    return i + 1;
  }

  /** Envoy's {@code PathUtil::unescapeSlashes} alone (type {@code NONE}): %2F to {@code /}, %5C to {@code \}. */
  private static String unescapeSlashes(String t, int start, int end) {
    char[] out = new char[end - start];
    int w = 0;
    for (int i = start; i < end; i++) {
      char c = t.charAt(i);
      if (c == '%') {
        int v = (hex(t.charAt(i + 1)) << 4) | hex(t.charAt(i + 2));
        if (v == '/' || v == '\\') {
          out[w++] = (char) v;
          i += 2;
          continue;
        }
      }
      out[w++] = c;
    }
    return new String(out, 0, w);
  }

  /** Returns the value of hex digit {@code c}, or -1. */
  static int hex(char c) {
    if (c >= '0' && c <= '9') {
      return c - '0';
    }
    if (c >= 'A' && c <= 'F') {
      return c - 'A' + 10;
    }
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
  }


  /**
   * Istio's {@code ProxyPathNormalization.NormalizationType}; {@code DEFAULT} means {@code BASE}. Istio's reference
   * (security/normalization) lists what each one does to a path.
   */
  public enum Type {
    /** No normalisation: the path is forwarded as sent (it is still validated, see {@link RequestTarget}). */
    NONE,
    /**
     * Envoy's {@code normalize_path}: RFC 3986 §6.2.2 syntax-based normalisation as Chromium's URL canonicaliser
     * does it (§2.3 unreserved characters decoded, §5.2.4 dot segments removed, {@code \} turned into {@code /}).
     */
    BASE,
    /** {@code BASE}, then Envoy's {@code merge_slashes}: runs of {@code /} become one. */
    MERGE_SLASHES,
    /** {@code MERGE_SLASHES} with escaped slashes decoded first ({@code UNESCAPE_AND_FORWARD}). */
    DECODE_AND_MERGE_SLASHES;

    /** Whether the path goes through {@code normalize_path} (every type but {@code NONE}). */
    boolean normalizes() {
      return this != NONE;
    }

    /** Whether runs of slashes are merged. */
    boolean mergesSlashes() {
      return this == MERGE_SLASHES || this == DECODE_AND_MERGE_SLASHES;
    }

    /**
     * Returns the escaped-slash action used when none is configured: {@code KEEP_UNCHANGED} for {@code NONE},
     * {@code UNESCAPE_AND_FORWARD} for {@code DECODE_AND_MERGE_SLASHES} (both as Istio sets them), and
     * {@code REJECT_REQUEST} for {@code BASE} and {@code MERGE_SLASHES}. Istio and Envoy keep escaped slashes
     * unchanged there; we depart because that lets a request past a route meant to stop it: {@code /status%2F418}
     * does not match {@code prefix: /status/418}, yet many backends decode {@code %2F} and serve
     * {@code /status/418} (CVE-2021-31920 is this class of bypass). Rejecting is safe because no normalised path
     * can then differ from the backend's reading of it by an encoded slash; configure {@code KEEP_UNCHANGED}
     * explicitly for backends that need encoded slashes.
     */
    public EscapedSlashesAction defaultEscapedSlashes() {
      return switch (this) {
        case NONE -> EscapedSlashesAction.KEEP_UNCHANGED;
        case BASE, MERGE_SLASHES -> EscapedSlashesAction.REJECT_REQUEST;
        case DECODE_AND_MERGE_SLASHES -> EscapedSlashesAction.UNESCAPE_AND_FORWARD;
      };
    }
  }

  /**
   * Envoy's {@code HttpConnectionManager.PathWithEscapedSlashesAction} (without
   * {@code IMPLEMENTATION_SPECIFIC_DEFAULT}, which is {@link Type#defaultEscapedSlashes()} here). It applies to
   * {@code %2F}, {@code %2f}, {@code %5C} and {@code %5c} in the path, never in the query, and in every type,
   * {@code NONE} included.
   */
  public enum EscapedSlashesAction {
    /** Leaves them encoded, as sent. */
    KEEP_UNCHANGED,
    /** Answers 400. */
    REJECT_REQUEST,
    /** Decodes them ({@code %2F} to {@code /}, {@code %5C} to {@code \}), normalises, and answers 307 to that path. */
    UNESCAPE_AND_REDIRECT,
    /** Decodes them ({@code %2F} to {@code /}, {@code %5C} to {@code \}), normalises, and forwards. */
    UNESCAPE_AND_FORWARD
  }
}
