package io.portcullis.dns;

import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.portcullis.testing.KeyLeaks;
import io.portcullis.testing.TestPki;
import java.util.Optional;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class CloudDnsProviderTest {
  static TestPki.Leaf leaf;

  @BeforeAll
  static void key() throws Exception {
    leaf = TestPki.ca("Cloud DNS test").server("dns.example", "RSA");
  }

  /** A service account key that cannot be read is reported without any of the private key it holds. */
  @ParameterizedTest(name = "{0}")
  @CsvSource({"json-unclosed", "json-unquoted", "key-not-pkcs8", "key-truncated", "key-bad-base64"})
  void aBadServiceAccountKeyIsReportedWithoutTheKey(String name) throws Exception {
    String pem = leaf.keyPem();
    String escaped = pem.replace("\n", "\\n");
    String head = "{\"type\": \"service_account\", \"project_id\": \"p\", \"private_key_id\": \"k1\", "
        + "\"client_email\": \"dns01@p.iam.gserviceaccount.com\", \"client_id\": \"1\", \"private_key\": ";
    String json = switch (name) {
      case "json-unclosed" -> head + "\"" + escaped;
      case "json-unquoted" -> head + escaped.replace("-----BEGIN PRIVATE KEY-----\\n", "") + "}";
      case "key-not-pkcs8" -> head + "\"" + escaped.replace("PRIVATE KEY", "EC PRIVATE KEY") + "\"}";
      case "key-truncated" -> head + "\"" + escaped.substring(0, escaped.length() / 2) + "\"}";
      case "key-bad-base64" -> head + "\"" + escaped.replace("-----\\n", "-----\\n*") + "\"}";
      default -> throw new IllegalArgumentException(name);
    };
    KeyLeaks leaks = new KeyLeaks(leaf.keys().getPrivate(), pem);
    assertThatThrownBy(() -> new CloudDnsProvider("p", "zone", Optional.of(json), Optional.of("http://127.0.0.1:9/")))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageStartingWith("cannot read the service account key: ")
        .satisfies(e -> org.assertj.core.api.Assertions.assertThat(leaks.findIn(e.getMessage())).isEmpty())
        .satisfies(e -> org.assertj.core.api.Assertions.assertThat(e.getMessage()).doesNotContain("BEGIN PRIVATE"));
  }
}
