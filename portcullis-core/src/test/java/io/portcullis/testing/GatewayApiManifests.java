package io.portcullis.testing;

import java.util.List;

/** Gateway API manifests of the conformance tests, for the translator's unit tests and the end-to-end ones. */
public final class GatewayApiManifests {
  /** The listeners of {@link #isolation}, least specific first; each has a route for path {@code /<name>}. */
  public static final List<String> ISOLATION_LISTENERS = List.of("empty-hostname", "wildcard-example-com",
      "wildcard-foo-example-com", "abc-foo-example-com");

  private GatewayApiManifests() {}

  /**
   * Returns conformance {@code GatewayHTTPListenerIsolation}'s Gateway {@code default/isolation} (class
   * {@code portcullis}) with its four listeners on {@code port} and one HTTPRoute {@code attaches-to-<listener>} per
   * listener, matching path prefix {@code /<listener>} and sending to Service {@code backend} port
   * {@code backendPort}.
   *
   * @param routeHostnames whether the routes list the hostnames of the test's second part ({@code bar.com},
   *     {@code *.example.com}, {@code *.foo.example.com}, {@code abc.foo.example.com}), or none
   */
  public static String isolation(int port, String backend, int backendPort, boolean routeHostnames) {
    StringBuilder b = new StringBuilder("""
        apiVersion: gateway.networking.k8s.io/v1
        kind: Gateway
        metadata: {name: isolation, namespace: default}
        spec:
          gatewayClassName: portcullis
          listeners:
          - {name: empty-hostname, port: %1$d, protocol: HTTP}
          - {name: wildcard-example-com, port: %1$d, protocol: HTTP, hostname: "*.example.com"}
          - {name: wildcard-foo-example-com, port: %1$d, protocol: HTTP, hostname: "*.foo.example.com"}
          - {name: abc-foo-example-com, port: %1$d, protocol: HTTP, hostname: abc.foo.example.com}
        """.formatted(port));
    for (String l : ISOLATION_LISTENERS) {
      b.append("""
          ---
          apiVersion: gateway.networking.k8s.io/v1
          kind: HTTPRoute
          metadata: {name: attaches-to-%1$s, namespace: default}
          spec:
            parentRefs: [{name: isolation, sectionName: %1$s}]
            hostnames: %2$s
            rules: [{matches: [{path: {value: /%1$s}}], backendRefs: [{name: %3$s, port: %4$d}]}]
          """.formatted(l, routeHostnames ? "[bar.com, \"*.example.com\", \"*.foo.example.com\", abc.foo.example.com]"
          : "[]", backend, backendPort));
    }
    return b.toString();
  }
}
