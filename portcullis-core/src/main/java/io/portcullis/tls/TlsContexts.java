package io.portcullis.tls;

import io.netty.handler.codec.http2.Http2SecurityUtil;
import io.netty.handler.ssl.ApplicationProtocolConfig;
import io.netty.handler.ssl.ApplicationProtocolNames;
import io.netty.handler.ssl.ClientAuth;
import io.netty.handler.ssl.OpenSsl;
import io.netty.handler.ssl.OpenSslCachingX509KeyManagerFactory;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslProvider;
import io.netty.handler.ssl.SupportedCipherSuiteFilter;
import io.portcullis.config.GatewayConfig.SecretData;
import io.portcullis.config.ListenerConfig;
import io.portcullis.config.Problem;
import io.portcullis.config.ServerConfig;
import io.portcullis.routing.HostTable;
import java.net.Socket;
import java.security.KeyStore;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.Principal;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import javax.net.ssl.KeyManager;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.KeyManagerFactorySpi;
import javax.net.ssl.ManagerFactoryParameters;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLException;
import javax.net.ssl.X509ExtendedKeyManager;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The SDS of Portcullis: resolves each HTTPS server's {@code credentialName} to a Secret, checks it, and serves it
 * through BoringSSL (netty-tcnative) when available, else the JDK.
 *
 * <p>Servers with the same TLS settings (protocols, cipher suites) share one {@link SslContext}; its key manager
 * picks the credential by an alias that the SNI handler passes to the engine, so 10,000 hosts cost 10,000 parsed
 * keys, not 10,000 TLS contexts (one context took about 8–16 ms and 0.1–0.8 MB here). Aliases are content digests:
 * a rotated Secret gets a new alias, so no cached key material is ever stale. Credentials are parsed once per
 * content. A Secret that turns invalid keeps its last good credential serving and says so.
 *
 * <p>{@link #build} is called by the one thread that applies configuration, never on an event loop; the key
 * manager is read on event loops during handshakes.
 */
public final class TlsContexts {
  private static final Logger log = LoggerFactory.getLogger(TlsContexts.class);
  private static final List<String> PROTOCOLS = List.of("TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3");
  /** Key material cached in native form per alias (netty-tcnative); more than the hosts of one gateway. */
  static final int MAX_CACHED_KEY_MATERIAL = 1 << 20;

  private final SslProvider provider;
  private final Map<String, LoadedCredential> lastGood = new HashMap<>();
  private Map<String, LoadedCredential> parsed = new HashMap<>();
  private Map<String, Group> groups = new HashMap<>();

  /** A credential as loaded from its Secret; {@code alias} is the digest of the bytes it came from. */
  private record LoadedCredential(Credential credential, String alias) {}

  /**
   * What one HTTPS server serves.
   *
   * @param server the server
   * @param context its TLS context (shared by servers with the same settings), or empty when its credential is
   *     unusable (its handshakes fail; others do not)
   * @param credential the credential served, for {@code /config_dump}
   * @param alias the key manager's name for the credential, passed to the engine by the SNI handler
   * @param error why there is no context, or a warning about the credential served; "" when all is well
   * @param clientCa the client CA certificates of a {@code MUTUAL} or {@code OPTIONAL_MUTUAL} server, else empty
   */
  public record ServerTls(ServerConfig server, Optional<SslContext> context, Optional<Credential> credential,
      String alias, String error, List<X509Certificate> clientCa) {
    /** Copies the list. */
    public ServerTls {
      clientCa = List.copyOf(clientCa);
    }
  }

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
   * Builds the SNI table of every TLS listener: host to the server (and context) that covers it.
   *
   * @param listeners every listener of the new configuration
   * @param secrets every Secret by {@code namespace/name}
   * @param pending Secrets about to be issued, by {@code namespace/name}, to who issues them (e.g.
   *     {@code Certificate istio-system/web}): while one is missing, its servers' handshakes fail and an INFO says
   *     so, instead of the ERROR of a missing Secret
   * @param problems receives one ERROR per unusable credential, naming Secret, key and cause
   * @return per listener port, host to server TLS
   */
  public Map<Integer, HostTable<ServerTls>> build(Map<Integer, ListenerConfig> listeners,
      Map<String, SecretData> secrets, Map<String, String> pending, List<Problem> problems) {
    Map<String, LoadedCredential> nextParsed = new HashMap<>();
    Map<String, Group> nextGroups = new HashMap<>();
    groups.values().removeIf(g -> g.keyManager.stale());
    Map<String, Map<String, Credential>> aliasesByGroup = new HashMap<>();
    Map<ServerConfig, ServerTls> perServer = new HashMap<>();
    Map<Integer, HostTable<ServerTls>> out = new HashMap<>();
    for (ListenerConfig l : listeners.values()) {
      if (!l.tls()) {
        continue;
      }
      HostTable.Builder<ServerTls> table = HostTable.builder();
      for (Map.Entry<String, ServerConfig> e : l.serversByHost().entries().entrySet()) {
        ServerTls st = perServer.computeIfAbsent(e.getValue(), s -> serverTls(s, secrets, pending, nextParsed,
            nextGroups, aliasesByGroup, problems));
        table.put(e.getKey(), st);
      }
      out.put(l.port(), table.build());
    }
    aliasesByGroup.forEach((key, aliases) -> nextGroups.get(key).keyManager.update(aliases));
    parsed = nextParsed;
    groups = nextGroups;
    return out;
  }

  private ServerTls serverTls(ServerConfig s, Map<String, SecretData> secrets, Map<String, String> pending,
      Map<String, LoadedCredential> nextParsed, Map<String, Group> nextGroups,
      Map<String, Map<String, Credential>> aliasesByGroup, List<Problem> problems) {
    ServerConfig.TlsSettings tls = s.tls().orElseThrow();
    String field = "spec.servers[" + s.index() + "].tls.credentialName";
    String subject = "Gateway " + s.gateway();
    String issuer = pending.get(tls.credentialName());
    if (issuer != null && !secrets.containsKey(tls.credentialName()) && !lastGood.containsKey(tls.credentialName())) {
      String msg = "Secret " + tls.credentialName() + " is not issued yet: " + issuer + " will store it (see /certs); "
          + "handshakes for " + hosts(s) + " fail until then";
      problems.add(new Problem(Problem.Severity.INFO, subject, "", field, msg));
      return new ServerTls(s, Optional.empty(), Optional.empty(), "", msg, List.of());
    }
    LoadedCredential loaded;
    String warning = "";
    try {
      loaded = load(tls.credentialName(), secrets.get(tls.credentialName()), nextParsed);
      lastGood.put(tls.credentialName(), loaded);
    } catch (IllegalArgumentException e) {
      LoadedCredential previous = lastGood.get(tls.credentialName());
      if (previous == null) {
        problems.add(new Problem(Problem.Severity.ERROR, subject, "", field, e.getMessage()
            + "; handshakes for " + hosts(s) + " fail until it is fixed"));
        return new ServerTls(s, Optional.empty(), Optional.empty(), "", e.getMessage(), List.of());
      }
      warning = e.getMessage() + "; still serving the last good credential (serial " + previous.credential()
          .serialHex() + ")";
      problems.add(new Problem(Problem.Severity.ERROR, subject, "", field, warning));
      loaded = previous;
      nextParsed.put(previous.alias(), previous);
    }
    Optional<ClientCa> clientCa = Optional.empty();
    if (tls.mutual()) {
      try {
        clientCa = Optional.of(clientCa(tls.credentialName(), secrets));
      } catch (IllegalArgumentException e) {
        String msg = e.getMessage() + "; handshakes for " + hosts(s) + " fail until it is fixed";
        problems.add(new Problem(Problem.Severity.ERROR, subject, "", field, msg));
        return new ServerTls(s, Optional.empty(), Optional.of(loaded.credential()), "", msg, List.of());
      }
    }
    String groupKey = groupKey(tls) + "|" + tls.mode() + "|" + clientCa.map(ClientCa::digest).orElse("");
    Group group = nextGroups.get(groupKey);
    if (group == null) {
      group = groups.get(groupKey);
      if (group == null) {
        try {
          group = newGroup(tls, clientCa);
        } catch (SSLException | RuntimeException e) {
          String msg = "TLS settings refused: " + e.getMessage() + " (check minProtocolVersion, maxProtocolVersion and "
              + "cipherSuites)";
          problems.add(new Problem(Problem.Severity.ERROR, subject, "", "spec.servers[" + s.index() + "].tls", msg));
          return new ServerTls(s, Optional.empty(), Optional.of(loaded.credential()), "", msg,
              clientCa.map(ClientCa::certificates).orElse(List.of()));
        }
      }
      nextGroups.put(groupKey, group);
    }
    aliasesByGroup.computeIfAbsent(groupKey, k -> new HashMap<>()).put(loaded.alias(), loaded.credential());
    return new ServerTls(s, Optional.of(group.context), Optional.of(loaded.credential()), loaded.alias(), warning,
        clientCa.map(ClientCa::certificates).orElse(List.of()));
  }

  private static String hosts(ServerConfig s) {
    return s.hosts().stream().map(ServerConfig.ServerHost::host).toList().toString();
  }

  private static String groupKey(ServerConfig.TlsSettings tls) {
    return tls.minProtocolVersion() + "|" + tls.maxProtocolVersion() + "|" + tls.cipherSuites();
  }

  /**
   * Reads a server credential from a Secret the way Istio does: {@code cert}/{@code key} when {@code cert} is present,
   * else {@code tls.crt}/{@code tls.key}. Content seen before is not parsed again.
   *
   * @throws IllegalArgumentException naming the Secret and key, when the Secret is missing or a value is empty,
   *     malformed or the key does not match the certificate
   */
  private LoadedCredential load(String key, SecretData secret, Map<String, LoadedCredential> nextParsed) {
    if (secret == null) {
      throw new IllegalArgumentException("Secret " + key + " not found (expected: a Secret with cert/key or "
          + "tls.crt/tls.key in namespace " + key.substring(0, key.indexOf('/')) + ")");
    }
    Map<String, byte[]> data = secret.data();
    if (data.containsKey("token")) {
      throw new IllegalArgumentException("Secret " + key + ": token: a credential Secret may not hold a token, as "
          + "Istio's SDS refuses service-account token Secrets (expected: cert/key or tls.crt/tls.key, and no token)");
    }
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
    String alias = digest(cert, pk);
    LoadedCredential known = nextParsed.getOrDefault(alias, parsed.get(alias));
    if (known != null) {
      nextParsed.put(alias, known);
      return known;
    }
    List<X509Certificate> chain;
    try {
      chain = Pem.certificates(cert);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(where + ": " + certKey + ": " + e.getMessage());
    }
    PrivateKey privateKey;
    try {
      privateKey = Pem.privateKey(pk);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(where + ": " + keyKey + ": " + e.getMessage());
    }
    try {
      LoadedCredential loaded = new LoadedCredential(new Credential(privateKey, chain), alias);
      nextParsed.put(alias, loaded);
      return loaded;
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

  /** One shared TLS context and the key manager that serves every credential of its servers. */
  private static final class Group {
    final SniKeyManager keyManager;
    final SslContext context;

    Group(SniKeyManager keyManager, SslContext context) {
      this.keyManager = keyManager;
      this.context = context;
    }
  }

  /** The trust anchors client certificates are verified against ({@code MUTUAL}, {@code OPTIONAL_MUTUAL}). */
  private record ClientCa(List<X509Certificate> certificates, String digest) {}

  /**
   * Finds a server's client CA as Istio does: Secret {@code <name>-cacert} (key {@code cacert}, else
   * {@code ca.crt}) if it exists, else key {@code cacert} or {@code ca.crt} of the credential Secret itself. A bundle
   * of several CA certificates is allowed.
   *
   * @throws IllegalArgumentException naming the Secrets and keys looked at, when there is none or it does not parse
   */
  private static ClientCa clientCa(String credentialKey, Map<String, SecretData> secrets) {
    SecretData separate = secrets.get(credentialKey + "-cacert");
    SecretData own = secrets.get(credentialKey);
    SecretData from = separate != null ? separate : own;
    String where = separate != null ? "Secret " + credentialKey + "-cacert" : "Secret " + credentialKey;
    byte[] pem = null;
    String key = "";
    if (from != null) {
      for (String k : List.of("cacert", "ca.crt")) {
        if (from.data().containsKey(k)) {
          pem = from.data().get(k);
          key = k;
          break;
        }
      }
    }
    if (pem == null) {
      throw new IllegalArgumentException("no client CA for mutual TLS (expected: Secret " + credentialKey
          + "-cacert with key cacert or ca.crt, or key cacert or ca.crt in Secret " + credentialKey + ")");
    }
    if (pem.length == 0) {
      throw new IllegalArgumentException(where + ": " + key + ": empty (expected: PEM CA certificates)");
    }
    try {
      return new ClientCa(Pem.certificates(pem), digest(pem));
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(where + ": " + key + ": " + e.getMessage());
    }
  }

  private Group newGroup(ServerConfig.TlsSettings tls, Optional<ClientCa> clientCa) throws SSLException {
    SniKeyManager km = new SniKeyManager();
    KeyManagerFactory kmf = new KeyManagerFactory(new KeyManagerFactorySpi() {
      @Override
      protected void engineInit(KeyStore ks, char[] password) {}

      @Override
      protected void engineInit(ManagerFactoryParameters spec) {}

      @Override
      protected KeyManager[] engineGetKeyManagers() {
        return new KeyManager[] {km};
      }
    }, null, "portcullis-sni") {};
    KeyManagerFactory factory = provider == SslProvider.OPENSSL
        ? new OpenSslCachingX509KeyManagerFactory(kmf, MAX_CACHED_KEY_MATERIAL) : kmf;
    List<String> protocols = protocols(tls);
    SslContextBuilder b = SslContextBuilder.forServer(factory)
        .sslProvider(provider)
        .protocols(protocols)
        .applicationProtocolConfig(new ApplicationProtocolConfig(ApplicationProtocolConfig.Protocol.ALPN,
            ApplicationProtocolConfig.SelectorFailureBehavior.NO_ADVERTISE,
            ApplicationProtocolConfig.SelectedListenerFailureBehavior.ACCEPT, ApplicationProtocolNames.HTTP_2,
            ApplicationProtocolNames.HTTP_1_1));
    if (clientCa.isPresent()) {
      try {
        b.trustManager(new ClientCertificateVerifier(clientCa.get().certificates(), provider == SslProvider.OPENSSL));
      } catch (java.security.GeneralSecurityException e) {
        throw new SSLException("client CA: " + e.getMessage(), e);
      }
      b.clientAuth(tls.mode().equals("MUTUAL") ? ClientAuth.REQUIRE : ClientAuth.OPTIONAL);
    }
    if (tls.cipherSuites().isEmpty()) {
      b.ciphers(new ArrayList<>(Http2SecurityUtil.CIPHERS), SupportedCipherSuiteFilter.INSTANCE);
    } else {
      b.ciphers(tls.cipherSuites());
    }
    return new Group(km, b.build());
  }

  /**
   * Serves the credential whose alias the SNI handler gave the engine as its peer host ({@link
   * SslContext#newHandler(io.netty.buffer.ByteBufAllocator, String, int)}). Called on event loops during handshakes.
   */
  private static final class SniKeyManager extends X509ExtendedKeyManager {
    private volatile Map<String, Credential> byAlias = Map.of();
    private Map<String, Credential> current = Map.of();
    private final java.util.Set<String> seen = new java.util.HashSet<>();

    /** Serves {@code aliases} from now on, and the previous generation's for handshakes already under way. */
    void update(Map<String, Credential> aliases) {
      Map<String, Credential> next = new HashMap<>(current);
      next.putAll(aliases);
      current = Map.copyOf(aliases);
      seen.addAll(aliases.keySet());
      byAlias = Map.copyOf(next);
    }

    /**
     * Whether the context has cached key material for many more credentials than it serves (rotations add
     * aliases, the native cache never drops them): then a fresh context is cheaper than the memory.
     */
    boolean stale() {
      return seen.size() > 2 * current.size() + 1024;
    }

    @Override
    public String chooseEngineServerAlias(String keyType, Principal[] issuers, SSLEngine engine) {
      String alias = engine == null ? null : engine.getPeerHost();
      return alias != null && byAlias.containsKey(alias) ? alias : null;
    }

    @Override
    public String chooseServerAlias(String keyType, Principal[] issuers, Socket socket) {
      return null;
    }

    @Override
    public String[] getServerAliases(String keyType, Principal[] issuers) {
      return byAlias.keySet().toArray(new String[0]);
    }

    @Override
    public X509Certificate[] getCertificateChain(String alias) {
      Credential c = byAlias.get(alias);
      return c == null ? null : c.chain().toArray(new X509Certificate[0]);
    }

    @Override
    public PrivateKey getPrivateKey(String alias) {
      Credential c = byAlias.get(alias);
      return c == null ? null : c.key();
    }

    @Override
    public String[] getClientAliases(String keyType, Principal[] issuers) {
      return null;
    }

    @Override
    public String chooseClientAlias(String[] keyType, Principal[] issuers, Socket socket) {
      return null;
    }
  }

  /** Returns the protocols from {@code min} to {@code max}, for {@code /config_dump}. */
  public static List<String> protocols(ServerConfig.TlsSettings tls) {
    return PROTOCOLS.subList(PROTOCOLS.indexOf(tls.minProtocolVersion()),
        PROTOCOLS.indexOf(tls.maxProtocolVersion()) + 1);
  }
}
