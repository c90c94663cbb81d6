package io.portcullis.proxy;

import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelOption;
import io.netty.channel.epoll.EpollChannelOption;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.channel.socket.nio.NioChannelOption;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.channel.uring.IoUringChannelOption;
import io.netty.channel.uring.IoUringSocketChannel;
import io.portcullis.routing.TrafficPolicy;
import java.time.Duration;

/**
 * The socket options of upstream connections from a DestinationRule {@code connectionPool.tcp}: {@code connectTimeout}
 * (Envoy's cluster {@code connect_timeout}) and {@code tcpKeepalive} (Envoy's {@code upstream_connection_options.
 * tcp_keepalive}: {@code SO_KEEPALIVE} with Linux's {@code TCP_KEEPIDLE}, {@code TCP_KEEPINTVL} and
 * {@code TCP_KEEPCNT}, in whole seconds, at least 1; a field left out keeps the system's value).
 */
final class UpstreamSockets {
  private UpstreamSockets() {}

  /**
   * Sets {@code pool}'s connect timeout and keepalive on {@code b}, whose channels are of {@code channelType} (epoll,
   * io_uring or NIO; the keepalive timings need one of those three), and returns it.
   */
  static Bootstrap configure(Bootstrap b, Class<? extends Channel> channelType, TrafficPolicy.ConnectionPool pool) {
    b.option(ChannelOption.CONNECT_TIMEOUT_MILLIS, millis(pool.connectTimeout()));
    pool.tcpKeepalive().ifPresent(k -> {
      b.option(ChannelOption.SO_KEEPALIVE, true);
      int time = seconds(k.time());
      int interval = seconds(k.interval());
      if (EpollSocketChannel.class.isAssignableFrom(channelType)) {
        set(b, EpollChannelOption.TCP_KEEPIDLE, time);
        set(b, EpollChannelOption.TCP_KEEPINTVL, interval);
        set(b, EpollChannelOption.TCP_KEEPCNT, k.probes());
      } else if (IoUringSocketChannel.class.isAssignableFrom(channelType)) {
        set(b, IoUringChannelOption.TCP_KEEPIDLE, time);
        set(b, IoUringChannelOption.TCP_KEEPINTVL, interval);
        set(b, IoUringChannelOption.TCP_KEEPCNT, k.probes());
      } else if (NioSocketChannel.class.isAssignableFrom(channelType)) {
        set(b, NioChannelOption.of(jdk.net.ExtendedSocketOptions.TCP_KEEPIDLE), time);
        set(b, NioChannelOption.of(jdk.net.ExtendedSocketOptions.TCP_KEEPINTERVAL), interval);
        set(b, NioChannelOption.of(jdk.net.ExtendedSocketOptions.TCP_KEEPCOUNT), k.probes());
      }
    });
    return b;
  }

  /** A connect timeout in milliseconds for Netty: at least 1 (0 would mean none), at most {@code Integer.MAX_VALUE}. */
  static int millis(Duration d) {
    return (int) Math.max(1, Math.min(Integer.MAX_VALUE, d.toMillis()));
  }

  private static int seconds(Duration d) {
    return d.isZero() ? 0 : (int) Math.max(1, Math.min(Integer.MAX_VALUE, d.toSeconds()));
  }

  private static void set(Bootstrap b, ChannelOption<Integer> option, int value) {
    if (value > 0) {
      b.option(option, value);
    }
  }
}
