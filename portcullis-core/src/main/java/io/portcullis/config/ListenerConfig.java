package io.portcullis.config;

import io.portcullis.routing.HostTable;
import io.portcullis.routing.TlsRoute;
import io.portcullis.routing.VirtualHost;
import java.util.List;

/**
 * Everything served on one Gateway port.
 *
 * @param port the Gateway {@code port.number}
 * @param bindPort {@code port} plus {@code --port-offset}: what the socket binds
 * @param tls whether the port terminates TLS (its servers are HTTPS)
 * @param servers the servers on this port, in Gateway order
 * @param serversByHost host to server: picks the credential by SNI (HTTPS) or the redirect (HTTP)
 * @param routes host to virtual host
 * @param passthrough SNI host to the VirtualService {@code tls[]} route of a {@code PASSTHROUGH} server
 */
public record ListenerConfig(int port, int bindPort, boolean tls, List<ServerConfig> servers,
    HostTable<ServerConfig> serversByHost, HostTable<VirtualHost> routes, HostTable<TlsRoute> passthrough) {
  /** Copies the server list. */
  public ListenerConfig {
    servers = List.copyOf(servers);
  }

  /** A listener without {@code PASSTHROUGH} routes. */
  public ListenerConfig(int port, int bindPort, boolean tls, List<ServerConfig> servers,
      HostTable<ServerConfig> serversByHost, HostTable<VirtualHost> routes) {
    this(port, bindPort, tls, servers, serversByHost, routes, HostTable.empty());
  }
}
