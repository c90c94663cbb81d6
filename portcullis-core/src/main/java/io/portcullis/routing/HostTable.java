package io.portcullis.routing;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/**
 * Host name to value with Istio's precedence: the exact name, then the longest {@code *.} wildcard suffix, then
 * {@code *}. Lookup costs one hash probe per label. Immutable; build with {@link #builder()}.
 *
 * @param <V> the value type
 */
public final class HostTable<V> {
  private final Map<String, V> entries;
  private final boolean hasWildcards;

  private HostTable(Map<String, V> entries) {
    this.entries = Collections.unmodifiableMap(new LinkedHashMap<>(entries));
    this.hasWildcards = entries.keySet().stream().anyMatch(k -> k.startsWith("*"));
  }

  /** Returns a builder; the first value put for a host wins. */
  public static <V> Builder<V> builder() {
    return new Builder<>();
  }

  /** Returns an empty table. */
  public static <V> HostTable<V> empty() {
    return new HostTable<>(Map.of());
  }

  /**
   * Returns the value for {@code host} (lower case, no port), or empty when none covers it. A null host (a client that
   * sent no SNI) finds only {@code *}.
   */
  public Optional<V> find(String host) {
    if (host == null || host.isEmpty()) {
      return Optional.ofNullable(entries.get("*"));
    }
    V v = entries.get(host);
    if (v != null || !hasWildcards) {
      return Optional.ofNullable(v);
    }
    int dot = host.indexOf('.');
    while (dot >= 0) {
      v = entries.get("*" + host.substring(dot));
      if (v != null) {
        return Optional.of(v);
      }
      dot = host.indexOf('.', dot + 1);
    }
    return Optional.ofNullable(entries.get("*"));
  }

  /** Returns every entry, in insertion order. */
  public Map<String, V> entries() {
    return entries;
  }

  /** Accumulates entries. */
  public static final class Builder<V> {
    private final Map<String, V> entries = new LinkedHashMap<>();

    /** Adds {@code host} (exact, {@code *.suffix} or {@code *}) unless already present; returns whether it was added. */
    public boolean put(String host, V value) {
      return entries.putIfAbsent(host.toLowerCase(Locale.ROOT), value) == null;
    }

    /** Returns the value already put for exactly {@code host}, if any. */
    public Optional<V> get(String host) {
      return Optional.ofNullable(entries.get(host.toLowerCase(Locale.ROOT)));
    }

    /** Builds the immutable table. */
    public HostTable<V> build() {
      return new HostTable<>(entries);
    }
  }

  /** Returns whether server host pattern {@code pattern} covers host or pattern {@code host}. */
  public static boolean covers(String pattern, String host) {
    if (pattern.equals("*") || pattern.equalsIgnoreCase(host)) {
      return true;
    }
    if (pattern.startsWith("*.")) {
      String suffix = pattern.substring(1);
      return host.length() > suffix.length() && host.regionMatches(true, host.length() - suffix.length(), suffix, 0,
          suffix.length());
    }
    return false;
  }
}
