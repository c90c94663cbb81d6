package io.portcullis.testing;

import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Base64;
import java.util.concurrent.ThreadLocalRandom;

/**
 * A WebSocket client (RFC 6455) over a plain socket whose buffers the test chooses: the HTTP/1.1 upgrade by hand
 * (the whole response head, and the body of a refusal, are the test's to read), then masked frames out and
 * unmasked frames in, one call each. Blocking; one reader and one writer thread at most.
 */
public final class RawWebSocket implements AutoCloseable {
  /** The WebSocket opcodes the tests use (RFC 6455 §5.2). */
  public static final int TEXT = 0x1;
  /** Binary message. */
  public static final int BINARY = 0x2;
  /** Close. */
  public static final int CLOSE = 0x8;

  private final Socket socket;
  private final InputStream in;
  private final OutputStream out;

  private RawWebSocket(Socket socket) throws IOException {
    this.socket = socket;
    this.in = socket.getInputStream();
    this.out = socket.getOutputStream();
  }

  /**
   * Connects to 127.0.0.1:{@code port} with both socket buffers set to {@code bufferBytes} (0 for the kernel's
   * autotuned default): a small receive buffer makes a client that does not read stop the sender quickly.
   */
  public static RawWebSocket connect(int port, int bufferBytes) throws IOException {
    Socket s = new Socket();
    if (bufferBytes > 0) {
      s.setReceiveBufferSize(bufferBytes);
      s.setSendBufferSize(bufferBytes);
    }
    s.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 2000);
    s.setTcpNoDelay(true);
    return new RawWebSocket(s);
  }

  /** A message as received: opcode and payload (fragments joined). */
  public record Message(int opcode, byte[] payload) {
    /** The payload as UTF-8 text. */
    public String text() {
      return new String(payload, StandardCharsets.UTF_8);
    }
  }

  /**
   * Sends {@code GET path} with the upgrade headers (a fresh {@code Sec-WebSocket-Key}, version 13) and {@code extra}
   * header lines, and reads the response head, plus the body by {@code Content-Length} unless it is a 101.
   *
   * @return the response, or null when the connection closed before a response head
   */
  public RawClient.Response upgrade(String host, String path, String... extra) throws IOException {
    byte[] key = new byte[16];
    ThreadLocalRandom.current().nextBytes(key);
    StringBuilder req = new StringBuilder("GET " + path + " HTTP/1.1\r\nHost: " + host
        + "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: "
        + Base64.getEncoder().encodeToString(key) + "\r\nSec-WebSocket-Version: 13\r\n");
    for (String h : extra) {
      req.append(h).append("\r\n");
    }
    out.write(req.append("\r\n").toString().getBytes(StandardCharsets.ISO_8859_1));
    out.flush();
    socket.setSoTimeout(10_000);
    ByteArrayOutputStream head = new ByteArrayOutputStream();
    int state = 0;
    while (state < 4) {
      int b;
      try {
        b = in.read();
      } catch (IOException e) {
        return null;
      }
      if (b < 0) {
        return null;
      }
      head.write(b);
      state = (b == '\r' && (state == 0 || state == 2)) || (b == '\n' && (state == 1 || state == 3)) ? state + 1
          : b == '\r' ? 1 : 0;
    }
    String h = head.toString(StandardCharsets.ISO_8859_1);
    if (h.startsWith("HTTP/1.1 101")) {
      return new RawClient.Response(h, "");
    }
    int length = 0;
    for (String line : h.split("\r\n")) {
      int colon = line.indexOf(':');
      if (colon > 0 && line.substring(0, colon).trim().equalsIgnoreCase("content-length")) {
        length = Integer.parseInt(line.substring(colon + 1).trim());
      }
    }
    return new RawClient.Response(h, new String(in.readNBytes(length), StandardCharsets.ISO_8859_1));
  }

  /** Sends one final, masked frame. */
  public void send(int opcode, byte[] payload) throws IOException {
    int n = payload.length;
    byte[] head;
    if (n < 126) {
      head = new byte[] {(byte) (0x80 | opcode), (byte) (0x80 | n)};
    } else if (n < 65_536) {
      head = new byte[] {(byte) (0x80 | opcode), (byte) (0x80 | 126), (byte) (n >> 8), (byte) n};
    } else {
      head = new byte[10];
      head[0] = (byte) (0x80 | opcode);
      head[1] = (byte) (0x80 | 127);
      for (int i = 0; i < 8; i++) {
        head[2 + i] = (byte) ((long) n >>> (56 - 8 * i));
      }
    }
    byte[] mask = new byte[4];
    ThreadLocalRandom.current().nextBytes(mask);
    byte[] masked = new byte[n];
    for (int i = 0; i < n; i++) {
      masked[i] = (byte) (payload[i] ^ mask[i & 3]);
    }
    out.write(head);
    out.write(mask);
    out.write(masked);
    out.flush();
  }

  /**
   * Reads one message (server frames are unmasked; fragments are joined; control frames other than close skipped).
   *
   * @throws EOFException when the connection ends first
   * @throws java.net.SocketTimeoutException when nothing complete came within {@code timeout}
   */
  public Message read(Duration timeout) throws IOException {
    socket.setSoTimeout((int) timeout.toMillis());
    ByteArrayOutputStream message = new ByteArrayOutputStream();
    int first = -1;
    while (true) {
      int b0 = readByte();
      int b1 = readByte();
      long n = b1 & 0x7F;
      if (n == 126) {
        n = (readByte() << 8) | readByte();
      } else if (n == 127) {
        n = 0;
        for (int i = 0; i < 8; i++) {
          n = (n << 8) | readByte();
        }
      }
      byte[] key = (b1 & 0x80) != 0 ? readExactly(4) : null;
      byte[] payload = readExactly((int) n);
      if (key != null) {
        for (int i = 0; i < payload.length; i++) {
          payload[i] ^= key[i & 3];
        }
      }
      int opcode = b0 & 0x0F;
      if (opcode >= 0x8) {
        if (opcode == CLOSE) {
          return new Message(CLOSE, payload);
        }
        continue; // ping / pong
      }
      if (opcode != 0) {
        first = opcode;
      }
      message.write(payload);
      if ((b0 & 0x80) != 0) {
        return new Message(first, message.toByteArray());
      }
    }
  }

  private int readByte() throws IOException {
    int b = in.read();
    if (b < 0) {
      throw new EOFException("the connection ended");
    }
    return b;
  }

  private byte[] readExactly(int n) throws IOException {
    byte[] b = in.readNBytes(n);
    if (b.length < n) {
      throw new EOFException("the connection ended " + b.length + " bytes into a " + n + "-byte payload");
    }
    return b;
  }

  @Override
  public void close() throws IOException {
    socket.close();
  }
}
