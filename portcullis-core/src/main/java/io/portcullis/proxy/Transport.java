package io.portcullis.proxy;

import io.netty.channel.epoll.Epoll;
import io.netty.channel.uring.IoUring;

/**
 * The socket transport of the data plane ({@code --transport}). Linux's io_uring and epoll are native; NIO is the
 * JDK's portable one. {@link #AUTO} picks the first available of io_uring, epoll and NIO (io_uring needs Linux 5.14 or
 * later and may be disabled by {@code /proc/sys/kernel/io_uring_disabled} or a seccomp profile).
 */
public enum Transport {
  AUTO, IO_URING, EPOLL, NIO;

  /**
   * Returns the transport to use: this one if available, else the next available in the order io_uring, epoll, NIO.
   * An explicit choice that is unavailable falls back the same way (the data plane logs which one it runs).
   */
  public Transport resolve() {
    if ((this == AUTO || this == IO_URING) && IoUring.isAvailable()) {
      return IO_URING;
    }
    if (this != NIO && Epoll.isAvailable()) {
      return EPOLL;
    }
    return NIO;
  }
}
