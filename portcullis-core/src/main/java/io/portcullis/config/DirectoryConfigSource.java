package io.portcullis.config;

import static java.util.Objects.requireNonNull;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.function.Consumer;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Watches one or more directories of manifests (not recursive, as {@code kubectl apply -f DIR}).
 *
 * <p>Changes are seen through a {@link FileWatch} (the file system's watch service, with a stat-only rescan every
 * {@value FileWatch#POLL_MS} ms as a fallback), and emitted after {@value FileWatch#DEBOUNCE_MS} ms of quiet. A file that stops parsing keeps contributing its last
 * good objects, so a half-saved edit never removes a Gateway; the parse error is reported once, by line and column
 * and never quoting the file ({@link ManifestReader#read}). A file that becomes empty (0 bytes: truncated by an
 * in-place rewrite, its new content not yet written) also keeps its objects; deleting the file removes them. Runs on
 * its own daemon thread.
 */
public final class DirectoryConfigSource implements ConfigSource {
  private static final Logger log = LoggerFactory.getLogger(DirectoryConfigSource.class);

  private final List<Path> dirs;
  private final ManifestReader reader = new ManifestReader();
  private final Map<Path, FileState> files = new LinkedHashMap<>();
  private FileWatch watch;
  private long generation;

  private record FileState(Object fingerprint, List<Resource> lastGood, String error) {}

  /** Creates a source over {@code dirs} (each must be a directory when {@link #start} runs). */
  public DirectoryConfigSource(List<Path> dirs) {
    requireNonNull(dirs, "dirs");
    this.dirs = dirs.stream().map(d -> d.toAbsolutePath().normalize()).distinct().toList();
  }

  @Override
  public void start(Consumer<Snapshot> listener) throws IOException {
    requireNonNull(listener, "listener");
    for (Path dir : dirs) {
      if (!Files.isDirectory(dir)) {
        throw new NoSuchFileException(dir.toString(), null, "--config: not a directory");
      }
    }
    watch = new FileWatch("portcullis-config-watch", () -> {
      try {
        if (changed()) {
          listener.accept(rescan());
        }
      } catch (IOException e) {
        log.error("config: rescan of {} failed; keeping the current configuration", dirs, e);
      }
    });
    for (Path dir : dirs) {
      watch.register(dir);
    }
    listener.accept(rescan());
    watch.start();
  }

  private boolean changed() throws IOException {
    Map<Path, Object> now = fingerprints();
    if (!now.keySet().equals(files.keySet())) {
      return true;
    }
    for (Map.Entry<Path, Object> e : now.entrySet()) {
      if (!Objects.equals(e.getValue(), files.get(e.getKey()).fingerprint())) {
        return true;
      }
    }
    return false;
  }

  private Map<Path, Object> fingerprints() throws IOException {
    Map<Path, Object> out = new LinkedHashMap<>();
    for (Path dir : dirs) {
      List<Path> list;
      try (Stream<Path> s = Files.list(dir)) {
        list = s.filter(ManifestReader::isManifest).sorted().toList();
      } catch (NoSuchFileException e) {
        continue; // the directory went away: its objects go with it
      }
      for (Path p : list) {
        try {
          if (!Files.isDirectory(p)) {
            out.put(p, FileWatch.fingerprint(p));
          }
        } catch (NoSuchFileException e) {
          // deleted between list and stat
        }
      }
    }
    return out;
  }

  /** Re-reads changed files and returns the new snapshot. Package-private for tests. */
  synchronized Snapshot rescan() throws IOException {
    Map<Path, Object> now = fingerprints();
    Map<Path, FileState> next = new LinkedHashMap<>();
    List<Problem> problems = new ArrayList<>();
    for (Map.Entry<Path, Object> e : now.entrySet()) {
      Path file = e.getKey();
      FileState old = files.get(file);
      FileState state;
      if (old != null && old.fingerprint().equals(e.getValue())) {
        state = old;
      } else {
        try {
          List<Resource> read = reader.read(file);
          if (read.isEmpty() && old != null && !old.lastGood().isEmpty() && Files.size(file) == 0) {
            // 0 bytes: a file being rewritten in place (truncated, not yet written), whose objects must not vanish
            // for the moment between the two; a file meant to be empty is deleted, or keeps a comment.
            log.debug("{}: empty; keeping its {} objects until it has content or is deleted", file,
                old.lastGood().size());
            read = old.lastGood();
          }
          state = new FileState(e.getValue(), read, null);
        } catch (ManifestException | IOException ex) {
          String msg = ex instanceof ManifestException me ? me.detail() : ex.toString();
          List<Resource> kept = old == null ? List.of() : old.lastGood();
          state = new FileState(e.getValue(), kept, msg);
        }
      }
      next.put(file, state);
      if (state.error() != null) {
        String keeping = state.lastGood().isEmpty() ? "left out" : "keeping its last good version ("
            + state.lastGood().size() + " objects)";
        problems.add(new Problem(Problem.Severity.ERROR, file.toString(), "", "", state.error() + "; " + keeping));
      }
    }
    files.clear();
    files.putAll(next);
    // Later files override earlier ones for the same object, as a second 'kubectl apply' would.
    Map<String, Resource> byId = new LinkedHashMap<>();
    Map<String, Path> firstSeen = new HashMap<>();
    for (FileState s : files.values()) {
      for (Resource r : s.lastGood()) {
        String id = r.group() + "/" + r.id();
        Resource prev = byId.put(id, r);
        if (prev != null && !prev.source().equals(r.source())) {
          problems.add(new Problem(Problem.Severity.WARNING, r.id(), r.source().toString(), "",
              "also defined in " + firstSeen.get(id) + "; this definition wins"));
        }
        firstSeen.putIfAbsent(id, r.source());
      }
    }
    return new Snapshot(new ArrayList<>(byId.values()), problems, ++generation);
  }

  @Override
  public void close() {
    if (watch != null) {
      watch.close();
    }
  }
}
