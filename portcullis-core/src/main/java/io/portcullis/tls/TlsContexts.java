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
import io.portcullis.config.GatewayConfig;
import io.portcullis.config.GatewayConfig.SecretData;
import io.portcullis.config.ListenerConfig;
import io.portcullis.config.Problem;
import io.portcullis.config.ServerConfig;
import io.portcullis.routing.HostTable;
import java.security.KeyStore;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
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
import javax.net.ssl.SSLException;
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
  private final Map<String, ClientValidation> lastGoodValidation = new HashMap<>();
  /** Keys of {@link #lastGood} and {@link #lastGoodValidation} named during the current {@link #build}. */
  private final java.util.Set<String> used = new java.util.HashSet<>();
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
   * @param credentials the credentials served (two for an RSA + ECDSA pair), for {@code /config_dump}
   * @param aliases the key manager's names for {@code credentials}, passed to the engine by the SNI handler
   * @param error why there is no context, or a warning about what is served; "" when all is well
   * @param clientValidation how client certificates are checked ({@code MUTUAL}, {@code OPTIONAL_MUTUAL})
   */
  public record ServerTls(ServerConfig server, Optional<SslContext> context, List<Credential> credentials,
      List<String> aliases, String error, Optional<ClientValidation> clientValidation) {
    /** Copies the lists. */
    public ServerTls {
      credentials = List.copyOf(credentials);
      aliases = List.copyOf(aliases);
    }

    /** Returns the first credential served, if any. */
    public Optional<Credential> credential() {
      return credentials.stream().findFirst();
    }

    /** Returns the client CA certificates of a mutual-TLS server, else an empty list. */
    public List<X509Certificate> clientCa() {
      return clientValidation.map(ClientValidation::trustAnchors).orElse(List.of());
    }

    /**
     * Returns the alias of the credential to serve: the ECDSA one when the client accepts ECDSA signatures and there
     * is one, else the first that is not ECDSA, else the first ("" when there is none). Called on event loops.
     */
    public String alias(boolean clientAcceptsEcdsa) {
      if (aliases.size() < 2) {
        return aliases.isEmpty() ? "" : aliases.get(0);
      }
      for (int i = 0; i < aliases.size(); i++) {
        if (isEcdsa(credentials.get(i)) == clientAcceptsEcdsa) {
          return aliases.get(i);
        }
      }
      return aliases.get(0);
    }
  }

  /** Reads the credential files a Gateway names ({@link CredentialFiles}); tests pass their own. */
  @FunctionalInterface
  public interface FileSource {
    /**
     * Returns the file's bytes.
     *
     * @throws IllegalArgumentException naming the file, when it cannot be read
     */
    byte[] read(java.nio.file.Path path);
  }

  static boolean isEcdsa(Credential c) {
    return c.key().getAlgorithm().equals("EC");
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
   * @param secrets every Secret by {@code namespace/name} (and ConfigMaps, {@link GatewayConfig#CONFIG_MAP_PREFIX})
   * @param files reads the files named by {@code serverCertificate}, {@code privateKey}, {@code caCertificates},
   *     {@code caCrl} and {@code tlsCertificates[]}
   * @param pending Secrets about to be issued, by {@code namespace/name}, to who issues them (e.g.
   *     {@code Certificate istio-system/web}): while one is missing, its servers' handshakes fail and an INFO says
   *     so, instead of the ERROR of a missing Secret
   * @param problems receives one ERROR per unusable credential, naming Secret, key and cause
   * @return per listener port, host to server TLS
   */
  public Map<Integer, HostTable<ServerTls>> build(Map<Integer, ListenerConfig> listeners,
      Map<String, SecretData> secrets, FileSource files, Map<String, String> pending, List<Problem> problems) {
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
        if (e.getValue().tls().orElseThrow().passthrough()) {
          continue; // not terminated here: routed by SNI (ListenerConfig.passthrough)
        }
        ServerTls st = perServer.computeIfAbsent(e.getValue(), s -> serverTls(s, secrets, files, pending, nextParsed,
            nextGroups, aliasesByGroup, problems));
        table.put(e.getKey(), st);
      }
      out.put(l.port(), table.build());
    }
    aliasesByGroup.forEach((key, aliases) -> nextGroups.get(key).keyManager.update(aliases));
    parsed = nextParsed;
    // Last good versions of what no server names any more are dropped: a server added back later starts afresh.
    lastGood.keySet().retainAll(used);
    lastGoodValidation.keySet().retainAll(used);
    used.clear();
    groups = nextGroups;
    return out;
  }

  private ServerTls serverTls(ServerConfig s, Map<String, SecretData> secrets, FileSource files,
      Map<String, String> pending, Map<String, LoadedCredential> nextParsed, Map<String, Group> nextGroups,
      Map<String, Map<String, Credential>> aliasesByGroup, List<Problem> problems) {
    ServerConfig.TlsSettings tls = s.tls().orElseThrow();
    // problems name the user's resource and field (an Ingress's spec.tls[i], a Gateway API listener), not the
    // Gateway generated from it
    String subject = s.origin().subject();
    String at = s.origin().tlsField();
    List<LoadedCredential> loaded = new ArrayList<>();
    List<String> warnings = new ArrayList<>();
    int count = tls.credentialNames().isEmpty() ? tls.certificateFiles().size() : tls.credentialNames().size();
    used.addAll(tls.credentialNames());
    tls.certificateFiles().forEach(f -> used.add(fileKey(f)));
    for (int i = 0; i < count; i++) {
      String sourceKey;
      String field;
      if (!tls.credentialNames().isEmpty()) {
        sourceKey = tls.credentialNames().get(i);
        field = s.origin().credentialField(i, tls.credentialNames().size());
        String issuer = pending.get(sourceKey);
        if (issuer != null && !secrets.containsKey(sourceKey) && !lastGood.containsKey(sourceKey)) {
          String msg = "Secret " + sourceKey + " is not issued yet: " + issuer + " will store it (see /certs); "
              + "handshakes for " + hosts(s) + " fail until then";
          problems.add(new Problem(Problem.Severity.INFO, subject, "", field, msg));
          return new ServerTls(s, Optional.empty(), List.of(), List.of(), msg, Optional.empty());
        }
      } else {
        ServerConfig.CertificateFiles f = tls.certificateFiles().get(i);
        sourceKey = fileKey(f);
        field = at + (tls.certificateFiles().size() == 1 && tls.credentialNames().isEmpty() ? ".serverCertificate"
            : ".tlsCertificates[" + i + "]");
      }
      try {
        LoadedCredential c = tls.credentialNames().isEmpty()
            ? loadFiles(tls.certificateFiles().get(i), files, nextParsed)
            : load(sourceKey, secrets.get(sourceKey), nextParsed);
        lastGood.put(sourceKey, c);
        loaded.add(c);
      } catch (IllegalArgumentException e) {
        LoadedCredential previous = lastGood.get(sourceKey);
        if (previous == null) {
          problems.add(new Problem(Problem.Severity.ERROR, subject, "", field, e.getMessage()
              + "; handshakes for " + hosts(s) + " fail until it is fixed"));
          return new ServerTls(s, Optional.empty(), List.of(), List.of(), e.getMessage(), Optional.empty());
        }
        String warning = e.getMessage() + "; still serving the last good credential (serial "
            + previous.credential().serialHex() + ")";
        problems.add(new Problem(Problem.Severity.ERROR, subject, "", field, warning));
        warnings.add(warning);
        nextParsed.put(previous.alias(), previous);
        loaded.add(previous);
      }
    }
    if (loaded.size() == 2 && isEcdsa(loaded.get(0).credential()) == isEcdsa(loaded.get(1).credential())) {
      String warning = "both certificates have " + loaded.get(0).credential().key().getAlgorithm() + " keys; the "
          + "second is never chosen (expected: one RSA and one ECDSA certificate)";
      problems.add(new Problem(Problem.Severity.WARNING, subject, "", at, warning));
      warnings.add(warning);
    }
    List<Credential> credentials = loaded.stream().map(LoadedCredential::credential).toList();
    List<String> aliases = loaded.stream().map(LoadedCredential::alias).toList();
    Optional<ClientValidation> validation = Optional.empty();
    if (tls.mutual()) {
      String lastGoodKey = "client-ca|" + s.routeName();
      used.add(lastGoodKey);
      try {
        ClientValidation v = ClientValidation.load(tls, secrets, files);
        lastGoodValidation.put(lastGoodKey, v);
        validation = Optional.of(v);
      } catch (IllegalArgumentException e) {
        ClientValidation previous = lastGoodValidation.get(lastGoodKey);
        if (previous == null) {
          String msg = e.getMessage() + "; handshakes for " + hosts(s) + " fail until it is fixed";
          problems.add(new Problem(Problem.Severity.ERROR, subject, "", s.origin().credentialField(0, 1), msg));
          return new ServerTls(s, Optional.empty(), credentials, List.of(), msg, Optional.empty());
        }
        String warning = e.getMessage() + "; still checking clients against the last good client CA ("
            + previous.source() + ")";
        problems.add(new Problem(Problem.Severity.ERROR, subject, "", s.origin().credentialField(0, 1), warning));
        warnings.add(warning);
        validation = Optional.of(previous);
      }
    }
    String groupKey = groupKey(tls) + "|" + tls.mode() + "|" + validation.map(ClientValidation::digest).orElse("");
    Group group = nextGroups.get(groupKey);
    if (group == null) {
      group = groups.get(groupKey);
      if (group == null) {
        try {
          group = newGroup(tls, validation);
        } catch (SSLException | RuntimeException e) {
          String msg = "TLS settings refused: " + e.getMessage() + " (check minProtocolVersion, maxProtocolVersion and "
              + "cipherSuites)";
          problems.add(new Problem(Problem.Severity.ERROR, subject, "", at, msg));
          return new ServerTls(s, Optional.empty(), credentials, List.of(), msg, validation);
        }
      }
      nextGroups.put(groupKey, group);
    }
    Map<String, Credential> groupAliases = aliasesByGroup.computeIfAbsent(groupKey, k -> new HashMap<>());
    loaded.forEach(c -> groupAliases.put(c.alias(), c.credential()));
    return new ServerTls(s, Optional.of(group.context), credentials, aliases, String.join("; ", warnings),
        validation);
  }

  private static String fileKey(ServerConfig.CertificateFiles f) {
    return "file:" + f.serverCertificate() + "|" + f.privateKey();
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
    return parse(where, certKey, cert, keyKey, pk, nextParsed);
  }

  /**
   * Reads a server credential from files (Istio {@code serverCertificate} and {@code privateKey}).
   *
   * @throws IllegalArgumentException naming the file, when it is missing, empty, malformed or the key does not
   *     match the certificate
   */
  private LoadedCredential loadFiles(ServerConfig.CertificateFiles f, FileSource files,
      Map<String, LoadedCredential> nextParsed) {
    byte[] cert = files.read(f.serverCertificate());
    byte[] pk = files.read(f.privateKey());
    if (cert.length == 0 || pk.length == 0) {
      throw new IllegalArgumentException("file " + (cert.length == 0 ? f.serverCertificate() : f.privateKey())
          + ": empty (expected: PEM)");
    }
    return parse("file", f.serverCertificate().toString(), cert, f.privateKey().toString(), pk, nextParsed);
  }

  private LoadedCredential parse(String where, String certKey, byte[] cert, String keyKey, byte[] pk,
      Map<String, LoadedCredential> nextParsed) {
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

  /** Returns the SHA-256 of {@code parts} in order, each followed by a 0 byte, as hex: what identifies content. */
  static String digest(byte[]... parts) {
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

  private Group newGroup(ServerConfig.TlsSettings tls, Optional<ClientValidation> clientCa) throws SSLException {
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
        b.trustManager(new ClientCertificateVerifier(clientCa.get(), provider == SslProvider.OPENSSL));
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

  /** Returns the protocols from {@code min} to {@code max}, for {@code /config_dump}. */
  public static List<String> protocols(ServerConfig.TlsSettings tls) {
    return PROTOCOLS.subList(PROTOCOLS.indexOf(tls.minProtocolVersion()),
        PROTOCOLS.indexOf(tls.maxProtocolVersion()) + 1);
  }
}
