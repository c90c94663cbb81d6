package io.portcullis.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class ClientHellosTest {
  /**
   * Builds a ClientHello body (from legacy_version on) with one ECDHE_ECDSA suite and, when given, a
   * signature_algorithms extension (hex schemes, ':'-separated) and TLS 1.3 in supported_versions.
   */
  static ByteBuf hello(String schemes, boolean tls13) {
    ByteBuf ext = Unpooled.buffer();
    if (!schemes.isEmpty()) {
      String[] s = schemes.split(":");
      ext.writeShort(13).writeShort(2 + 2 * s.length).writeShort(2 * s.length);
      for (String x : s) {
        ext.writeShort(Integer.parseInt(x, 16));
      }
    }
    if (tls13) {
      ext.writeShort(43).writeShort(5).writeByte(4).writeShort(0x0304).writeShort(0x0303);
    }
    ByteBuf b = Unpooled.buffer();
    b.writeShort(0x0303).writeZero(32).writeByte(0); // legacy_version, random, empty session id
    b.writeShort(2).writeShort(0xC02B); // TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256
    b.writeByte(1).writeByte(0); // null compression
    if (ext.isReadable()) {
      b.writeShort(ext.readableBytes()).writeBytes(ext);
    }
    return b;
  }

  @ParameterizedTest(name = "schemes [{0}], TLS 1.3 {1}")
  @CsvSource({
      "'',             false, false, false",
      "0203,           false, false, false",
      "0203:0201:0101, false, false, false",
      "0303,           false, false, false",
      "0403,           false, true,  true",
      "0203:0804,      false, true,  false",
      "0201:0401,      false, true,  false",
      "0807,           false, true,  false",
      "0a0a:0201,      false, false, false",
      "fefe:0203,      false, false, false",
      "'',             true,  true,  false",
      "0403,           true,  true,  true"})
  void tellsSha2SignaturesAndEcdsa(String schemes, boolean tls13, boolean sha2, boolean ecdsa) {
    ByteBuf h = hello(schemes, tls13);
    assertThat(ClientHellos.acceptsSha2Signatures(h)).isEqualTo(sha2);
    assertThat(ClientHellos.acceptsEcdsa(h)).isEqualTo(ecdsa);
  }

  @ParameterizedTest
  @CsvSource({"3", "20", "36"})
  void aTruncatedHelloIsLeftToTheTlsStack(int length) {
    ByteBuf h = hello("0403", false).slice(0, length);
    assertThat(ClientHellos.acceptsSha2Signatures(h)).isTrue();
    assertThat(ClientHellos.acceptsEcdsa(h)).isFalse();
  }
}
