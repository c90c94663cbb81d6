package io.portcullis.config;

import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * One user object with the {@code status} Kubernetes would hold for it, computed by a translator: Gateway API
 * {@code GatewayClass}, {@code Gateway}, routes ({@code Accepted}, {@code Programmed}, {@code ResolvedRefs} … as the
 * Gateway API spec defines them), Kubernetes {@code Ingress} ({@code status.loadBalancer}). Shown by the admin
 * server's {@code /apis/...} endpoints and {@code portcullis get}; written back by the Kubernetes mode.
 *
 * @param resource the object as read (its body is never changed)
 * @param status the object's {@code status}, a JSON object
 */
public record ObjectStatus(Resource resource, ObjectNode status) {

  /** Checks that neither component is null. */
  public ObjectStatus {
    requireNonNull(resource, "resource");
    requireNonNull(status, "status");
  }

  /** Returns a copy of the object's body with {@code status} replaced by this one. */
  public ObjectNode withStatus() {
    JsonNode body = resource.body();
    ObjectNode out = body.isObject() ? ((ObjectNode) body).deepCopy() : status.objectNode();
    out.set("status", status.deepCopy());
    return out;
  }
}
