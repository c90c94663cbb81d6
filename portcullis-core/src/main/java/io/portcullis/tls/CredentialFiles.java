package io.portcullis.tls;

import java.io.IOException;
import java.nio.file.ClosedWatchServiceException;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardWatchEventKinds;
import java.nio.file.WatchKey;
import java.nio.file.WatchService;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Reads the PEM files a Gateway names (Istio {@code serverCertificate}, {@code privateKey}, {@code caCertificates},
 * {@code caCrl}, {@code tlsCertificates[]}) and watches them like Secrets: a write, a rename into place or a
 * Kubernetes volume's symlink swap calls the listener after {@value #DEBOUNCE_MS} ms of quiet, with a stat-only
 * rescan every {@value #POLL_MS} ms as a fallback.
 *
 * <p>{@link #read} and {@link #watch} are called by the thread that applies configuration, never on an event loop;
 * the watch runs on its own daemon thread.
 */
public final class CredentialFiles implements TlsContexts.FileSource, AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(CredentialFiles.class);
  static final long DEBOUNCE_MS = 10;
  static final long POLL_MS = 2_000;

  private final Runnable listener;
  private final Map<Path, Content> contents = new HashMap<>();
  private volatile Map<Path, Object> watched = Map.of();
  private final Set<Path> registeredDirs = new HashSet<>();
  private WatchService watcher;
  private Thread thread;
  private volatile boolean closed;

  private record Content(Object fingerprint, byte[] bytes) {}

  /** Creates the reader; {@code listener} runs on the watch thread when a watched file changes. */
  public CredentialFiles(Runnable listener) {
    this.listener = Objects.requireNonNull(listener, "listener");
  }

  /**
   * Returns a file's bytes, read again only when its size, time or inode changed.
   *
   * @throws IllegalArgumentException naming the file, when it cannot be read
   */
  @Override
  public synchronized byte[] read(Path path) {
    try {
      Object fp = fingerprint(path);
      Content c = contents.get(path);
      if (c != null && c.fingerprint().equals(fp)) {
        return c.bytes();
      }
      byte[] bytes = Files.readAllBytes(path);
      contents.put(path, new Content(fp, bytes));
      return bytes;
    } catch (NoSuchFileException e) {
      contents.remove(path);
      throw new IllegalArgumentException("file " + path + ": not found");
    } catch (IOException e) {
      contents.remove(path);
      throw new IllegalArgumentException("file " + path + ": " + e);
    }
  }

  /** Watches exactly {@code paths} from now on (their directories, for renames into place). */
  public synchronized void watch(Set<Path> paths) {
    Map<Path, Object> next = new HashMap<>();
    for (Path p : paths) {
      next.put(p, fingerprintOrNull(p));
    }
    contents.keySet().retainAll(paths);
    watched = next;
    if (paths.isEmpty()) {
      return;
    }
    try {
      if (watcher == null) {
        watcher = FileSystems.getDefault().newWatchService();
        thread = new Thread(this::run, "portcullis-credential-files");
        thread.setDaemon(true);
        thread.start();
      }
      for (Path p : paths) {
        Path dir = p.toAbsolutePath().getParent();
        if (dir != null && registeredDirs.add(dir)) {
          try {
            dir.register(watcher, StandardWatchEventKinds.ENTRY_CREATE, StandardWatchEventKinds.ENTRY_MODIFY,
                StandardWatchEventKinds.ENTRY_DELETE);
          } catch (NoSuchFileException e) {
            registeredDirs.remove(dir); // polled until it exists
          }
        }
      }
    } catch (IOException e) {
      log.warn("tls: cannot watch credential files ({}); polling every {} ms", e.toString(), POLL_MS);
    }
  }

  private void run() {
    while (!closed) {
      try {
        WatchKey key = watcher.poll(POLL_MS, TimeUnit.MILLISECONDS);
        if (key != null) {
          key.pollEvents();
          key.reset();
          WatchKey more;
          while ((more = watcher.poll(DEBOUNCE_MS, TimeUnit.MILLISECONDS)) != null) {
            more.pollEvents();
            more.reset();
          }
        }
        if (changed()) {
          listener.run();
        }
      } catch (ClosedWatchServiceException | InterruptedException e) {
        return;
      } catch (RuntimeException e) {
        log.error("tls: reloading credential files failed; keeping the credentials served", e);
      }
    }
  }

  private boolean changed() {
    Map<Path, Object> w = watched;
    for (Map.Entry<Path, Object> e : w.entrySet()) {
      if (!Objects.equals(e.getValue(), fingerprintOrNull(e.getKey()))) {
        synchronized (this) {
          Map<Path, Object> next = new HashMap<>(watched);
          next.replaceAll((p, old) -> fingerprintOrNull(p));
          watched = next;
        }
        return true;
      }
    }
    return false;
  }

  private static Object fingerprint(Path p) throws IOException {
    BasicFileAttributes a = Files.readAttributes(p, BasicFileAttributes.class);
    return List.of(a.lastModifiedTime().toMillis(), a.size(), String.valueOf(a.fileKey()));
  }

  private static Object fingerprintOrNull(Path p) {
    try {
      return fingerprint(p);
    } catch (IOException e) {
      return null;
    }
  }

  @Override
  public void close() {
    closed = true;
    try {
      if (watcher != null) {
        watcher.close();
      }
    } catch (IOException e) {
      log.debug("tls: closing the credential-file watch: {}", e.toString());
    }
    if (thread != null) {
      thread.interrupt();
    }
  }
}
