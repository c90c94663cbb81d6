package io.portcullis.admin;

import static java.util.Objects.requireNonNull;

import io.portcullis.tls.SecureFiles;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.util.Base64;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The bearer token that the admin server's state-changing endpoints require ({@code Authorization: Bearer <token>},
 * RFC 6750 §2.1), kept in {@code --admin-token-file} (default {@code <state dir>/admin-token}).
 *
 * <p>At first start the file is created with 32 bytes from {@link SecureRandom}, base64url without padding, mode 0600,
 * written atomically ({@link SecureFiles}). An existing file is read and trimmed; it must hold an RFC 6750
 * {@code b64token} (letters, digits and {@code -._~+/}, then optional {@code =}), such as {@code openssl rand -hex 32}
 * prints. A file other users can read, or anyone but its owner can write, is refused; one its group can read is
 * accepted with a warning (Kubernetes Secret volumes with {@code fsGroup} are group-readable).
 *
 * <p>The token never appears in logs, errors or {@link #toString()}; {@link #matches} compares in constant time.
 */
public final class AdminToken {
  private static final Logger log = LoggerFactory.getLogger(AdminToken.class);
  /** The file's name under the state directory. */
  public static final String FILE_NAME = "admin-token";
  /** RFC 6750 §2.1 {@code b64token}. */
  private static final Pattern B64TOKEN = Pattern.compile("[A-Za-z0-9\\-._~+/]+=*");
  private static final int RANDOM_BYTES = 32;

  private final Path file;
  private final byte[] digest;
  private final String token;

  private AdminToken(Path file, String token) {
    this.file = file.toAbsolutePath();
    this.token = token;
    this.digest = sha256(token);
  }

  /** Returns the default token file of state directory {@code stateDir}: {@code <stateDir>/admin-token}. */
  public static Path defaultFile(Path stateDir) {
    return requireNonNull(stateDir, "stateDir").resolve(FILE_NAME);
  }

  /**
   * Reads the token in {@code tokenFile}, creating the file with a new random token first when it does not exist.
   * Called once at start, never on an event loop (file I/O).
   *
   * @throws IllegalStateException when the file cannot be read or written, is empty, is not a {@code b64token}, or
   *     other users can read it (the message names the file and what was expected, never the token)
   */
  public static AdminToken loadOrCreate(Path tokenFile, SecureRandom random) {
    Path file = requireNonNull(tokenFile, "tokenFile").toAbsolutePath();
    requireNonNull(random, "random");
    if (!Files.exists(file)) {
      byte[] bytes = new byte[RANDOM_BYTES];
      random.nextBytes(bytes);
      String token = Base64.getUrlEncoder().withoutPadding().encodeToString(bytes);
      try {
        SecureFiles.write(file, (token + "\n").getBytes(StandardCharsets.US_ASCII), true);
      } catch (IOException e) {
        throw new IllegalStateException("--admin-token-file " + file + ": cannot write a new admin token: " + e
            + " (expected: a writable directory, or an existing token file)", e);
      }
      log.info("admin: generated a new admin token in {} (mode 0600)", file);
      return new AdminToken(file, token);
    }
    permissions(file).flatMap(AdminToken::permissionProblem).ifPresent(p -> {
      if (p.refused()) {
        throw new IllegalStateException("--admin-token-file " + file + ": " + p.message());
      }
      log.warn("admin: --admin-token-file {}: {}", file, p.message());
    });
    return read(file);
  }

  /**
   * Reads the token in {@code tokenFile} (what {@code portcullis certs renew} sends); the file must exist.
   *
   * @throws IllegalStateException when it cannot be read, is empty or is not a {@code b64token}
   */
  public static AdminToken read(Path tokenFile) {
    Path file = requireNonNull(tokenFile, "tokenFile").toAbsolutePath();
    String token;
    try {
      token = Files.readString(file, StandardCharsets.UTF_8).strip();
    } catch (NoSuchFileException e) {
      throw new IllegalStateException("--admin-token-file " + file + ": no such file (expected: the token file of "
          + "the running gateway, by default <its --state>/" + FILE_NAME + ")", e);
    } catch (IOException e) {
      throw new IllegalStateException("--admin-token-file " + file + ": cannot read: " + e, e);
    }
    if (token.isEmpty()) {
      throw new IllegalStateException("--admin-token-file " + file + ": empty (expected: a token, e.g. from "
          + "'openssl rand -hex 32', or delete the file to have one generated)");
    }
    if (!B64TOKEN.matcher(token).matches()) {
      throw new IllegalStateException("--admin-token-file " + file + ": not a bearer token (expected: one line of "
          + "letters, digits and -._~+/ with optional trailing '=', RFC 6750 b64token)");
    }
    return new AdminToken(file, token);
  }

  /**
   * What is wrong with a token file's permissions, if anything: refused when others may read it or anyone but
   * the owner may write it; a warning when its group may read it.
   */
  static Optional<Problem> permissionProblem(Set<PosixFilePermission> perms) {
    String mode = PosixFilePermissions.toString(perms);
    String fix = " (expected: mode 0600, e.g. chmod 600)";
    if (perms.contains(PosixFilePermission.OTHERS_READ)) {
      return Optional.of(new Problem(true, "mode " + mode + " lets every local user read the admin token" + fix));
    }
    if (perms.contains(PosixFilePermission.OTHERS_WRITE) || perms.contains(PosixFilePermission.GROUP_WRITE)) {
      return Optional.of(new Problem(true, "mode " + mode + " lets other users replace the admin token" + fix));
    }
    if (perms.contains(PosixFilePermission.GROUP_READ)) {
      return Optional.of(new Problem(false, "mode " + mode + " lets the file's group read the admin token" + fix));
    }
    return Optional.empty();
  }

  /** A token file's permission problem; {@code refused} ones stop the start. */
  record Problem(boolean refused, String message) {}

  private static Optional<Set<PosixFilePermission>> permissions(Path file) {
    if (!FileSystems.getDefault().supportedFileAttributeViews().contains("posix")) {
      return Optional.empty();
    }
    try {
      return Optional.of(Files.getPosixFilePermissions(file));
    } catch (IOException e) {
      throw new IllegalStateException("--admin-token-file " + file + ": cannot read its permissions: " + e, e);
    }
  }

  /** Returns the file the token came from, as an absolute path. */
  public Path file() {
    return file;
  }

  /**
   * Returns whether {@code authorization} (an {@code Authorization} header value, may be null) is
   * {@code Bearer <this token>}; the scheme is case-insensitive (RFC 9110 §11.1). Compares digests of equal length
   * in constant time, so the time taken tells nothing about the token or its length.
   */
  public boolean matches(String authorization) {
    if (authorization == null || authorization.length() < 7
        || !authorization.regionMatches(true, 0, "Bearer ", 0, 7)) {
      return false;
    }
    return MessageDigest.isEqual(digest, sha256(authorization.substring(7).strip()));
  }

  /** Returns the {@code Authorization} header value that carries this token (for clients such as the CLI). */
  public String authorization() {
    return "Bearer " + token;
  }

  private static byte[] sha256(String s) {
    try {
      return MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  /** Names the file, never the token. */
  @Override
  public String toString() {
    return "AdminToken[" + file + ", redacted]";
  }
}
