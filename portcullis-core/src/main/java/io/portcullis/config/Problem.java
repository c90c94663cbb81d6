package io.portcullis.config;

import static java.util.Objects.requireNonNull;

/**
 * Something wrong, unsupported or noteworthy in the configuration, named precisely enough to fix.
 *
 * <p>Rendered as {@code VirtualService default/httpbin (dir/vs.yaml): spec.http[0].timeout: -3s (expected: ...)}.
 *
 * @param severity how bad it is
 * @param subject the resource ({@code Kind namespace/name}) or, for a file that did not parse, the file
 * @param source the file the resource came from, or {@code ""}
 * @param field the field path ({@code spec.servers[0].port.number}), or {@code ""} for the whole resource
 * @param message what is wrong and what was expected
 */
public record Problem(Severity severity, String subject, String source, String field, String message) {

  /** How a problem affects the configuration. */
  public enum Severity {
    /** Worth knowing; nothing is left out (an unknown kind, a Virtual Service bound to no Gateway). */
    INFO,
    /** A field is ignored or a default was taken; the resource still applies. */
    WARNING,
    /** The resource, or the part named by the field path, is left out. */
    ERROR
  }

  /** Checks that no component is null. */
  public Problem {
    requireNonNull(severity, "severity");
    requireNonNull(subject, "subject");
    requireNonNull(source, "source");
    requireNonNull(field, "field");
    requireNonNull(message, "message");
  }

  /** Returns a problem about {@code resource}, naming it and its file. */
  public static Problem of(Severity severity, Resource resource, String field, String message) {
    return new Problem(severity, resource.id(), resource.source().toString(), field, message);
  }

  @Override
  public String toString() {
    StringBuilder b = new StringBuilder(subject);
    if (!source.isEmpty() && !source.equals(subject)) {
      b.append(" (").append(source).append(')');
    }
    b.append(": ");
    if (!field.isEmpty()) {
      b.append(field).append(": ");
    }
    return b.append(message).toString();
  }
}
