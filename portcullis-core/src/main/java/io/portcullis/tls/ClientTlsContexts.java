package io.portcullis.tls;

import io.netty.handler.codec.http2.Http2SecurityUtil;
import io.netty.handler.ssl.ApplicationProtocolConfig;
import io.netty.handler.ssl.ApplicationProtocolNames;
import io.netty.handler.ssl.OpenSsl;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslProvider;
import io.netty.handler.ssl.SupportedCipherSuiteFilter;
import io.netty.handler.ssl.util.InsecureTrustManagerFactory;
import io.portcullis.config.GatewayConfig.SecretData;
import io.portcullis.config.ListenerConfig;
import io.portcullis.config.Problem;
import io.portcullis.routing.Cluster;
import io.portcullis.routing.HttpRoute;
import io.portcullis.routing.RouteAction;
import io.portcullis.routing.TrafficPolicy.UpstreamTls;
import io.portcullis.routing.VirtualHost;
import java.io.IOException;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.PrivateKey;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509CRL;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Consumer;
import java.util.function.UnaryOperator;
import javax.net.ssl.SSLException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The client TLS contexts of upstream TLS origination: one {@link SslContext} per DestinationRule {@code tls} setting
 * (Istio {@code ClientTLSSettings}, {@link UpstreamTls}) and upstream protocol (ALPN {@code h2} for HTTP/2 clusters,
 * {@code http/1.1} for the others), through BoringSSL (netty-tcnative) when it loads, else the JDK.
 *
 * <p>{@link #build} runs on the thread that applies configuration, never on an event loop: it reads the key
 * material (Secrets by {@code credentialName}, or the {@code clientCertificate} / {@code privateKey} /
 * {@code caCertificates} / {@code caCrl} files), checks it and builds the contexts, reusing those whose setting and
 * material bytes are unchanged (so their client session caches, and resumption, survive a reload). Requests only
 * {@link Table#lookup look up} the result. A setting whose material does not load is reported (the DestinationRule's
 * host, the field, what was expected; never key bytes) and its clusters fail their connects with
 * {@link Unavailable} (503 {@code UF}); every other cluster keeps serving.
 */
public final class ClientTlsContexts {
  private static final Logger log = LoggerFactory.getLogger(ClientTlsContexts.class);
  /** TLS 1.2 minimum, as the gateway's own listeners default to. */
  private static final List<String> PROTOCOLS = List.of("TLSv1.2", "TLSv1.3");

  private final SslProvider provider;
  private final UnaryOperator<SslContext> decorate;
  /** Contexts by setting, protocol and material digest, from the last build. */
  private Map<Built, SslContext> cache = new HashMap<>();
  private Table current = Table.EMPTY;

  private record Built(UpstreamTls tls, boolean h2, String material) {}

  /**
   * The key material of one setting, loaded and checked.
   *
   * @param client the client key and chain ({@code MUTUAL}), or empty
   * @param anchors the upstream trust anchors, or null for the JDK's trust store (or {@code insecureSkipVerify})
   * @param crls revocation lists for the upstream's chain
   * @param digest over every byte read, so a changed Secret or file gets a new context
   */
  private record Material(Optional<Credential> client, List<X509Certificate> anchors, List<X509CRL> crls,
      String digest) {}

  /**
   * What requests to clusters with one TLS setting use.
   *
   * @param context the client context, or empty when the setting's material did not load
   * @param error why there is no context ({@code ""} when there is one); names the field, never key bytes
   */
  public record ClientTls(Optional<SslContext> context, String error) {}

  /**
   * Creates the store.
   *
   * @param decorate applied once to every context built (the data plane wraps them to count handshakes)
   */
  public ClientTlsContexts(UnaryOperator<SslContext> decorate) {
    this.decorate = java.util.Objects.requireNonNull(decorate, "decorate");
    this.provider = OpenSsl.isAvailable() ? SslProvider.OPENSSL : SslProvider.JDK;
  }

  /** Returns the TLS provider in use: {@code OPENSSL} (BoringSSL) or {@code JDK}. */
  public SslProvider provider() {
    return provider;
  }

  /**
   * The contexts of one configuration. Immutable; read on event loops. A setting not found falls back to the
   * previous configuration's table, for requests that routed on the previous configuration while it was swapped.
   */
  public static final class Table {
    /** No TLS setting at all. */
    public static final Table EMPTY = new Table(Map.of(), Map.of(), null);
    private final Map<UpstreamTls, ClientTls> h1;
    private final Map<UpstreamTls, ClientTls> h2;
    private final Table previous;

    private Table(Map<UpstreamTls, ClientTls> h1, Map<UpstreamTls, ClientTls> h2, Table previous) {
      this.h1 = h1;
      this.h2 = h2;
      this.previous = previous;
    }

    /**
     * Returns what connections to a cluster with {@code tls} and {@code protocol} use. Called on event loops; does
     * not block.
     *
     * @return the context, or the reason there is none (also when the setting was never built)
     */
    public ClientTls lookup(UpstreamTls tls, Cluster.Protocol protocol) {
      boolean http2 = protocol == Cluster.Protocol.HTTP2;
      ClientTls c = (http2 ? h2 : h1).get(tls);
      if (c == null && previous != null) {
        c = (http2 ? previous.h2 : previous.h1).get(tls);
      }
      return c != null ? c : new ClientTls(Optional.empty(), "no TLS context was built for this DestinationRule tls "
          + "setting");
    }

    /** Returns how many contexts the table holds (for logs and tests). */
    public int size() {
      return (int) java.util.stream.Stream.concat(h1.values().stream(), h2.values().stream())
          .filter(c -> c.context().isPresent()).count();
    }
  }

  /**
   * A connect that was not attempted because the cluster's TLS setting has no usable context (a missing Secret, a
   * bad PEM, a key that does not match its certificate): Envoy's {@code UF}, with the reason.
   */
  public static final class Unavailable extends IOException {
    /** @param reason what is wrong with the setting (names the field, never key bytes) */
    public Unavailable(String reason) {
      super(reason);
    }
  }

  /** How an upstream TLS handshake failed, for Envoy's {@code ssl.*} counters. */
  public enum FailureKind {
    /** The upstream's certificate has none of {@code subjectAltNames} ({@code ssl.fail_verify_san}). */
    VERIFY_SAN,
    /** The upstream's chain, name or revocation status failed the checks ({@code ssl.fail_verify_error}). */
    VERIFY_ERROR,
    /** Anything else: the handshake was refused or broke ({@code ssl.connection_error}). */
    CONNECTION
  }

  /**
   * Builds the contexts for every TLS-originating cluster of {@code listeners}. Call from one thread at a time,
   * never from an event loop (reads files).
   *
   * @param secrets every Secret by {@code namespace/name}
   * @param files reads {@code clientCertificate}, {@code privateKey}, {@code caCertificates} and {@code caCrl}
   * @param problems receives one ERROR per setting whose material does not load
   * @return the table requests look contexts up in
   */
  public Table build(Map<Integer, ListenerConfig> listeners, Map<String, SecretData> secrets,
      TlsContexts.FileSource files, List<Problem> problems) {
    // Every setting, with the protocols and the cluster hosts that use it (for messages).
    Map<UpstreamTls, Set<Boolean>> protocols = new LinkedHashMap<>();
    Map<UpstreamTls, Set<String>> hosts = new HashMap<>();
    forEachCluster(listeners, c -> {
      UpstreamTls tls = c.policy().tls();
      if (tls.enabled()) {
        Set<Boolean> p = protocols.computeIfAbsent(tls, t -> new TreeSet<>());
        p.add(c.protocol() == Cluster.Protocol.HTTP2);
        if (c.policy().connectionPool().useClientProtocol()) {
          p.add(c.protocol() != Cluster.Protocol.HTTP2); // the client's protocol, either one
        }
        hosts.computeIfAbsent(tls, t -> new TreeSet<>()).add(c.host());
      }
    });
    Map<Built, SslContext> next = new HashMap<>();
    Map<UpstreamTls, ClientTls> h1 = new HashMap<>();
    Map<UpstreamTls, ClientTls> h2 = new HashMap<>();
    for (Map.Entry<UpstreamTls, Set<Boolean>> e : protocols.entrySet()) {
      UpstreamTls tls = e.getKey();
      String subject = "DestinationRule for " + String.join(", ", hosts.get(tls));
      Material m;
      try {
        m = material(tls, secrets, files);
      } catch (MaterialException ex) {
        String why = "tls." + ex.field + ": " + ex.getMessage();
        problems.add(new Problem(Problem.Severity.ERROR, subject, "", "trafficPolicy.tls." + ex.field,
            ex.getMessage() + "; requests to " + String.join(", ", hosts.get(tls)) + " answer 503 UF until it is "
            + "fixed"));
        ClientTls failed = new ClientTls(Optional.empty(), subject + ": " + why);
        h1.put(tls, failed);
        h2.put(tls, failed);
        continue;
      }
      for (boolean http2 : e.getValue()) {
        Built key = new Built(tls, http2, m.digest());
        SslContext ctx = next.get(key);
        if (ctx == null) {
          ctx = cache.get(key);
        }
        ClientTls result;
        try {
          if (ctx == null) {
            ctx = decorate.apply(context(tls, http2, m));
          }
          next.put(key, ctx);
          result = new ClientTls(Optional.of(ctx), "");
        } catch (SSLException | GeneralSecurityException | RuntimeException ex) {
          String why = "TLS settings refused by " + provider + ": " + ex.getMessage();
          problems.add(new Problem(Problem.Severity.ERROR, subject, "", "trafficPolicy.tls", why
              + "; requests to " + String.join(", ", hosts.get(tls)) + " answer 503 UF until it is fixed"));
          result = new ClientTls(Optional.empty(), subject + ": tls: " + why);
        }
        (http2 ? h2 : h1).put(tls, result);
      }
    }
    cache = next;
    Table previous = current;
    current = new Table(Map.copyOf(h1), Map.copyOf(h2), new Table(previous.h1, previous.h2, null));
    if (!next.isEmpty()) {
      log.debug("upstream TLS: {} client contexts ({})", next.size(), provider);
    }
    return current;
  }

  /** Returns every file a DestinationRule {@code tls} of {@code listeners}' clusters names, to watch. */
  public static Set<Path> files(Map<Integer, ListenerConfig> listeners) {
    Set<Path> out = new LinkedHashSet<>();
    forEachCluster(listeners, c -> {
      UpstreamTls t = c.policy().tls();
      if (t.enabled()) {
        t.clientCertificate().ifPresent(out::add);
        t.privateKey().ifPresent(out::add);
        t.caCertificates().ifPresent(out::add);
        t.caCrl().ifPresent(out::add);
      }
    });
    return out;
  }

  /** Calls {@code action} for every cluster a route of {@code listeners} forwards to (repeats included). */
  private static void forEachCluster(Map<Integer, ListenerConfig> listeners, Consumer<Cluster> action) {
    Set<VirtualHost> seen = Collections.newSetFromMap(new IdentityHashMap<>());
    for (ListenerConfig l : listeners.values()) {
      for (VirtualHost vh : l.routes().entries().values()) {
        if (!seen.add(vh)) {
          continue; // one virtual host serves many hosts
        }
        for (HttpRoute r : vh.routes()) {
          if (r.action() instanceof RouteAction.Forward f) {
            f.destinations().forEach(w -> action.accept(w.cluster()));
          }
        }
      }
    }
  }

  /**
   * Returns the reason an upstream connect failed in TLS, as the access log's
   * {@code upstream_transport_failure_reason} shows it: the certificate check that failed, or the handshake's
   * error, or why the setting has no context; empty when the failure was not TLS's (refused, timed out).
   */
  public static Optional<String> failureReason(Throwable cause) {
    if (cause instanceof Unavailable u) {
      return Optional.of(u.getMessage());
    }
    SSLException tls = null;
    CertificateException certificate = null;
    for (Throwable t = cause; t != null; t = t.getCause()) {
      if (t instanceof SSLException e && tls == null) {
        tls = e;
      }
      if (t instanceof CertificateException c && certificate == null) {
        certificate = c;
      }
      for (Throwable s : t.getSuppressed()) {
        if (s instanceof CertificateException c && certificate == null) {
          certificate = c;
        }
      }
    }
    if (certificate != null) {
      return Optional.of("CERTIFICATE_VERIFY_FAILED: " + certificate.getMessage());
    }
    return tls == null ? Optional.empty() : Optional.of(String.valueOf(tls.getMessage()));
  }

  /** Classifies a failed handshake for the {@code ssl.*} counters. */
  public static FailureKind kind(Throwable cause) {
    FailureKind kind = FailureKind.CONNECTION;
    for (Throwable t = cause; t != null; t = t.getCause()) {
      List<Throwable> here = new ArrayList<>(List.of(t.getSuppressed()));
      here.add(t);
      for (Throwable x : here) {
        if (x instanceof UpstreamCertificateVerifier.SubjectAltNameMismatch) {
          return FailureKind.VERIFY_SAN;
        }
        if (x instanceof CertificateException || x instanceof java.security.cert.CertPathValidatorException) {
          kind = FailureKind.VERIFY_ERROR;
        }
      }
    }
    return kind;
  }

  private SslContext context(UpstreamTls tls, boolean http2, Material m) throws SSLException,
      GeneralSecurityException {
    SslContextBuilder b = SslContextBuilder.forClient().sslProvider(provider).protocols(PROTOCOLS)
        .applicationProtocolConfig(new ApplicationProtocolConfig(ApplicationProtocolConfig.Protocol.ALPN,
            ApplicationProtocolConfig.SelectorFailureBehavior.NO_ADVERTISE,
            ApplicationProtocolConfig.SelectedListenerFailureBehavior.ACCEPT,
            http2 ? ApplicationProtocolNames.HTTP_2 : ApplicationProtocolNames.HTTP_1_1));
    if (http2) {
      b.ciphers(Http2SecurityUtil.CIPHERS, SupportedCipherSuiteFilter.INSTANCE); // RFC 9113 §9.2.2
    }
    if (tls.insecureSkipVerify()) {
      b.trustManager(InsecureTrustManagerFactory.INSTANCE).endpointIdentificationAlgorithm(null);
    } else {
      b.trustManager(new UpstreamCertificateVerifier(m.anchors(), m.crls(), tls.subjectAltNames()))
          // no subjectAltNames: the name the connection was opened for (the SNI) is checked as HTTPS does (RFC 9110
          // §4.3.4); with them, only they count (Envoy's match_typed_subject_alt_names replaces the host check)
          .endpointIdentificationAlgorithm(tls.subjectAltNames().isEmpty() ? "HTTPS" : null);
    }
    if (m.client().isPresent()) {
      b.keyManager(m.client().get().key(), m.client().get().chain());
    }
    return b.build();
  }

  /** A setting's material did not load; {@code field} is the {@code tls} field at fault. */
  private static final class MaterialException extends Exception {
    final String field;

    MaterialException(String field, String message) {
      super(message);
      this.field = field;
    }
  }

  private static Material material(UpstreamTls tls, Map<String, SecretData> secrets, TlsContexts.FileSource files)
      throws MaterialException {
    List<byte[]> read = new ArrayList<>();
    SecretData secret = null;
    SecretData caSecret = null;
    String name = tls.credentialName().orElse("");
    if (!name.isEmpty()) {
      secret = secrets.get(name);
      caSecret = secrets.get(name + "-cacert");
      if (secret == null) {
        throw new MaterialException("credentialName", "Secret " + name + " not found (expected: a Secret in "
            + "namespace " + name.substring(0, Math.max(0, name.indexOf('/'))) + " with "
            + (tls.mode() == UpstreamTls.Mode.MUTUAL ? "tls.crt and tls.key (or cert and key), and ca.crt for the "
            + "upstream's CA" : "ca.crt or cacert, the upstream's CA") + ")");
      }
      read.add(name.getBytes(java.nio.charset.StandardCharsets.UTF_8));
    }
    Optional<Credential> client = Optional.empty();
    if (tls.mode() == UpstreamTls.Mode.MUTUAL) {
      client = Optional.of(secret != null ? secretCredential(name, secret, read) : fileCredential(tls, files, read));
    }
    List<X509Certificate> anchors = null;
    List<X509CRL> crls = List.of();
    if (!tls.insecureSkipVerify()) {
      if (tls.caCertificates().isPresent()) {
        Path p = tls.caCertificates().get();
        byte[] pem = readFile("caCertificates", p, files, read);
        anchors = certificates("caCertificates", "file " + p, pem);
      } else {
        SecretData from = caSecret != null && key(caSecret, "cacert", "ca.crt") != null ? caSecret : secret;
        String k = from == null ? null : key(from, "cacert", "ca.crt");
        if (k != null) {
          byte[] pem = from.data().get(k);
          read.add(pem);
          anchors = certificates("credentialName", "Secret " + from.key() + ": " + k, pem);
        }
      }
      if (tls.caCrl().isPresent()) {
        Path p = tls.caCrl().get();
        crls = crls("caCrl", "file " + p, readFile("caCrl", p, files, read), anchors);
      } else if (secret != null && key(secret, "crl", "ca.crl") != null) {
        String k = key(secret, "crl", "ca.crl");
        read.add(secret.data().get(k));
        crls = crls("credentialName", "Secret " + name + ": " + k, secret.data().get(k), anchors);
      }
    }
    return new Material(client, anchors, crls, digest(read));
  }

  private static Credential secretCredential(String name, SecretData secret, List<byte[]> read)
      throws MaterialException {
    Map<String, byte[]> data = secret.data();
    String certKey = data.containsKey("cert") ? "cert" : "tls.crt";
    String keyKey = data.containsKey("cert") ? "key" : "tls.key";
    byte[] cert = data.get(certKey);
    byte[] key = data.get(keyKey);
    String where = "Secret " + name + " (" + secret.source() + ")";
    if (cert == null || key == null || cert.length == 0 || key.length == 0) {
      throw new MaterialException("credentialName", where + ": " + (cert == null || cert.length == 0 ? certKey
          : keyKey) + ": " + (cert == null || key == null ? "missing" : "empty") + " (expected: for mode MUTUAL, "
          + "the client certificate and key as tls.crt and tls.key, or cert and key)");
    }
    read.add(cert);
    read.add(key);
    return credential("credentialName", where + ": " + certKey, cert, where + ": " + keyKey, key);
  }

  private static Credential fileCredential(UpstreamTls tls, TlsContexts.FileSource files, List<byte[]> read)
      throws MaterialException {
    Path certFile = tls.clientCertificate().orElseThrow();
    Path keyFile = tls.privateKey().orElseThrow();
    byte[] cert = readFile("clientCertificate", certFile, files, read);
    byte[] key = readFile("privateKey", keyFile, files, read);
    List<X509Certificate> chain = certificates("clientCertificate", "file " + certFile, cert);
    PrivateKey pk;
    try {
      pk = Pem.privateKey(key);
    } catch (IllegalArgumentException e) {
      throw new MaterialException("privateKey", "file " + keyFile + ": " + e.getMessage());
    }
    try {
      return new Credential(pk, chain);
    } catch (IllegalArgumentException e) {
      throw new MaterialException("privateKey", "file " + keyFile + ": " + e.getMessage() + " (expected: the key of "
          + "clientCertificate " + certFile + ")");
    }
  }

  private static Credential credential(String field, String certWhere, byte[] cert, String keyWhere, byte[] key)
      throws MaterialException {
    List<X509Certificate> chain = certificates(field, certWhere, cert);
    PrivateKey pk;
    try {
      pk = Pem.privateKey(key);
    } catch (IllegalArgumentException e) {
      throw new MaterialException(field, keyWhere + ": " + e.getMessage());
    }
    try {
      return new Credential(pk, chain);
    } catch (IllegalArgumentException e) {
      throw new MaterialException(field, keyWhere + ": " + e.getMessage() + " (expected: the key of the client "
          + "certificate)");
    }
  }

  private static byte[] readFile(String field, Path p, TlsContexts.FileSource files, List<byte[]> read)
      throws MaterialException {
    byte[] b;
    try {
      b = files.read(p);
    } catch (IllegalArgumentException e) {
      throw new MaterialException(field, e.getMessage() + " (expected: a readable PEM file)");
    }
    if (b.length == 0) {
      throw new MaterialException(field, "file " + p + ": empty (expected: PEM)");
    }
    read.add(p.toString().getBytes(java.nio.charset.StandardCharsets.UTF_8));
    read.add(b);
    return b;
  }

  private static List<X509Certificate> certificates(String field, String where, byte[] pem)
      throws MaterialException {
    if (pem.length == 0) {
      throw new MaterialException(field, where + ": empty (expected: PEM certificates)");
    }
    try {
      return Pem.certificates(pem);
    } catch (IllegalArgumentException e) {
      throw new MaterialException(field, where + ": " + e.getMessage());
    }
  }

  /** Parses PEM CRLs; with {@code anchors}, each must be signed by one of them. */
  private static List<X509CRL> crls(String field, String where, byte[] pem, List<X509Certificate> anchors)
      throws MaterialException {
    List<X509CRL> out = new ArrayList<>();
    try {
      for (java.security.cert.CRL c : CertificateFactory.getInstance("X.509")
          .generateCRLs(new java.io.ByteArrayInputStream(pem))) {
        out.add((X509CRL) c);
      }
    } catch (java.security.cert.CRLException | CertificateException e) {
      throw new MaterialException(field, where + ": not a PEM CRL (" + io.portcullis.config.ParseErrors.withoutInput(
          String.valueOf(e.getMessage()), new String(pem, java.nio.charset.StandardCharsets.ISO_8859_1)) + ")");
    }
    if (out.isEmpty()) {
      throw new MaterialException(field, where + ": no CRL found (expected: -----BEGIN X509 CRL-----)");
    }
    if (anchors != null) {
      for (X509CRL crl : out) {
        boolean signed = anchors.stream().anyMatch(ca -> {
          try {
            crl.verify(ca.getPublicKey());
            return true;
          } catch (GeneralSecurityException e) {
            return false;
          }
        });
        if (!signed) {
          throw new MaterialException(field, where + ": the CRL issued by " + crl.getIssuerX500Principal().getName()
              + " is not signed by any certificate of the upstream CA (expected: CRLs from the CA in "
              + "caCertificates or the Secret)");
        }
      }
    }
    return out;
  }

  private static String key(SecretData s, String... keys) {
    for (String k : keys) {
      if (s.data().containsKey(k)) {
        return k;
      }
    }
    return null;
  }

  private static String digest(List<byte[]> parts) {
    return TlsContexts.digest(parts.toArray(byte[][]::new));
  }
}
