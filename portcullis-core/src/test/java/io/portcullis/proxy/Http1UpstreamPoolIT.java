package io.portcullis.proxy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.netty.channel.Channel;
import io.netty.channel.EventLoop;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.resolver.DefaultAddressResolverGroup;
import io.portcullis.proxy.lb.CircuitBreakers;
import io.portcullis.routing.Endpoint;
import io.portcullis.routing.TrafficPolicy;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * {@link Http1UpstreamPool} at its DestinationRule {@code tcp.maxConnections} against a real listening socket (the
 * pool only connects; no request is sent): a waiting request keeps its pending slot until it is served, a connection
 * that closes between its release and the hand-off does not strand or double-count the waiter, and a cancelled
 * waiter is skipped and gives its slot back.
 */
class Http1UpstreamPoolIT {
  /** One connection, ten waiting requests. */
  static final TrafficPolicy.ConnectionPool ONE = new TrafficPolicy.ConnectionPool(1, Duration.ofSeconds(2),
      Optional.empty(), 10, Integer.MAX_VALUE, 0, Integer.MAX_VALUE, Duration.ofHours(1),
      TrafficPolicy.ConnectionPool.H2UpgradePolicy.DEFAULT, false);

  ServerSocket server;
  final List<Socket> accepted = Collections.synchronizedList(new ArrayList<>());
  EventLoopGroup group;
  EventLoop loop;
  Http1UpstreamPool pool;
  CircuitBreakers breakers;
  Endpoint endpoint;

  @BeforeEach
  void start() throws Exception {
    server = new ServerSocket(0, 50, InetAddress.getByName("127.0.0.1"));
    Thread t = new Thread(() -> {
      try {
        while (true) {
          accepted.add(server.accept());
        }
      } catch (java.io.IOException closed) {
        // the test is over
      }
    }, "pool-it-acceptor");
    t.setDaemon(true);
    t.start();
    group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
    loop = group.next();
    pool = new Http1UpstreamPool(loop, NioSocketChannel.class, DefaultAddressResolverGroup.INSTANCE, 0,
        new ProxyStats(), () -> io.portcullis.tls.ClientTlsContexts.Table.EMPTY);
    breakers = new CircuitBreakers();
    endpoint = new Endpoint("127.0.0.1", server.getLocalPort());
  }

  @AfterEach
  void stop() throws Exception {
    group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
    server.close();
    for (Socket s : accepted) {
      s.close();
    }
  }

  /** What a request got: its connection, or why not. */
  static final class Got implements Http1UpstreamPool.Acquired {
    final CompletableFuture<Channel> channel = new CompletableFuture<>();

    @Override
    public void ready(Channel ch) {
      if (!channel.complete(ch)) {
        throw new AssertionError("called back twice");
      }
    }

    @Override
    public void failed(Throwable cause) {
      if (!channel.completeExceptionally(cause)) {
        throw new AssertionError("called back twice");
      }
    }
  }

  private UpstreamCalls.Pending acquire(Got got) throws Exception {
    return loop.submit(() -> pool.acquire(endpoint, null, null, ONE, breakers, got)).get(5, TimeUnit.SECONDS);
  }

  @Test
  void aConnectionClosedBetweenItsReleaseAndTheHandOffLeavesTheWaiterServedAndCountedOnce() throws Exception {
    Got first = new Got();
    acquire(first);
    Channel held = first.channel.get(5, TimeUnit.SECONDS);
    Got second = new Got();
    assertThat(acquire(second)).as("it waits").isNotNull();
    assertThat(breakers.pending()).isEqualTo(1);

    loop.submit(() -> {
      pool.release(endpoint, held);
      held.close(); // before the hand-off task runs
    }).get(5, TimeUnit.SECONDS);

    Channel got = second.channel.get(5, TimeUnit.SECONDS);
    assertThat(got).as("a new connection, not the closed one").isNotSameAs(held);
    assertThat(got.isActive()).isTrue();
    assertThat(breakers.pending()).as("its pending slot given back once").isZero();
    await().atMost(Duration.ofSeconds(5)).until(() -> breakers.connections() == 1);
  }

  @Test
  void aCancelledWaiterIsSkippedAndGivesItsSlotBack() throws Exception {
    Got first = new Got();
    acquire(first);
    Channel held = first.channel.get(5, TimeUnit.SECONDS);
    Got cancelled = new Got();
    UpstreamCalls.Pending p = acquire(cancelled);
    Got third = new Got();
    acquire(third);
    assertThat(breakers.pending()).isEqualTo(2);

    loop.submit(p::cancel).get(5, TimeUnit.SECONDS);
    assertThat(breakers.pending()).isEqualTo(1);
    loop.submit(() -> pool.release(endpoint, held)).get(5, TimeUnit.SECONDS);

    assertThat(third.channel.get(5, TimeUnit.SECONDS)).as("the released connection, to the next live waiter")
        .isSameAs(held);
    assertThat(cancelled.channel).as("never called back").isNotDone();
    assertThat(breakers.pending()).isZero();
    assertThat(breakers.connections()).isEqualTo(1);
  }
}
