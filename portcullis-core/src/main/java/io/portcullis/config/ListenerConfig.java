package io.portcullis.config;

import io.portcullis.routing.HostTable;
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
 */
public record ListenerConfig(int port, int bindPort, boolean tls, List<ServerConfig> servers,
    HostTable<ServerConfig> serversByHost, HostTable<VirtualHost> routes) {
  /** Copies the server list. */
  public ListenerConfig {
    servers = List.copyOf(servers);
  }
}
