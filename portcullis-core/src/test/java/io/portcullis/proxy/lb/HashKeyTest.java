package io.portcullis.proxy.lb;

import static org.assertj.core.api.Assertions.assertThat;

import io.portcullis.routing.RouteMatch;
import io.portcullis.routing.TrafficPolicy.LoadBalancer.ConsistentHash;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class HashKeyTest {
  @ParameterizedTest
  @CsvSource(delimiter = '|', nullValues = "NULL", value = {
      "sticky=abc|sticky|abc",
      "a=1; sticky=\"0123\"; b=2|sticky|0123",
      "a=1;sticky=x|sticky|x",
      "stickyx=1; a=2|sticky|NULL",
      "a=1|sticky|NULL",
      "sticky=|sticky|''"})
  void readsTheCookie(String header, String name, String expected) {
    assertThat(HashKey.cookie(header, name)).isEqualTo(expected);
  }

  @ParameterizedTest
  @CsvSource(delimiter = '|', nullValues = "NULL", value = {
      "user=7&x=1|user|7",
      "x=1&user=7&user=8|user|7",
      "username=7|user|NULL",
      "user|user|''",
      "''|user|NULL"})
  void readsTheQueryParameter(String query, String name, String expected) {
    assertThat(HashKey.queryValue(query, name)).isEqualTo(expected);
  }

  @Test
  void aMissingCookieIsGeneratedAndTheRequestIsPlacedAsItsReturnWillBe() {
    ConsistentHash ch = new ConsistentHash(ConsistentHash.Key.COOKIE, "sticky", "/app", Duration.ofSeconds(60),
        ConsistentHash.Algorithm.RING_HASH, 1024);
    HashKey.Result first = HashKey.of(ch, request(Map.of()), "10.0.0.1", "10.0.0.1:5000127.0.0.1:80", null);
    assertThat(first.setCookie()).matches("sticky=\"[0-9a-f]{16}\"; Max-Age=60; Path=/app; HttpOnly");
    String value = first.setCookie().substring("sticky=\"".length(), "sticky=\"".length() + 16);
    HashKey.Result back = HashKey.of(ch, request(Map.of()), "10.0.0.9", "x", "a=1; sticky=\"" + value + "\"");
    assertThat(back.setCookie()).isNull();
    assertThat(back.hash()).isEqualTo(first.hash());
  }

  @Test
  void aZeroTtlMakesASessionCookie() {
    ConsistentHash ch = new ConsistentHash(ConsistentHash.Key.COOKIE, "s", "", Duration.ZERO,
        ConsistentHash.Algorithm.MAGLEV, 65537);
    assertThat(HashKey.of(ch, request(Map.of()), "10.0.0.1", "c", null).setCookie())
        .matches("s=\"[0-9a-f]{16}\"; HttpOnly");
  }

  @ParameterizedTest
  @CsvSource({"HEADER,x-user", "QUERY_PARAMETER,user"})
  void aRequestWithoutTheKeyHasNoHash(ConsistentHash.Key key, String name) {
    ConsistentHash ch = new ConsistentHash(key, name, "", Duration.ZERO, ConsistentHash.Algorithm.RING_HASH, 1024);
    assertThat(HashKey.of(ch, request(Map.of()), "10.0.0.1", "c", null)).isNull();
  }

  @Test
  void theSameKeyHashesTheSameAndTheSourceIpIsAKey() {
    ConsistentHash header = new ConsistentHash(ConsistentHash.Key.HEADER, "x-user", "", Duration.ZERO,
        ConsistentHash.Algorithm.RING_HASH, 1024);
    ConsistentHash ip = new ConsistentHash(ConsistentHash.Key.SOURCE_IP, "", "", Duration.ZERO,
        ConsistentHash.Algorithm.RING_HASH, 1024);
    assertThat(HashKey.of(header, request(Map.of("x-user", "alice")), "1.1.1.1", "c", null).hash())
        .isEqualTo(HashKey.of(header, request(Map.of("x-user", "alice")), "2.2.2.2", "d", null).hash())
        .isNotEqualTo(HashKey.of(header, request(Map.of("x-user", "bob")), "1.1.1.1", "c", null).hash());
    assertThat(HashKey.of(ip, request(Map.of()), "1.1.1.1", "c", null).hash())
        .isEqualTo(HashKey.of(ip, request(Map.of("x-user", "x")), "1.1.1.1", "d", null).hash())
        .isNotEqualTo(HashKey.of(ip, request(Map.of()), "1.1.1.2", "c", null).hash());
  }

  private static RouteMatch.RequestView request(Map<String, String> headers) {
    return new RouteMatch.RequestView() {
      @Override
      public String path() {
        return "/";
      }

      @Override
      public String query() {
        return "";
      }

      @Override
      public String authority() {
        return "example.com";
      }

      @Override
      public String method() {
        return "GET";
      }

      @Override
      public String header(String lowerCaseName) {
        return headers.get(lowerCaseName);
      }

      @Override
      public int port() {
        return 80;
      }
    };
  }
}
