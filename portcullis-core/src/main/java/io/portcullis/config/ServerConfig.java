package io.portcullis.config;

import java.util.List;
import java.util.Optional;

/**
 * One Istio Gateway {@code Server}, validated.
 *
 * @param gateway the Gateway's {@code namespace/name}
 * @param index its position in {@code spec.servers}
 * @param portName {@code port.name}
 * @param port {@code port.number} as written (before {@code --port-offset})
 * @param protocol {@code HTTP}, {@code HTTPS} or {@code HTTP2}
 * @param hosts the {@code hosts}, with their namespace part ({@code ns/host}, {@code ./host}, {@code * /host})
 * @param tls the TLS settings of an HTTPS server; empty for plain HTTP
 * @param httpsRedirect Istio {@code tls.httpsRedirect}: answer every request with 301 to {@code https://}
 */
public record ServerConfig(String gateway, int index, String portName, int port, String protocol,
    List<ServerHost> hosts, Optional<TlsSettings> tls, boolean httpsRedirect) {

  /** Copies the host list. */
  public ServerConfig {
    hosts = List.copyOf(hosts);
  }

  /** Returns Istio's name for this server's route/filter chain: {@code https.443.https.mygateway.istio-system}. */
  public String routeName() {
    String[] nsName = gateway.split("/", 2);
    return protocol.toLowerCase(java.util.Locale.ROOT) + "." + port + "." + portName + "." + nsName[1] + "."
        + nsName[0];
  }

  /**
   * A server host with the namespaces whose VirtualServices may bind to it.
   *
   * @param namespace a namespace, or {@code *} for any
   * @param host {@code example.com}, {@code *.example.com} or {@code *}
   */
  public record ServerHost(String namespace, String host) {}

  /**
   * Istio {@code ServerTLSSettings} for {@code mode: SIMPLE}, {@code MUTUAL} or {@code OPTIONAL_MUTUAL}.
   *
   * @param mode {@code SIMPLE}; {@code MUTUAL} (a client certificate is required and verified against the client
   *     CA); {@code OPTIONAL_MUTUAL} (requested, verified when sent)
   * @param credentialName the Secret's {@code namespace/name} ({@code credentialName}, resolved in the gateway's
   *     namespace unless it says {@code ns/name})
   * @param minProtocolVersion {@code TLSv1.2} by default
   * @param maxProtocolVersion {@code TLSv1.3} by default
   * @param cipherSuites OpenSSL cipher names for TLS 1.2; empty for the provider's defaults
   */
  public record TlsSettings(String mode, String credentialName, String minProtocolVersion, String maxProtocolVersion,
      List<String> cipherSuites) {
    /** Copies the list. */
    public TlsSettings {
      cipherSuites = List.copyOf(cipherSuites);
    }

    /** Returns whether clients are asked for a certificate ({@code MUTUAL} or {@code OPTIONAL_MUTUAL}). */
    public boolean mutual() {
      return mode.equals("MUTUAL") || mode.equals("OPTIONAL_MUTUAL");
    }
  }
}
