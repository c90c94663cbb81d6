package io.portcullis.config.core;

import io.portcullis.config.Resource;
import io.portcullis.config.TranslationContext;
import java.util.Set;

/**
 * The Kubernetes core API family ({@code v1}): {@code Secret} and {@code ConfigMap} become credential sources
 * ({@link CredentialTranslator}). Runs before the other families, which read what it produced from the
 * {@link TranslationContext}.
 */
public final class CoreTranslator {
  private static final Set<String> KINDS = Set.of("Secret", "ConfigMap");

  private CoreTranslator() {}

  /** Whether {@code r} is of this family: {@code apiVersion: v1} and a kind it translates. */
  public static boolean handles(Resource r) {
    return r.apiVersion().equals("v1") && KINDS.contains(r.kind());
  }

  /** Translates this family's resources ({@link #handles}) into {@code cx}: credential sources. */
  public static void translate(Iterable<Resource> resources, TranslationContext cx) {
    for (Resource r : resources) {
      switch (r.kind()) {
        case "Secret" -> CredentialTranslator.secret(r, cx);
        case "ConfigMap" -> CredentialTranslator.configMap(r, cx);
        default -> throw new IllegalArgumentException("not a core resource: " + r.kind());
      }
    }
  }
}
