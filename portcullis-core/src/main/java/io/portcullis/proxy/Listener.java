package io.portcullis.proxy;

import io.netty.channel.Channel;

/**
 * One bound Gateway port: its server socket and the state its connections read.
 */
final class Listener {
  private final int port;
  private volatile ListenerState state;
  private volatile Channel serverChannel;

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

  Channel serverChannel() {
    return serverChannel;
  }

  void bound(Channel ch) {
    this.serverChannel = ch;
  }
}
