package io.portcullis.config;

/** Thrown when a manifest file does not parse into Kubernetes objects; the message names file, document and field. */
public final class ManifestException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  /** Creates one with the full, user-facing message. */
  public ManifestException(String message) {
    super(message);
  }
}
