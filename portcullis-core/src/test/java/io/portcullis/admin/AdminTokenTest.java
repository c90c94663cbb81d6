package io.portcullis.admin;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class AdminTokenTest {
  @TempDir Path tmp;

  @Test
  void aMissingFileGetsA32ByteRandomTokenWithMode0600AndIsReadBackTheSame() throws Exception {
    Path file = AdminToken.defaultFile(tmp.resolve("state"));
    assertThat(file).isEqualTo(tmp.resolve("state/admin-token"));
    AdminToken created = AdminToken.loadOrCreate(file, new SecureRandom());
    String text = Files.readString(file);
    assertThat(text).matches("[A-Za-z0-9_-]{43}\n"); // 32 bytes, base64url without padding
    assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(file))).isEqualTo("rw-------");
    assertThat(created.authorization()).isEqualTo("Bearer " + text.strip());
    assertThat(created.toString()).doesNotContain(text.strip()).contains("redacted");
    try (var leftovers = Files.list(file.getParent())) {
      assertThat(leftovers).containsExactly(file); // no temporary file left behind
    }

    AdminToken again = AdminToken.loadOrCreate(file, new SecureRandom());
    assertThat(again.authorization()).isEqualTo(created.authorization());
    assertThat(again.matches(created.authorization())).isTrue();
    AdminToken other = AdminToken.loadOrCreate(tmp.resolve("other"), new SecureRandom());
    assertThat(other.matches(created.authorization())).isFalse();
  }

  @Test
  void anExistingTokenIsTrimmed() throws Exception {
    Path file = tmp.resolve("t");
    Files.writeString(file, "  0123abcd\n\n");
    Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-------"));
    AdminToken t = AdminToken.loadOrCreate(file, new SecureRandom());
    assertThat(t.matches("Bearer 0123abcd")).isTrue();
    assertThat(t.matches("Bearer 0123abc")).isFalse();
    assertThat(t.matches(null)).isFalse();
  }

  @ParameterizedTest(name = "{0}: {1}")
  @CsvSource(delimiter = '|', value = {
      "' \n'            | empty",
      "'two words'      | not a bearer token",
      "'tok\u00e9n'     | not a bearer token",
      "'abc=def'        | not a bearer token",
  })
  void unusableContentIsRefusedWithoutShowingIt(String content, String message) throws Exception {
    Path file = tmp.resolve("t");
    Files.writeString(file, content);
    Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-------"));
    assertThatThrownBy(() -> AdminToken.loadOrCreate(file, new SecureRandom()))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("--admin-token-file " + file).hasMessageContaining(message)
        .satisfies(e -> {
          if (!content.isBlank()) {
            assertThat(e.getMessage()).doesNotContain(content);
          }
        });
  }

  @ParameterizedTest(name = "mode {0}: {1}")
  @CsvSource({
      "rw-------, ",
      "r--------, ",
      "rw-r-----, ",
      "rw-r--r--, lets every local user read the admin token",
      "rw----r--, lets every local user read the admin token",
      "rw--w----, lets other users replace the admin token",
      "rw-----w-, lets other users replace the admin token",
  })
  void looseModesAreRefusedAndAGroupReadableOneOnlyWarned(String mode, String refused) throws Exception {
    Path file = tmp.resolve("t");
    Files.writeString(file, "0123abcd\n");
    Files.setPosixFilePermissions(file, PosixFilePermissions.fromString(mode));
    if (refused == null) {
      assertThat(AdminToken.loadOrCreate(file, new SecureRandom()).matches("Bearer 0123abcd")).isTrue();
      assertThat(AdminToken.permissionProblem(PosixFilePermissions.fromString(mode))
          .map(AdminToken.Problem::refused)).isNotEqualTo(java.util.Optional.of(true));
    } else {
      assertThatThrownBy(() -> AdminToken.loadOrCreate(file, new SecureRandom()))
          .hasMessageContaining(refused).hasMessageContaining("mode " + mode).hasMessageContaining("chmod 600");
    }
  }

  @Test
  void theCliReadsButNeverCreates() {
    Path file = tmp.resolve("absent");
    assertThatThrownBy(() -> AdminToken.read(file)).isInstanceOf(IllegalStateException.class)
        .hasMessageContaining(file + ": no such file").hasMessageContaining("--state");
    assertThat(Files.exists(file)).isFalse();
  }
}
