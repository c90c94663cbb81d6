package io.portcullis.testing;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Base64;

/** Writes the development credential for localhost as Secret {@code istio-system/localhost-credential}. */
public final class DevSecret {
  private DevSecret() {}

  /**
   * Makes (or reuses) the development CA and certificate in {@code devDir} and writes the Secret manifest to
   * {@code manifest}.
   *
   * @return the trust anchor to give clients
   */
  public static Path write(Path devDir, Path manifest) throws IOException {
    DevCertificates.DevCredential dev = DevCertificates.ensure(devDir);
    Files.writeString(manifest, """
        apiVersion: v1
        kind: Secret
        metadata: {name: localhost-credential, namespace: istio-system}
        data: {tls.crt: %s, tls.key: %s}
        """.formatted(Base64.getEncoder().encodeToString(Files.readAllBytes(dev.certificateChain())),
        Base64.getEncoder().encodeToString(Files.readAllBytes(dev.privateKey()))));
    return dev.caCertificate();
  }
}
