package io.portcullis.dns;

import io.portcullis.certs.CertManagerTranslator;
import io.portcullis.certs.IssuerConfig;
import io.portcullis.certs.IssuerConfig.SecretRef;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;

/** Makes the {@link DnsProvider} of a {@code dns01} solver from its settings and the Secrets they name. */
public final class DnsProviders {
  /** How long one provider call (an update, an API request) may take. */
  static final Duration CALL_TIMEOUT = Duration.ofSeconds(15);

  private DnsProviders() { }

  /**
   * Makes the provider.
   *
   * @param secrets the data of every key {@link IssuerConfig.DnsProviderConfig#secrets()} names
   * @throws IllegalArgumentException naming the Secret key or field when a value is missing or malformed
   */
  public static DnsProvider create(IssuerConfig.DnsProviderConfig config, Map<SecretRef, byte[]> secrets) {
    if (config instanceof IssuerConfig.Rfc2136 c) {
      InetSocketAddress ns = CertManagerTranslator.parseHostPort(c.nameserver(), 53).map(a -> new InetSocketAddress(
          a.getHostString(), a.getPort())).orElseThrow(() -> new IllegalArgumentException("rfc2136.nameserver: "
          + c.nameserver() + " (expected: host:port)"));
      if (ns.isUnresolved()) {
        throw new IllegalArgumentException("rfc2136.nameserver: " + c.nameserver() + ": unknown host");
      }
      Optional<org.xbill.DNS.TSIG> tsig = c.tsigSecret().map(ref -> {
        try {
          return Rfc2136Provider.tsig(c.tsigAlgorithm(), c.tsigKeyName(), text(secrets, ref));
        } catch (IllegalArgumentException e) {
          throw new IllegalArgumentException(ref + ": " + e.getMessage());
        }
      });
      return new Rfc2136Provider(ns, tsig, c.tsigKeyName(), CALL_TIMEOUT);
    }
    if (config instanceof IssuerConfig.PowerDns c) {
      return new PowerDnsProvider(c.apiUrl(), c.serverId(), text(secrets, c.apiKey()), CALL_TIMEOUT);
    }
    if (config instanceof IssuerConfig.Cloudflare c) {
      Map<String, String> auth = c.apiToken().isPresent() ? CloudflareProvider.token(text(secrets, c.apiToken().get()))
          : CloudflareProvider.globalKey(c.email(), text(secrets, c.apiKey().orElseThrow()));
      return new CloudflareProvider(CloudflareProvider.API, auth, CALL_TIMEOUT);
    }
    if (config instanceof IssuerConfig.AcmeDns c) {
      try {
        return new AcmeDnsProvider(c.host(), text(secrets, c.account()), CALL_TIMEOUT);
      } catch (IllegalArgumentException e) {
        throw new IllegalArgumentException(c.account() + ": " + e.getMessage());
      }
    }
    if (config instanceof IssuerConfig.Route53 c) {
      Optional<AwsBasicCredentials> keys = Optional.empty();
      if (c.secretAccessKey().isPresent()) {
        String id = c.accessKeyIdRef().isPresent() ? text(secrets, c.accessKeyIdRef().get()) : c.accessKeyId();
        keys = Optional.of(AwsBasicCredentials.create(id, text(secrets, c.secretAccessKey().get())));
      }
      return new Route53Provider(c.region(), c.hostedZoneId(), keys, c.role(), Optional.empty(), CALL_TIMEOUT);
    }
    if (config instanceof IssuerConfig.CloudDns c) {
      try {
        return new CloudDnsProvider(c.project(), c.hostedZoneName(), c.serviceAccount().map(ref -> text(secrets,
            ref)), Optional.empty());
      } catch (IllegalArgumentException e) {
        throw new IllegalArgumentException(c.serviceAccount().map(Object::toString).orElse("cloudDNS") + ": "
            + e.getMessage());
      }
    }
    throw new IllegalArgumentException(config.getClass().getSimpleName() + ": no such provider");
  }

  /** The value of a Secret key as text, trimmed. */
  static String text(Map<SecretRef, byte[]> secrets, SecretRef ref) {
    byte[] v = secrets.get(ref);
    if (v == null || v.length == 0) {
      throw new IllegalArgumentException(ref + ": missing or empty");
    }
    return new String(v, StandardCharsets.UTF_8).trim();
  }
}
