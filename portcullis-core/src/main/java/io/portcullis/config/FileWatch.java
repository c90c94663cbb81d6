package io.portcullis.config;

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
import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Wakes a callback when files in some directories may have changed: through the file system's watch service
 * (inotify on Linux) after {@value #DEBOUNCE_MS} ms of quiet, and every {@value #POLL_MS} ms as a fallback. The
 * callback decides what changed, by {@link #fingerprint}. Used by the manifest directories
 * ({@link DirectoryConfigSource}) and the credential files Gateways name ({@code tls.CredentialFiles}). Runs the
 * callback on its own daemon thread; a callback that throws is logged and the watch goes on.
 */
public final class FileWatch implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(FileWatch.class);
  /** Quiet time after an event before the callback runs: an editor's save or a rename comes as several events. */
  public static final long DEBOUNCE_MS = 10;
  /** The stat-only fallback's period, for file systems without events. */
  public static final long POLL_MS = 2_000;

  private final String name;
  private final Runnable onWake;
  private final Set<Path> registered = new HashSet<>();
  private final WatchService watcher;
  private Thread thread;
  private volatile boolean closed;

  /**
   * @param name the thread's name
   * @param onWake called after events and every {@link #POLL_MS} ms
   * @throws IOException when the watch service cannot be opened
   */
  public FileWatch(String name, Runnable onWake) throws IOException {
    this.name = Objects.requireNonNull(name, "name");
    this.onWake = Objects.requireNonNull(onWake, "onWake");
    this.watcher = FileSystems.getDefault().newWatchService();
  }

  /**
   * Watches {@code dir} for created, modified and deleted entries (not recursive); a directory already watched is
   * skipped.
   *
   * @return false when {@code dir} does not exist (the poll still wakes the callback)
   * @throws IOException when it exists but cannot be watched
   */
  public synchronized boolean register(Path dir) throws IOException {
    if (registered.contains(dir)) {
      return true;
    }
    try {
      dir.register(watcher, StandardWatchEventKinds.ENTRY_CREATE, StandardWatchEventKinds.ENTRY_MODIFY,
          StandardWatchEventKinds.ENTRY_DELETE);
    } catch (NoSuchFileException e) {
      return false;
    }
    registered.add(dir);
    return true;
  }

  /** Starts the watch thread (once). */
  public synchronized void start() {
    if (thread == null) {
      thread = new Thread(this::run, name);
      thread.setDaemon(true);
      thread.start();
    }
  }

  private void run() {
    while (!closed) {
      try {
        WatchKey key = watcher.poll(POLL_MS, TimeUnit.MILLISECONDS);
        if (key != null) {
          drain(key);
          WatchKey more;
          while ((more = watcher.poll(DEBOUNCE_MS, TimeUnit.MILLISECONDS)) != null) {
            drain(more);
          }
        }
        onWake.run();
      } catch (ClosedWatchServiceException | InterruptedException e) {
        return;
      } catch (RuntimeException e) {
        log.error("{}: handling a change failed; keeping what is served", name, e);
      }
    }
  }

  private static void drain(WatchKey key) {
    key.pollEvents();
    key.reset();
  }

  /**
   * Returns what tells one version of a file from another without reading it: modification time (ms), size and file
   * key (inode), following symbolic links.
   *
   * @throws IOException when the file cannot be read, e.g. {@link NoSuchFileException}
   */
  public static Object fingerprint(Path p) throws IOException {
    BasicFileAttributes a = Files.readAttributes(p, BasicFileAttributes.class);
    return List.of(a.lastModifiedTime().toMillis(), a.size(), String.valueOf(a.fileKey()));
  }

  @Override
  public void close() {
    closed = true;
    try {
      watcher.close();
    } catch (IOException e) {
      log.debug("{}: closing the watch service: {}", name, e.toString());
    }
    Thread t;
    synchronized (this) {
      t = thread;
    }
    if (t != null) {
      t.interrupt();
    }
  }
}
