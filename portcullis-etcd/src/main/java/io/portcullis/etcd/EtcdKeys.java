package io.portcullis.etcd;

import io.etcd.jetcd.ByteSequence;
import java.nio.charset.StandardCharsets;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * Owns the etcd key layout, and checks every name that goes into a key so that nothing escapes its prefix:
 * <ul>
 *   <li>{@code /portcullis/secrets/<namespace>/<name>}: a Secret ({@link EtcdStorage})
 *   <li>{@code /portcullis/locks/<namespace>/<name>}: a Certificate's lock, attached to a lease ({@link EtcdLocks})
 *   <li>{@code /portcullis/notes/<namespace>/<name>}: that lock's notes, no lease
 *   <li>{@code /portcullis/http01/<token>}: an HTTP-01 key authorization, attached to a lease ({@link EtcdChallenges})
 * </ul>
 * Namespaces and names are DNS-1123 subdomains (what Kubernetes allows); tokens are base64url (RFC 8555 §8.1).
 */
final class EtcdKeys {
  static final String ROOT = "/portcullis/";
  static final String SECRETS = ROOT + "secrets/";
  static final String LOCKS = ROOT + "locks/";
  static final String NOTES = ROOT + "notes/";
  static final String HTTP01 = ROOT + "http01/";
  /** DNS-1123 subdomain, as Kubernetes requires of namespaces and names; no {@code /}. */
  private static final Pattern NAME = Pattern.compile("[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?");
  private static final Pattern TOKEN = Pattern.compile("[A-Za-z0-9_-]{1,256}");

  private EtcdKeys() {}

  /** Returns the key of Secret {@code namespace/name}; throws IllegalArgumentException naming a bad part. */
  static String secret(String namespace, String name) {
    return SECRETS + checkName("namespace", namespace) + "/" + checkName("name", name);
  }

  /** Returns the key of Secret {@code key} ({@code namespace/name}). */
  static String secret(String key) {
    int slash = key.indexOf('/');
    if (slash < 0) {
      throw new IllegalArgumentException("Secret key: \"" + key + "\" (expected: namespace/name)");
    }
    return secret(key.substring(0, slash), key.substring(slash + 1));
  }

  /** Returns {@code namespace/name} of a Secret's etcd key, or empty when {@code etcdKey} is not one. */
  static Optional<String> secretName(String etcdKey) {
    if (!etcdKey.startsWith(SECRETS)) {
      return Optional.empty();
    }
    String rest = etcdKey.substring(SECRETS.length());
    int slash = rest.indexOf('/');
    if (slash < 0 || !NAME.matcher(rest.substring(0, slash)).matches()
        || !NAME.matcher(rest.substring(slash + 1)).matches()) {
      return Optional.empty();
    }
    return Optional.of(rest);
  }

  /** Returns the lock key of {@code name} ({@code namespace/name}, or any {@code /}-separated DNS-1123 names). */
  static String lock(String name) {
    return LOCKS + checkPath(name);
  }

  /** Returns the notes key of lock {@code name}. */
  static String notes(String name) {
    return NOTES + checkPath(name);
  }

  /** Returns the key of HTTP-01 token {@code token}, or empty when it is no base64url token. */
  static Optional<String> http01(String token) {
    return token != null && TOKEN.matcher(token).matches() ? Optional.of(HTTP01 + token) : Optional.empty();
  }

  static ByteSequence bytes(String s) {
    return ByteSequence.from(s, StandardCharsets.UTF_8);
  }

  private static String checkPath(String name) {
    for (String part : name.split("/", -1)) {
      if (!NAME.matcher(part).matches()) {
        throw new IllegalArgumentException("lock name: \"" + name
            + "\" (expected: namespace/name, each a DNS-1123 subdomain: [a-z0-9] with '-' and '.' inside)");
      }
    }
    return name;
  }

  private static String checkName(String what, String value) {
    if (value == null || !NAME.matcher(value).matches()) {
      throw new IllegalArgumentException("Secret " + what + ": \"" + value
          + "\" (expected: a DNS-1123 subdomain: [a-z0-9] with '-' and '.' inside, at most 253 characters)");
    }
    return value;
  }
}
