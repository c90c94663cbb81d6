package io.portcullis.etcd;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatIllegalArgumentException;

import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.Test;

class EtcdConnectionTest {

  @ParameterizedTest
  @CsvSource(delimiter = ';', value = {
      "etcd://10.0.0.1:2379,10.0.0.2:2379; http://10.0.0.1:2379 http://10.0.0.2:2379",
      "etcd://etcd-a,etcd-b:12379/; http://etcd-a:2379 http://etcd-b:12379",
      "etcds://[::1]:2379,[fd00::2]; https://[::1]:2379 https://[fd00::2]:2379",
  })
  void endpoints(String storage, String expected) {
    assertThat(EtcdConnection.endpoints(storage))
        .isEqualTo(Arrays.stream(expected.split(" ")).map(URI::create).toList());
  }

  @ParameterizedTest
  @CsvSource(delimiter = ';', value = {
      "http://h:2379; --storage http://h:2379: (expected: etcd://host:port,host:port,... or etcds://",
      "etcd://h:0; --storage etcd://h:0: port \"0\" of h:0 (expected: 1..65535)",
      "etcd://h:x; port \"x\" of h:x (expected: 1..65535)",
      "etcd://a,,b; --storage etcd://a,,b: \"\" (expected: host or host:port, comma-separated)",
      "etcd://user@h; \"user@h\" (expected: host or host:port",
      "etcds://[::1; \"[::1\" (expected: an IPv6 literal closed by ']'",
  })
  void endpointErrorsNameTheFlagAndWhatWasExpected(String storage, String message) {
    assertThatIllegalArgumentException().isThrownBy(() -> EtcdConnection.endpoints(storage))
        .withMessageContaining(message);
  }

  @Test
  void tlsFilesNeedEtcds() {
    assertThatIllegalArgumentException()
        .isThrownBy(() -> EtcdConnection.connect(List.of(URI.create("http://127.0.0.1:1")),
            EtcdConnection.Options.defaults().withCaFile(Path.of("/ca.pem"))))
        .withMessageContaining("expected: etcds:// endpoints for TLS");
  }

  @Test
  void optionsCheckPairsAndRedactThePassword() {
    assertThatIllegalArgumentException().isThrownBy(() -> new EtcdConnection.Options(java.util.Optional.empty(),
            java.util.Optional.of(Path.of("c.pem")), java.util.Optional.empty(), java.util.Optional.empty(),
            java.util.Optional.empty(), Duration.ofSeconds(5)))
        .withMessage("etcd client certificate: certFile and keyFile (expected: both or neither)");
    assertThatIllegalArgumentException()
        .isThrownBy(() -> EtcdConnection.Options.defaults().withTimeout(Duration.ZERO))
        .withMessage("etcd timeout: PT0S (expected: > 0)");
    assertThat(EtcdConnection.Options.defaults().withUser("portcullis", "s3cret").toString())
        .contains("user=Optional[portcullis]", "(redacted)").doesNotContain("s3cret");
  }

  @Test
  void keysStayUnderTheirPrefix() {
    assertThat(EtcdKeys.secret("shop/www-tls")).isEqualTo("/portcullis/secrets/shop/www-tls");
    assertThat(EtcdKeys.lock("shop/www")).isEqualTo("/portcullis/locks/shop/www");
    assertThat(EtcdKeys.secretName("/portcullis/secrets/shop/www-tls")).contains("shop/www-tls");
    assertThat(EtcdKeys.secretName("/portcullis/secrets/shop/a/b")).isEmpty();
    assertThat(EtcdKeys.http01("../locks/x")).isEmpty();
    assertThatIllegalArgumentException().isThrownBy(() -> EtcdKeys.secret("shop/../locks"))
        .withMessageContaining("Secret name: \"../locks\" (expected: a DNS-1123 subdomain");
    assertThatIllegalArgumentException().isThrownBy(() -> EtcdKeys.lock("shop//x"))
        .withMessageContaining("lock name: \"shop//x\" (expected: namespace/name");
  }
}
