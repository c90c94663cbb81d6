package io.portcullis.config.ingress;

import static java.util.Objects.requireNonNull;

import java.util.Locale;
import java.util.Optional;

/**
 * Decides which Ingresses this gateway serves, as Istio's {@code virtualservices.go
 * shouldProcessIngressWithClass} does with meshConfig {@code ingressClass} and {@code ingressControllerMode}.
 * Pure; safe on any thread.
 *
 * @param ingressClass {@code --ingress-class}: the {@code kubernetes.io/ingress.class} annotation value served
 *     (Istio's default {@code istio})
 * @param mode {@code --ingress-mode} (Istio's default {@link Mode#STRICT})
 */
public record IngressClassSelection(String ingressClass, Mode mode) {
  /** The {@code spec.controller} of an IngressClass whose Ingresses Istio (and so Portcullis) serves. */
  public static final String CONTROLLER = "istio.io/ingress-controller";

  /** The annotation naming an Ingress's class, older than {@code spec.ingressClassName}. */
  public static final String CLASS_ANNOTATION = "kubernetes.io/ingress.class";

  /** Istio's defaults: class {@code istio}, mode {@code STRICT}. */
  public static final IngressClassSelection DEFAULT = new IngressClassSelection("istio", Mode.STRICT);

  /** Istio's meshConfig {@code ingressControllerMode}. */
  public enum Mode {
    /** Only Ingresses whose class names this gateway. */
    STRICT,
    /** Those, and Ingresses without a class. */
    DEFAULT,
    /** No Ingress by annotation or without a class; an IngressClass naming Istio's controller still counts. */
    OFF;

    /** Parses {@code STRICT}, {@code DEFAULT} or {@code OFF}, ignoring case. */
    public static Mode parse(String s) {
      try {
        return valueOf(s.trim().toUpperCase(Locale.ROOT));
      } catch (IllegalArgumentException e) {
        throw new IllegalArgumentException("--ingress-mode: " + s + " (expected: STRICT, DEFAULT or OFF)", e);
      }
    }
  }

  /** Checks for nulls and an empty class. */
  public IngressClassSelection {
    requireNonNull(ingressClass, "ingressClass");
    requireNonNull(mode, "mode");
    if (ingressClass.isBlank()) {
      throw new IllegalArgumentException("ingressClass: empty (expected: a class name, e.g. istio)");
    }
  }

  /**
   * Returns whether an Ingress is served, exactly as Istio decides: the {@code kubernetes.io/ingress.class}
   * annotation, when present, wins (OFF: no; else equal to {@link #ingressClass}); else the IngressClass named by
   * {@code spec.ingressClassName}, when it exists, decides by its controller whatever the mode; else (no class,
   * or a class that does not exist) only mode DEFAULT serves it.
   *
   * @param annotation the annotation's value, if present
   * @param classController the {@code spec.controller} of the IngressClass the Ingress names, if it names one that
   *     exists
   */
  public boolean selects(Optional<String> annotation, Optional<String> classController) {
    if (annotation.isPresent()) {
      return mode != Mode.OFF && annotation.get().equals(ingressClass);
    }
    if (classController.isPresent()) {
      return classController.get().equals(CONTROLLER);
    }
    return mode == Mode.DEFAULT;
  }
}
