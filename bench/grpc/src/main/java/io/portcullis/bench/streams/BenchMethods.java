package io.portcullis.bench.streams;

import io.grpc.Drainable;
import io.grpc.KnownLength;
import io.grpc.MethodDescriptor;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;

/**
 * The benchmark's gRPC service {@code bench.Bench}, with raw {@code byte[]} messages (no protobuf, no protoc):
 * <ul>
 *   <li>{@code Echo} (unary): answers the request's bytes;</li>
 *   <li>{@code Stream} (server streaming): the request is two big-endian 32-bit integers, a message count N and a
 *       message size S; the answer is N messages of S bytes, then status OK.</li>
 * </ul>
 */
final class BenchMethods {
  static final String SERVICE = "bench.Bench";
  static final MethodDescriptor<byte[], byte[]> ECHO = MethodDescriptor.<byte[], byte[]>newBuilder()
      .setType(MethodDescriptor.MethodType.UNARY)
      .setFullMethodName(MethodDescriptor.generateFullMethodName(SERVICE, "Echo"))
      .setRequestMarshaller(Bytes.MARSHALLER).setResponseMarshaller(Bytes.MARSHALLER)
      .build();
  static final MethodDescriptor<byte[], byte[]> STREAM = MethodDescriptor.<byte[], byte[]>newBuilder()
      .setType(MethodDescriptor.MethodType.SERVER_STREAMING)
      .setFullMethodName(MethodDescriptor.generateFullMethodName(SERVICE, "Stream"))
      .setRequestMarshaller(Bytes.MARSHALLER).setResponseMarshaller(Bytes.MARSHALLER)
      .build();

  private BenchMethods() {}

  /** The {@code Stream} request for {@code count} messages of {@code size} bytes. */
  static byte[] streamRequest(int count, int size) {
    return ByteBuffer.allocate(8).putInt(count).putInt(size).array();
  }

  /**
   * A byte[] marshaller whose stream tells gRPC its length and drains itself ({@link KnownLength},
   * {@link Drainable}), so gRPC frames it without copying through an intermediate buffer.
   */
  static final class Bytes extends ByteArrayInputStream implements KnownLength, Drainable {
    static final MethodDescriptor.Marshaller<byte[]> MARSHALLER = new MethodDescriptor.Marshaller<>() {
      @Override
      public InputStream stream(byte[] value) {
        return new Bytes(value);
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

    Bytes(byte[] b) {
      super(b);
    }

    @Override
    public int drainTo(OutputStream target) throws IOException {
      int n = count - pos;
      target.write(buf, pos, n);
      pos = count;
      return n;
    }
  }
}
