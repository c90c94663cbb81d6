package io.portcullis.proxy;

import static java.util.Objects.requireNonNull;

import io.portcullis.proxy.PathNormalization.EscapedSlashesAction;
import io.portcullis.proxy.PathNormalization.Type;
import java.util.Optional;

/**
 * Turns the request target a client sent (the HTTP/1.1 request-target, or HTTP/2 {@code :path}) into the one
 * normalised path that routing, rewrite and the upstream request all use, as Envoy does it for Istio's
 * {@code meshConfig.pathNormalization} ({@link PathNormalization}).
 *
 * <p><b>Forms</b> (RFC 9112 §3.2). Origin-form {@code /path?query}; absolute-form {@code http://host/path?query}
 * (HTTP/1 only, scheme {@code http} or {@code https} in any case) is reduced to origin form and its authority
 * returned, for the caller to check against {@code Host} (RFC 9112 §3.2.2: the target's authority wins) and an
 * empty path becomes {@code /} (§3.2.1); authority-form {@code host:port} is the only form of {@code CONNECT}
 * (§3.2.3); asterisk-form {@code *} is accepted for {@code OPTIONS} only (§3.2.4), as is an {@code OPTIONS}
 * absolute-form with an empty path and no query, which becomes {@code *}. Anything else is rejected: an HTTP/2
 * {@code :path} must start with {@code /} or be {@code *} (RFC 9113 §8.3.1).
 *
 * <p><b>Validation, in every type</b> ({@code NONE} included). Rejected with 400: a fragment ({@code #}, which a
 * client never sends; Envoy's default {@code http_reject_path_with_fragment} rejects it too); a space, control
 * character or DEL anywhere, or a character above U+00FF (the target is bytes); in the path, a {@code %} not
 * followed by two hex digits (RFC 3986 §2.1), {@code %00} (Istio's normalization reference: always 400), and an
 * escaped slash when the action is {@code REJECT_REQUEST}. A userinfo ({@code user@}) in an absolute-form authority
 * is rejected (RFC 9110 §4.2.4), as is an empty host (§4.2.1).
 *
 * <p><b>Normalisation</b> (every type but {@code NONE}): Envoy's {@code normalize_path}, which is Chromium's
 * {@code url::CanonicalizePath} (RFC 3986 §6.2.2 syntax-based normalisation), in Envoy's order
 * ({@code ConnectionManagerUtility::maybeNormalizePath}): first escaped slashes ({@code %2F %2f %5C %5c}) are
 * decoded when the action says so ({@code PathUtil::unescapeSlashes}); then in one pass
 * <ul>
 *   <li>{@code %XX} of an unreserved character (ALPHA DIGIT {@code - . _ ~}, RFC 3986 §2.3, §6.2.2.2) is decoded:
 *       {@code /status/%34%31%38} is {@code /status/418}, {@code /%7e} is {@code /~};
 *   <li>a {@code .} or {@code %2E}/{@code %2e} segment is removed and a {@code ..} one removes the segment before
 *       it (RFC 3986 §5.2.4), never going above the root: {@code /a/b/%2E%2e/c} is {@code /a/c}, {@code /../..} is
 *       {@code /}; dots inside a segment stay ({@code /a%2e%2e/b} is {@code /a../b});
 *   <li>{@code \} becomes {@code /} (Istio: {@code \da} becomes {@code /da});
 *   <li>{@code " < > ^ `} {@code { | }} and bytes 0x80..0xFF are percent-encoded with uppercase hex (Chromium's
 *       path character table);
 *   <li>every other percent-encoding is kept as sent, hex case included: {@code %3f} stays {@code %3f}. RFC 3986
 *       §6.2.2.1 recommends uppercase, but Envoy preserves the case (Chromium copies it unchanged, and its header
 *       validator keeps it by default, {@code uhv_preserve_url_encoded_case}), so a VirtualService written against
 *       Envoy matches here too and the backend sees the bytes the client chose;
 * </ul>
 * and last, for {@code MERGE_SLASHES} and {@code DECODE_AND_MERGE_SLASHES}, runs of {@code /} become one
 * ({@code merge_slashes}, after the dot segments as in Envoy: {@code /a//../b} is {@code /a/b}). The query is never
 * changed and escaped slashes are only looked for in the path.
 *
 * <p><b>Where we depart from Envoy</b>, each time to reject what a backend could read differently from the route:
 * a malformed percent-encoding ({@code %zz}, {@code %4}) is rejected, where Envoy's canonicaliser passes it through
 * (and its header validator too, {@code uhv_allow_malformed_url_encoding}); {@code BASE} and {@code MERGE_SLASHES}
 * reject escaped slashes by default ({@link Type#defaultEscapedSlashes()}); a path of slashes alone merges to
 * {@code /} (Envoy's {@code mergeSlashes} leaves {@code //}); raw bytes 0x80..0xFF are encoded one by one without
 * checking they are UTF-8 (Chromium rejects invalid UTF-8).
 *
 * <p><b>Outcomes</b>: {@link Accepted}, {@link Redirect} (only for {@code UNESCAPE_AND_REDIRECT} when an escaped
 * slash was decoded: 307 to the normalised path and query, as Envoy answers; Envoy answers a gRPC request 400
 * instead, which is the caller's to do), or {@link Rejected} (400, with a reason that quotes at most
 * {@value #MAX_ECHO} characters of the target, escaped).
 *
 * <p>Called on an event loop for every request: one linear scan without regular expressions; a target that needs
 * nothing (no decodable {@code %}, no dot segment, no {@code \}, no {@code //} when merging) is returned as the same
 * string; otherwise {@link PathNormalization} fills one {@code char[]}, copied into the path. Thread-safe
 * (stateless).
 */
