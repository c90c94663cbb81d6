package io.portcullis.proxy;

import io.netty.buffer.ByteBuf;

/**
 * Reads from a TLS ClientHello (RFC 8446 §4.1.2, RFC 5246 §7.4.1.2) whether the client can verify an ECDSA server
 * certificate, so that a server with an RSA and an ECDSA credential (Istio {@code credentialNames}) serves the one the
 * client accepts.
 */
final class ClientHellos {
  private static final int EXT_SIGNATURE_ALGORITHMS = 13;
  private static final int EXT_SUPPORTED_VERSIONS = 43;

  private ClientHellos() {}

  /**
   * Returns whether the client accepts an ECDSA certificate: it lists an ECDSA signature scheme and either offers
   * TLS 1.3 (where any cipher suite goes with any certificate) or an ECDHE_ECDSA cipher suite. A malformed or
   * truncated hello answers {@code false} (RSA, the older choice).
   *
   * @param hello the ClientHello body, from {@code legacy_version} on (as Netty's {@code SslClientHelloHandler}
   *     passes it); not modified
   */
  static boolean acceptsEcdsa(ByteBuf hello) {
    try {
      int i = hello.readerIndex() + 2 + 32; // legacy_version, random
      int end = hello.writerIndex();
      i += 1 + hello.getUnsignedByte(i); // legacy_session_id
      int suitesLen = hello.getUnsignedShort(i);
      boolean ecdsaSuite = false;
      for (int j = i + 2; j < i + 2 + suitesLen; j += 2) {
        ecdsaSuite |= isEcdsaSuite(hello.getUnsignedShort(j));
      }
      i += 2 + suitesLen;
      i += 1 + hello.getUnsignedByte(i); // legacy_compression_methods
      if (i + 2 > end) {
        return false; // no extensions: RSA
      }
      int extEnd = Math.min(end, i + 2 + hello.getUnsignedShort(i));
      i += 2;
      boolean ecdsaSignature = false;
      boolean tls13 = false;
      while (i + 4 <= extEnd) {
        int type = hello.getUnsignedShort(i);
        int len = hello.getUnsignedShort(i + 2);
        int body = i + 4;
        if (type == EXT_SIGNATURE_ALGORITHMS && len >= 2) {
          int listEnd = Math.min(body + 2 + hello.getUnsignedShort(body), body + len);
          for (int j = body + 2; j + 2 <= listEnd; j += 2) {
            int scheme = hello.getUnsignedShort(j);
            // ecdsa_secp256r1_sha256 (0x0403), …_sha384, …_sha512, ecdsa_sha1 (0x0203); TLS 1.2's (hash, ecdsa=3)
            ecdsaSignature |= (scheme & 0xff) == 3 && (scheme >> 8) >= 1 && (scheme >> 8) <= 6;
          }
        } else if (type == EXT_SUPPORTED_VERSIONS && len >= 1) {
          int listEnd = Math.min(body + 1 + hello.getUnsignedByte(body), body + len);
          for (int j = body + 1; j + 2 <= listEnd; j += 2) {
            tls13 |= hello.getUnsignedShort(j) == 0x0304;
          }
        }
        i = body + len;
      }
      return ecdsaSignature && (tls13 || ecdsaSuite);
    } catch (IndexOutOfBoundsException e) {
      return false;
    }
  }

  /** TLS_ECDHE_ECDSA_* suites in use (IANA registry): AES-GCM, AES-CBC, ChaCha20-Poly1305, AES-CCM. */
  private static boolean isEcdsaSuite(int suite) {
    return switch (suite) {
      case 0xC02B, 0xC02C, 0xCCA9, 0xC009, 0xC00A, 0xC023, 0xC024, 0xC0AC, 0xC0AD, 0xC0AE, 0xC0AF -> true;
      default -> false;
    };
  }
}
