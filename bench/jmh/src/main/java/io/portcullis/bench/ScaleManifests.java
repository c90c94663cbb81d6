package io.portcullis.bench;

import java.io.BufferedWriter;
import java.io.IOException;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.SecureRandom;
import java.security.spec.ECGenParameterSpec;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.Date;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.openssl.jcajce.JcaPEMWriter;
import org.bouncycastle.openssl.jcajce.JcaPKCS8Generator;
import org.bouncycastle.operator.ContentSigner;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/**
 * Writes the manifests of bench/run.sh's scale step: N hosts {@code host-<i>.scale.test} on one HTTPS port, each
 * with its own ECDSA P-256 key and certificate in its own Secret, one Gateway server per host, and one
 * VirtualService per host routing to the backend, plus a {@code *} server (with host 0's certificate) for clients
 * that send no SNI. With {@code --routes-only} it writes {@code zz-routes.yaml}: VirtualService {@code vs-0} for
 * {@code host-0.scale.test} again, now with N prefix routes and a default route (the reload step; the later file
 * wins).
 *
 * <p>Usage: {@code java -cp benchmarks.jar io.portcullis.bench.ScaleManifests DIR N PORT BACKEND_PORT [--routes-only]}
 */
public final class ScaleManifests {
  private ScaleManifests() {}

  /** Writes the files; see the class comment. */
  public static void main(String[] args) throws Exception {
    Path dir = Path.of(args[0]);
    int n = Integer.parseInt(args[1]);
    int port = Integer.parseInt(args[2]);
    int backend = Integer.parseInt(args[3]);
    Files.createDirectories(dir);
    if (args.length > 4 && args[4].equals("--routes-only")) {
      routes(dir.resolve("zz-routes.yaml"), n);
      return;
    }
    long start = System.nanoTime();
    KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
    g.initialize(new ECGenParameterSpec("secp256r1"), new SecureRandom());
    try (BufferedWriter secrets = Files.newBufferedWriter(dir.resolve("secrets.yaml"), StandardCharsets.UTF_8);
        BufferedWriter gw = Files.newBufferedWriter(dir.resolve("gateway.yaml"), StandardCharsets.UTF_8);
        BufferedWriter vs = Files.newBufferedWriter(dir.resolve("virtualservices.yaml"), StandardCharsets.UTF_8)) {
      gw.write("apiVersion: networking.istio.io/v1\nkind: Gateway\nmetadata: {name: scale}\nspec:\n  servers:\n");
      for (int i = 0; i < n; i++) {
        String host = "host-" + i + ".scale.test";
        KeyPair kp = g.generateKeyPair();
        Instant now = Instant.now();
        var b = new JcaX509v3CertificateBuilder(new X500Name("CN=" + host), BigInteger.valueOf(i + 1L),
            Date.from(now.minus(Duration.ofHours(1))), Date.from(now.plus(Duration.ofDays(30))), new X500Name("CN=" + host),
            kp.getPublic());
        b.addExtension(Extension.subjectAlternativeName, false, new GeneralNames(new GeneralName(GeneralName.dNSName,
            host)));
        ContentSigner signer = new JcaContentSignerBuilder("SHA256withECDSA").build(kp.getPrivate());
        String cert = pem(new org.bouncycastle.cert.jcajce.JcaX509CertificateConverter().getCertificate(b.build(signer)));
        String key = pem(new JcaPKCS8Generator(kp.getPrivate(), null));
        secrets.write("---\napiVersion: v1\nkind: Secret\nmetadata: {name: cred-" + i + ", namespace: istio-system}\n"
            + "data:\n  tls.crt: " + b64(cert) + "\n  tls.key: " + b64(key) + "\n");
        gw.write("  - port: {number: " + port + ", name: https-" + i + ", protocol: HTTPS}\n"
            + "    tls: {mode: SIMPLE, credentialName: cred-" + i + "}\n    hosts: [\"" + host + "\"]\n");
        vs.write("---\napiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: vs-" + i + "}\n"
            + "spec:\n  hosts: [\"" + host + "\"]\n  gateways: [scale]\n  http:\n  - route:\n"
            + "    - destination: {host: backend.default.svc.cluster.local, port: {number: 80}}\n");
      }
      // A catch-all server, so that load tools that send no SNI (wrk to an IP) reach host-0 by its Host header.
      gw.write("  - port: {number: " + port + ", name: https-any, protocol: HTTPS}\n"
          + "    tls: {mode: SIMPLE, credentialName: cred-0}\n    hosts: [\"*\"]\n");
      vs.write("---\napiVersion: networking.istio.io/v1\nkind: ServiceEntry\nmetadata: {name: backend}\nspec:\n"
          + "  hosts: [backend.default.svc.cluster.local]\n  ports: [{number: 80, name: http, protocol: HTTP, "
          + "targetPort: " + backend + "}]\n  resolution: STATIC\n  endpoints: [{address: 127.0.0.1}]\n");
    }
    System.err.printf("ScaleManifests: %d hosts and certificates in %d ms%n", n,
        (System.nanoTime() - start) / 1_000_000);
  }

  private static void routes(Path file, int n) throws IOException {
    StringBuilder b = new StringBuilder("apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: "
        + "{name: vs-0}\nspec:\n  hosts: [\"host-0.scale.test\"]\n  gateways: [scale]\n  http:\n");
    for (int i = 0; i < n; i++) {
      b.append("  - match: [{uri: {prefix: /service-").append(i).append("/}}]\n    route:\n")
          .append("    - destination: {host: backend.default.svc.cluster.local, port: {number: 80}}\n");
    }
    b.append("  - route:\n    - destination: {host: backend.default.svc.cluster.local, port: {number: 80}}\n");
    Path tmp = file.resolveSibling("." + file.getFileName() + ".tmp");
    Files.writeString(tmp, b.toString());
    Files.move(tmp, file, java.nio.file.StandardCopyOption.ATOMIC_MOVE, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
  }

  private static String pem(Object o) throws IOException {
    java.io.StringWriter w = new java.io.StringWriter();
    try (JcaPEMWriter pw = new JcaPEMWriter(w)) {
      pw.writeObject(o);
    }
    return w.toString();
  }

  private static String b64(String s) {
    return Base64.getEncoder().encodeToString(s.getBytes(StandardCharsets.US_ASCII));
  }
}
