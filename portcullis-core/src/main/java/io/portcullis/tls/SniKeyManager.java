package io.portcullis.tls;

import io.netty.handler.ssl.SslContext;
import io.portcullis.config.GatewayConfig;
import java.net.Socket;
import java.security.Principal;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.util.HashMap;
import java.util.Map;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.X509ExtendedKeyManager;

/**
 * Serves the credential whose alias the SNI handler gave the engine as its peer host ({@link
 * SslContext#newHandler(io.netty.buffer.ByteBufAllocator, String, int)}). Called on event loops during handshakes.
 */
final class SniKeyManager extends X509ExtendedKeyManager {
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
