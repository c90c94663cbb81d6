package io.portcullis.testing;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;

/**
 * A raw TCP client for probing the gateway as an attacker would: sends exactly the bytes given, reads responses by
 * hand, and tells whether (and when) the server closed the connection.
 */
public final class RawClient implements AutoCloseable {
  private final Socket socket;
  private final InputStream in;
  private final OutputStream out;

  private RawClient(Socket socket) throws IOException {
    this.socket = socket;
    this.in = socket.getInputStream();
    this.out = socket.getOutputStream();
  }

  /** Connects to 127.0.0.1:{@code port}. */
  public static RawClient connect(int port) throws IOException {
    Socket s = new Socket();
    s.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 2000);
    s.setTcpNoDelay(true);
    return new RawClient(s);
  }

  /**
   * Connects to 127.0.0.1:{@code port}, sends {@code text}, reads one response (5 s at most) and disconnects.
   *
   * @return the response, or null when the gateway closed the connection without one
   */
  public static Response exchange(int port, String text) throws IOException {
    try (RawClient c = connect(port)) {
      return c.send(text).readResponse(Duration.ofSeconds(5));
    }
  }

  /**
   * Returns a minimal TLS 1.2 ClientHello record (RFC 5246 §7.4.1.2) for {@code sni}: enough for the gateway's SNI
   * routing, not for a handshake.
   */
  public static byte[] clientHello(String sni) {
    byte[] name = sni.getBytes(StandardCharsets.US_ASCII);
    java.nio.ByteBuffer ext = java.nio.ByteBuffer.allocate(9 + name.length + 8);
    ext.putShort((short) 0).putShort((short) (5 + name.length)).putShort((short) (3 + name.length)).put((byte) 0)
        .putShort((short) name.length).put(name); // server_name
    ext.putShort((short) 13).putShort((short) 4).putShort((short) 2).putShort((short) 0x0403); // signature_algorithms
    java.nio.ByteBuffer body = java.nio.ByteBuffer.allocate(2 + 32 + 1 + 4 + 2 + 2 + ext.position());
    body.putShort((short) 0x0303).put(new byte[32]).put((byte) 0).putShort((short) 2).putShort((short) 0xC02B)
        .put((byte) 1).put((byte) 0).putShort((short) ext.position()).put(ext.array(), 0, ext.position());
    java.nio.ByteBuffer record = java.nio.ByteBuffer.allocate(5 + 4 + body.position());
    record.put((byte) 0x16).putShort((short) 0x0301).putShort((short) (4 + body.position())).put((byte) 1)
        .put((byte) 0).putShort((short) body.position()).put(body.array(), 0, body.position());
    return record.array();
  }

  /** Reads exactly {@code n} bytes, or fewer if the connection ends first ({@code timeout} for all of them). */
  public byte[] readBytes(int n, Duration timeout) throws IOException {
    socket.setSoTimeout((int) timeout.toMillis());
    return in.readNBytes(n);
  }

  /** Sends {@code text} (ISO-8859-1) and flushes. */
  public RawClient send(String text) throws IOException {
    return send(text.getBytes(StandardCharsets.ISO_8859_1));
  }

  /** Sends {@code bytes} and flushes. */
  public RawClient send(byte[] bytes) throws IOException {
    out.write(bytes);
    out.flush();
    return this;
  }

  /**
   * Reads one response: its head and, by Content-Length, its body (no chunked bodies).
   *
   * @return the response, or null when the connection closed (or was reset) before a response head
   * @throws SocketTimeoutException when nothing complete arrived within {@code timeout}
   */
  public Response readResponse(Duration timeout) throws IOException {
    socket.setSoTimeout((int) timeout.toMillis());
    ByteArrayOutputStream head = new ByteArrayOutputStream();
    int state = 0;
    while (state < 4) {
      int b;
      try {
        b = in.read();
      } catch (SocketTimeoutException e) {
        throw e;
      } catch (IOException e) {
        return null; // reset
      }
      if (b < 0) {
        return null;
      }
      head.write(b);
      state = (b == '\r' && (state == 0 || state == 2)) || (b == '\n' && (state == 1 || state == 3)) ? state + 1
          : b == '\r' ? 1 : 0;
    }
    String h = head.toString(StandardCharsets.ISO_8859_1);
    int length = 0;
    for (String line : h.split("\r\n")) {
      int colon = line.indexOf(':');
      if (colon > 0 && line.substring(0, colon).trim().equalsIgnoreCase("content-length")) {
        length = Integer.parseInt(line.substring(colon + 1).trim());
      }
    }
    byte[] body = in.readNBytes(length);
    return new Response(h, new String(body, StandardCharsets.ISO_8859_1));
  }

  /**
   * Waits for the server to close the connection, reading (and dropping) what arrives meanwhile.
   *
   * @return whether it closed (end of stream or reset) within {@code timeout}
   */
  public boolean closedWithin(Duration timeout) throws IOException {
    long deadline = System.nanoTime() + timeout.toNanos();
    byte[] buf = new byte[4096];
    while (true) {
      long left = (deadline - System.nanoTime()) / 1_000_000;
      if (left <= 0) {
        return false;
      }
      socket.setSoTimeout((int) Math.max(1, left));
      try {
        if (in.read(buf) < 0) {
          return true;
        }
      } catch (SocketTimeoutException e) {
        return false;
      } catch (IOException e) {
        return true; // reset by the server
      }
    }
  }

  @Override
  public void close() throws IOException {
    socket.close();
  }

  /** A response as read: the head (status line and headers, CRLFs included) and the body. */
  public record Response(String head, String body) {
    /** The status code. */
    public int status() {
      return Integer.parseInt(head.substring(9, 12));
    }

    /** Whether the response says {@code connection: close}. */
    public boolean closes() {
      return head.toLowerCase(java.util.Locale.ROOT).contains("\r\nconnection: close");
    }
  }
}
