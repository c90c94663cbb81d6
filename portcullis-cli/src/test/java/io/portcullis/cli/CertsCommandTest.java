package io.portcullis.cli;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class CertsCommandTest {
  @ParameterizedTest(name = "--admin {0}: http://{1}")
  @CsvSource({
      "127.0.0.1:15000,   127.0.0.1:15000",
      "localhost:15000,   localhost:15000",
      "10.0.0.5:15000,    10.0.0.5:15000",
      "0.0.0.0:15000,     127.0.0.1:15000", // a wildcard is reached, and named, as the loopback address
      ":15000,            127.0.0.1:15000",
      "'[::]:15000',      '[::1]:15000'",
      "'[0:0:0:0:0:0:0:0]:15000', '[::1]:15000'",
      "'[::1]:15000',     '[::1]:15000'",
      "'::1:15000',       '[::1]:15000'",
      "'[fd00::5]:15000', '[fd00::5]:15000'",
  })
  void theAdminIsReachedWithAHostItAccepts(String admin, String authority) {
    assertThat(CertsCommand.authority(admin)).isEqualTo(authority);
  }
}