public final class RequestTarget {
  /** At most this many characters of a target are quoted in a rejection reason. */
  public static final int MAX_ECHO = 64;

  private static final Accepted ASTERISK = new Accepted(Form.ASTERISK, "*", "", Optional.empty(), false);

  // What the scan of the path saw.
  private static final int DECODE = 1; // %XX of an unreserved character or a dot
  private static final int DOTS = 2; // maybe a "." or ".." segment
  private static final int DOUBLE_SLASH = 4;
  private static final int BACKSLASH = 8;
  private static final int ENCODE = 16; // a character normalize_path percent-encodes
  private static final int ESCAPED_SLASH = 32;

  private static final String SUB_DELIMS = "!$&'()*+,;="; // RFC 3986 §2.2

  /** Visible ASCII the scan of a path has nothing to note about: all but {@code % / . \ # ?} and those to encode. */
  private static final boolean[] PLAIN = new boolean[128];

  static {
    for (char c = 0x21; c < 0x7F; c++) {
      PLAIN[c] = "%/.\\#?".indexOf(c) < 0 && !PathNormalization.encoded(c);
    }
  }

  private RequestTarget() {}

  /** The form of a request target, RFC 9112 §3.2. */
  public enum Form {
    /** {@code /path?query}. */
    ORIGIN,
    /** {@code http://host/path?query}, reduced to origin form. */
    ABSOLUTE,
    /** {@code host:port}, for {@code CONNECT}. */
    AUTHORITY,
    /** {@code *}, for {@code OPTIONS}. */
    ASTERISK
  }

  /** What became of a request target: {@link Accepted}, {@link Redirect} or {@link Rejected}. */
  public sealed interface Result permits Accepted, Redirect, Rejected {}

  /**
   * A target to route and forward.
   *
   * @param form the form it was sent in
   * @param path the normalised path, without the query: what routing matches, rewrite rewrites and the upstream
   *     request starts with; {@code *} for asterisk-form, empty for authority-form
   * @param query the query as sent, with its leading {@code ?}, or empty when the target had none
   * @param authority the authority of an absolute-form or authority-form target ({@code host[:port]}, as sent), to
   *     compare with and replace {@code Host}; empty for the other forms
   * @param changed whether {@link #originForm()} differs from the target as sent (always for absolute-form)
   */
  public record Accepted(Form form, String path, String query, Optional<String> authority, boolean changed)
      implements Result {
    /** Checks every part is given. */
    public Accepted {
      requireNonNull(form, "form");
      requireNonNull(path, "path");
      requireNonNull(query, "query");
      requireNonNull(authority, "authority");
    }

    /** Returns the path and query, the request target to send upstream; the target as sent unless changed. */
    public String originForm() {
      return query.isEmpty() ? path : path + query;
    }
  }

  /**
   * Envoy's {@code UNESCAPE_AND_REDIRECT}: the target had escaped slashes, which were decoded; answer
   * {@value #STATUS} with {@code Location: }{@link #location()} rather than forward.
   *
   * @param target the normalised target the client is sent to
   */
  public record Redirect(Accepted target) implements Result {
    /** 307 Temporary Redirect, as Envoy answers (RFC 9110 §15.4.8: the method and body are kept). */
    public static final int STATUS = 307;

