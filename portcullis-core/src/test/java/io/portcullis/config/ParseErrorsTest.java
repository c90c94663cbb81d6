package io.portcullis.config;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonMappingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class ParseErrorsTest {
  @ParameterizedTest
  @CsvSource(delimiter = '|', value = {
      // A run of 8 characters of the input goes, wherever it sits; shorter ones and the library's words stay.
      "Unrecognized token 'c2VjcmV0dmFsdWU': was|key: c2VjcmV0dmFsdWU|Unrecognized token '…': was",
      "expected hex, but found: c2VjcmV0|\"\\Uc2VjcmV0\"|expected hex, but found: …",
      "Illegal header: -----BEGIN c2VjcmV0dmFsdWU-----|-----BEGIN c2VjcmV0dmFsdWU-----|Illegal header: …",
      "found q(113) in c2VjcmV0|c2Vjcm|found q(113) in c2VjcmV0",
      "mapping values are not allowed here|a: b: c|mapping values are not allowed here",
  })
  void withoutInputRemovesEveryRunOfEightCharactersOfTheInput(String message, String input, String expected) {
    assertThat(ParseErrors.withoutInput(message, input)).isEqualTo(expected);
  }

  @Test
  void describesYamlByProblemContextAndMarksWithoutTheSnippet() {
    String yaml = "data:\n  key: \"c2VjcmV0dmFsdWU\\qc2VjcmV0dmFsdWU\"\n";
    Exception e = thrown(() -> new YAMLMapper().readTree(yaml));
    assertThat(e.getMessage()).as("Jackson's own message quotes the line").contains("c2VjcmV0dmFsdWU");
    assertThat(ParseErrors.describe(e, yaml)).hasValue("line 2, column 25: found unknown escape character q(113), "
        + "while scanning a double-quoted scalar that starts at line 2, column 8");
  }

  @Test
  void describesAYamlControlCharacterByItsCodePoint() {
    String yaml = "data:\n  key: c2VjcmV0dmFsdWU\u0007\n";
    Exception e = thrown(() -> new YAMLMapper().readTree(yaml));
    assertThat(ParseErrors.describe(e, yaml)).hasValue("line 2, column 23: character U+0007 is not allowed in YAML");
  }

  @Test
  void describesJsonByLocationAndPhrase() {
    String json = "{\"data\": {\"key\": c2VjcmV0dmFsdWU}}";
    Exception e = thrown(() -> new ObjectMapper().readTree(json));
    assertThat(e.getMessage()).as("Jackson's own message quotes the token").contains("c2VjcmV0dmFsdWU");
    assertThat(ParseErrors.describe(e, json)).hasValueSatisfying(d -> assertThat(d)
        .startsWith("line 1, column 33: Unrecognized token '…': was expecting").doesNotContain("c2VjcmV0"));
  }

  @Test
  void otherExceptionsAreNotDescribed() {
    assertThat(ParseErrors.describe(new IllegalStateException("c2VjcmV0dmFsdWU"), "")).isEmpty();
  }

  @ParameterizedTest
  @CsvSource(delimiter = '|', value = {
      "{\"data\": \"c2VjcmV0dmFsdWU\"}|a map of strings",
      "{\"immutable\": \"c2VjcmV0dmFsdWU\"}|true or false",
      "{\"data\": {\"key\": {\"c2VjcmV0dmFsdWU\": 1}}}|a string",
  })
  void namesTheExpectedTypeOfAMappingErrorWithoutTheValue(String json, String expected) {
    Exception e = thrown(() -> new ObjectMapper().readValue(json, SecretLike.class));
    assertThat(e).isInstanceOf(JsonMappingException.class);
    assertThat(e.getMessage()).as("databind's own message quotes the value").containsAnyOf("c2VjcmV0dmFsdWU",
        "START_OBJECT");
    assertThat(ParseErrors.expectedType((JsonMappingException) e)).isEqualTo(expected);
  }

  /** The shape of a Secret's fields that hold data. */
  record SecretLike(Boolean immutable, Map<String, String> data) {}

  private static Exception thrown(ThrowingRunnable r) {
    try {
      r.run();
    } catch (Exception e) {
      return e;
    }
    throw new AssertionError("nothing thrown");
  }

  private interface ThrowingRunnable {
    void run() throws Exception;
  }
}
