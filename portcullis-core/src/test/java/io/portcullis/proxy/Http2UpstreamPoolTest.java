package io.portcullis.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.resolver.AbstractAddressResolver;
import io.netty.resolver.AddressResolver;
import io.netty.resolver.AddressResolverGroup;
import io.netty.util.concurrent.EventExecutor;
import io.netty.util.concurrent.Promise;
import io.portcullis.proxy.lb.CircuitBreakers;
import io.portcullis.routing.Endpoint;
import io.portcullis.routing.TrafficPolicy;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** {@link Http2UpstreamPool} where no server is needed. */
class Http2UpstreamPoolTest {
  /** A resolver that fails every name at once, inside the call (as a resolver answering from a cache may). */
  private static final class FailsAtOnce extends AddressResolverGroup<InetSocketAddress> {
    @Override
    protected AddressResolver<InetSocketAddress> newResolver(EventExecutor executor) {
      return new AbstractAddressResolver<>(executor, InetSocketAddress.class) {
        @Override
        protected boolean doIsResolved(InetSocketAddress address) {
          return !address.isUnresolved();
        }

        @Override
        protected void doResolve(InetSocketAddress unresolved, Promise<InetSocketAddress> promise) {
          promise.setFailure(new UnknownHostException(unresolved.getHostString()));
        }

        @Override
        protected void doResolveAll(InetSocketAddress unresolved, Promise<List<InetSocketAddress>> promise) {
          promise.setFailure(new UnknownHostException(unresolved.getHostString()));
        }
      };
    }
  }

  @Test
  void aConnectThatFailsInsideTheCallStillFailsItsWaiter() throws Exception {
    EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
    try {
      Http2UpstreamPool pool = new Http2UpstreamPool(group.next(), NioSocketChannel.class, new FailsAtOnce(),
          Duration.ofSeconds(5), Http2UpstreamLimits.defaults(), new ProxyStats());
      CompletableFuture<Throwable> failed = new CompletableFuture<>();
      group.next().execute(() -> pool.acquire(new Endpoint("upstream.invalid", 80), null, null,
          TrafficPolicy.ConnectionPool.DEFAULT, new CircuitBreakers(), c -> failed.complete(null), failed::complete));

      assertThat(failed.get(10, TimeUnit.SECONDS)).isInstanceOf(UnknownHostException.class);
    } finally {
      group.shutdownGracefully(0, 1, TimeUnit.SECONDS).sync();
    }
  }
}
