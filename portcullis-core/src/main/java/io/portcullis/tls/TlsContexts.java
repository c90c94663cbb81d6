package io.portcullis.tls;

import io.netty.handler.codec.http2.Http2SecurityUtil;
import io.netty.handler.ssl.ApplicationProtocolConfig;
import io.netty.handler.ssl.ApplicationProtocolNames;
import io.netty.handler.ssl.OpenSsl;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslProvider;
import io.netty.handler.ssl.SupportedCipherSuiteFilter;
import io.portcullis.config.GatewayConfig.SecretData;
import io.portcullis.config.ListenerConfig;
import io.portcullis.config.Problem;
import io.portcullis.config.ServerConfig;
import io.portcullis.routing.HostTable;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;

import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import javax.net.ssl.SSLException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The SDS of Portcullis: resolves each HTTPS server's {@code credentialName} to a Secret, checks it, and builds the
 * {@link SslContext} its handshakes use (BoringSSL through netty-tcnative when available, else the JDK).
 *
 * <p>Contexts are cached by credential content and TLS settings, so a reload rebuilds only what changed. A Secret that
 * turns invalid keeps its last good credential serving and says so. Not thread-safe: called by the one thread that
 * applies configuration, never on an event loop.
 */
public final class TlsContexts {
  private static final Logger log = LoggerFactory.getLogger(TlsContexts.class);
  private static final List<String> PROTOCOLS = List.of("TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3");

  private final SslProvider provider;
  private Map<String, SslContext> cache = new HashMap<>();
  private final Map<String, LoadedCredential> lastGood = new HashMap<>();

  /** A credential as loaded from its Secret, with a digest of the bytes it came from. */
  private record LoadedCredential(Credential credential, String digest) {}

  /**
   * What one HTTPS server serves.
   *
   * @param server the server
   * @param context its TLS context, or empty when its credential is unusable (its handshakes fail; others do not)
   * @param credential the credential served, for {@code /config_dump}
   * @param error why there is no context, or a warning about the credential served; "" when all is well
   */
  public record ServerTls(ServerConfig server, Optional<SslContext> context, Optional<Credential> credential,
      String error) {}

  /** Creates the store, choosing BoringSSL when netty-tcnative loads on this platform. */
  public TlsContexts() {
    this.provider = OpenSsl.isAvailable() ? SslProvider.OPENSSL : SslProvider.JDK;
    if (provider == SslProvider.JDK) {
      log.warn("tls: BoringSSL (netty-tcnative) unavailable ({}); using the JDK's TLS, which costs more CPU per "
          + "handshake", OpenSsl.unavailabilityCause() == null ? "unknown" : OpenSsl.unavailabilityCause().toString());
    }
  }

  /** Returns the TLS provider in use: {@code OPENSSL} (BoringSSL) or {@code JDK}. */
  public SslProvider provider() {
    return provider;
  }

  /**
   * Builds the SNI table of a TLS listener: host to the server (and context) that covers it.
   *
   * @param listeners every listener of the new configuration (contexts of the old one not used any more are dropped)
   * @param secrets every Secret by {@code namespace/name}
   * @param problems receives one ERROR per unusable credential, naming Secret, key and cause
   * @return per listener port, host to server TLS
   */
  public Map<Integer, HostTable<ServerTls>> build(Map<Integer, ListenerConfig> listeners,
      Map<String, SecretData> secrets, List<Problem> problems) {
    Map<String, SslContext> nextCache = new HashMap<>();
    Map<Integer, HostTable<ServerTls>> out = new HashMap<>();
    Map<ServerConfig, ServerTls> perServer = new HashMap<>();
    for (ListenerConfig l : listeners.values()) {
      if (!l.tls()) {
        continue;
      }
      HostTable.Builder<ServerTls> table = HostTable.builder();
      for (Map.Entry<String, ServerConfig> e : l.serversByHost().entries().entrySet()) {
        ServerTls st = perServer.computeIfAbsent(e.getValue(), s -> serverTls(s, secrets, nextCache, problems));
        table.put(e.getKey(), st);
      }
      out.put(l.port(), table.build());
    }
    cache = nextCache;
    return out;
  }

