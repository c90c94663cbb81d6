package io.portcullis.config.gatewayapi;

import io.portcullis.config.Problem;
import io.portcullis.config.TranslationContext;
import java.util.ArrayList;
import java.util.List;

/**
 * What a route's rules found while they were translated, for its parents' {@code ResolvedRefs}, {@code Accepted} and
 * {@code PartiallyInvalid} conditions: the first unresolved reference (Gateway API route reasons
 * {@code RefNotPermitted}, {@code InvalidKind}, {@code BackendNotFound}, {@code UnsupportedProtocol}) and the rules
 * dropped as invalid (reasons {@code UnsupportedValue}, {@code IncompatibleFilters}).
 */
final class RefStatus {
  /** A rule left out: its index, the reason, and what was wrong with it (the first ERROR reported for it). */
  record Dropped(int rule, String reason, String message) {}

  String refReason = "";
  String refMessage = "";
  /** How many rules the route has (one when {@code rules} is empty: the spec's default rule). */
  int rules;
  final List<Dropped> dropped = new ArrayList<>();

  /** Records an unresolved reference; the first one is kept. */
  void unresolved(String reason, String message) {
    if (refReason.isEmpty()) {
      refReason = reason;
      refMessage = message;
    }
  }

  /**
   * Records that rule {@code rule} is left out for {@code reason}, named by the first ERROR reported since problem
   * {@code problemsBefore}.
   */
  void drop(int rule, String reason, TranslationContext cx, int problemsBefore) {
    String message = "spec.rules[" + rule + "] is not valid";
    for (Problem p : cx.problems().subList(problemsBefore, cx.problems().size())) {
      if (p.severity() == Problem.Severity.ERROR) {
        message = p.field() + ": " + p.message();
        break;
      }
    }
    dropped.add(new Dropped(rule, reason, message));
  }

  /** Whether every rule was dropped: the route is not accepted. */
  boolean allDropped() {
    return !dropped.isEmpty() && dropped.size() >= rules;
  }

  /** Returns the dropped rules as the spec's {@code PartiallyInvalid} message asks: "Dropped Rule" and which. */
  String droppedMessage() {
    StringBuilder b = new StringBuilder(dropped.size() == 1 ? "Dropped Rule " : "Dropped Rules ");
    for (int i = 0; i < dropped.size(); i++) {
      b.append(i == 0 ? "" : "; ").append(dropped.get(i).rule()).append(" (").append(dropped.get(i).message())
          .append(')');
    }
    return b.toString();
  }
}
