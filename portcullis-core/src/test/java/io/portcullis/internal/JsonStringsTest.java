package io.portcullis.internal;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;

class JsonStringsTest {
  static String json(String s) {
    return JsonStrings.append(new StringBuilder(), s).toString();
  }

  static String htmlSafe(String s) {
    return JsonStrings.appendHtmlSafe(new StringBuilder(), s).toString();
  }

  @Test
  void escapesQuoteBackslashAndControlCharacters() {
    assertThat(JsonStrings.append(new StringBuilder("\"ua\":"), "curl/8.0")).hasToString("\"ua\":\"curl/8.0\"");
    assertThat(json("")).isEqualTo("\"\"");
    assertThat(json("a \"q\" \\ b")).isEqualTo("\"a \\\"q\\\" \\\\ b\"");
    assertThat(json("\b\f\n\r\t")).isEqualTo("\"\\b\\f\\n\\r\\t\"");
    assertThat(json("nul \0 bell \7 esc \33 us \37 end")).isEqualTo(
        "\"nul \\u0000 bell \\u0007 esc \\u001b us \\u001f end\"");
    // above U+001F nothing else: DEL, non-ASCII, HTML and the line separators are copied
    assertThat(json("del \177 é ✓ 😀 <a>&amp; \u2028 \u2029")).isEqualTo(
        "\"del \177 é ✓ 😀 <a>&amp; \u2028 \u2029\"");
  }

  @Test
  void htmlSafeAlsoEscapesWhatGoEscapes() {
    assertThat(htmlSafe("<a href='x'>&amp;</a>")).isEqualTo(
        "\"\\u003ca href='x'\\u003e\\u0026amp;\\u003c/a\\u003e\"");
    assertThat(htmlSafe("\u2028 \u2029 \"\\\n\0 é")).isEqualTo("\"\\u2028 \\u2029 \\\"\\\\\\n\\u0000 é\"");
  }

  @Test
  void everyCharacterReadsBackAsItself() throws Exception {
    StringBuilder all = new StringBuilder();
    for (char c = 0; c < 0x3000; c++) {
      if (!Character.isSurrogate(c)) {
        all.append(c);
      }
    }
    String s = all.append("😀").toString();
    ObjectMapper mapper = new ObjectMapper();
    assertThat(mapper.readValue(json(s), String.class)).isEqualTo(s);
    assertThat(mapper.readValue(htmlSafe(s), String.class)).isEqualTo(s);
  }
}
