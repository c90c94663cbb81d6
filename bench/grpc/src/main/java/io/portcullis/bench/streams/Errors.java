package io.portcullis.bench.streams;

/** Error text for a {@code RESULT} line: one word (whitespace as {@code _}), at most 160 characters. */
final class Errors {
  private Errors() {}

  static String oneWord(String text) {
    String s = text.strip().replaceAll("\\s+", "_");
    return s.isEmpty() ? "unknown" : s.substring(0, Math.min(160, s.length()));
  }
}
