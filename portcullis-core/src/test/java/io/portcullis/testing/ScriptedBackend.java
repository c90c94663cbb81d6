package io.portcullis.testing;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A backend on a free port of 127.0.0.1 that runs a script per connection, for upstreams that misbehave on purpose
 * (malformed responses, a {@code 101} and then raw bytes). Each connection gets its own thread; {@link #head} reads a
 * request head for the script.
 */
public final class ScriptedBackend implements AutoCloseable {
  /** What the backend does with one connection; it is closed when the script returns. */
  @FunctionalInterface
  public interface Script {
    void run(Socket connection) throws Exception;
  }

  private final ServerSocket server;
  private final Script script;
  private final AtomicInteger connections = new AtomicInteger();
  private final List<Socket> sockets = new CopyOnWriteArrayList<>();

  /** Starts it. */
  public ScriptedBackend(Script script) throws IOException {
    this.script = script;
    server = new ServerSocket(0, 50, InetAddress.getByName("127.0.0.1"));
    Thread t = new Thread(this::accept, "scripted-backend");
    t.setDaemon(true);
    t.start();
  }

  /** Returns its port. */
  public int port() {
    return server.getLocalPort();
  }

  /** Returns how many connections it accepted. */
  public int connections() {
    return connections.get();
  }

  /** Reads a request head (through the empty line) and returns it, or null when the connection ended first. */
  public static String head(InputStream in) throws IOException {
    ByteArrayOutputStream b = new ByteArrayOutputStream();
    int state = 0;
    int c;
    while ((c = in.read()) >= 0) {
      b.write(c);
      state = (c == '\r' && (state == 0 || state == 2)) || (c == '\n' && (state == 1 || state == 3)) ? state + 1
          : c == '\r' ? 1 : 0;
      if (state == 4) {
        return b.toString(StandardCharsets.ISO_8859_1);
      }
    }
    return null;
  }

  private void accept() {
    while (!server.isClosed()) {
      try {
        Socket s = server.accept();
        sockets.add(s);
        connections.incrementAndGet();
        Thread t = new Thread(() -> {
          try (s) {
            script.run(s);
          } catch (Exception e) {
            // the peer went away
          }
        }, "scripted-backend-" + connections.get());
        t.setDaemon(true);
        t.start();
      } catch (IOException e) {
        return;
      }
    }
  }

  @Override
  public void close() throws IOException {
    server.close();
    for (Socket s : sockets) {
      s.close();
    }
  }
}
