package io.portcullis.config;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DirectoryConfigSourceTest {
  @TempDir Path a;
  @TempDir Path b;

  static String secret(String name) {
    return "apiVersion: v1\nkind: Secret\nmetadata: {name: " + name + "}\nstringData: {k: v}\n";
  }

  @Test
  void readsEveryDirectoryKeepsLastGoodFilesAndDropsDeletedOnes() throws Exception {
    Files.writeString(a.resolve("one.yaml"), secret("one"));
    Files.writeString(b.resolve("two.yml"), secret("two"));
    Files.writeString(b.resolve("notes.txt"), "not a manifest");
    DirectoryConfigSource source = new DirectoryConfigSource(List.of(a, b));
    Snapshot first = source.rescan();
    assertThat(first.resources()).extracting(Resource::key).containsExactly("default/one", "default/two");
    assertThat(first.problems()).isEmpty();

    Files.writeString(b.resolve("two.yml"), "apiVersion: v1\nkind: Secret\nmetadata: [broken\n");
    Snapshot broken = source.rescan();
    assertThat(broken.resources()).extracting(Resource::key).containsExactly("default/one", "default/two");
    assertThat(broken.problems()).singleElement().satisfies(p -> {
      assertThat(p.severity()).isEqualTo(Problem.Severity.ERROR);
      assertThat(p.toString()).contains("two.yml").contains("keeping its last good version (1 objects)");
    });

    Files.delete(b.resolve("two.yml"));
    Snapshot deleted = source.rescan();
    assertThat(deleted.resources()).extracting(Resource::key).containsExactly("default/one");
    assertThat(deleted.problems()).isEmpty();
    assertThat(deleted.generation()).isEqualTo(first.generation() + 2);
  }

  @Test
  void aFileTruncatedForAnInPlaceRewriteKeepsItsObjectsButACommentOnlyFileHasNone() throws Exception {
    Path f = a.resolve("gw.yaml");
    Files.writeString(f, secret("one"));
    DirectoryConfigSource source = new DirectoryConfigSource(List.of(a));
    assertThat(source.rescan().resources()).extracting(Resource::key).containsExactly("default/one");

    Files.write(f, new byte[0]); // what Files.writeString or an editor's save leaves for a moment
    Snapshot truncated = source.rescan();
    assertThat(truncated.resources()).extracting(Resource::key).containsExactly("default/one");
    assertThat(truncated.problems()).isEmpty();

    Files.writeString(f, secret("two"));
    assertThat(source.rescan().resources()).extracting(Resource::key).containsExactly("default/two");

    Files.writeString(f, "# emptied on purpose\n");
    assertThat(source.rescan().resources()).isEmpty();
  }

  @Test
  void aNewFileThatDoesNotParseIsLeftOutAndSaid() throws Exception {
    Files.writeString(a.resolve("bad.yaml"), "kind: [\n");
    Snapshot s = new DirectoryConfigSource(List.of(a)).rescan();
    assertThat(s.resources()).isEmpty();
    assertThat(s.problems()).singleElement().satisfies(p -> assertThat(p.toString()).contains("bad.yaml")
        .contains("left out"));
  }

  @Test
  void theSameObjectInTwoFilesTakesTheLaterOneAndWarns() throws Exception {
    Files.writeString(a.resolve("1.yaml"), secret("same").replace("k: v", "k: first"));
    Files.writeString(a.resolve("2.yaml"), secret("same").replace("k: v", "k: second"));
    Snapshot s = new DirectoryConfigSource(List.of(a)).rescan();
    assertThat(s.resources()).singleElement().satisfies(r -> assertThat(r.body().at("/stringData/k").asText())
        .isEqualTo("second"));
    assertThat(s.problems()).singleElement().satisfies(p -> assertThat(p.toString()).contains("also defined in")
        .contains("1.yaml"));
  }
}
