package io.portcullis.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assumptions.assumeThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.portcullis.testing.Ports;
import io.portcullis.testing.Proc;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The image {@code ./mvnw -Pimage verify} builds ({@code target/portcullis-image.tar}; skipped without the profile):
 * its config (non-root, Jib's entrypoint on {@code io.portcullis.cli.Main}), and, as root (CI), its layers run as
 * a container runtime with a read-only root file system would run them: a chroot of the unpacked layers, remounted
 * read-only in a private mount namespace, tmpfs on /tmp and --state only, as user 65532 with no capability. What
 * no Docker daemon here can show otherwise: the jlink runtime has every module the gateway loads, Netty's epoll
 * transport and BoringSSL load from the base's libc, and nothing is written outside the two mounts.
 */
class ImageIT {
  /** Set by the {@code image} profile, which builds it in the same run. */
  private static final String IMAGE = System.getProperty("portcullis.image");
  private static final ObjectMapper JSON = new ObjectMapper();
  @TempDir
  static Path dir;
  private static JsonNode config;
  private static Path root;

  @BeforeAll
  static void unpack() throws IOException, InterruptedException {
    assumeThat(IMAGE).as("portcullis.image: the image ./mvnw -Pimage verify builds").isNotNull();
    Path tar = Files.createDirectories(dir.resolve("tar"));
    root = Files.createDirectories(dir.resolve("root"));
    tar("-xf", IMAGE, "-C", tar.toString());
    JsonNode manifest = JSON.readTree(tar.resolve("manifest.json").toFile()).get(0);
    config = JSON.readTree(tar.resolve(manifest.get("Config").asText()).toFile()).get("config");
    for (JsonNode layer : manifest.get("Layers")) {
      tar("-xf", tar.resolve(layer.asText()).toString(), "-C", root.toString());
    }
  }

  @Test
  void theImageRunsMainAsNonRoot() throws IOException {
    assertThat(config.get("User").asText()).isEqualTo("65532:65532");
    List<String> entrypoint = new ArrayList<>();
    config.get("Entrypoint").forEach(e -> entrypoint.add(e.asText()));
    assertThat(entrypoint).startsWith("java").endsWith("-cp", "@/app/jib-classpath-file", "io.portcullis.cli.Main");
    assertThat(config.get("Env").toString()).contains("PATH=/opt/java/openjdk/bin:");
    assertThat(config.get("ExposedPorts").has("15000/tcp")).isTrue();

    assertThat(Files.isExecutable(root.resolve("opt/java/openjdk/bin/java"))).isTrue();
    assertThat(Files.readString(root.resolve("etc/passwd"))).contains("nonroot:x:65532:65532:");
    assertThat(Files.getAttribute(root.resolve("home/nonroot"), "unix:uid")).isEqualTo(65532);
    assertThat(Files.getPosixFilePermissions(root.resolve("tmp"))).contains(PosixFilePermission.OTHERS_WRITE);
    try (Stream<Path> files = Files.walk(root)) {
      assertThat(files.filter(f -> !Files.isSymbolicLink(f)).filter(ImageIT::setId)).as("setuid/setgid files")
          .isEmpty();
    }
    assertThat(root.resolve("bin/sh")).as("no shell").doesNotExist();
  }

  @Test
  void theEntrypointServesFromAReadOnlyRootAsUser65532() throws Exception {
    assumeThat(Proc.run(5, "id", "-u").stdout().trim()).as("root, for unshare and chroot").isEqualTo("0");
    Files.createDirectories(root.resolve("examples"));
    Files.createDirectories(root.resolve("var/lib/portcullis"));
    Files.createDirectories(root.resolve("proc"));
    int admin = Ports.free();
    int offset = Ports.freeOffset(8080, 8443);
    // The runtime's part: private mounts, the root read-only, tmpfs where the manifests mount emptyDirs, then the
    // entrypoint as the image's user (chroot --userspec drops every capability with uid 0).
    String script = String.join("\n", "set -e", "R=\"$1\"; shift",
        "mount --bind \"$R\" \"$R\"",
        "mount --bind \"$EXAMPLES\" \"$R/examples\"",
        "mount -o remount,bind,ro \"$R\"",
        "mount -t tmpfs -o mode=1777 tmpfs \"$R/tmp\"",
        "mount -t tmpfs -o uid=65532,gid=65532,mode=0700 tmpfs \"$R/var/lib/portcullis\"",
        "mount -t proc proc \"$R/proc\"",
        "exec env -i PATH=/opt/java/openjdk/bin LANG=C.UTF-8 \"$(command -v chroot)\" --userspec=65532:65532 \"$R\" "
            + "\"$@\"");
    List<String> command = new ArrayList<>(List.of("unshare", "-m", "sh", "-c", script, "sh", root.toString()));
    config.get("Entrypoint").forEach(e -> command.add(e.asText().equals("java") ? "/opt/java/openjdk/bin/java"
        : e.asText()));
    command.addAll(List.of("run", "--config", "/examples", "--state", "/var/lib/portcullis", "--bind", "127.0.0.1",
        "--port-offset", String.valueOf(offset), "--admin", "127.0.0.1:" + admin));
    Path examples = Path.of("..", "examples", "quickstart").toAbsolutePath().normalize();
    try (Proc p = Proc.start(command, dir, Map.of("EXAMPLES", examples.toString()))) {
      await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(250)).until(() -> !p.alive()
          || Proc.run(5, "curl", "-s", "http://127.0.0.1:" + admin + "/ready").stdout().equals("LIVE\n"));
      assertThat(p.alive()).as(p.output()).isTrue();
      assertThat(Proc.run(5, "curl", "-sk", "-o", "/dev/null", "-w", "%{http_code}",
          "https://localhost:" + (8443 + offset) + "/").stdout()).as(p.output()).isEqualTo("200");
      JsonNode dump = JSON.readTree(Proc.run(5, "curl", "-s", "http://127.0.0.1:" + admin + "/config_dump")
          .stdout());
      assertThat(dump.get("tls_provider").asText()).as("BoringSSL loaded").isEqualTo("OPENSSL");
      assertThat(p.output()).contains("EPOLL transport").contains("/var/lib/portcullis/admin-token")
          .doesNotContain("Exception");
      assertThat(Files.readString(Path.of("/proc/" + p.pid() + "/status"))).contains("Uid:\t65532\t")
          .contains("CapEff:\t0000000000000000");
    }
  }

  private static boolean setId(Path f) {
    try {
      int mode = (Integer) Files.getAttribute(f, "unix:mode", LinkOption.NOFOLLOW_LINKS);
      return (mode & 06000) != 0;
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  private static void tar(String... args) throws IOException, InterruptedException {
    List<String> command = new ArrayList<>(List.of("tar"));
    command.addAll(List.of(args));
    Proc.Result r = Proc.run(120, command.toArray(String[]::new));
    assertThat(r.exitCode()).as(String.join(" ", command) + ": " + r.stderr()).isZero();
  }
}
