package io.portcullis.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import io.portcullis.routing.Endpoint;
import java.net.InetSocketAddress;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class AddressesTest {
  @ParameterizedTest
  @CsvSource({
      "10.0.0.1, true",
      "::1, true",
      "fe80::1, true",
      "999.1.1.1, false", // looks like an address, is not one: a name for the resolver, never a blocking lookup
      "1.2.3, false",
      "httpbin.default.svc.cluster.local, false",
  })
  void onlyIpLiteralsAreAddressesAndTheRestIsLeftToTheResolver(String host, boolean literal) {
    InetSocketAddress a = Addresses.upstream(new Endpoint(host, 8080));
    assertThat(a.isUnresolved()).isEqualTo(!literal);
    assertThat(a.getPort()).isEqualTo(8080);
    assertThat(a.getHostString()).isEqualTo(literal ? a.getAddress().getHostAddress() : host);
  }
}
