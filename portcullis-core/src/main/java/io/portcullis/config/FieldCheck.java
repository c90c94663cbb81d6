package io.portcullis.config;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/**
 * Finds fields Portcullis does not act on, so that none is ignored silently.
 *
 * <p>Patterns are dotted paths; {@code []} follows a list field, {@code *} stands for any one key (a map such as
 * {@code headers.*}) and a trailing {@code **} allows any subtree.
 */
public final class FieldCheck {
  private final List<String[]> patterns = new ArrayList<>();

  /** Allows the fields matching {@code patterns} (dotted paths, see the class comment). */
  public FieldCheck(String... patterns) {
    for (String p : patterns) {
      this.patterns.add(p.split("\\."));
    }
  }

  /** Returns the real paths ({@code spec.http[0].mirror}) of fields no pattern allows. */
  public List<String> unsupported(JsonNode root) {
    List<String> out = new ArrayList<>();
    visit(root, new ArrayList<>(), "", out);
    return out;
  }

  private void visit(JsonNode node, List<String> norm, String real, List<String> out) {
    if (node.isArray()) {
      for (int i = 0; i < node.size(); i++) {
        List<String> n = new ArrayList<>(norm);
        n.set(n.size() - 1, n.get(n.size() - 1) + "[]");
        visitChildren(node.get(i), n, real + "[" + i + "]", out);
      }
      return;
    }
    visitChildren(node, norm, real, out);
  }

  private void visitChildren(JsonNode node, List<String> norm, String real, List<String> out) {
    if (!node.isObject() || subtreeAllowed(norm)) {
      return;
    }
    for (Map.Entry<String, JsonNode> e : node.properties()) {
      List<String> n = new ArrayList<>(norm);
      n.add(e.getKey());
      String r = real.isEmpty() ? e.getKey() : real + "." + e.getKey();
      if (!allowed(n, e.getValue().isArray())) {
        out.add(r);
      } else {
        visit(e.getValue(), n, r, out);
      }
    }
  }

  private boolean subtreeAllowed(List<String> segs) {
    for (String[] p : patterns) {
      if (p.length == segs.size() + 1 && p[p.length - 1].equals("**") && prefixMatches(p, segs, segs.size())) {
        return true;
      }
    }
    return false;
  }

  private boolean allowed(List<String> segs, boolean isArray) {
    for (String[] p : patterns) {
      int n = segs.size();
      if (p.length < n) {
        if (p.length > 0 && p[p.length - 1].equals("**") && prefixMatches(p, segs, p.length - 1)) {
          return true;
        }
        continue;
      }
      boolean ok = true;
      for (int i = 0; i < n && ok; i++) {
        String want = p[i];
        String have = segs.get(i);
        if (i == n - 1 && isArray && want.endsWith("[]")) {
          want = want.substring(0, want.length() - 2);
        }
        ok = want.equals("*") || want.equals("**") || want.equals(have)
            || (want.startsWith("*") && want.endsWith("[]") && have.endsWith("[]"));
      }
      if (ok) {
        return true;
      }
    }
    return false;
  }

  /**
   * Returns the candidate {@code name} most likely misspells, for a "did you mean" hint: one equal to it but for
   * case, else one at most two edits away (Levenshtein, case-insensitive), the nearest first and, among equals, the
   * first listed.
   */
  public static Optional<String> closest(String name, Collection<String> candidates) {
    String best = null;
    int bestDistance = 3;
    for (String c : candidates) {
      int d = c.equalsIgnoreCase(name) ? 0 : distance(name.toLowerCase(Locale.ROOT), c.toLowerCase(Locale.ROOT));
      if (d < bestDistance) {
        best = c;
        bestDistance = d;
      }
    }
    return Optional.ofNullable(best);
  }

  private static int distance(String a, String b) {
    int[] prev = new int[b.length() + 1];
    int[] cur = new int[b.length() + 1];
    for (int j = 0; j <= b.length(); j++) {
      prev[j] = j;
    }
    for (int i = 1; i <= a.length(); i++) {
      cur[0] = i;
      for (int j = 1; j <= b.length(); j++) {
        cur[j] = Math.min(Math.min(cur[j - 1], prev[j]) + 1, prev[j - 1] + (a.charAt(i - 1) == b.charAt(j - 1) ? 0
            : 1));
      }
      int[] t = prev;
      prev = cur;
      cur = t;
    }
    return prev[b.length()];
  }

  private static boolean prefixMatches(String[] p, List<String> segs, int count) {
    for (int i = 0; i < count; i++) {
      if (!p[i].equals("*") && !p[i].equals(segs.get(i))) {
        return false;
      }
    }
    return true;
  }
}
