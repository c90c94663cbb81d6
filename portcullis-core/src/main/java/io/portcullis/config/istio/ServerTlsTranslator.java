package io.portcullis.config.istio;

import static io.portcullis.config.SpecValues.rawText;

import io.fabric8.istio.api.api.networking.v1alpha3.ServerTLSSettings;
import io.fabric8.istio.api.api.networking.v1alpha3.ServerTLSSettingsTLSCertificate;
import io.portcullis.config.Problem.Severity;
import io.portcullis.config.Resource;
import io.portcullis.config.ServerConfig;
import io.portcullis.config.TranslationContext;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * Translates a Gateway server's Istio {@code ServerTLSSettings} into {@link ServerConfig.TlsSettings}: the mode,
 * protocol versions and cipher suites, the credential (a {@code credentialName} or {@code credentialNames} Secret,
 * resolved as Istio's SDS names it, or certificate files), and for {@code MUTUAL} the client CA and the
 * {@code subjectAltNames} / {@code verifyCertificateSpki} / {@code verifyCertificateHash} checks. Follows Istio's
 * validation; the Secrets themselves are checked when loaded ({@code tls.TlsContexts}).
 */
final class ServerTlsTranslator {
  private ServerTlsTranslator() {}

  /**
   * Validates Istio {@code ServerTLSSettings}; returns empty after reporting an ERROR. Follows Istio's validation: one
   * credential form, at most two certificates, a client CA for {@code MUTUAL}, well-formed digests.
   */
  static Optional<ServerConfig.TlsSettings> tlsSettings(Resource r, String at, String protocol, ServerTLSSettings tls,
      TranslationContext cx) {
    if (tls == null) {
      cx.problem(Severity.ERROR, r, at + ".tls", "missing (expected: mode SIMPLE with a credentialName for an "
          + "HTTPS server, or mode PASSTHROUGH)");
      return Optional.empty();
    }
    String mode = tls.getMode() != null ? tls.getMode().name() : rawText(r, at, "tls", "mode");
    if (mode.isEmpty()) {
      mode = "PASSTHROUGH"; // Istio's default mode
    }
    if (mode.equals("ISTIO_MUTUAL") || mode.equals("AUTO_PASSTHROUGH")) {
      cx.problem(Severity.ERROR, r, at + ".tls.mode", mode + " needs the mesh's identities, which Portcullis does "
          + "not have yet (expected: SIMPLE, MUTUAL, OPTIONAL_MUTUAL or PASSTHROUGH)");
      return Optional.empty();
    }
    if (!Set.of("SIMPLE", "MUTUAL", "OPTIONAL_MUTUAL", "PASSTHROUGH").contains(mode)) {
      cx.problem(Severity.ERROR, r, at + ".tls.mode", mode + " (expected: SIMPLE, MUTUAL, OPTIONAL_MUTUAL or "
          + "PASSTHROUGH)");
      return Optional.empty();
    }
    if (protocol.equals("TLS") && !mode.equals("PASSTHROUGH")) {
      cx.problem(Severity.ERROR, r, at + ".tls.mode", mode + " on a TLS port, whose streams Portcullis does not "
          + "terminate (expected: PASSTHROUGH, or port.protocol HTTPS to terminate TLS)");
      return Optional.empty();
    }
    Optional<String> min = protocolVersion(r, at + ".tls.minProtocolVersion", tls.getMinProtocolVersion() == null
        ? rawText(r, at, "tls", "minProtocolVersion") : tls.getMinProtocolVersion().name(), "TLSv1.2", cx);
    Optional<String> max = protocolVersion(r, at + ".tls.maxProtocolVersion", tls.getMaxProtocolVersion() == null
        ? rawText(r, at, "tls", "maxProtocolVersion") : tls.getMaxProtocolVersion().name(), "TLSv1.3", cx);
    if (min.isEmpty() || max.isEmpty()) {
      return Optional.empty();
    }
    if (min.get().compareTo(max.get()) > 0) {
      cx.problem(Severity.ERROR, r, at + ".tls.minProtocolVersion", min.get() + " is above maxProtocolVersion "
          + max.get() + " (expected: min <= max)");
      return Optional.empty();
    }
    List<String> ciphers = tls.getCipherSuites() == null ? List.of() : tls.getCipherSuites();
    if (mode.equals("PASSTHROUGH")) {
      return Optional.of(new ServerConfig.TlsSettings(mode, List.of(), List.of(), Optional.empty(), Optional.empty(),
          Optional.empty(), List.of(), List.of(), List.of(), min.get(), max.get(), ciphers));
    }
    String cred = tls.getCredentialName() == null ? "" : tls.getCredentialName().trim();
    List<String> creds = tls.getCredentialNames() == null ? List.of() : tls.getCredentialNames().stream()
        .map(c -> c == null ? "" : c.trim()).toList();
    boolean files = notBlank(tls.getServerCertificate()) || notBlank(tls.getPrivateKey());
    List<ServerTLSSettingsTLSCertificate> tlsCerts = tls.getTlsCertificates() == null ? List.of()
        : tls.getTlsCertificates();
    int forms = (cred.isEmpty() ? 0 : 1) + (creds.isEmpty() ? 0 : 1) + (files ? 1 : 0) + (tlsCerts.isEmpty() ? 0 : 1);
    if (forms != 1) {
      cx.problem(Severity.ERROR, r, at + ".tls", (forms == 0 ? "no credential" : "more than one credential form")
          + " (expected: exactly one of credentialName, credentialNames, serverCertificate with privateKey, or "
          + "tlsCertificates)");
      return Optional.empty();
    }
    List<String> credentialKeys = new ArrayList<>();
    List<String> names = !cred.isEmpty() ? List.of(cred) : creds;
    String namesField = !cred.isEmpty() ? ".tls.credentialName" : ".tls.credentialNames";
    if (names.size() > 2 || tlsCerts.size() > 2) {
      cx.problem(Severity.ERROR, r, at + (names.size() > 2 ? namesField : ".tls.tlsCertificates"), (names.size() > 2
          ? names.size() : tlsCerts.size()) + " entries (expected: at most 2, e.g. one RSA and one ECDSA)");
      return Optional.empty();
    }
    for (int n = 0; n < names.size(); n++) {
      String field = at + namesField + (cred.isEmpty() ? "[" + n + "]" : "");
      Optional<String> key = credentialKey(r, field, names.get(n), true, cx);
      if (key.isEmpty()) {
        return Optional.empty();
      }
      credentialKeys.add(key.get());
    }
    List<ServerConfig.CertificateFiles> certFiles = new ArrayList<>();
    String firstCa = "";
    if (files) {
      if (!notBlank(tls.getServerCertificate()) || !notBlank(tls.getPrivateKey())) {
        cx.problem(Severity.ERROR, r, at + (notBlank(tls.getServerCertificate()) ? ".tls.privateKey"
            : ".tls.serverCertificate"), "missing (expected: serverCertificate and privateKey together)");
        return Optional.empty();
      }
      certFiles.add(new ServerConfig.CertificateFiles(Path.of(tls.getServerCertificate().trim()),
          Path.of(tls.getPrivateKey().trim())));
    }
    for (int n = 0; n < tlsCerts.size(); n++) {
      var tc = tlsCerts.get(n);
      if (!notBlank(tc.getServerCertificate()) || !notBlank(tc.getPrivateKey())) {
        cx.problem(Severity.ERROR, r, at + ".tls.tlsCertificates[" + n + "]" + (notBlank(tc.getServerCertificate())
            ? ".privateKey" : ".serverCertificate"), "missing (expected: serverCertificate and privateKey)");
        return Optional.empty();
      }
      certFiles.add(new ServerConfig.CertificateFiles(Path.of(tc.getServerCertificate().trim()),
          Path.of(tc.getPrivateKey().trim())));
      if (firstCa.isEmpty() && notBlank(tc.getCaCertificates())) {
        firstCa = tc.getCaCertificates().trim();
      }
    }
    for (ServerConfig.CertificateFiles f : certFiles) {
      if (!f.serverCertificate().isAbsolute() || !f.privateKey().isAbsolute()) {
        cx.problem(Severity.ERROR, r, at + ".tls.serverCertificate", (f.serverCertificate().isAbsolute()
            ? f.privateKey() : f.serverCertificate()) + " (expected: an absolute file path)");
        return Optional.empty();
      }
    }
    String caFile = notBlank(tls.getCaCertificates()) ? tls.getCaCertificates().trim() : firstCa;
    String crlFile = notBlank(tls.getCaCrl()) ? tls.getCaCrl().trim() : "";
    for (String[] f : List.of(new String[] {"caCertificates", caFile}, new String[] {"caCrl", crlFile})) {
      if (!f[1].isEmpty() && !Path.of(f[1]).isAbsolute()) {
        cx.problem(Severity.ERROR, r, at + ".tls." + f[0], f[1] + " (expected: an absolute file path)");
        return Optional.empty();
      }
    }
    Optional<String> caCred = Optional.empty();
    if (notBlank(tls.getCaCertCredentialName())) {
      caCred = credentialKey(r, at + ".tls.caCertCredentialName", tls.getCaCertCredentialName().trim(), true,
          cx);
      if (caCred.isEmpty()) {
        return Optional.empty();
      }
    }
    boolean mutual = mode.equals("MUTUAL") || mode.equals("OPTIONAL_MUTUAL");
    if (mutual && certFiles.size() > 0 && caFile.isEmpty() && caCred.isEmpty()) {
      cx.problem(Severity.ERROR, r, at + ".tls.caCertificates", "missing (expected: for mode " + mode + " with "
          + "certificate files, the path of the client CA file, or caCertCredentialName)");
      return Optional.empty();
    }
    List<String> sans = tls.getSubjectAltNames() == null ? List.of() : tls.getSubjectAltNames().stream()
        .filter(ServerTlsTranslator::notBlank).map(String::trim).toList();
    List<byte[]> spki = new ArrayList<>();
    List<String> spkiIn = tls.getVerifyCertificateSpki() == null ? List.of() : tls.getVerifyCertificateSpki();
    for (int n = 0; n < spkiIn.size(); n++) {
      byte[] d;
      try {
        d = Base64.getDecoder().decode(spkiIn.get(n) == null ? "" : spkiIn.get(n).trim());
      } catch (IllegalArgumentException e) {
        d = new byte[0];
      }
      if (d.length != 32) {
        cx.problem(Severity.ERROR, r, at + ".tls.verifyCertificateSpki[" + n + "]", "\"" + spkiIn.get(n) + "\" "
            + "(expected: base64 of a SHA-256 digest, 44 characters: openssl x509 -pubkey -noout | openssl pkey "
            + "-pubin -outform DER | openssl dgst -sha256 -binary | base64)");
        return Optional.empty();
      }
      spki.add(d);
    }
    List<byte[]> hashes = new ArrayList<>();
    List<String> hashIn = tls.getVerifyCertificateHash() == null ? List.of() : tls.getVerifyCertificateHash();
    for (int n = 0; n < hashIn.size(); n++) {
      String hex = hashIn.get(n) == null ? "" : hashIn.get(n).trim().replace(":", "");
      if (!hex.matches("[0-9a-fA-F]{64}")) {
        cx.problem(Severity.ERROR, r, at + ".tls.verifyCertificateHash[" + n + "]", "\"" + hashIn.get(n) + "\" "
            + "(expected: the hex SHA-256 digest of the client certificate, 64 hex digits, colons allowed: openssl "
            + "x509 -noout -fingerprint -sha256)");
        return Optional.empty();
      }
      hashes.add(HexFormat.of().parseHex(hex));
    }
    if (!mutual && (!sans.isEmpty() || !spki.isEmpty() || !hashes.isEmpty() || caCred.isPresent()
        || !caFile.isEmpty())) {
      cx.problem(Severity.WARNING, r, at + ".tls", "client CA and client-certificate checks are ignored in mode "
          + mode + " (expected: mode MUTUAL or OPTIONAL_MUTUAL to check client certificates)");
    }
    return Optional.of(new ServerConfig.TlsSettings(mode, credentialKeys, certFiles, caCred,
        caFile.isEmpty() ? Optional.empty() : Optional.of(Path.of(caFile)),
        crlFile.isEmpty() ? Optional.empty() : Optional.of(Path.of(crlFile)), sans, spki,
        hashes, min.get(), max.get(), ciphers));
  }

  private static boolean notBlank(String s) {
    return s != null && !s.isBlank();
  }

  /**
   * Resolves a credential name as Istio does ({@code name}, {@code ns/name}, {@code kubernetes://…}) and applies the
   * seed's naming rule; returns empty after reporting an ERROR.
   *
   * @param reservedNamesRefused whether a Secret name starting with {@code istio} or {@code prometheus} is refused,
   *     as Istio's SDS refuses it for a Gateway {@code credentialName}; false for an Ingress
   *     {@code tls[].secretName}, which names a user's Secret (the cert-manager walkthrough's
   *     {@code istio-ingress-certs})
   */
  static Optional<String> credentialKey(Resource r, String field, String credentialName,
      boolean reservedNamesRefused, TranslationContext cx) {
    if (credentialName.isEmpty()) {
      cx.problem(Severity.ERROR, r, field, "empty (expected: the name of a Secret in namespace " + cx.gatewayNamespace()
          + ")");
      return Optional.empty();
    }
    String c = credentialName.startsWith("kubernetes://") ? credentialName.substring("kubernetes://".length())
        : credentialName;
    String key = c.contains("/") ? c : cx.gatewayNamespace() + "/" + c;
    String secretName = key.substring(key.indexOf('/') + 1);
    if (reservedNamesRefused && (secretName.startsWith("istio") || secretName.startsWith("prometheus"))) {
      cx.problem(Severity.ERROR, r, field, credentialName + ": Istio's SDS never serves a Secret whose name starts "
          + "with istio or prometheus (expected: another name, e.g. " + secretName
          .replaceFirst("^(istio|prometheus)-?", "") + "-credential)");
      return Optional.empty();
    }
    return Optional.of(key);
  }

  private static Optional<String> protocolVersion(Resource r, String field, String value, String dflt,
      TranslationContext cx) {
    return switch (value) {
      case "", "TLS_AUTO" -> Optional.of(dflt);
      case "TLSV1_0" -> Optional.of("TLSv1");
      case "TLSV1_1" -> Optional.of("TLSv1.1");
      case "TLSV1_2" -> Optional.of("TLSv1.2");
      case "TLSV1_3" -> Optional.of("TLSv1.3");
      default -> {
        cx.problem(Severity.ERROR, r, field, value + " (expected: TLS_AUTO, TLSV1_0, TLSV1_1, TLSV1_2 or TLSV1_3)");
        yield Optional.empty();
      }
    };
  }
}
