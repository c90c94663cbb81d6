package io.portcullis.testing;

import java.io.IOException;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Free loopback ports for tests (never fixed ones), each handed out once for the life of the JVM.
 *
 * <p>A port found by binding port 0 and closing the socket comes from the kernel's ephemeral range, so the next
 * {@code bind(0)} or outgoing connection (of this JVM or of a child process) can be given the same number before the
 * child that was meant to bind it does: two Pebble ports once came out equal that way. So ports come from below the
 * ephemeral range ({@code net.ipv4.ip_local_port_range}), which the kernel never assigns on its own, in sequence from
 * a random start (two JVMs at once rarely meet), each checked free on TCP and UDP before it is handed out.
 */
public final class Ports {
  private static final int LOWEST = 10_000;
  private static final int EPHEMERAL_LOW = ephemeralLow();
  private static int next = LOWEST + ThreadLocalRandom.current().nextInt(Math.max(1, EPHEMERAL_LOW - LOWEST));
  private static int handedOut;
  /** Every port handed out, by {@link #free()} or as part of an offset ({@link #freeOffset}). */
  private static final java.util.Set<Integer> given = new java.util.HashSet<>();

  private Ports() {}

  /**
   * Returns a port that is free on 127.0.0.1 for TCP and UDP and was never returned before in this JVM.
   *
   * @throws IllegalStateException when every port below the ephemeral range was handed out or is taken
   */
  public static synchronized int free() {
    int range = EPHEMERAL_LOW - LOWEST;
    while (handedOut < range) {
      int p = next;
      next = next + 1 >= EPHEMERAL_LOW ? LOWEST : next + 1;
      handedOut++;
      if (!given.contains(p) && bindable(p)) {
        given.add(p);
        return p;
      }
    }
    throw new IllegalStateException("no free port left in " + LOWEST + ".." + (EPHEMERAL_LOW - 1));
  }

  /**
   * Returns an offset {@code o} such that {@code base + o} is free (TCP and UDP on 127.0.0.1) for each of
   * {@code bases} and none of those ports was handed out before in this JVM; they are all reserved, so
   * {@link #free()} never returns them. For a gateway run with {@code --port-offset o} whose Gateways use the
   * well-known ports (80, 443).
   *
   * @param bases the ports the configuration names, e.g. {@code 80, 443}; at least one
   * @throws IllegalStateException when no such offset was found in 100 tries
   */
  public static synchronized int freeOffset(int... bases) {
    if (bases.length == 0) {
      throw new IllegalArgumentException("no base ports");
    }
    for (int i = 0; i < 100; i++) {
      int o = free() - bases[0];
      boolean ok = true;
      for (int k = 1; k < bases.length && ok; k++) {
        int p = bases[k] + o;
        ok = p > 0 && p < 65_536 && !given.contains(p) && bindable(p);
      }
      if (ok) {
        for (int k = 1; k < bases.length; k++) {
          given.add(bases[k] + o);
        }
        return o;
      }
    }
    throw new IllegalStateException("no offset with " + java.util.Arrays.toString(bases) + " all free");
  }

  private static boolean bindable(int port) {
    InetAddress lo = InetAddress.getLoopbackAddress();
    try (ServerSocket s = new ServerSocket()) {
      s.setReuseAddress(false);
      s.bind(new InetSocketAddress(lo, port), 1);
    } catch (IOException e) {
      return false;
    }
    try (DatagramSocket u = new DatagramSocket(new InetSocketAddress(lo, port))) {
      return true;
    } catch (IOException e) {
      return false;
    }
  }

  private static int ephemeralLow() {
    try {
      String[] range = Files.readAllLines(Path.of("/proc/sys/net/ipv4/ip_local_port_range")).get(0).trim()
          .split("\\s+");
      int low = Integer.parseInt(range[0]);
      return low > LOWEST + 1000 ? low : 32_768;
    } catch (IOException | RuntimeException e) {
      return 32_768;
    }
  }

  /** Returns whether something accepts connections on 127.0.0.1:{@code port}. */
  public static boolean listening(int port) {
    try (Socket s = new Socket()) {
      s.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 200);
      return true;
    } catch (IOException e) {
      return false;
    }
  }
}
