package io.portcullis.testing;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A plain HTTP/1.1 keep-alive backend on a free port of 127.0.0.1 that answers every bodiless request with the
 * status it is set to ({@link #status(int)}, 200 at first), after the delay it is set to ({@link #delayMillis}), and
 * its name as the body; it counts the requests it answers. For load-balancing and outlier-detection tests.
 */
public final class StatusBackend implements AutoCloseable {
  private final String name;
  private final ServerSocket server;
  private final AtomicInteger status = new AtomicInteger(200);
  private final AtomicInteger delayMillis = new AtomicInteger();
  private final AtomicInteger requests = new AtomicInteger();
  private final List<Socket> sockets = new CopyOnWriteArrayList<>();

  /** Starts one that answers with {@code name}. */
  public StatusBackend(String name) throws IOException {
    this.name = name;
    server = new ServerSocket(0, 100, InetAddress.getByName("127.0.0.1"));
    Thread t = new Thread(this::accept, "status-backend-" + name);
    t.setDaemon(true);
    t.start();
  }

  /** Returns its name (the body of its answers). */
  public String name() {
    return name;
  }

  /** Returns its port. */
  public int port() {
    return server.getLocalPort();
  }

  /** Makes it answer {@code code} from the next request on. */
  public StatusBackend status(int code) {
    status.set(code);
    return this;
  }

  /** Makes it wait {@code ms} before each answer. */
  public StatusBackend delayMillis(int ms) {
    delayMillis.set(ms);
    return this;
  }

  /** Returns how many requests it has answered (or begun to). */
  public int requests() {
    return requests.get();
  }

  /** Forgets the count. */
  public void reset() {
    requests.set(0);
  }

  private void accept() {
    while (!server.isClosed()) {
      try {
        Socket s = server.accept();
        sockets.add(s);
        Thread t = new Thread(() -> serve(s), "status-backend-" + name + "-conn");
        t.setDaemon(true);
        t.start();
      } catch (IOException e) {
        return;
      }
    }
  }

  private void serve(Socket s) {
    try (s; InputStream in = s.getInputStream(); OutputStream out = s.getOutputStream()) {
      while (ScriptedBackend.head(in) != null) {
        requests.incrementAndGet();
        int delay = delayMillis.get();
        if (delay > 0) {
          Thread.sleep(delay);
        }
        int code = status.get();
        byte[] body = (name + "\n").getBytes(StandardCharsets.US_ASCII);
        out.write(("HTTP/1.1 " + code + " X\r\nContent-Type: text/plain\r\nContent-Length: " + body.length
            + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
        out.write(body);
        out.flush();
      }
    } catch (IOException | InterruptedException e) {
      // the peer went away
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
