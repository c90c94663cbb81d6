package io.portcullis.proxy.lb;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class XxHash64Test {
  @ParameterizedTest
  @CsvSource(delimiter = '|', value = {
      "''|ef46db3751d8e999",
      "a|d24ec4f1a98c6e5b",
      "abc|44bc2cf5ad770999",
      "Nobody inspects the spammish repetition|fbcea83c8a378bf1"})
  void matchesTheReferenceVectors(String input, String hex) {
    assertThat(Long.toHexString(XxHash64.hash(input))).isEqualTo(hex);
  }
}
