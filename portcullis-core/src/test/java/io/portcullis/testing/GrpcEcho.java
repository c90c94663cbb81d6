package io.portcullis.testing;

import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;

/**
 * The contract of the test gRPC service {@code portcullis.test.Echo} that {@link GrpcBackend} serves and the gRPC ITs
 * call: method descriptors with a byte[] marshaller (no protobuf: a message is its bytes, as gRPC's length-prefixed
 * framing carries them, gRPC over HTTP/2 spec "Length-Prefixed-Message"), the request encodings of the methods that
 * take numbers, and the metadata keys the backend acts on.
 *
 * <ul>
 *   <li>{@link #UNARY}: answers the request bytes; response header {@code x-backend: grpc}, trailers
 *       {@code x-trailer} ({@link #TRAILER_VALUE} or the request's {@link #TRAILER_VALUE_KEY}) and
 *       {@code x-trailer-bin} ({@link #TRAILER_BIN}).
 *   <li>{@link #SERVER_STREAM}: request {@link #streamRequest(int, int)}; answers {@code count} messages of
 *       {@code size} bytes each, byte {@code j} of message {@code i} being {@link #patternByte(int, int)}, as fast as
 *       the client's flow control lets it.
 *   <li>{@link #CLIENT_STREAM}: answers the total bytes received as 8 bytes big-endian ({@link #decodeLong}).
 *   <li>{@link #BIDI}: answers each message with the same bytes, in order.
 *   <li>{@link #SLEEP}: request {@link #encodeLong} milliseconds; answers an empty message after that long, or never
 *       when cancelled first.
 * </ul>
 *
 * <p>On every method: {@link #FAIL_STATUS} {@code N} (with {@link #FAIL_MESSAGE}) answers status {@code N} at once
 * (a trailers-only response); {@link #FAIL_UNTIL} {@code K} answers {@code UNAVAILABLE} (or the status code in
 * {@link #FAIL_UNTIL_STATUS}) to the first {@code K} calls carrying the same {@link #FAIL_KEY}, then serves normally.
 */
public final class GrpcEcho {
  /** The fully qualified service name. */
  public static final String SERVICE = "portcullis.test.Echo";

