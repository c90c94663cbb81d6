package io.portcullis.proxy;

import io.netty.channel.Channel;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * One bound Gateway port: its server socket and the state its connections read.
 */
final class Listener {
  private final int port;
  private volatile ListenerState state;
  private volatile Channel serverChannel;
  private final AtomicInteger connections = new AtomicInteger();

  Listener(int port, ListenerState state) {
    this.port = port;
    this.state = state;
  }

  /** The Gateway port number (before {@code --port-offset}). */
  int port() {
    return port;
  }

  /** Returns the current state; handlers call this once per request or handshake. */
  ListenerState state() {
    return state;
  }

  void update(ListenerState next) {
    this.state = next;
  }

  /**
   * Counts a new connection unless {@code max} are open already ({@code --max-connections}; 0 for no limit).
   *
   * @return whether it may be served; if so, {@link #connectionClosed} must follow when it closes
   */
  boolean connectionOpened(int max) {
    if (max <= 0) {
      connections.incrementAndGet();
      return true;
    }
    while (true) {
      int n = connections.get();
      if (n >= max) {
        return false;
      }
      if (connections.compareAndSet(n, n + 1)) {
        return true;
      }
    }
  }

  void connectionClosed() {
    connections.decrementAndGet();
  }

  /** The connections open now. */
  int connections() {
    return connections.get();
  }

  Channel serverChannel() {
    return serverChannel;
  }

  void bound(Channel ch) {
    this.serverChannel = ch;
  }
}