    /** Checks the target is given. */
    public Redirect {
      requireNonNull(target, "target");
    }

    /** Returns {@value #STATUS}. */
    public int status() {
      return STATUS;
    }

    /** Returns the normalised path and query, for the {@code Location} header. */
    public String location() {
      return target.originForm();
    }
  }

  /**
   * A target answered with {@value #STATUS}.
   *
   * @param reason what is wrong and what was expected, quoting at most {@value RequestTarget#MAX_ECHO} characters
   *     of the target with anything but printable ASCII escaped: safe to log and to send back
   */
  public record Rejected(String reason) implements Result {
    /** 400 Bad Request. */
    public static final int STATUS = 400;

    /** Checks the reason is given. */
    public Rejected {
      requireNonNull(reason, "reason");
    }

    /** Returns {@value #STATUS}. */
    public int status() {
      return STATUS;
    }
  }

  /**
   * Reads an HTTP/1.x request-target (RFC 9112 §3.2): origin-form, absolute-form, authority-form for
   * {@code CONNECT}, or asterisk-form for {@code OPTIONS}. Called on an event loop; never blocks, never throws for
   * any target.
   *
   * @param method the request method, case-sensitive (RFC 9110 §9.1)
   * @param requestTarget the request-target as sent, one char per byte (Netty's decoding)
   * @param normalization how to normalise the path
   * @return the accepted target, a redirect, or a rejection
   */
  public static Result http1(String method, String requestTarget, PathNormalization normalization) {
    return parse(method, requestTarget, normalization, true);
  }

  /**
   * Reads an HTTP/2 {@code :path} (RFC 9113 §8.3.1): origin-form, or {@code *} for {@code OPTIONS}. A standard
   * {@code CONNECT} has no {@code :path} (§8.5): pass its {@code :authority} here instead, which is read as
   * authority-form; an extended {@code CONNECT} (RFC 8441, with {@code :protocol}) has a path and is not a
   * {@code CONNECT} for this method. Called on an event loop; never blocks, never throws for any path.
   *
   * @param method the {@code :method}, case-sensitive
   * @param path the {@code :path} as sent (or {@code :authority} for a standard {@code CONNECT})
   * @param normalization how to normalise the path
   * @return the accepted target, a redirect, or a rejection
   */
  public static Result http2(String method, String path, PathNormalization normalization) {
    return parse(method, path, normalization, false);
  }

  private static Result parse(String method, String t, PathNormalization n, boolean http1) {
    requireNonNull(method, "method");
    requireNonNull(t, "target");
    requireNonNull(n, "normalization");
    if (method.equals("CONNECT")) {
      return authorityForm(t, http1);
    }
    String what = http1 ? "request target " : ":path ";
    if (t.isEmpty()) {
      return reject(what, t, "empty", expected(http1));
    }
    char first = t.charAt(0);
    if (first == '/') {
      return path(what, t, 0, Form.ORIGIN, Optional.empty(), n);
    }
    if (first == '*' && t.length() == 1) {
      return method.equals("OPTIONS") ? ASTERISK : reject(what, t, "asterisk-form with method " + echo(method),
          "* only with OPTIONS, RFC 9112 §3.2.4");
    }
    int authorityStart = http1 ? schemeEnd(t) : -1;
    if (authorityStart < 0) {
      return reject(what, t, http1 ? "neither origin-form nor absolute-form" : "does not start with /",
          expected(http1));
    }
    return absoluteForm(what, method, t, authorityStart, n);
  }

  private static String expected(boolean http1) {
    return http1
        ? "/path[?query], http[s]://host/path[?query], * for OPTIONS or host:port for CONNECT, RFC 9112 §3.2"
        : "/path[?query] or * for OPTIONS, RFC 9113 §8.3.1";
  }

  /** Returns the index after {@code http://} or {@code https://} (any case), or -1. */
  private static int schemeEnd(String t) {
    if (t.regionMatches(true, 0, "http://", 0, 7)) {
      return 7;
    }
    return t.regionMatches(true, 0, "https://", 0, 8) ? 8 : -1;
  }

