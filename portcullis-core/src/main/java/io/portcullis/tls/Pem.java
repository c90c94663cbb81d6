package io.portcullis.tls;

import io.portcullis.config.ParseErrors;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.StringReader;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.security.PrivateKey;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.List;
import org.bouncycastle.asn1.pkcs.PrivateKeyInfo;
import org.bouncycastle.openssl.PEMKeyPair;
import org.bouncycastle.openssl.PEMParser;
import org.bouncycastle.openssl.jcajce.JcaPEMKeyConverter;
import org.bouncycastle.openssl.jcajce.JcaPEMWriter;
import org.bouncycastle.openssl.jcajce.JcaPKCS8Generator;

/** Reads and writes PEM: certificates and unencrypted PKCS#8, PKCS#1 (RSA) and SEC1 (EC) private keys. */
public final class Pem {
  private Pem() {}

  /**
   * Parses every certificate in {@code pem}.
   *
   * @throws IllegalArgumentException when there is none, or one does not parse; the message never quotes the input
   */
  public static List<X509Certificate> certificates(byte[] pem) {
    try {
      CertificateFactory cf = CertificateFactory.getInstance("X.509");
      List<X509Certificate> out = new ArrayList<>();
      for (var c : cf.generateCertificates(new ByteArrayInputStream(pem))) {
        out.add((X509Certificate) c);
      }
      if (out.isEmpty()) {
        throw new IllegalArgumentException("no certificate found (expected: PEM \"BEGIN CERTIFICATE\" blocks)");
      }
      return out;
    } catch (CertificateException e) {
      // The JDK's message names what is wrong ("signed fields invalid"), and may quote a PEM header line.
      String why = ParseErrors.withoutInput(String.valueOf(e.getMessage()), new String(pem,
          StandardCharsets.ISO_8859_1));
      throw new IllegalArgumentException("not a valid certificate: " + why + " (expected: PEM \"BEGIN CERTIFICATE\" "
          + "blocks)");
    }
  }

  /**
   * Parses the first private key in {@code pem}.
   *
   * @throws IllegalArgumentException when there is none or it does not parse; the message never quotes the input
   */
  public static PrivateKey privateKey(byte[] pem) {
    try (PEMParser p = new PEMParser(new StringReader(new String(pem, StandardCharsets.US_ASCII)))) {
      JcaPEMKeyConverter conv = new JcaPEMKeyConverter();
      Object o;
      while ((o = p.readObject()) != null) {
        if (o instanceof PrivateKeyInfo info) {
          return conv.getPrivateKey(info);
        }
        if (o instanceof PEMKeyPair pair) {
          return conv.getKeyPair(pair).getPrivate();
        }
      }
    } catch (IOException | RuntimeException e) {
      throw new IllegalArgumentException("not a valid private key (" + e.getClass().getSimpleName()
          + ") (expected: an unencrypted PEM PKCS#8, PKCS#1 or EC private key)");
    }
    throw new IllegalArgumentException("no private key found (expected: an unencrypted PEM PKCS#8, PKCS#1 or EC "
        + "private key)");
  }

  /** Encodes certificates and keys (as unencrypted PKCS#8) as PEM text. */
  public static String encode(Object... objects) {
    StringWriter w = new StringWriter();
    try (JcaPEMWriter pw = new JcaPEMWriter(w)) {
      for (Object o : objects) {
        if (o instanceof PrivateKey pk) {
          pw.writeObject(new JcaPKCS8Generator(pk, null)); // PKCS#8 "PRIVATE KEY", readable by OpenSSL and the JDK
        } else {
          pw.writeObject(o);
        }
      }
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
    return w.toString();
  }
}
