package io.portcullis.dns;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.InetAddress;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class RecordTextTest {
  @ParameterizedTest
  @CsvSource({
      "192.0.2.1, 192.0.2.1",
      "2001:db8:0:0:0:0:0:2, 2001:db8::2",
      "2001:0DB8:0:0:1:0:0:1, 2001:db8::1:0:0:1",
      "0:0:0:0:0:0:0:1, ::1",
      "0:0:0:0:0:0:0:0, ::",
      "2001:db8:0:1:1:1:1:1, 2001:db8:0:1:1:1:1:1",
      "fe80:0:0:0:1:0:0:0, fe80::1:0:0:0",
  })
  void addressesAreWrittenInCanonicalText(String in, String expected) throws Exception {
    assertThat(RecordText.address(InetAddress.getByName(in))).isEqualTo(expected);
  }
}
