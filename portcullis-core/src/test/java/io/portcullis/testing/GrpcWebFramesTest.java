package io.portcullis.testing;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The gRPC-Web codec of the gRPC-Web IT, checked on its own so that a failing IT means the gateway. */
class GrpcWebFramesTest {
  @Test
  void parsesAMessageFrameThenATrailerFrame() {
    ByteArrayOutputStream body = new ByteArrayOutputStream();
    body.writeBytes(new byte[] {0, 0, 0, 0, 3, 'a', 'b', 'c'});
    byte[] trailers = "grpc-status:0\r\nx-trailer: done\r\n".getBytes(StandardCharsets.US_ASCII);
    body.writeBytes(new byte[] {(byte) 0x80, 0, 0, 0, (byte) trailers.length});
    body.writeBytes(trailers);
    List<GrpcWebFrames.Frame> frames = GrpcWebFrames.parse(body.toByteArray());
    assertThat(frames).hasSize(2);
    assertThat(frames.get(0).trailers()).isFalse();
    assertThat(frames.get(0).payload()).containsExactly('a', 'b', 'c');
    assertThat(frames.get(1).trailers()).isTrue();
    assertThat(frames.get(1).headers()).containsEntry("grpc-status", "0").containsEntry("x-trailer", "done");
  }

  @Test
  void framesRoundTrip() {
    byte[] f = GrpcWebFrames.frame(GrpcWebFrames.DATA, new byte[] {9, 8});
    assertThat(f).containsExactly(0, 0, 0, 0, 2, 9, 8);
    assertThat(GrpcWebFrames.parse(GrpcWebFrames.trailerFrame("grpc-status:5", "grpc-message:gone")).get(0)
        .headers()).containsEntry("grpc-status", "5").containsEntry("grpc-message", "gone");
  }

  @Test
  void decodesConcatenatedPaddedBase64Chunks() {
    byte[] a = GrpcWebFrames.frame(GrpcWebFrames.DATA, new byte[] {1, 2}); // 7 bytes: a padded chunk
    byte[] t = GrpcWebFrames.trailerFrame("grpc-status:0");
    String body = GrpcWebFrames.encodeText(a) + GrpcWebFrames.encodeText(t);
    assertThat(body.substring(0, GrpcWebFrames.encodeText(a).length())).endsWith("=");
    List<GrpcWebFrames.Frame> frames = GrpcWebFrames.parse(GrpcWebFrames.decodeText(body));
    assertThat(frames).hasSize(2);
    assertThat(frames.get(0).payload()).containsExactly(1, 2);
    assertThat(frames.get(1).headers()).containsEntry("grpc-status", "0");
  }

  @Test
  void aTruncatedBodyIsRefused() {
    assertThatThrownBy(() -> GrpcWebFrames.parse(new byte[] {0, 0, 0, 0, 5, 1}))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("frame of 5 bytes");
  }
}
