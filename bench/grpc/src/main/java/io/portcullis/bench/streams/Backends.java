package io.portcullis.bench.streams;

import java.util.concurrent.CountDownLatch;

/**
 * {@code backend --grpc-port P --ws-port Q [--host 127.0.0.1] [--threads N]}: the gRPC backend ({@link
 * GrpcEchoServer}, h2c) and the WebSocket backend ({@link WsEchoServer}) of bench/run.sh, each on {@code threads}
 * event loops (default: one per core, at most 2), until the process is stopped. Prints {@code READY grpc=P ws=Q}
 * once both listen; port 0 takes a free port.
 */
final class Backends {
  private Backends() {}

  static void run(Options o) throws Exception {
    String host = o.string("host", "127.0.0.1");
    int threads = o.integer("threads", Math.min(2, Runtime.getRuntime().availableProcessors()));
    int grpcPort = o.integer("grpc-port", 0);
    int wsPort = o.integer("ws-port", 0);
    o.checkAllRead();
    GrpcEchoServer grpc = new GrpcEchoServer(host, grpcPort, threads);
    WsEchoServer ws = new WsEchoServer(host, wsPort, threads);
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      try {
        grpc.close();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      ws.close();
    }));
    System.out.println("READY grpc=" + grpc.port() + " ws=" + ws.port());
    System.out.flush();
    new CountDownLatch(1).await();
  }
}