  private static Result absoluteForm(String what, String method, String t, int a, PathNormalization n) {
    int len = t.length();
    int e = a;
    while (e < len) {
      char c = t.charAt(e);
      if (c == '/' || c == '?' || c == '#') {
        break;
      }
      e++;
    }
    String problem = authorityProblem(t, a, e, false);
    if (problem != null) {
      return reject(what, t, problem, "http[s]://host[:port]/path[?query], RFC 9112 §3.2.2");
    }
    Optional<String> authority = Optional.of(t.substring(a, e));
    if (e == len && method.equals("OPTIONS")) { // RFC 9112 §3.2.4: the last proxy sends "*"
      return new Accepted(Form.ASTERISK, "*", "", authority, true);
    }
    return path(what, t, e, Form.ABSOLUTE, authority, n);
  }

  private static Result authorityForm(String t, boolean http1) {
    String problem = authorityProblem(t, 0, t.length(), true);
    if (problem != null) {
      return reject(http1 ? "request target " : ":authority ", t, problem,
          "host:port for CONNECT, RFC 9112 §3.2.3");
    }
    return new Accepted(Form.AUTHORITY, "", "", Optional.of(t), false);
  }

  /**
   * Returns what is wrong with {@code t[a, e)} as an authority without userinfo ({@code host[:port]}, RFC 3986
   * §3.2), or null.
   */
  private static String authorityProblem(String t, int a, int e, boolean portRequired) {
    if (a == e) {
      return "empty authority";
    }
    for (int i = a; i < e; i++) {
      if (t.charAt(i) == '@') {
        return "userinfo in the authority (RFC 9110 §4.2.4)";
      }
    }
    int i = a;
    if (t.charAt(a) == '[') {
      int close = t.indexOf(']', a);
      if (close < 0 || close >= e || close == a + 1) {
        return "IP literal without a closing ]";
      }
      for (int k = a + 1; k < close; k++) {
        char c = t.charAt(k);
        if (!PathNormalization.unreserved(c) && SUB_DELIMS.indexOf(c) < 0 && c != ':') {
          return "character " + describe(c) + " in an IP literal";
        }
      }
      i = close + 1;
    } else {
      for (; i < e && t.charAt(i) != ':'; i++) {
        char c = t.charAt(i);
        if (c == '%') {
          if (hexPair(t, i + 1, e) < 0) {
            return "malformed percent-encoding in the host";
          }
          i += 2;
        } else if (!PathNormalization.unreserved(c) && SUB_DELIMS.indexOf(c) < 0) {
          return "character " + describe(c) + " in the host";
        }
      }
      if (i == a) {
        return "empty host (RFC 9110 §4.2.1)";
      }
    }
    if (i == e) {
      return portRequired ? "no port" : null;
    }
    if (t.charAt(i) != ':') {
      return "character " + describe(t.charAt(i)) + " after the IP literal";
    }
    int digits = e - i - 1;
    if (digits == 0) {
      return portRequired ? "empty port" : null;
    }
    int port = 0;
    for (int k = i + 1; k < e; k++) {
      char c = t.charAt(k);
      if (c < '0' || c > '9') {
        return "port is not a number";
      }
      port = digits > 5 ? port : port * 10 + (c - '0');
    }
    return digits > 5 || port > 65535 ? "port out of range 0..65535" : null;
  }

