package io.portcullis.routing;

import static java.util.Objects.requireNonNull;

/**
 * One upstream address of a {@link Cluster}.
 *
 * @param host an IP literal ({@code STATIC}) or a DNS name ({@code DNS}), resolved without blocking an event loop
 * @param port 1..65535
 */
public record Endpoint(String host, int port) {
  /** Checks the port range. */
  public Endpoint {
    requireNonNull(host, "host");
    if (port < 1 || port > 65535) {
      throw new IllegalArgumentException("port: " + port + " (expected: 1..65535)");
    }
  }

  @Override
  public String toString() {
    return (host.indexOf(':') >= 0 ? "[" + host + "]" : host) + ":" + port;
  }
}
