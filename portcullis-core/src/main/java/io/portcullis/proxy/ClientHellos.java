package io.portcullis.proxy;

import io.netty.buffer.ByteBuf;

/**
 * Reads from a TLS ClientHello (RFC 8446 §4.1.2, RFC 5246 §7.4.1.2) whether the client can verify an ECDSA server
 * certificate, so that a server with an RSA and an ECDSA credential (Istio {@code credentialNames}) serves the one the
 * client accepts, and whether it accepts any signature without SHA-1 or MD5 (RFC 9155), without which the handshake
 * is refused rather than signed with SHA-1.
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
    int seen = scan(hello);
    return seen != MALFORMED && (seen & ECDSA) != 0;
  }

  /**
   * Returns whether the client accepts a handshake signature made with SHA-256 or better: it offers TLS 1.3 (which
   * never signs with SHA-1), or its {@code signature_algorithms} list a scheme other than the MD5, SHA-1 and SHA-224
   * ones. A TLS 1.2 client without that extension is taken, by RFC 5246 §7.4.1.4.1, to want SHA-1: RFC 9155 §3 says
   * to refuse it, and BoringSSL would sign with SHA-1. A malformed hello answers {@code true} (the TLS stack then
   * refuses it itself).
   */
  static boolean acceptsSha2Signatures(ByteBuf hello) {
    int seen = scan(hello);
    return seen == MALFORMED || (seen & (TLS13 | STRONG_SIGNATURE)) != 0;
  }

  private static final int ECDSA = 1;
  private static final int TLS13 = 2;
  private static final int STRONG_SIGNATURE = 4;
  private static final int MALFORMED = -1;

  /** Returns what the hello offers, as bits: {@link #ECDSA}, {@link #TLS13}, {@link #STRONG_SIGNATURE}. */
  private static int scan(ByteBuf hello) {
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
        return 0; // no extensions: RSA, TLS 1.2, SHA-1 (RFC 5246 §7.4.1.4.1)
      }
      int extEnd = Math.min(end, i + 2 + hello.getUnsignedShort(i));
      i += 2;
      boolean ecdsaSignature = false;
      boolean tls13 = false;
      boolean strong = false;
      while (i + 4 <= extEnd) {
        int type = hello.getUnsignedShort(i);
        int len = hello.getUnsignedShort(i + 2);
        int body = i + 4;
        if (type == EXT_SIGNATURE_ALGORITHMS && len >= 2) {
          int listEnd = Math.min(body + 2 + hello.getUnsignedShort(body), body + len);
          for (int j = body + 2; j + 2 <= listEnd; j += 2) {
            int scheme = hello.getUnsignedShort(j);
            // ecdsa_secp256r1_sha256 (0x0403), …_sha384, …_sha512; TLS 1.2's (hash, ecdsa=3) with SHA-256 or better:
            // a client that can verify ECDSA only with SHA-1 gets the RSA credential when there is one.
            ecdsaSignature |= (scheme & 0xff) == 3 && (scheme >> 8) >= 4 && (scheme >> 8) <= 6;
            strong |= strong(scheme);
          }
        } else if (type == EXT_SUPPORTED_VERSIONS && len >= 1) {
          int listEnd = Math.min(body + 1 + hello.getUnsignedByte(body), body + len);
          for (int j = body + 1; j + 2 <= listEnd; j += 2) {
            tls13 |= hello.getUnsignedShort(j) == 0x0304;
          }
        }
        i = body + len;
      }
      return (ecdsaSignature && (tls13 || ecdsaSuite) ? ECDSA : 0) | (tls13 ? TLS13 : 0)
          | (strong ? STRONG_SIGNATURE : 0);
    } catch (IndexOutOfBoundsException e) {
      return MALFORMED;
    }
  }

  /**
   * Whether {@code scheme} is a signature scheme with SHA-256 or better that BoringSSL signs with: RSA PKCS#1 or
   * ECDSA with SHA-256/384/512 (0x0401..0x0603), RSA-PSS, Ed25519 and Ed448 (0x0804..0x080b). Anything else, MD5,
   * SHA-1, SHA-224, GREASE values (RFC 8701) and unknown code points, does not count.
   */
  private static boolean strong(int scheme) {
    int hash = scheme >> 8;
    int signature = scheme & 0xff;
    return (hash >= 4 && hash <= 6 && (signature == 1 || signature == 3)) || (scheme >= 0x0804 && scheme <= 0x080b);
  }

  /** TLS_ECDHE_ECDSA_* suites in use (IANA registry): AES-GCM, AES-CBC, ChaCha20-Poly1305, AES-CCM. */
  private static boolean isEcdsaSuite(int suite) {
    return switch (suite) {
      case 0xC02B, 0xC02C, 0xCCA9, 0xC009, 0xC00A, 0xC023, 0xC024, 0xC0AC, 0xC0AD, 0xC0AE, 0xC0AF -> true;
      default -> false;
    };
  }
}
