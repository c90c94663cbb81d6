package io.portcullis.proxy;

import io.netty.channel.epoll.Epoll;
import io.netty.channel.uring.IoUring;

/**
 * The socket transport of the data plane ({@code --transport}). Linux's epoll and io_uring are native; NIO is the
 * JDK's portable one. {@link #AUTO} picks epoll, else NIO. {@link #IO_URING} (Linux 5.14 or later; may be disabled by
 * {@code /proc/sys/kernel/io_uring_disabled} or a seccomp profile) measured about 10 % more HTTP/1.1 requests per
 * second here but about 20 % more CPU per TLS handshake, and the same HTTP/2 throughput (docs/benchmarks.md).
 */
public enum Transport {
  AUTO, IO_URING, EPOLL, NIO;

  /**
   * Returns the transport to use: this one if available; an unavailable choice falls back to epoll, then NIO (the
   * data plane logs which one it runs).
   */
  public Transport resolve() {
    if (this == IO_URING && IoUring.isAvailable()) {
      return IO_URING;
    }
    if (this != NIO && Epoll.isAvailable()) {
      return EPOLL;
    }
    return NIO;
  }
}
