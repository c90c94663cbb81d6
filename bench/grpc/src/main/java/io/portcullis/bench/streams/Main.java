package io.portcullis.bench.streams;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * Entry point of {@code bench-streams.jar}: {@code backend} (the gRPC and WebSocket backends of bench/run.sh),
 * {@code grpc-load} and {@code ws-load} (its load clients), and {@code serve}, which runs load-client commands read
 * from standard input one line at a time in one JVM, so that the client's JIT stays warm from one step to the next
 * (a fresh client JVM per step spends its warm-up compiling, which on a loaded machine is most of it). Each load
 * client prints one line {@code RESULT key=value ...} on standard output (see {@link GrpcLoad} and {@link WsLoad}
 * for the keys); {@code serve} follows each command's output with a line {@code DONE}.
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
      System.err.println("usage: bench-streams.jar backend|grpc-load|ws-load|serve [--option value ...]");
      System.exit(2);
    }
    if (args[0].equals("serve")) {
      serve();
      return;
    }
    Options o = Options.parse(Arrays.copyOfRange(args, 1, args.length));
    switch (args[0]) {
      case "backend" -> Backends.run(o);
      case "grpc-load", "ws-load" -> System.exit(load(args[0], o));
      default -> throw new IllegalArgumentException("command " + args[0] + " (expected: backend, grpc-load, ws-load, "
          + "serve)");
    }
  }

  private static int load(String command, Options o) throws Exception {
    return switch (command) {
      case "grpc-load" -> GrpcLoad.run(o);
      case "ws-load" -> WsLoad.run(o);
      default -> throw new IllegalArgumentException("command " + command + " (expected: grpc-load or ws-load)");
    };
  }

  /** Runs {@code grpc-load ...} / {@code ws-load ...} lines until standard input ends; a failure is a RESULT too. */
  private static void serve() throws Exception {
    BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
    for (String line; (line = in.readLine()) != null; ) {
      String[] words = line.strip().split("\\s+");
      if (words.length == 0 || words[0].isEmpty()) {
        continue;
      }
      try {
        load(words[0], Options.parse(Arrays.copyOfRange(words, 1, words.length)));
      } catch (Exception e) {
        System.out.println("RESULT error=" + Errors.oneWord(String.valueOf(e)));
      }
      System.out.println("DONE");
      System.out.flush();
    }
  }
}
