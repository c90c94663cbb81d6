package io.portcullis.proxy;

import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.util.ReferenceCountUtil;
import io.portcullis.routing.Cluster;
import io.portcullis.routing.Endpoint;
import java.util.ArrayDeque;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Relays a {@code PASSTHROUGH} TLS stream, ClientHello included, to its VirtualService {@code tls[]} destination
 * without terminating it: the backend's own certificate reaches the client. Backpressure as in Netty's proxy example:
 * each side reads its next chunk only after the other side took the last one. The upstream connection is opened on
 * the downstream connection's event loop.
 */
final class PassthroughHandler extends ChannelInboundHandlerAdapter {
  private static final Logger log = LoggerFactory.getLogger(PassthroughHandler.class);

  private final Cluster cluster;
  private final Upstreams upstreams;
  private final String sni;
  private final ArrayDeque<Object> pending = new ArrayDeque<>();
  private Channel upstream;

  PassthroughHandler(Cluster cluster, Upstreams upstreams, String sni) {
    this.cluster = cluster;
    this.upstreams = upstreams;
    this.sni = sni;
  }

  @Override
  public void handlerAdded(ChannelHandlerContext ctx) {
    Channel downstream = ctx.channel();
    downstream.config().setAutoRead(false);
    if (cluster.endpoints().isEmpty()) {
      log.debug("passthrough {}: SNI {}: cluster {} has no endpoints", downstream, sni, cluster.name());
      downstream.close();
      return;
    }
    Endpoint endpoint = upstreams.calls(downstream.eventLoop()).next(cluster);
    if (endpoint == null) {
      log.debug("passthrough {}: SNI {}: cluster {} has no healthy endpoint", downstream, sni, cluster.name());
      downstream.close();
      return;
    }
    upstreams.connectTcp(downstream.eventLoop(), endpoint, cluster.policy().connectionPool(),
        new Backward(downstream)).addListener(
        (ChannelFutureListener) f -> {
          if (!f.isSuccess()) {
            log.debug("passthrough {}: SNI {}: connecting to {} failed: {}", downstream, sni, endpoint,
                f.cause().toString());
            downstream.close();
            return;
          }
          upstream = f.channel();
          if (!downstream.isActive()) {
            upstream.close();
            return;
          }
          Object msg;
          while ((msg = pending.poll()) != null) {
            upstream.write(msg);
          }
          upstream.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(forwarded(downstream));
          upstream.read();
        });
  }

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    if (upstream == null) {
      pending.add(msg); // the ClientHello, before the upstream connection is up
      return;
    }
    upstream.writeAndFlush(msg).addListener(forwarded(ctx.channel()));
  }

  /** Reads the next chunk from {@code from} once the write succeeded, else closes it. */
  private static ChannelFutureListener forwarded(Channel from) {
    return f -> {
      if (f.isSuccess()) {
        from.read();
      } else {
        f.channel().close();
        from.close();
      }
    };
  }

  @Override
  public void channelInactive(ChannelHandlerContext ctx) {
    pending.forEach(ReferenceCountUtil::release);
    pending.clear();
    if (upstream != null) {
      closeOnFlush(upstream);
    }
  }

  @Override
  public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
    log.debug("passthrough {}: {}", ctx.channel(), cause.toString());
    closeOnFlush(ctx.channel());
  }

  static void closeOnFlush(Channel ch) {
    if (ch.isActive()) {
      ch.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(ChannelFutureListener.CLOSE);
    }
  }

  /** The upstream side: relays the backend's bytes to the client. */
  private static final class Backward extends ChannelInboundHandlerAdapter {
    private final Channel downstream;

    Backward(Channel downstream) {
      this.downstream = downstream;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
      downstream.writeAndFlush(msg).addListener(forwarded(ctx.channel()));
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
      closeOnFlush(downstream);
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
      closeOnFlush(ctx.channel());
    }
  }
}
