package io.portcullis.config;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** Test helper: turns YAML text into a {@link Snapshot} through the real {@link ManifestReader}. */
public final class Manifests {
  private Manifests() {}

  /** Writes {@code yaml} to a temporary file and reads it back as a snapshot. */
  public static Snapshot snapshot(String... yamlDocs) {
    try {
      Path dir = Files.createTempDirectory("manifests");
      List<Resource> out = new ArrayList<>();
      int i = 0;
      for (String yaml : yamlDocs) {
        Path f = dir.resolve("m" + (i++) + ".yaml");
        Files.writeString(f, yaml);
        out.addAll(new ManifestReader().read(f));
      }
      return new Snapshot(out, List.of(), 1);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Translates {@code yamlDocs} with gateway namespace {@code istio-system} and no port offset. */
  public static GatewayConfig translate(String... yamlDocs) {
    return new ConfigTranslator("istio-system", 0).translate(snapshot(yamlDocs));
  }
}
