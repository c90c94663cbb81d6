package io.portcullis.testing;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * gRPC-Web framing as a browser client speaks it (gRPC's PROTOCOL-WEB.md, Envoy's {@code grpc_web} filter): a body of
 * frames, each one flag byte ({@link #DATA} or {@link #TRAILERS}), a 4-byte big-endian length and the payload; the
 * trailer frame's payload is HTTP/1-style header lines ({@code grpc-status:0\r\n}); {@code application/grpc-web-text}
 * is the same bytes in base64, where a response may be several padded base64 chunks one after another.
 */
public final class GrpcWebFrames {
  /** The flag byte of a message frame (uncompressed). */
  public static final int DATA = 0x00;
  /** The flag byte (MSB set) of the trailer frame. */
  public static final int TRAILERS = 0x80;

  private GrpcWebFrames() {}

  /** One frame: its flag byte and payload. */
  public record Frame(int flags, byte[] payload) {
    /** Returns whether this is the trailer frame. */
    public boolean trailers() {
      return (flags & TRAILERS) != 0;
    }

    /** Returns a trailer frame's header lines as a map, names lower-cased, values trimmed. */
    public Map<String, String> headers() {
      Map<String, String> m = new LinkedHashMap<>();
      for (String line : new String(payload, StandardCharsets.US_ASCII).split("\r\n")) {
        int colon = line.indexOf(':');
        if (colon > 0) {
          m.put(line.substring(0, colon).trim().toLowerCase(Locale.ROOT), line.substring(colon + 1).trim());
        }
      }
      return m;
    }
  }

  /** Returns {@code payload} as one frame with flag byte {@code flags}. */
  public static byte[] frame(int flags, byte[] payload) {
    return ByteBuffer.allocate(5 + payload.length).put((byte) flags).putInt(payload.length).put(payload).array();
  }

  /** Returns a trailer frame carrying {@code lines} ({@code name:value} each). */
  public static byte[] trailerFrame(String... lines) {
    StringBuilder b = new StringBuilder();
    for (String l : lines) {
      b.append(l).append("\r\n");
    }
    return frame(TRAILERS, b.toString().getBytes(StandardCharsets.US_ASCII));
  }

  /**
   * Returns the frames of {@code body}.
   *
   * @throws IllegalArgumentException when the body ends inside a frame
   */
  public static List<Frame> parse(byte[] body) {
    List<Frame> frames = new ArrayList<>();
    ByteBuffer b = ByteBuffer.wrap(body);
    while (b.hasRemaining()) {
      if (b.remaining() < 5) {
        throw new IllegalArgumentException("body ends inside a frame header: " + b.remaining() + " bytes left");
      }
      int flags = b.get() & 0xff;
      int length = b.getInt();
      if (length < 0 || length > b.remaining()) {
        throw new IllegalArgumentException("frame of " + length + " bytes, " + b.remaining() + " left");
      }
      byte[] payload = new byte[length];
      b.get(payload);
      frames.add(new Frame(flags, payload));
    }
    return frames;
  }

  /** Returns {@code bytes} in base64, as an {@code application/grpc-web-text} client sends a request. */
  public static String encodeText(byte[] bytes) {
    return Base64.getEncoder().encodeToString(bytes);
  }

  /**
   * Decodes an {@code application/grpc-web-text} body: base64, possibly several padded chunks concatenated (each
   * 4-character group decodes on its own), line breaks ignored.
   *
   * @throws IllegalArgumentException when it is not base64 or its length is not a multiple of 4
   */
  public static byte[] decodeText(String body) {
    String s = body.replaceAll("[\\r\\n]", "");
    if (s.length() % 4 != 0) {
      throw new IllegalArgumentException("base64 of " + s.length() + " characters (expected: a multiple of 4)");
    }
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    for (int i = 0; i < s.length(); i += 4) {
      out.writeBytes(Base64.getDecoder().decode(s.substring(i, i + 4)));
    }
    return out.toByteArray();
  }
}
