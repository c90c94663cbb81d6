package io.portcullis.bench.streams;

import io.grpc.Server;
import io.grpc.ServerServiceDefinition;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.netty.shaded.io.netty.channel.EventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.epoll.Epoll;
import io.grpc.netty.shaded.io.netty.channel.epoll.EpollEventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.epoll.EpollServerSocketChannel;
import io.grpc.netty.shaded.io.netty.channel.nio.NioEventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.socket.nio.NioServerSocketChannel;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.ServerCalls;
import io.grpc.stub.StreamObserver;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * The gRPC backend: plaintext HTTP/2 (h2c, prior knowledge) serving {@link BenchMethods} on {@code threads} event
 * loops (epoll where available), handlers run on the event loop ({@code directExecutor}: no thread hop per call).
 * The streaming method honours flow control: it writes only while the call is ready, so a slow reader never makes
 * the backend buffer.
 */
final class GrpcEchoServer implements AutoCloseable {
  private final Server server;
  private final EventLoopGroup group;
  /** One shared payload per message size: the backend does not allocate a message per message. */
  private final ConcurrentHashMap<Integer, byte[]> payloads = new ConcurrentHashMap<>();

  GrpcEchoServer(String host, int port, int threads) throws IOException {
    boolean epoll = Epoll.isAvailable();
    group = epoll ? new EpollEventLoopGroup(threads) : new NioEventLoopGroup(threads);
    ServerServiceDefinition service = ServerServiceDefinition.builder(BenchMethods.SERVICE)
        .addMethod(BenchMethods.ECHO, ServerCalls.asyncUnaryCall(GrpcEchoServer::echo))
        .addMethod(BenchMethods.STREAM, ServerCalls.asyncServerStreamingCall(this::stream))
        .build();
    server = NettyServerBuilder.forAddress(new InetSocketAddress(host, port))
        .bossEventLoopGroup(group).workerEventLoopGroup(group)
        .channelType(epoll ? EpollServerSocketChannel.class : NioServerSocketChannel.class)
        .directExecutor()
        .maxConcurrentCallsPerConnection(10_000)
        .addService(service)
        .build()
        .start();
  }

  private static void echo(byte[] request, StreamObserver<byte[]> response) {
    response.onNext(request);
    response.onCompleted();
  }

  private void stream(byte[] request, StreamObserver<byte[]> response) {
    ByteBuffer b = ByteBuffer.wrap(request);
    int count = request.length >= 8 ? b.getInt() : 0;
    int size = request.length >= 8 ? b.getInt() : 0;
    byte[] payload = payloads.computeIfAbsent(Math.max(0, size), byte[]::new);
    ServerCallStreamObserver<byte[]> call = (ServerCallStreamObserver<byte[]>) response;
    int[] sent = {0};
    boolean[] done = {false};
    call.setOnCancelHandler(() -> done[0] = true);
    call.setOnReadyHandler(() -> { // on the event loop: writes while the transport has room
      while (!done[0] && call.isReady() && sent[0] < count) {
        call.onNext(payload);
        sent[0]++;
      }
      if (!done[0] && sent[0] >= count) {
        done[0] = true;
        call.onCompleted();
      }
    });
  }

  int port() {
    return server.getPort();
  }

  @Override
  public void close() throws InterruptedException {
    server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    group.shutdownGracefully(0, 1, TimeUnit.SECONDS);
  }
}