  /** Validates and normalises the path starting at {@code start} (a {@code /}, a {@code ?}, or the end). */
  private static Result path(String what, String t, int start, Form form, Optional<String> authority,
      PathNormalization n) {
    int len = t.length();
    int flags = 0;
    int q = len;
    char prev = 0;
    for (int i = start; i < len; i++) {
      char c = t.charAt(i);
      if (c < 128 && PLAIN[c]) {
        prev = c;
        continue;
      }
      if (c == '?') {
        q = i;
        break;
      }
      if (c <= 0x20 || c >= 0x7F) {
        if (c >= 0x80 && c <= 0xFF) {
          flags |= ENCODE;
        } else {
          return reject(what, t, invalidCharacter(c, i), "visible characters, RFC 9112 §3.2");
        }
      } else if (c == '%') {
        int v = hexPair(t, i + 1, len);
        if (v < 0) {
          return reject(what, t, "malformed percent-encoding at index " + i, "% and two hex digits, RFC 3986 §2.1");
        }
        if (v == 0) {
          return reject(what, t, "%00 at index " + i, "no encoded NUL, Istio rejects it in every normalization");
        }
        if (v == '/' || v == '\\') {
          flags |= ESCAPED_SLASH;
        } else if (PathNormalization.unreserved(v)) {
          flags |= DECODE;
        }
        i += 2;
      } else if (c == '/') {
        flags |= prev == '/' ? DOUBLE_SLASH : 0;
      } else if (c == '.') {
        if (prev == '/') {
          char next = i + 1 < len ? t.charAt(i + 1) : '/';
          flags |= next == '/' || next == '?' || next == '.' || next == '%' || next == '\\' ? DOTS : 0;
        }
      } else if (c == '\\') {
        flags |= BACKSLASH;
      } else if (c == '#') {
        return reject(what, t, "fragment # at index " + i, "no fragment in a request target, RFC 9112 §3.2");
      } else if (PathNormalization.encoded(c)) {
        flags |= ENCODE;
      }
      prev = c;
    }
    for (int i = q + 1; i < len; i++) {
      char c = t.charAt(i);
      if (c <= 0x20 || c == 0x7F || c > 0xFF) {
        return reject(what, t, invalidCharacter(c, i), "visible characters, RFC 9112 §3.2");
      }
      if (c == '#') {
        return reject(what, t, "fragment # at index " + i, "no fragment in a request target, RFC 9112 §3.2");
      }
    }

    boolean unescape = false;
    boolean redirect = false;
    if ((flags & ESCAPED_SLASH) != 0) {
      switch (n.escapedSlashes()) {
        case REJECT_REQUEST:
          return reject(what, t, "escaped slash (%2F or %5C) in the path", "none with pathNormalization "
              + n.type() + " and escaped slashes REJECT_REQUEST; UNESCAPE_AND_FORWARD decodes them, "
              + "KEEP_UNCHANGED keeps them");
        case UNESCAPE_AND_REDIRECT:
          redirect = true;
          unescape = true;
          break;
        case UNESCAPE_AND_FORWARD:
          unescape = true;
          break;
        case KEEP_UNCHANGED:
        default:
          break;
      }
    }
    Type type = n.type();
    int work = type.normalizes() ? DECODE | DOTS | BACKSLASH | ENCODE | (type.mergesSlashes() ? DOUBLE_SLASH : 0) : 0;
    String path;
    if (start == q) {
      path = "/";
    } else if ((flags & work) == 0 && !unescape) {
      path = start == 0 && q == len ? t : t.substring(start, q);
    } else {
      path = n.apply(t, start, q, unescape, (flags & ENCODE) != 0);
    }
    boolean changed = form != Form.ORIGIN || path != t && !(path.length() == q && t.startsWith(path));
    Accepted accepted = new Accepted(form, path, q == len ? "" : t.substring(q), authority, changed);
    return redirect ? new Redirect(accepted) : accepted;
  }

  /** Returns the octet {@code t[i, i+2)} encodes, or -1 unless both are hex digits before {@code end}. */
  private static int hexPair(String t, int i, int end) {
    if (i + 1 >= end) {
      return -1;
    }
    int h = PathNormalization.hex(t.charAt(i));
    int l = PathNormalization.hex(t.charAt(i + 1));
    return h < 0 || l < 0 ? -1 : h << 4 | l;
  }

  private static String invalidCharacter(char c, int i) {
    return (c > 0xFF ? "character " + describe(c) + " (not a byte)" : c == ' ' ? "space" : "control character "
        + describe(c)) + " at index " + i;
  }

  private static String describe(char c) {
    return c > 0x20 && c < 0x7F ? "'" + c + "'" : String.format(c > 0xFF ? "U+%04X" : "0x%02X", (int) c);
  }

  private static Rejected reject(String what, String t, String problem, String expected) {
    return new Rejected(what + echo(t) + ": " + problem + " (expected: " + expected + ")");
  }

  /**
   * Quotes at most {@value #MAX_ECHO} characters of {@code s}, escaping {@code "}, {@code \} and anything but
   * printable ASCII, and says how long it was when cut.
   */
  static String echo(String s) {
    int n = Math.min(s.length(), MAX_ECHO);
    StringBuilder b = new StringBuilder(n + 24).append('"');
    for (int i = 0; i < n; i++) {
      char c = s.charAt(i);
      if (c == '"' || c == '\\') {
        b.append('\\').append(c);
      } else if (c >= 0x20 && c < 0x7F) {
        b.append(c);
      } else {
        b.append(String.format(c > 0xFF ? "\\u%04X" : "\\x%02X", (int) c));
      }
    }
    b.append('"');
    if (s.length() > n) {
      b.append("... (").append(s.length()).append(" characters)");
    }
    return b.toString();
  }
}
