package io.portcullis.config;

import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonMappingException;
import com.fasterxml.jackson.databind.exc.MismatchedInputException;
import java.util.Optional;
import org.yaml.snakeyaml.error.Mark;
import org.yaml.snakeyaml.error.MarkedYAMLException;
import org.yaml.snakeyaml.reader.ReaderException;

/**
 * Describes a YAML or JSON parse failure by where it is (line and column) and what the parser found wrong, never by
 * quoting the input: a manifest may be a Secret, and the error may sit inside its key.
 *
 * <p>The parsers' own messages quote the input. SnakeYAML's {@link MarkedYAMLException#getMessage()} (and so
 * Jackson's {@code JacksonYAMLParseException}, original message included) carries a snippet of the line under a
 * caret; Jackson's JSON parser quotes an unrecognised token of up to 256 characters
 * ({@code Unrecognized token 'MIGHAgEA…'}); SnakeYAML appends what it found to some problems
 * ({@code but found: …}); databind quotes a value it cannot convert. So only the problem phrase is taken
 * (SnakeYAML's problem and context, the first line of Jackson's original message, never {@code getMessage()}), and
 * {@link #withoutInput} then replaces every run of {@value #MIN_RUN} or more characters of it that also occurs in the
 * input by {@code …}: what is left quotes at most {@value #MIN_RUN} - 1 characters of the input in a row (5 bytes of
 * a base64 key), wherever the library put them. A phrase that happens to share words with the file (a comment saying
 * "not allowed here") loses those words, never its line and column.
 *
 * <p>Stateless; callers must not log the exception itself either (its message and stack carry the snippet).
 */
public final class ParseErrors {
  /** The shortest run of input characters that {@link #withoutInput} removes. */
  public static final int MIN_RUN = 8;
  /** Longer phrases are cut, after {@link #withoutInput}. */
  private static final int MAX_PHRASE = 200;

  private ParseErrors() {}

  /**
   * Describes {@code e} (or the first parse exception among its causes) as {@code line L, column C: what was wrong},
   * with nothing of {@code input} in it.
   *
   * @param e what the parser threw
   * @param input the text that was parsed, to keep out of the description
   * @return empty when neither {@code e} nor a cause is a SnakeYAML or Jackson parse exception
   */
  public static Optional<String> describe(Throwable e, CharSequence input) {
    for (Throwable t = e; t != null; t = t.getCause() == t ? null : t.getCause()) {
      if (t instanceof MarkedYAMLException m) {
        return Optional.of(yaml(m, input));
      }
      if (t instanceof ReaderException r) {
        // A character YAML does not allow (a control character): its code point is one character, not a quote.
        return Optional.of(at(input, r.getPosition()) + ": character U+" + String.format("%04X", r.getCodePoint())
            + " is not allowed in YAML");
      }
    }
    for (Throwable t = e; t != null; t = t.getCause() == t ? null : t.getCause()) {
      if (t instanceof JsonProcessingException j) {
        JsonLocation l = j.getLocation();
        String where = l == null || l.getLineNr() < 1 ? "" : "line " + l.getLineNr() + ", column " + l.getColumnNr()
            + ": ";
        return Optional.of(where + phrase(j.getOriginalMessage(), input));
      }
    }
    return Optional.empty();
  }

  private static String yaml(MarkedYAMLException m, CharSequence input) {
    StringBuilder b = new StringBuilder();
    Mark problem = m.getProblemMark() != null ? m.getProblemMark() : m.getContextMark();
    if (problem != null) {
      b.append("line ").append(problem.getLine() + 1).append(", column ").append(problem.getColumn() + 1)
          .append(": ");
    }
    b.append(m.getProblem() == null ? "not valid YAML" : phrase(m.getProblem(), input));
    if (m.getContext() != null) {
      b.append(", ").append(phrase(m.getContext(), input));
      Mark c = m.getContextMark();
      if (c != null && problem != null && (c.getLine() != problem.getLine() || c.getColumn() != problem.getColumn())) {
        b.append(" that starts at line ").append(c.getLine() + 1).append(", column ").append(c.getColumn() + 1);
      }
    }
    return b.toString();
  }

  private static String phrase(String message, CharSequence input) {
    String s = message == null ? "" : message.strip();
    int nl = s.indexOf('\n');
    if (nl >= 0) {
      s = s.substring(0, nl).strip(); // SnakeYAML's " in 'reader', line …" and its snippet follow on later lines
    }
    // Jackson names the source in nested locations: "(start marker at [Source: REDACTED …; line: 1, column: 1])".
    s = s.replaceAll("\\[Source: [^;\\]]*; ", "[");
    s = withoutInput(s, input);
    return s.length() > MAX_PHRASE ? s.substring(0, MAX_PHRASE) + "…" : s;
  }

  /**
   * Returns {@code message} with every run of {@value #MIN_RUN} or more characters that also occurs in {@code input}
   * replaced by {@code …}: for a library's message about input that may hold key material (a certificate parser's,
   * a credential file reader's).
   *
   * <p>Cost: one search of {@code input} per character of {@code message}; for errors only.
   */
  public static String withoutInput(String message, CharSequence input) {
    String in = input.toString();
    int n = message.length();
    boolean[] quoted = new boolean[n];
    boolean any = false;
    for (int i = 0; i + MIN_RUN <= n; i++) {
      if (in.contains(message.substring(i, i + MIN_RUN))) {
        java.util.Arrays.fill(quoted, i, i + MIN_RUN, true);
        any = true;
      }
    }
    if (!any) {
      return message;
    }
    StringBuilder b = new StringBuilder(n);
    for (int i = 0; i < n; i++) {
      if (!quoted[i]) {
        b.append(message.charAt(i));
      } else if (i == 0 || !quoted[i - 1]) {
        b.append('…');
      }
    }
    return b.toString();
  }

  /**
   * Names the type databind wanted where {@code e} failed, in the words of a Kubernetes schema ({@code a string},
   * {@code true or false}, {@code a map of strings}), for a message that must not quote the value, as databind's does.
   */
  public static String expectedType(JsonMappingException e) {
    Class<?> t = e instanceof MismatchedInputException m ? m.getTargetType() : null;
    if (t == null) {
      return "of the expected type";
    }
    if (t == String.class) {
      return "a string";
    }
    if (t == Boolean.class || t == boolean.class) {
      return "true or false";
    }
    if (java.util.Map.class.isAssignableFrom(t)) {
      return "a map of strings";
    }
    if (java.util.Collection.class.isAssignableFrom(t)) {
      return "a list";
    }
    if (Number.class.isAssignableFrom(t) || t.isPrimitive()) {
      return "a number";
    }
    return "an object (" + t.getSimpleName() + ")";
  }

  private static String at(CharSequence input, int index) {
    int line = 1;
    int column = 1;
    for (int i = 0; i < Math.min(index, input.length()); i++) {
      if (input.charAt(i) == '\n') {
        line++;
        column = 1;
      } else {
        column++;
      }
    }
    return "line " + line + ", column " + column;
  }
}
