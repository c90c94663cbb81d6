package io.portcullis.testing;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A plain HTTP/1.1 keep-alive backend on a free loopback port that records every request head it receives (with the
 * connection it came on) and answers 200 with a small body. Only for bodiless requests, unless made by
 * {@link #readingBodies()}.
 */
public final class RecordingBackend implements AutoCloseable {
  /** One request as received: the connection number, the request line and the headers (names lower-cased). */
  public record Received(int connection, String requestLine, Map<String, List<String>> headers) {}

  private final ServerSocket server;
  private final List<Received> received = new CopyOnWriteArrayList<>();
  private final AtomicInteger connections = new AtomicInteger();
  private final AtomicInteger open = new AtomicInteger();
  private final List<Socket> sockets = new CopyOnWriteArrayList<>();
  private final boolean readsBodies;

  /** Starts it. */
  public RecordingBackend() throws IOException {
    this(false);
  }

  /**
   * Starts one that reads each request's body ({@code Content-Length} or chunked) before it answers: a request whose
   * body is held back stays unanswered (and its head recorded) until the body is complete.
   */
  public static RecordingBackend readingBodies() throws IOException {
    return new RecordingBackend(true);
  }

  private RecordingBackend(boolean readsBodies) throws IOException {
    this.readsBodies = readsBodies;
    server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
    Thread t = new Thread(this::accept, "recording-backend");
    t.setDaemon(true);
    t.start();
  }

  /** Returns its port. */
  public int port() {
    return server.getLocalPort();
  }

  /** Returns how many connections it has accepted so far. */
  public int connections() {
    return connections.get();
  }

  /** Returns how many of its connections are open now (the peer has not closed them). */
  public int openConnections() {
    return open.get();
  }

  /** Forgets the requests received so far. */
  public void clear() {
    received.clear();
  }

  /** Returns every request received so far. */
  public List<Received> received() {
    return List.copyOf(received);
  }

  private void accept() {
    while (!server.isClosed()) {
      try {
        Socket s = server.accept();
        sockets.add(s);
        int n = connections.incrementAndGet();
        Thread t = new Thread(() -> serve(s, n), "recording-backend-" + n);
        t.setDaemon(true);
        t.start();
      } catch (IOException e) {
        return;
      }
    }
  }

  private void serve(Socket s, int connection) {
    open.incrementAndGet();
    try (s; BufferedReader in = new BufferedReader(new InputStreamReader(s.getInputStream(),
        StandardCharsets.ISO_8859_1)); OutputStream out = s.getOutputStream()) {
      String line;
      while ((line = in.readLine()) != null) {
        if (line.isEmpty()) {
          continue;
        }
        Map<String, List<String>> headers = new LinkedHashMap<>();
        String h;
        while ((h = in.readLine()) != null && !h.isEmpty()) {
          int colon = h.indexOf(':');
          headers.computeIfAbsent(h.substring(0, colon).trim().toLowerCase(Locale.ROOT), k -> new ArrayList<>())
              .add(h.substring(colon + 1).trim());
        }
        received.add(new Received(connection, line, headers));
        if (readsBodies && !readBody(in, headers)) {
          return;
        }
        byte[] body = ("request " + received.size() + "\n").getBytes(StandardCharsets.US_ASCII);
        out.write(("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nConnection: keep-alive\r\nKeep-Alive: timeout=5"
            + "\r\nContent-Length: " + body.length + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
        out.write(body);
        out.flush();
      }
    } catch (IOException e) {
      // the peer went away
    } finally {
      open.decrementAndGet();
    }
  }

  /** Reads (and drops) the body {@code headers} announce; returns false when the connection ended first. */
  private static boolean readBody(BufferedReader in, Map<String, List<String>> headers) throws IOException {
    if (headers.getOrDefault("transfer-encoding", List.of()).stream().anyMatch(v -> v.contains("chunked"))) {
      String size;
      while ((size = in.readLine()) != null) {
        int n = Integer.parseInt(size.split(";")[0].trim(), 16);
        if (n == 0) {
          String trailer;
          while ((trailer = in.readLine()) != null && !trailer.isEmpty()) {
            // trailers dropped
          }
          return trailer != null;
        }
        if (!skip(in, n + 2)) {
          return false;
        }
      }
      return false;
    }
    List<String> length = headers.get("content-length");
    return length == null || skip(in, Long.parseLong(length.get(0)));
  }

  private static boolean skip(BufferedReader in, long n) throws IOException {
    for (long left = n; left > 0; left--) {
      if (in.read() < 0) {
        return false;
      }
    }
    return true;
  }

  @Override
  public void close() throws IOException {
    server.close();
    for (Socket s : sockets) {
      s.close();
    }
  }
}
