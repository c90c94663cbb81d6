package io.portcullis.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class ManifestReaderTest {
  @TempDir Path dir;

  @Test
  void readsEveryDocumentAndDefaultsTheNamespace() throws Exception {
    Path f = dir.resolve("all.yaml");
    Files.writeString(f, """
        apiVersion: v1
        kind: Secret
        metadata: {name: a, namespace: istio-system}
        ---
        ---
        apiVersion: networking.istio.io/v1
        kind: Gateway
        metadata: {name: g}
        spec: {}
        """);
    List<Resource> rs = new ManifestReader().read(f);
    assertThat(rs).extracting(Resource::id).containsExactly("Secret istio-system/a", "Gateway default/g");
    assertThat(rs.get(1).group()).isEqualTo("networking.istio.io");
    assertThat(rs.get(0).group()).isEmpty();
  }

  @Test
  void expandsListsAndReadsJson() throws Exception {
    Path f = dir.resolve("list.json");
    Files.writeString(f, """
        {"apiVersion":"v1","kind":"List","items":[
          {"apiVersion":"v1","kind":"Secret","metadata":{"name":"x"}},
          {"apiVersion":"v1","kind":"Secret","metadata":{"name":"y","namespace":"n"}}]}
        """);
    assertThat(new ManifestReader().read(f)).extracting(Resource::key).containsExactly("default/x", "n/y");
  }

  @ParameterizedTest
  @CsvSource(delimiter = '|', value = {
      "'kind: Gateway\nmetadata: {name: g}\n'|apiVersion: missing",
      "'apiVersion: v1\nmetadata: {name: g}\n'|kind: missing",
      "'apiVersion: v1\nkind: Secret\nmetadata: {}\n'|metadata.name: missing",
      "'apiVersion: v1\nkind: Secret\n  metadata: [\n'|document 1",
      "'- just\n- a list\n'|expected: an object",
  })
  void rejectsMalformedDocumentsNamingFileAndField(String yaml, String expected) throws Exception {
    Path f = dir.resolve("bad.yaml");
    Files.writeString(f, yaml.replace("\\n", "\n"));
    assertThatThrownBy(() -> new ManifestReader().read(f)).isInstanceOf(ManifestException.class)
        .hasMessageContaining(f.toString()).hasMessageContaining(expected);
  }

  @ParameterizedTest
  @CsvSource(delimiter = '|', value = {
      // a misspelt metadata is named; a present one is not called misspelt
      "'apiVersion: v1\nkind: Secret\nmeteadata: {name: x}\n'|metadata: missing, so the object has no name "
          + "(expected: metadata.name, a DNS-1123 name; meteadata is not a field of a Kubernetes object: did you mean "
          + "metadata?)",
      "'apiVersion: v1\nkind: Secret\nMetaData: {name: x}\n'|MetaData is not a field of a Kubernetes object: did "
          + "you mean metadata?)",
      "'apiVersion: v1\nkind: Secret\nmetadata: {labels: {a: b}}\n'|Secret: metadata.name: missing (expected: "
          + "metadata.name, a DNS-1123 name)"})
  void aMissingNameSaysWhichFieldWasMeant(String yaml, String expected) throws Exception {
    Path f = dir.resolve("bad.yaml");
    Files.writeString(f, yaml.replace("\\n", "\n"));
    assertThatThrownBy(() -> new ManifestReader().read(f)).isInstanceOf(ManifestException.class)
        .hasMessageEndingWith(expected);
  }

  /** Syntax errors inside a value: each says line and column, and none quotes the value (it may be a key). */
  @ParameterizedTest
  @CsvSource(delimiter = '|', value = {
      "bad.yaml|'data:\n  key: c2VjcmV0dmFsdWU: x\n'|line 2, column 23: mapping values are not allowed here",
      "bad.yaml|'data:\n  key: \"c2VjcmV0dmFsdWU\\q\"\n'|line 2, column 25: found unknown escape character q(113)",
      "bad.yaml|'data: {key: c2VjcmV0dmFsdWU\n'|line 2, column 1: expected ',' or '}'",
      "bad.yaml|'data:\n  key: \"\\Uc2VjcmV0\"\n'|line 2, column 11: expected escape sequence of 8 hexadecimal numbers",
      "bad.json|'{\"data\": {\"key\": c2VjcmV0dmFsdWU}}'|line 1, column 34: Unrecognized token '…'",
      "bad.json|'{\"data\": {\"key\": \"c2VjcmV0dmFsdWU'|line 1, column 34: Unexpected end-of-input",
  })
  void syntaxErrorsSayWhereAndNeverQuoteTheFile(String name, String text, String expected) throws Exception {
    Path f = dir.resolve(name);
    Files.writeString(f, text.replace("\\n", "\n"));
    assertThatThrownBy(() -> new ManifestReader().read(f)).isInstanceOf(ManifestException.class)
        .hasMessageContaining(f + ": document 1: " + expected)
        .satisfies(e -> assertThat(e.getMessage()).doesNotContain("c2VjcmV0").doesNotContain("secret"))
        .hasNoCause();
  }

  @ParameterizedTest
  @CsvSource({"a.yaml, true", "a.yml, true", "a.JSON, true", "a.txt, false", ".hidden.yaml, false"})
  void picksManifestFilesByName(String name, boolean manifest) {
    assertThat(ManifestReader.isManifest(Path.of(name))).isEqualTo(manifest);
  }
}
