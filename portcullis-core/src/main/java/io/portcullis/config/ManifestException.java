package io.portcullis.config;

import static java.util.Objects.requireNonNull;

import java.nio.file.Path;

/**
 * Thrown when a manifest file does not parse into Kubernetes objects; the message names file, document and line or
 * field, and never quotes the file.
 */
public final class ManifestException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  private final String detail;

  /** Creates one about {@code file}; {@code detail} says where in it and what was expected. */
  public ManifestException(Path file, String detail) {
    super(requireNonNull(file, "file") + ": " + requireNonNull(detail, "detail"));
    this.detail = detail;
  }

  /** Returns the message without the file: {@code document 1: line 7, column 52: ... (expected: ...)}. */
  public String detail() {
    return detail;
  }
}
