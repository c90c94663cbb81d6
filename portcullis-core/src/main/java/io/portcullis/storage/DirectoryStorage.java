package io.portcullis.storage;

import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import io.portcullis.config.ParseErrors;
import io.portcullis.tls.SecureFiles;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * {@code --state DIR}: one file per Secret, {@code <namespace>_<name>.yaml}, holding the Secret as a Kubernetes
 * manifest ({@code kubectl apply -f} takes it as it is). Files are mode 0600 and written atomically (temp file,
 * fsync, rename: {@link SecureFiles}). A Secret with a {@code ca.crt} also gets {@code <namespace>_<name>.ca.crt}
 * beside it (PEM, mode 0644): the trust anchor to hand to clients ({@code curl --cacert}).
 */
public final class DirectoryStorage implements Storage {
  /** DNS-1123 subdomain, as Kubernetes requires of namespaces and Secret names; no {@code _} or {@code /}. */
  private static final Pattern NAME = Pattern.compile("[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?");

  private final Path dir;
  private final ObjectMapper yaml = YAMLMapper.builder().build();

  /** Uses {@code dir}, created (mode 0700) on the first write if missing. */
  public DirectoryStorage(Path dir) {
    this.dir = requireNonNull(dir, "dir");
  }

  /** Returns the directory. */
  public Path directory() {
    return dir;
  }

  @Override
  public synchronized Loaded load() {
    Map<String, StoredSecret> out = new HashMap<>();
    List<String> problems = new ArrayList<>();
    if (!Files.isDirectory(dir)) {
      return new Loaded(out, problems);
    }
    try (Stream<Path> files = Files.list(dir)) {
      for (Path f : files.sorted().toList()) {
        String n = f.getFileName().toString();
        if (n.startsWith(".") || !n.endsWith(".yaml")) {
          continue;
        }
        try {
          StoredSecret s = parse(Files.readAllBytes(f));
          if (!n.equals(fileName(s.namespace(), s.name()))) {
            throw new IOException("holds Secret " + s.key() + " (expected: " + fileName(s.namespace(), s.name())
                + " for it)");
          }
          out.put(s.key(), s);
        } catch (IOException | RuntimeException e) {
          problems.add("state file " + f + ": " + e.getMessage() + "; ignored (expected: a Secret manifest as "
              + "Portcullis writes it)");
        }
      }
    } catch (IOException e) {
      problems.add("state directory " + dir + ": cannot list: " + e.getMessage());
    }
    return new Loaded(out, problems);
  }

  @Override
  public synchronized void put(StoredSecret secret) throws IOException {
    Path file = dir.resolve(fileName(secret.namespace(), secret.name()));
    if (!Files.isDirectory(dir)) {
      Files.createDirectories(dir, java.nio.file.attribute.PosixFilePermissions.asFileAttribute(
          java.nio.file.attribute.PosixFilePermissions.fromString("rwx------")));
    }
    SecureFiles.write(file, render(secret), true);
    byte[] ca = secret.data().get("ca.crt");
    if (ca != null && ca.length > 0) {
      SecureFiles.write(trustAnchorFile(secret.namespace(), secret.name()), ca, false);
    }
  }

  @Override
  public synchronized Optional<StoredSecret> read(String key) throws IOException {
    String[] nn = key.split("/", 2);
    Path file = dir.resolve(fileName(nn[0], nn.length == 2 ? nn[1] : ""));
    if (!Files.isRegularFile(file)) {
      return Optional.empty();
    }
    byte[] bytes;
    try {
      bytes = Files.readAllBytes(file);
    } catch (IOException e) {
      throw new IOException("state file " + file + ": " + e.getMessage(), e);
    }
    try {
      return Optional.of(parse(bytes));
    } catch (IOException | RuntimeException e) {
      return Optional.empty(); // corrupt: as load() leaves it out, it is issued again and replaced
    }
  }

  /** Returns where the {@code ca.crt} of Secret {@code namespace/name} is written as PEM. */
  public Path trustAnchorFile(String namespace, String name) {
    return dir.resolve(namespace + "_" + name + ".ca.crt");
  }

  /** Returns the file name of a Secret: {@code <namespace>_<name>.yaml}. */
  static String fileName(String namespace, String name) {
    if (!NAME.matcher(namespace).matches() || !NAME.matcher(name).matches()) {
      throw new IllegalArgumentException("Secret " + namespace + "/" + name
          + ": not a DNS-1123 name (expected: lower-case letters, digits, '-' and '.')");
    }
    return namespace + "_" + name + ".yaml";
  }

  byte[] render(StoredSecret s) throws IOException {
    ObjectNode root = yaml.createObjectNode();
    root.put("apiVersion", "v1");
    root.put("kind", "Secret");
    ObjectNode meta = root.putObject("metadata");
    meta.put("name", s.name());
    meta.put("namespace", s.namespace());
    if (!s.annotations().isEmpty()) {
      ObjectNode a = meta.putObject("annotations");
      s.annotations().forEach(a::put);
    }
    root.put("type", s.type());
    ObjectNode data = root.putObject("data");
    s.data().forEach((k, v) -> data.put(k, Base64.getEncoder().encodeToString(v)));
    return yaml.writeValueAsBytes(root);
  }

  /**
   * Reads a state file; errors name the line or the data key and never quote the file (it holds keys: {@link
   * ParseErrors}).
   */
  StoredSecret parse(byte[] bytes) throws IOException {
    JsonNode root;
    try {
      root = yaml.readTree(bytes);
    } catch (JsonProcessingException e) {
      throw new IOException(ParseErrors.describe(e, new String(bytes, StandardCharsets.UTF_8)).orElse("not YAML"));
    }
    if (root == null || !root.isObject() || !"Secret".equals(root.path("kind").asText())) {
      throw new IOException("not a Secret");
    }
    String name = root.path("metadata").path("name").asText("");
    String namespace = root.path("metadata").path("namespace").asText("");
    if (name.isEmpty() || namespace.isEmpty()) {
      throw new IOException("metadata.name or metadata.namespace missing");
    }
    Map<String, String> annotations = new LinkedHashMap<>();
    for (Iterator<Map.Entry<String, JsonNode>> it = root.path("metadata").path("annotations").fields();
        it.hasNext();) {
      Map.Entry<String, JsonNode> e = it.next();
      annotations.put(e.getKey(), e.getValue().asText());
    }
    Map<String, byte[]> data = new LinkedHashMap<>();
    for (Iterator<Map.Entry<String, JsonNode>> it = root.path("data").fields(); it.hasNext();) {
      Map.Entry<String, JsonNode> e = it.next();
      try {
        data.put(e.getKey(), Base64.getMimeDecoder().decode(e.getValue().asText()));
      } catch (IllegalArgumentException bad) {
        throw new IOException("data." + e.getKey() + ": not base64");
      }
    }
    return new StoredSecret(namespace, name, root.path("type").asText("Opaque"), annotations, data);
  }
}