  private ServerTls serverTls(ServerConfig s, Map<String, SecretData> secrets, Map<String, SslContext> nextCache,
      List<Problem> problems) {
    ServerConfig.TlsSettings tls = s.tls().orElseThrow();
    String field = "spec.servers[" + s.index() + "].tls.credentialName";
    String subject = "Gateway " + s.gateway();
    LoadedCredential loaded;
    String warning = "";
    try {
      loaded = load(tls.credentialName(), secrets.get(tls.credentialName()));
      lastGood.put(tls.credentialName(), loaded);
    } catch (IllegalArgumentException e) {
      LoadedCredential previous = lastGood.get(tls.credentialName());
      if (previous == null) {
        problems.add(new Problem(Problem.Severity.ERROR, subject, "", field, e.getMessage()
            + "; handshakes for " + hosts(s) + " fail until it is fixed"));
        return new ServerTls(s, Optional.empty(), Optional.empty(), e.getMessage());
      }
      warning = e.getMessage() + "; still serving the last good credential (serial " + previous.credential()
          .serialHex() + ")";
      problems.add(new Problem(Problem.Severity.ERROR, subject, "", field, warning));
      loaded = previous;
    }
    String cacheKey = loaded.digest() + "|" + tls;
    SslContext ctx = nextCache.get(cacheKey);
    if (ctx == null) {
      ctx = cache.get(cacheKey);
    }
    if (ctx == null) {
      try {
        ctx = newContext(loaded.credential(), tls);
      } catch (SSLException | RuntimeException e) {
        String msg = "Secret " + tls.credentialName() + ": TLS context refused: " + e.getMessage()
            + " (check cipherSuites and the key type)";
        problems.add(new Problem(Problem.Severity.ERROR, subject, "", field, msg));
        return new ServerTls(s, Optional.empty(), Optional.of(loaded.credential()), msg);
      }
    }
    nextCache.put(cacheKey, ctx);
    return new ServerTls(s, Optional.of(ctx), Optional.of(loaded.credential()), warning);
  }

  private static String hosts(ServerConfig s) {
    return s.hosts().stream().map(ServerConfig.ServerHost::host).toList().toString();
  }

  /**
   * Reads a server credential from a Secret the way Istio does: {@code cert}/{@code key} when {@code cert} is present,
   * else {@code tls.crt}/{@code tls.key}.
   *
   * @throws IllegalArgumentException naming the Secret and key, when the Secret is missing or a value is empty,
   *     malformed or the key does not match the certificate
   */
  static LoadedCredential load(String key, SecretData secret) {
    if (secret == null) {
      throw new IllegalArgumentException("Secret " + key + " not found (expected: a Secret with cert/key or "
          + "tls.crt/tls.key in namespace " + key.substring(0, key.indexOf('/')) + ")");
    }
    Map<String, byte[]> data = secret.data();
    String certKey = data.containsKey("cert") ? "cert" : "tls.crt";
    String keyKey = data.containsKey("cert") ? "key" : "tls.key";
    byte[] cert = data.get(certKey);
    byte[] pk = data.get(keyKey);
    String where = "Secret " + key + " (" + secret.source() + ")";
    if (cert == null || pk == null) {
      throw new IllegalArgumentException(where + ": " + (cert == null ? certKey : keyKey) + ": missing (expected: "
          + "keys cert and key, or tls.crt and tls.key)");
    }
    if (cert.length == 0 || pk.length == 0) {
      throw new IllegalArgumentException(where + ": " + (cert.length == 0 ? certKey : keyKey) + ": empty");
    }
    List<java.security.cert.X509Certificate> chain;
    try {
      chain = Pem.certificates(cert);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(where + ": " + certKey + ": " + e.getMessage());
    }
    java.security.PrivateKey privateKey;
    try {
      privateKey = Pem.privateKey(pk);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(where + ": " + keyKey + ": " + e.getMessage());
    }
    try {
      return new LoadedCredential(new Credential(privateKey, chain), digest(cert, pk));
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(where + ": " + keyKey + ": " + e.getMessage());
    }
  }

  private static String digest(byte[]... parts) {
    try {
      MessageDigest md = MessageDigest.getInstance("SHA-256");
      for (byte[] p : parts) {
        md.update(p);
        md.update((byte) 0);
      }
      return HexFormat.of().formatHex(md.digest());
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  private SslContext newContext(Credential c, ServerConfig.TlsSettings tls) throws SSLException {
    int from = PROTOCOLS.indexOf(tls.minProtocolVersion());
    int to = PROTOCOLS.indexOf(tls.maxProtocolVersion());
    List<String> protocols = new ArrayList<>(PROTOCOLS.subList(from, to + 1));
    SslContextBuilder b = SslContextBuilder.forServer(c.key(), c.chain().toArray(new java.security.cert.X509Certificate[0]))
        .sslProvider(provider)
        .protocols(protocols)
        .applicationProtocolConfig(new ApplicationProtocolConfig(ApplicationProtocolConfig.Protocol.ALPN,
            ApplicationProtocolConfig.SelectorFailureBehavior.NO_ADVERTISE,
            ApplicationProtocolConfig.SelectedListenerFailureBehavior.ACCEPT, ApplicationProtocolNames.HTTP_2,
            ApplicationProtocolNames.HTTP_1_1));
    if (tls.cipherSuites().isEmpty()) {
      List<String> ciphers = new ArrayList<>(Http2SecurityUtil.CIPHERS);
      b.ciphers(ciphers, SupportedCipherSuiteFilter.INSTANCE);
    } else {
      b.ciphers(tls.cipherSuites());
    }
    return b.build();
  }

  /** Returns the protocols from {@code min} to {@code max}, for {@code /config_dump}. */
  public static List<String> protocols(ServerConfig.TlsSettings tls) {
    return PROTOCOLS.subList(PROTOCOLS.indexOf(tls.minProtocolVersion()),
        PROTOCOLS.indexOf(tls.maxProtocolVersion()) + 1);
  }

}
