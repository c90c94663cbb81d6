package io.portcullis.cli;

import io.portcullis.etcd.EtcdConnection;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import picocli.CommandLine.Option;

/**
 * {@code --storage etcd://host:port,...} and its TLS and auth options: where replicas outside Kubernetes share
 * issued certificates, issuance locks and HTTP-01 challenges ({@link EtcdConnection}).
 */
final class StorageOptions {
  @Option(names = "--storage", paramLabel = "URL",
      description = "Share certificates, issuance locks and HTTP-01 challenges with other replicas in etcd: "
          + "etcd://HOST:PORT,HOST:PORT (plain) or etcds://... (TLS). Default: the --state directory (this process "
          + "alone), or Secrets and Leases with --kubernetes.")
  String storage;

  @Option(names = "--etcd-ca-file", paramLabel = "FILE",
      description = "With --storage etcds://: the PEM CA bundle that signed the etcd servers' certificates.")
  Path caFile;

  @Option(names = "--etcd-cert-file", paramLabel = "FILE",
      description = "With --storage etcds://: the client certificate (PEM); with --etcd-key-file.")
  Path certFile;

  @Option(names = "--etcd-key-file", paramLabel = "FILE",
      description = "With --storage etcds://: the client certificate's private key (PEM, PKCS#8).")
  Path keyFile;

  @Option(names = "--etcd-user", paramLabel = "NAME",
      description = "With --storage: the etcd user (etcd's auth); with --etcd-password-file.")
  String user;

  @Option(names = "--etcd-password-file", paramLabel = "FILE",
      description = "With --etcd-user: a file holding the user's password (its first line), so that it never shows "
          + "in a process listing.")
  Path passwordFile;

  /** Whether {@code --storage} names etcd. */
  boolean etcd() {
    return storage != null;
  }

  /**
   * Connects to the etcd cluster {@code --storage} names.
   *
   * @throws IllegalArgumentException naming the flag when the options are inconsistent
   * @throws IOException when the password file cannot be read or no member answers
   */
  EtcdConnection connect() throws IOException {
    if (!storage.startsWith("etcd://") && !storage.startsWith("etcds://")) {
      throw new IllegalArgumentException("--storage " + storage + ": not an etcd URL (expected: "
          + "etcd://HOST:PORT,... or etcds://HOST:PORT,...)");
    }
    if ((certFile == null) != (keyFile == null)) {
      throw new IllegalArgumentException("--etcd-cert-file and --etcd-key-file: give both or neither");
    }
    if ((user == null) != (passwordFile == null)) {
      throw new IllegalArgumentException("--etcd-user and --etcd-password-file: give both or neither");
    }
    EtcdConnection.Options o = EtcdConnection.Options.defaults();
    if (caFile != null) {
      o = o.withCaFile(caFile);
    }
    if (certFile != null) {
      o = o.withClientCertificate(certFile, keyFile);
    }
    if (user != null) {
      String password = Files.readString(passwordFile, StandardCharsets.UTF_8).lines().findFirst().orElse("");
      o = o.withUser(user, password);
    }
    return EtcdConnection.connect(storage, o);
  }

  /** Fails when etcd options are given without {@code --storage}. */
  void check() {
    if (storage == null && (caFile != null || certFile != null || keyFile != null || user != null
        || passwordFile != null)) {
      throw new IllegalArgumentException("--etcd-* options need --storage etcd://... (expected: --storage too)");
    }
  }

  @Override
  public String toString() {
    return "StorageOptions[" + Optional.ofNullable(storage).orElse("-") + "]";
  }
}
