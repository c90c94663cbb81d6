package io.portcullis.tls;

import io.portcullis.config.FileWatch;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Reads the PEM files a Gateway names (Istio {@code serverCertificate}, {@code privateKey}, {@code caCertificates},
 * {@code caCrl}, {@code tlsCertificates[]}) and watches them like Secrets, through a {@link FileWatch} on their
 * directories: a write, a rename into place or a Kubernetes volume's symlink swap calls the listener.
 *
 * <p>{@link #read} and {@link #watch} are called by the thread that applies configuration, never on an event loop;
 * the listener runs on the watch's thread.
 */
public final class CredentialFiles implements TlsContexts.FileSource, AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(CredentialFiles.class);

  private final Runnable listener;
  private final Map<Path, Content> contents = new HashMap<>();
  private volatile Map<Path, Object> watched = Map.of();
  private FileWatch fileWatch;

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
      Object fp = FileWatch.fingerprint(path);
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
      if (fileWatch == null) {
        fileWatch = new FileWatch("portcullis-credential-files", () -> {
          if (changed()) {
            listener.run();
          }
        });
        fileWatch.start();
      }
      for (Path p : paths) {
        Path dir = p.toAbsolutePath().getParent();
        if (dir != null) {
          fileWatch.register(dir); // a directory that does not exist yet is found by the poll
        }
      }
    } catch (IOException e) {
      log.warn("tls: cannot watch credential files ({}); polling every {} ms", e.toString(), FileWatch.POLL_MS);
    }
  }

  private boolean changed() {
    for (Map.Entry<Path, Object> e : watched.entrySet()) {
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

  private static Object fingerprintOrNull(Path p) {
    try {
      return FileWatch.fingerprint(p);
    } catch (IOException e) {
      return null;
    }
  }

  @Override
  public synchronized void close() {
    if (fileWatch != null) {
      fileWatch.close();
    }
  }
}
