package io.portcullis.proxy;

import static java.util.Objects.requireNonNull;

/**
 * How request paths are normalised before routing, rewrite and the upstream request see them: Istio's
 * {@code meshConfig.pathNormalization.normalization} ({@code ProxyPathNormalization.NormalizationType}) together
 * with Envoy's {@code HttpConnectionManager.path_with_escaped_slashes_action}. {@link RequestTarget} applies it.
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
