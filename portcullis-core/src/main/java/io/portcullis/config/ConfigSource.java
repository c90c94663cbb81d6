package io.portcullis.config;

import java.io.IOException;
import java.util.function.Consumer;

/**
 * Where resources come from: a watched directory ({@link DirectoryConfigSource}) or a Kubernetes API server
 * ({@code io.portcullis.kubernetes.KubernetesConfigSource}, module {@code portcullis-kubernetes}).
 *
 * <p>A source calls its listener with a whole new {@link Snapshot} after every change, one call at a time, never on a
 * Netty event loop.
 */
public interface ConfigSource extends AutoCloseable {

  /**
   * Reads the current resources, hands them to {@code listener} before returning, then keeps watching and calls it
   * again after each change.
   *
   * @throws IOException when the source cannot be read at all (a missing directory)
   */
  void start(Consumer<Snapshot> listener) throws IOException;

  /**
   * Returns why the source cannot follow changes right now (a watch of the API server down, say), while the last
   * configuration read keeps serving; empty when all is well. Never blocks.
   */
  default java.util.Optional<String> degraded() {
    return java.util.Optional.empty();
  }

  /** Stops watching; the listener is not called afterwards. */
  @Override
  void close();
}