  /** A marshaller that carries a message as its bytes. */
  public static final MethodDescriptor.Marshaller<byte[]> BYTES = new MethodDescriptor.Marshaller<>() {
    @Override
    public InputStream stream(byte[] value) {
      return new ByteArrayInputStream(value);
    }

    @Override
    public byte[] parse(InputStream stream) {
      try {
        return stream.readAllBytes();
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }
  };

  /** {@code portcullis.test.Echo/Unary}: answers the request bytes. */
  public static final MethodDescriptor<byte[], byte[]> UNARY = method("Unary", MethodDescriptor.MethodType.UNARY);
  /** {@code portcullis.test.Echo/ServerStream}: answers {@link #streamRequest}'s count of messages. */
  public static final MethodDescriptor<byte[], byte[]> SERVER_STREAM = method("ServerStream",
      MethodDescriptor.MethodType.SERVER_STREAMING);
  /** {@code portcullis.test.Echo/ClientStream}: answers the total bytes received. */
  public static final MethodDescriptor<byte[], byte[]> CLIENT_STREAM = method("ClientStream",
      MethodDescriptor.MethodType.CLIENT_STREAMING);
  /** {@code portcullis.test.Echo/Bidi}: answers each message with its bytes. */
  public static final MethodDescriptor<byte[], byte[]> BIDI = method("Bidi",
      MethodDescriptor.MethodType.BIDI_STREAMING);
  /** {@code portcullis.test.Echo/Sleep}: answers after the requested milliseconds, unless cancelled first. */
  public static final MethodDescriptor<byte[], byte[]> SLEEP = method("Sleep", MethodDescriptor.MethodType.UNARY);

  /** The response header every call of the backend carries: {@code x-backend: grpc}. */
  public static final Metadata.Key<String> BACKEND = ascii("x-backend");
  /** The custom ASCII trailer every call of the backend ends with. */
  public static final Metadata.Key<String> TRAILER = ascii("x-trailer");
  /** The value of {@link #TRAILER} unless the request names one in {@link #TRAILER_VALUE_KEY}. */
  public static final String TRAILER_VALUE = "echo-done";
  /** A request header naming the value of the {@link #TRAILER} trailer. */
  public static final Metadata.Key<String> TRAILER_VALUE_KEY = ascii("x-trailer-value");
  /** The custom binary trailer (base64 on the wire) every call of the backend ends with. */
  public static final Metadata.Key<byte[]> TRAILER_BIN_KEY = Metadata.Key.of("x-trailer-bin",
      Metadata.BINARY_BYTE_MARSHALLER);
  /** The bytes of {@link #TRAILER_BIN_KEY}: every byte value once, so nothing is lost in encoding. */
  public static final byte[] TRAILER_BIN = allBytes();
  /** Request header: answer this status code (0..16) at once instead of serving. */
  public static final Metadata.Key<String> FAIL_STATUS = ascii("x-fail-status");
  /**
   * Request header: the description of the {@link #FAIL_STATUS} status (sent as {@code grpc-message}), UTF-8 in a
   * binary header so that it may hold any character.
   */
  public static final Metadata.Key<byte[]> FAIL_MESSAGE = Metadata.Key.of("x-fail-message-bin",
      Metadata.BINARY_BYTE_MARSHALLER);
  /** Request header: answer {@code UNAVAILABLE} to the first this many calls of the same {@link #FAIL_KEY}. */
  public static final Metadata.Key<String> FAIL_UNTIL = ascii("x-fail-until");
  /** Request header: the status code the {@link #FAIL_UNTIL} failures answer ({@code 14}, UNAVAILABLE, when absent). */
  public static final Metadata.Key<String> FAIL_UNTIL_STATUS = ascii("x-fail-until-status");
  /** Request header: which counter {@link #FAIL_UNTIL} counts on ({@code default} when absent). */
  public static final Metadata.Key<String> FAIL_KEY = ascii("x-fail-key");
  /** Request header tests set to find their calls in {@link GrpcBackend#calls(String)}. */
  public static final Metadata.Key<String> TEST_ID = ascii("x-test-id");

  private GrpcEcho() {}

  /** Returns a byte[] descriptor for {@code service/name} (any service, e.g. one nothing serves). */
  public static MethodDescriptor<byte[], byte[]> method(String service, String name,
      MethodDescriptor.MethodType type) {
    return MethodDescriptor.<byte[], byte[]>newBuilder().setType(type)
        .setFullMethodName(MethodDescriptor.generateFullMethodName(service, name))
        .setRequestMarshaller(BYTES).setResponseMarshaller(BYTES).build();
  }

  private static MethodDescriptor<byte[], byte[]> method(String name, MethodDescriptor.MethodType type) {
    return method(SERVICE, name, type);
  }

  /** Returns an ASCII metadata key. */
  public static Metadata.Key<String> ascii(String name) {
    return Metadata.Key.of(name, Metadata.ASCII_STRING_MARSHALLER);
  }

  /** Returns the {@link #SERVER_STREAM} request for {@code count} messages of {@code size} bytes. */
  public static byte[] streamRequest(int count, int size) {
    return ByteBuffer.allocate(8).putInt(count).putInt(size).array();
  }

  /** Returns byte {@code j} of message {@code i} of a {@link #SERVER_STREAM} answer. */
  public static byte patternByte(int i, int j) {
    return (byte) (i * 31 + j);
  }

  /** Returns {@code value} as 8 bytes big-endian. */
  public static byte[] encodeLong(long value) {
    return ByteBuffer.allocate(8).putLong(value).array();
  }

  /** Returns the 8 bytes big-endian of {@code b} as a long. */
  public static long decodeLong(byte[] b) {
    return ByteBuffer.wrap(b).getLong();
  }

  /** Returns {@code size} bytes, byte {@code j} being {@code (byte) (j * 7 + seed)}. */
  public static byte[] payload(int size, int seed) {
    byte[] b = new byte[size];
    for (int j = 0; j < size; j++) {
      b[j] = (byte) (j * 7 + seed);
    }
    return b;
  }

  private static byte[] allBytes() {
    byte[] b = new byte[256];
    for (int i = 0; i < b.length; i++) {
      b[i] = (byte) i;
    }
    return b;
  }
}
