package io.portcullis.bench.streams;

import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;

/** {@code --name value} command-line options; every option read must be known, and every one given must be read. */
final class Options {
  private final Map<String, String> values;
  private final Set<String> read = new HashSet<>();

  private Options(Map<String, String> values) {
    this.values = values;
  }

  static Options parse(String[] args) {
    Map<String, String> v = new HashMap<>();
    for (int i = 0; i < args.length; i += 2) {
      if (!args[i].startsWith("--") || i + 1 >= args.length) {
        throw new IllegalArgumentException("option " + args[i] + " (expected: --name value pairs)");
      }
      v.put(args[i].substring(2), args[i + 1]);
    }
    return new Options(v);
  }

  String string(String name, String fallback) {
    read.add(name);
    return values.getOrDefault(name, fallback);
  }

  int integer(String name, int fallback) {
    String s = string(name, null);
    try {
      return s == null ? fallback : Integer.parseInt(s);
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException("--" + name + " " + s + " (expected: an integer)", e);
    }
  }

  /** Fails on an option given but never read (a typo would otherwise measure the defaults silently). */
  void checkAllRead() {
    for (String k : values.keySet()) {
      if (!read.contains(k)) {
        throw new IllegalArgumentException("option --" + k + " is not known here (known: " + read + ")");
      }
    }
  }
}
