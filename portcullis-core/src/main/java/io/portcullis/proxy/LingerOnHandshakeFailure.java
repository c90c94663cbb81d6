package io.portcullis.proxy;

import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelOption;
import io.netty.channel.ChannelPromise;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.channel.socket.DuplexChannel;
import io.netty.handler.ssl.SslHandler;
import io.netty.util.ReferenceCountUtil;
import java.util.concurrent.TimeUnit;

/**
 * Lets a client read the alert of a failed TLS handshake. With TLS 1.3 the client sends its request right after its
 * Finished message; when the server then refuses the client certificate ({@code certificate_required},
 * {@code unknown_ca}) and closes at once with that request unread, the kernel answers with a reset and the client
 * never sees the alert. Like nginx's lingering close, this half-closes the connection after the alert, drains what
 * arrives, and closes it when the client does or after {@link #LINGER_MS}. Sits between the socket and the TLS
 * handler; other closes pass straight through.
 */
final class LingerOnHandshakeFailure extends ChannelDuplexHandler {
  static final long LINGER_MS = 1_000;
  private boolean lingering;

  @Override
  public void close(ChannelHandlerContext ctx, ChannelPromise promise) throws Exception {
    if (lingering) {
      ctx.channel().closeFuture().addListener(f -> promise.trySuccess());
      return;
    }
    SslHandler ssl = ctx.pipeline().get(SslHandler.class);
    boolean failed = ssl != null && ssl.handshakeFuture().isDone() && !ssl.handshakeFuture().isSuccess();
    if (!failed || !(ctx.channel() instanceof DuplexChannel duplex) || duplex.isOutputShutdown()) {
      ctx.close(promise);
      return;
    }
    lingering = true;
    // Half-closure only from now on: the client's FIN then arrives as an event (and ends the linger) instead of
    // closing the channel before the alert is out.
    ctx.channel().config().setOption(ChannelOption.ALLOW_HALF_CLOSURE, true);
    ctx.flush();
    duplex.shutdownOutput();
    ctx.channel().config().setAutoRead(true);
    ctx.executor().schedule(() -> ctx.close(promise), LINGER_MS, TimeUnit.MILLISECONDS);
  }

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    if (lingering) {
      ReferenceCountUtil.release(msg); // drained, so that closing sends no reset
      return;
    }
    ctx.fireChannelRead(msg);
  }

  @Override
  public void userEventTriggered(ChannelHandlerContext ctx, Object evt) throws Exception {
    if (lingering && evt instanceof ChannelInputShutdownEvent) {
      ctx.close(); // the client closed its side: done
      return;
    }
    ctx.fireUserEventTriggered(evt);
  }
}
