package io.portcullis.testing;

import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * A plain HTTP/1.1 keep-alive backend on a free loopback port that records every request it receives, body included
 * ({@code Content-Length} or chunked, trailers recorded as headers), and answers {@code 200} with the body
 * {@code "<name>\n"}; or, made {@link #silent}, reads requests and never answers (a mirror that times out).
 */
public final class CapturingBackend implements AutoCloseable {
  /** One request: the request line, headers (names lower-cased), the body, and trailers (names lower-cased). */
  public record Received(String requestLine, Map<String, List<String>> headers, byte[] body,
      Map<String, List<String>> trailers) {
    /** Returns the single value of {@code name}, or null; fails when it has more than one. */
    public String header(String name) {
      List<String> v = headers.get(name);
      if (v == null) {
        return null;
      }
      if (v.size() != 1) {
        throw new AssertionError(name + ": " + v + " (expected: one value)");
      }
      return v.get(0);
    }
  }

  private final String name;
  private final boolean answers;
  private final ServerSocket server;
  private final List<Received> received = new CopyOnWriteArrayList<>();
  private final List<Socket> sockets = new CopyOnWriteArrayList<>();

  /** Starts one that answers {@code 200 "<name>\n"}. */
  public CapturingBackend(String name) throws IOException {
    this(name, true);
  }

  /** Starts one that records requests and never answers them. */
  public static CapturingBackend silent(String name) throws IOException {
    return new CapturingBackend(name, false);
  }

  private CapturingBackend(String name, boolean answers) throws IOException {
    this.name = name;
    this.answers = answers;
    server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
    Thread t = new Thread(this::accept, "capturing-backend-" + name);
    t.setDaemon(true);
    t.start();
  }

  /** Returns its port. */
  public int port() {
    return server.getLocalPort();
  }

  /** Returns every request received so far. */
  public List<Received> received() {
    return List.copyOf(received);
  }

  /** Forgets the requests received so far. */
  public void clear() {
    received.clear();
  }

  /** Waits until at least {@code n} requests arrived, at most {@code timeout}; returns what arrived. */
  public List<Received> await(int n, Duration timeout) throws InterruptedException {
    long end = System.nanoTime() + timeout.toNanos();
    while (received.size() < n && System.nanoTime() < end) {
      Thread.sleep(10);
    }
    return received();
  }

  private void accept() {
    while (!server.isClosed()) {
      try {
        Socket s = server.accept();
        sockets.add(s);
        Thread t = new Thread(() -> serve(s), "capturing-backend-" + name + "-conn");
        t.setDaemon(true);
        t.start();
      } catch (IOException e) {
        return;
      }
    }
  }

  private void serve(Socket s) {
    try (s; InputStream in = new BufferedInputStream(s.getInputStream()); OutputStream out = s.getOutputStream()) {
      String line;
      while ((line = readLine(in)) != null) {
        if (line.isEmpty()) {
          continue;
        }
        Map<String, List<String>> headers = fields(in);
        if (headers == null) {
          return;
        }
        ByteArrayOutputStream body = new ByteArrayOutputStream();
        Map<String, List<String>> trailers = new LinkedHashMap<>();
        if (headers.getOrDefault("transfer-encoding", List.of()).stream().anyMatch(v -> v.contains("chunked"))) {
          while (true) {
            String size = readLine(in);
            if (size == null) {
              return;
            }
            int n = Integer.parseInt(size.split(";")[0].trim(), 16);
            if (n == 0) {
              Map<String, List<String>> t = fields(in);
              if (t == null) {
                return;
              }
              trailers.putAll(t);
              break;
            }
            body.write(in.readNBytes(n));
            readLine(in);
          }
        } else if (headers.containsKey("content-length")) {
          body.write(in.readNBytes(Integer.parseInt(headers.get("content-length").get(0))));
        }
        received.add(new Received(line, headers, body.toByteArray(), trailers));
        if (!answers) {
          continue; // read on, answer nothing
        }
        byte[] b = (name + "\n").getBytes(StandardCharsets.US_ASCII);
        out.write(("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nx-backend: " + name + "\r\nContent-Length: "
            + b.length + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
        out.write(b);
        out.flush();
      }
    } catch (IOException | RuntimeException e) {
      // the peer went away
    }
  }

  private static Map<String, List<String>> fields(InputStream in) throws IOException {
    Map<String, List<String>> out = new LinkedHashMap<>();
    String h;
    while ((h = readLine(in)) != null && !h.isEmpty()) {
      int colon = h.indexOf(':');
      out.computeIfAbsent(h.substring(0, colon).trim().toLowerCase(Locale.ROOT), k -> new ArrayList<>())
          .add(h.substring(colon + 1).trim());
    }
    return h == null ? null : out;
  }

  private static String readLine(InputStream in) throws IOException {
    StringBuilder sb = new StringBuilder();
    int c;
    while ((c = in.read()) >= 0) {
      if (c == '\n') {
        int len = sb.length();
        return len > 0 && sb.charAt(len - 1) == '\r' ? sb.substring(0, len - 1) : sb.toString();
      }
      sb.append((char) c);
    }
    return sb.length() == 0 ? null : sb.toString();
  }

  @Override
  public void close() throws IOException {
    server.close();
    for (Socket s : sockets) {
      s.close();
    }
  }
}
