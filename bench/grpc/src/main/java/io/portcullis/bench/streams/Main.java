package io.portcullis.bench.streams;

import java.util.Arrays;

/**
 * Entry point of {@code bench-streams.jar}: {@code backend} (the gRPC and WebSocket backends of bench/run.sh),
 * {@code grpc-load} and {@code ws-load} (its load clients). Each load client prints one line
 * {@code RESULT key=value ...} on standard output; see {@link GrpcLoad} and {@link WsLoad} for the keys.
 */
public final class Main {
  private Main() {}

  /**
   * Runs the command {@code args[0]} with the remaining {@code --name value} options.
   *
   * @throws IllegalArgumentException on an unknown command or option
   */
  public static void main(String[] args) throws Exception {
    if (args.length == 0) {
      System.err.println("usage: bench-streams.jar backend|grpc-load|ws-load [--option value ...]");
      System.exit(2);
    }
    Options o = Options.parse(Arrays.copyOfRange(args, 1, args.length));
    switch (args[0]) {
      case "backend" -> Backends.run(o);
      case "grpc-load" -> System.exit(GrpcLoad.run(o));
      case "ws-load" -> System.exit(WsLoad.run(o));
      default -> throw new IllegalArgumentException("command " + args[0] + " (expected: backend, grpc-load, ws-load)");
    }
  }
}
