package io.portcullis.config;

import static java.util.Objects.requireNonNull;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.ClosedWatchServiceException;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardWatchEventKinds;
import java.nio.file.WatchKey;
import java.nio.file.WatchService;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Watches one or more directories of manifests (not recursive, as {@code kubectl apply -f DIR}).
 *
 * <p>Changes are seen through the file system's watch service, with a stat-only rescan every {@value #POLL_MS} ms as a
 * fallback, and emitted after {@value #DEBOUNCE_MS} ms of quiet. A file that stops parsing keeps contributing its last
 * good objects, so a half-saved edit never removes a Gateway; the parse error is reported once. Runs on its own daemon
 * thread.
 */
public final class DirectoryConfigSource implements ConfigSource {
  private static final Logger log = LoggerFactory.getLogger(DirectoryConfigSource.class);
  static final long DEBOUNCE_MS = 10;
  static final long POLL_MS = 2_000;

  private final List<Path> dirs;
  private final ManifestReader reader = new ManifestReader();
  private final Map<Path, FileState> files = new LinkedHashMap<>();
  private volatile boolean closed;
  private WatchService watcher;
  private Thread thread;
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
    watcher = FileSystems.getDefault().newWatchService();
    for (Path dir : dirs) {
      dir.register(watcher, StandardWatchEventKinds.ENTRY_CREATE, StandardWatchEventKinds.ENTRY_MODIFY,
          StandardWatchEventKinds.ENTRY_DELETE);
    }
    listener.accept(rescan());
    thread = new Thread(() -> watch(listener), "portcullis-config-watch");
    thread.setDaemon(true);
    thread.start();
  }

  private void watch(Consumer<Snapshot> listener) {
    while (!closed) {
      try {
        WatchKey key = watcher.poll(POLL_MS, TimeUnit.MILLISECONDS);
        if (key != null) {
          drain(key);
          // Debounce: an editor's save or a rename-into-place comes as several events.
          WatchKey more;
          while ((more = watcher.poll(DEBOUNCE_MS, TimeUnit.MILLISECONDS)) != null) {
            drain(more);
          }
        }
        if (changed()) {
          listener.accept(rescan());
        }
      } catch (ClosedWatchServiceException | InterruptedException e) {
        return;
      } catch (RuntimeException | IOException e) {
        log.error("config: rescan of {} failed; keeping the current configuration", dirs, e);
      }
    }
  }

  private static void drain(WatchKey key) {
    key.pollEvents();
    key.reset();
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
          BasicFileAttributes a = Files.readAttributes(p, BasicFileAttributes.class);
          if (a.isDirectory()) {
            continue;
          }
          out.put(p, List.of(a.lastModifiedTime().toMillis(), a.size(), String.valueOf(a.fileKey())));
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
          state = new FileState(e.getValue(), reader.read(file), null);
        } catch (ManifestException | IOException ex) {
          String msg = ex instanceof ManifestException ? ex.getMessage() : file + ": " + ex;
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
    closed = true;
    try {
      if (watcher != null) {
        watcher.close();
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    if (thread != null) {
      thread.interrupt();
    }
  }
}
