package io.portcullis.testing;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A plain HTTP/1.1 keep-alive backend on 127.0.0.1 (only: 127.0.0.2 on the same port refuses connections) that reads
 * request bodies by their framing ({@code Content-Length} or chunked, trailers included) and answers 200 with
 * {@code LENGTH SHA-256} of the body it got. It records every request (head, body, trailers, connection number).
 * The first {@link #rejectFirst} requests are answered {@code 503} (and the connection closed) after reading only
 * {@link #rejectAfterBytes} bytes of their body, as a backend that gives up early does.
 */
public final class BodyBackend implements AutoCloseable {
  /** One request as received; header names lower-cased. */
  public record Received(int connection, String requestLine, Map<String, List<String>> headers, byte[] body,
      Map<String, List<String>> trailers) {
    /** The first value of header {@code name}, or null. */
    public String header(String name) {
      List<String> v = headers.get(name);
      return v == null || v.isEmpty() ? null : v.get(0);
    }
  }

  private final ServerSocket server;
  private final List<Received> received = new CopyOnWriteArrayList<>();
  private final AtomicInteger connections = new AtomicInteger();
  private final AtomicInteger rejected = new AtomicInteger();
  private final List<Socket> sockets = new CopyOnWriteArrayList<>();
  private volatile int rejectFirst;
  private volatile int rejectAfterBytes;
  private volatile CountDownLatch rejectedLatch = new CountDownLatch(1);

  private final List<Socket> fillers = new ArrayList<>();

  /** Starts it on a free port of 127.0.0.1. */
  public BodyBackend() throws IOException {
    server = new ServerSocket(0, 50, InetAddress.getByName("127.0.0.1"));
    startAccepting();
  }

  private BodyBackend(ServerSocket server) {
    this.server = server;
  }

  /**
   * Returns one on {@code address}:{@code port} whose accept queue is full until {@link #release()}: Linux drops
   * the SYN of a connect meanwhile, so a client's connect completes only at its SYN retransmit, about a second
   * after it began (a connect that is slow for certain, without a sleep in the test).
   */
  public static BodyBackend held(String address, int port) throws IOException {
    ServerSocket s = new ServerSocket(port, 1, InetAddress.getByName(address));
    BodyBackend b = new BodyBackend(s);
    for (int i = 0; i < 2; i++) { // a backlog of 1 queues two connections; a third SYN is dropped
      b.fillers.add(new Socket(s.getInetAddress(), port));
    }
    return b;
  }

  /** Ends the {@link #held} state: the queued connections are closed and accepted, new ones are served. */
  public void release() throws IOException {
    for (Socket f : fillers) {
      f.close();
    }
    fillers.clear();
    startAccepting();
  }

  private void startAccepting() {
    Thread t = new Thread(this::accept, "body-backend");
    t.setDaemon(true);
    t.start();
  }

  /** Returns its port. */
  public int port() {
    return server.getLocalPort();
  }

  /**
   * From now on answers the next {@code n} requests 503 (then closes) once it has read {@code afterBytes} bytes of
   * their body; {@link #awaitRejected()} returns once the first such 503 was written.
   */
  public void rejectFirst(int n, int afterBytes) {
    rejectedLatch = new CountDownLatch(1);
    rejected.set(0);
    rejectAfterBytes = afterBytes;
    rejectFirst = n;
  }

  /** Waits (30 s at most) until a 503 of {@link #rejectFirst} was written; returns whether it was. */
  public boolean awaitRejected() throws InterruptedException {
    return rejectedLatch.await(30, java.util.concurrent.TimeUnit.SECONDS);
  }

  /** Returns every request answered 200 so far (rejected ones are not recorded). */
  public List<Received> received() {
    return List.copyOf(received);
  }

  /** Forgets the requests received so far. */
  public void clear() {
    received.clear();
  }

  /** Returns {@code LENGTH SHA-256-HEX} of {@code body}, as the backend answers. */
  public static String digest(byte[] body) {
    try {
      return body.length + " " + HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(body));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  private void accept() {
    while (!server.isClosed()) {
      try {
        Socket s = server.accept();
        sockets.add(s);
        int n = connections.incrementAndGet();
        Thread t = new Thread(() -> serve(s, n), "body-backend-" + n);
        t.setDaemon(true);
        t.start();
      } catch (IOException e) {
        return;
      }
    }
  }

  private void serve(Socket s, int connection) {
    try (s; InputStream in = new java.io.BufferedInputStream(s.getInputStream()); OutputStream out =
        s.getOutputStream()) {
      while (true) {
        String line = readLine(in);
        if (line == null) {
          return;
        }
        if (line.isEmpty()) {
          continue;
        }
        Map<String, List<String>> headers = readFields(in);
        if (rejected.get() < rejectFirst && rejected.incrementAndGet() <= rejectFirst) {
          in.readNBytes(rejectAfterBytes);
          out.write(("HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
              .getBytes(StandardCharsets.US_ASCII));
          out.flush();
          Thread.sleep(5); // the gateway sees the 503 before the test goes on
          rejectedLatch.countDown();
          return;
        }
        ByteArrayOutputStream body = new ByteArrayOutputStream();
        Map<String, List<String>> trailers = Map.of();
        String te = first(headers, "transfer-encoding");
        if (te != null && te.toLowerCase(Locale.ROOT).contains("chunked")) {
          while (true) {
            String size = readLine(in);
            if (size == null) {
              return;
            }
            int semi = size.indexOf(';');
            int n = Integer.parseInt((semi >= 0 ? size.substring(0, semi) : size).trim(), 16);
            if (n == 0) {
              trailers = readFields(in);
              break;
            }
            body.write(in.readNBytes(n));
            readLine(in);
          }
        } else {
          String cl = first(headers, "content-length");
          if (cl != null) {
            body.write(in.readNBytes(Integer.parseInt(cl.trim())));
          }
        }
        byte[] b = body.toByteArray();
        received.add(new Received(connection, line, headers, b, trailers));
        byte[] answer = (digest(b) + "\n").getBytes(StandardCharsets.US_ASCII);
        out.write(("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: " + answer.length + "\r\n\r\n")
            .getBytes(StandardCharsets.US_ASCII));
        out.write(answer);
        out.flush();
      }
    } catch (IOException | InterruptedException | RuntimeException e) {
      // the peer went away, or sent what this backend does not parse
    }
  }

  private static String first(Map<String, List<String>> headers, String name) {
    List<String> v = headers.get(name);
    return v == null || v.isEmpty() ? null : v.get(0);
  }

  private static Map<String, List<String>> readFields(InputStream in) throws IOException {
    Map<String, List<String>> fields = new LinkedHashMap<>();
    String h;
    while ((h = readLine(in)) != null && !h.isEmpty()) {
      int colon = h.indexOf(':');
      if (colon > 0) {
        fields.computeIfAbsent(h.substring(0, colon).trim().toLowerCase(Locale.ROOT), k -> new ArrayList<>())
            .add(h.substring(colon + 1).trim());
      }
    }
    return fields;
  }

  /** Reads a CRLF (or LF) terminated line; null at the end of the stream. */
  private static String readLine(InputStream in) throws IOException {
    ByteArrayOutputStream b = new ByteArrayOutputStream();
    int c;
    while ((c = in.read()) >= 0) {
      if (c == '\n') {
        byte[] bytes = b.toByteArray();
        int n = bytes.length > 0 && bytes[bytes.length - 1] == '\r' ? bytes.length - 1 : bytes.length;
        return new String(bytes, 0, n, StandardCharsets.ISO_8859_1);
      }
      b.write(c);
    }
    return null;
  }

  @Override
  public void close() throws IOException {
    for (Socket f : fillers) {
      f.close();
    }
    server.close();
    for (Socket s : sockets) {
      s.close();
    }
  }
}
