package io.portcullis.cli;

import io.portcullis.admin.AdminToken;
import java.nio.file.Path;
import picocli.CommandLine.Option;
import picocli.CommandLine.ScopeType;

/**
 * {@code --state} and {@code --admin-token-file}, with the same defaults for {@code portcullis run} (which creates
 * them) and {@code portcullis certs} (which reads the token), so that both find the same files without flags.
 * Inherited by subcommands: {@code portcullis certs renew NAME --state DIR} works as well.
 */
final class StateOptions {
  @Option(names = "--state", paramLabel = "DIR", scope = ScopeType.INHERIT,
      description = "The gateway's state: issued certificates, their keys and ACME account keys (one Secret manifest "
          + "per file, mode 0600), and the admin token. Default: $XDG_STATE_HOME/portcullis/state "
          + "(~/.local/state/portcullis/state).")
  Path state;

  @Option(names = "--admin-token-file", paramLabel = "FILE", scope = ScopeType.INHERIT,
      description = "The token the admin server's state-changing endpoints (POST /certs/renew) require as "
          + "'Authorization: Bearer TOKEN'; 'run' creates it (32 random bytes, mode 0600) when absent and refuses "
          + "one other users can read. Default: <--state>/admin-token.")
  Path adminTokenFile;

  /** Returns {@code --state}, else {@code $XDG_STATE_HOME/portcullis/state} ({@code ~/.local/state/...}). */
  Path stateDir() {
    return state != null ? state : stateHome().resolve("portcullis/state");
  }

  /** Returns {@code --admin-token-file}, else {@code admin-token} in {@link #stateDir()}. */
  Path adminTokenFile() {
    return adminTokenFile != null ? adminTokenFile : AdminToken.defaultFile(stateDir());
  }

  private static Path stateHome() {
    String xdg = System.getenv("XDG_STATE_HOME");
    if (xdg != null && !xdg.isBlank()) {
      return Path.of(xdg);
    }
    return Path.of(System.getProperty("user.home"), ".local", "state");
  }
}
