package io.portcullis.testing;

import java.nio.charset.StandardCharsets;
import java.security.PrivateKey;
import java.util.Base64;
import java.util.HexFormat;
import java.util.LinkedHashSet;
import java.util.Optional;
import java.util.Set;

/**
 * Finds a private key's bytes in text (log lines, admin output): any 8-byte window of its DER (PKCS#8) in hex (lower
 * and upper case) or base64 (at each of the three byte alignments, so also inside a longer base64 run, and so the
 * body of its PEM text), and any 8 bytes of its PEM text's body as a manifest's {@code data} holds them (base64 of the
 * PEM text). The PEM armour ({@code -----BEGIN PRIVATE KEY-----}) is not key material and is not looked for.
 */
public final class KeyLeaks {
  /** How many key bytes in a row count as a leak. */
  public static final int WINDOW = 8;
  /** Base64 characters made of {@link #WINDOW} bytes that start a 3-byte unit: 64 bits hold 10 whole characters. */
  private static final int BASE64_WINDOW = 10;

  private final Set<String> needles = new LinkedHashSet<>();

  /** Prepares the search for {@code key}, written as PEM text {@code pem}. */
  public KeyLeaks(PrivateKey key, String pem) {
    byte[] der = key.getEncoded();
    for (int i = 0; i + WINDOW <= der.length; i++) {
      String hex = HexFormat.of().formatHex(der, i, i + WINDOW);
      needles.add(hex);
      needles.add(hex.toUpperCase(java.util.Locale.ROOT));
    }
    for (int align = 0; align < 3; align++) {
      byte[] tail = java.util.Arrays.copyOfRange(der, align, der.length);
      addWindows(Base64.getEncoder().encodeToString(tail), 0, 4); // the last unit depends on what follows
    }
    String b64 = Base64.getEncoder().encodeToString(pem.getBytes(StandardCharsets.US_ASCII));
    int bodyStart = pem.indexOf('\n') + 1;
    int bodyEnd = pem.lastIndexOf("-----END");
    // Characters of the base64 whose 6-bit groups come from the PEM body only.
    addWindows(b64.substring(0, (bodyEnd * 4) / 3), (bodyStart * 4 + 2) / 3, 0);
  }

  private void addWindows(String s, int from, int dropTail) {
    for (int i = from; i + BASE64_WINDOW <= s.length() - dropTail; i++) {
      needles.add(s.substring(i, i + BASE64_WINDOW));
    }
  }

  /**
   * Returns the first window of the key found in {@code text}, searched as it is and with every whitespace character
   * and JSON {@code \n} escape removed (a snippet spanning PEM lines); empty when the text holds none.
   */
  public Optional<String> findIn(String text) {
    String joined = text.replace("\\n", "").replace("\\r", "").replaceAll("\\s+", "");
    for (String n : needles) {
      if (text.contains(n) || joined.contains(n)) {
        return Optional.of(n);
      }
    }
    return Optional.empty();
  }

  /** Returns how many windows are looked for (tests check that the search is not empty). */
  public int size() {
    return needles.size();
  }
}
