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
 * @param origin the user's object and field this server came from, named by problems about it (an Istio Gateway's
 *     {@code spec.servers[i]}, an Ingress's {@code spec.tls[i]})
 */
public record ServerConfig(String gateway, int index, String portName, int port, String protocol,
    List<ServerHost> hosts, Optional<TlsSettings> tls, boolean httpsRedirect, Origin origin) {

  /** Copies the host list; checks for a null origin. */
  public ServerConfig {
    hosts = List.copyOf(hosts);
    java.util.Objects.requireNonNull(origin, "origin");
  }

  /** As the canonical constructor, for an Istio Gateway server: origin {@code Gateway ns/name spec.servers[index]}. */
  public ServerConfig(String gateway, int index, String portName, int port, String protocol, List<ServerHost> hosts,
      Optional<TlsSettings> tls, boolean httpsRedirect) {
    this(gateway, index, portName, port, protocol, hosts, tls, httpsRedirect, Origin.istio(gateway, index));
  }

  /**
   * Where a server came from, as problems name it.
   *
   * @param subject the object, {@code Kind namespace/name} ({@link Resource#id()})
   * @param field the field path of the server ({@code spec.servers[0]}, {@code spec.tls[1]}, {@code spec} for an
   *     Ingress's plain-HTTP server)
   * @param hostsField the field path of its hosts ({@code spec.servers[0].hosts}, {@code spec.tls[1].hosts})
   * @param protocolField the field path that made it plain or TLS ({@code spec.servers[0].port.protocol},
   *     {@code spec.tls[1]})
   */
  public record Origin(String subject, String field, String hostsField, String protocolField) {
    /** Returns the origin of an Istio Gateway {@code namespace/name}'s {@code spec.servers[index]}. */
    public static Origin istio(String gateway, int index) {
      String at = "spec.servers[" + index + "]";
      return new Origin("Gateway " + gateway, at, at + ".hosts", at + ".port.protocol");
    }

    /**
     * Returns the field path of the server's TLS settings in its own resource: {@code spec.servers[i].tls} (Istio),
     * {@code spec.listeners[i].tls} (Gateway API), {@code spec.tls[i]} (Ingress).
     */
    public String tlsField() {
      return field.startsWith("spec.tls[") ? field : field + ".tls";
    }

    /**
     * Returns the field path naming credential {@code i} of {@code count}: {@code spec.servers[0].tls.credentialName}
     * (or {@code credentialNames[i]}), {@code spec.listeners[0].tls.certificateRefs[i]},
     * {@code spec.tls[0].secretName}.
     */
    public String credentialField(int i, int count) {
      if (field.startsWith("spec.tls[")) {
        return field + ".secretName";
      }
      if (field.startsWith("spec.listeners[")) {
        return field + ".tls.certificateRefs[" + i + "]";
      }
      return field + ".tls" + (count == 1 ? ".credentialName" : ".credentialNames[" + i + "]");
    }
  }

  /** Returns Istio's name for this server's route/filter chain: {@code https.443.https.mygateway.istio-system}. */
  public String routeName() {
    String[] nsName = gateway.split("/", 2);
    return protocol.toLowerCase(java.util.Locale.ROOT) + "." + port + "." + portName + "." + nsName[1] + "."
        + nsName[0];
  }

  /**
   * Returns whether {@code other} has the same {@link #routeName()}, compared part by part without building the name
   * (called for every request on a TLS port); false for null.
   */
  public boolean sameRouteName(ServerConfig other) {
    return other != null && port == other.port && protocol.equalsIgnoreCase(other.protocol)
        && portName.equals(other.portName) && gateway.equals(other.gateway);
  }

  /**
   * A server host with the namespaces whose VirtualServices may bind to it.
   *
   * @param namespace a namespace, or {@code *} for any
   * @param host {@code example.com}, {@code *.example.com} or {@code *}
   */
  public record ServerHost(String namespace, String host) {}

  /**
   * Istio {@code ServerTLSSettings} of a server that terminates TLS ({@code SIMPLE}, {@code MUTUAL},
   * {@code OPTIONAL_MUTUAL}) or passes it through ({@code PASSTHROUGH}).
   *
   * <p>Exactly one credential form is set on a terminating server: {@code credentialNames} (from
   * {@code credentialName} or {@code credentialNames}) or {@code certificateFiles} (from {@code serverCertificate} /
   * {@code privateKey} or {@code tlsCertificates[]}).
   *
   * @param mode {@code SIMPLE}; {@code MUTUAL} (a client certificate is required and verified against the client
   *     CA); {@code OPTIONAL_MUTUAL} (requested, verified when sent); {@code PASSTHROUGH} (not terminated: the
   *     stream is routed by SNI)
   * @param credentialNames Secrets' {@code namespace/name} (Istio {@code credentialName}, or up to two
   *     {@code credentialNames}, e.g. one RSA and one ECDSA), resolved in the gateway's namespace unless written
   *     {@code ns/name} or {@code kubernetes://ns/name}
   * @param certificateFiles PEM files (Istio {@code serverCertificate}/{@code privateKey}, or up to two
   *     {@code tlsCertificates[]})
   * @param caCertCredentialName Istio {@code caCertCredentialName}: a Secret or ConfigMap {@code namespace/name}
   *     holding the client CA; overrides the CA found beside the credential
   * @param caCertificates Istio {@code caCertificates}: a PEM file of client CA certificates
   * @param caCrl Istio {@code caCrl}: a PEM file of certificate revocation lists; overrides a CRL in the Secret
   * @param subjectAltNames Istio {@code subjectAltNames}: a client certificate must carry one of them (exact match)
   * @param verifyCertificateSpki Istio {@code verifyCertificateSpki}: SHA-256 digests (32 bytes each) of accepted
   *     client public keys (SubjectPublicKeyInfo)
   * @param verifyCertificateHash Istio {@code verifyCertificateHash}: SHA-256 digests (32 bytes each) of accepted
   *     client certificates (DER); a client matching either list passes
   * @param minProtocolVersion {@code TLSv1.2} by default
   * @param maxProtocolVersion {@code TLSv1.3} by default
   * @param cipherSuites OpenSSL cipher names for TLS 1.2; empty for the provider's defaults
   */
  public record TlsSettings(String mode, List<String> credentialNames, List<CertificateFiles> certificateFiles,
      Optional<String> caCertCredentialName, Optional<java.nio.file.Path> caCertificates,
      Optional<java.nio.file.Path> caCrl, List<String> subjectAltNames, List<byte[]> verifyCertificateSpki,
      List<byte[]> verifyCertificateHash, String minProtocolVersion, String maxProtocolVersion,
      List<String> cipherSuites) {
    /** Copies the lists. */
    public TlsSettings {
      credentialNames = List.copyOf(credentialNames);
      certificateFiles = List.copyOf(certificateFiles);
      subjectAltNames = List.copyOf(subjectAltNames);
      verifyCertificateSpki = verifyCertificateSpki.stream().map(byte[]::clone).toList();
      verifyCertificateHash = verifyCertificateHash.stream().map(byte[]::clone).toList();
      cipherSuites = List.copyOf(cipherSuites);
    }

    /** Returns the first {@code credentialNames} entry: the Secret a cert-manager "secured host" is issued into. */
    public Optional<String> credentialName() {
      return credentialNames.stream().findFirst();
    }

    /** Returns whether clients are asked for a certificate ({@code MUTUAL} or {@code OPTIONAL_MUTUAL}). */
    public boolean mutual() {
      return mode.equals("MUTUAL") || mode.equals("OPTIONAL_MUTUAL");
    }

    /** Returns whether the server passes TLS through untouched ({@code PASSTHROUGH}). */
    public boolean passthrough() {
      return mode.equals("PASSTHROUGH");
    }
  }

  /**
   * A server certificate and key read from files (Istio {@code serverCertificate}/{@code privateKey}, or one
   * {@code tlsCertificates[]} entry).
   *
   * @param serverCertificate PEM certificate chain, leaf first
   * @param privateKey PEM private key
   */
  public record CertificateFiles(java.nio.file.Path serverCertificate, java.nio.file.Path privateKey) {}
}
