package io.portcullis.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import io.portcullis.proxy.PathNormalization.EscapedSlashesAction;
import io.portcullis.proxy.PathNormalization.Type;
import io.portcullis.proxy.RequestTarget.Accepted;
import io.portcullis.proxy.RequestTarget.Form;
import io.portcullis.proxy.RequestTarget.Redirect;
import io.portcullis.proxy.RequestTarget.Rejected;
import io.portcullis.proxy.RequestTarget.Result;
import java.util.Optional;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

class RequestTargetTest {

  private static PathNormalization normalization(Type type, EscapedSlashesAction action) {
    return action == null ? PathNormalization.of(type) : new PathNormalization(type, action);
  }

  @ParameterizedTest(name = "{0} {1}: {2} -> {3} {4}")
  @CsvSource(delimiter = '|', nullValues = "-", textBlock = """
      # type                 | escaped slashes      | target                    | path              | query      | changed
      BASE                     | -                    | /status/418               | /status/418       | ''         | false
      BASE                     | -                    | /status/418?x=1&y         | /status/418       | ?x=1&y     | false
      BASE                     | -                    | /                         | /                 | ''         | false
      BASE                     | -                    | /a?                       | /a                | ?          | false
      BASE                     | -                    | /status/%34%31%38         | /status/418       | ''         | true
      BASE                     | -                    | /a/./b/../c               | /a/c              | ''         | true
      BASE                     | -                    | /../..                    | /                 | ''         | true
      BASE                     | -                    | /..                       | /                 | ''         | true
      BASE                     | -                    | /.                        | /                 | ''         | true
      BASE                     | -                    | /a/b/..                   | /a/               | ''         | true
      BASE                     | -                    | /a/b/.                    | /a/b/             | ''         | true
      BASE                     | -                    | /a/b/../../../../c        | /c                | ''         | true
      BASE                     | -                    | /../a/b                   | /a/b              | ''         | true
      BASE                     | -                    | /./a/b?x=/../y            | /a/b              | ?x=/../y   | true
      BASE                     | -                    | /a/b/%2E%2E/c             | /a/c              | ''         | true
      BASE                     | -                    | /a/b/%2e%2e/c             | /a/c              | ''         | true
      BASE                     | -                    | /a/b/%2E./c               | /a/c              | ''         | true
      BASE                     | -                    | /a/b/.%2e                 | /a/               | ''         | true
      BASE                     | -                    | /a/b/%2E/c                | /a/b/c            | ''         | true
      BASE                     | -                    | /a%2e%2e/b                | /a../b            | ''         | true
      BASE                     | -                    | /a%2eb                    | /a.b              | ''         | true
      BASE                     | -                    | /.well-known/acme/x       | /.well-known/acme/x | ''       | false
      BASE                     | -                    | /a/.../b/..c/d..          | /a/.../b/..c/d..  | ''         | false
      BASE                     | -                    | //status/418              | //status/418      | ''         | false
      BASE                     | -                    | /a//b/../c                | /a//c             | ''         | true
      BASE                     | -                    | /%7e                      | /~                | ''         | true
      BASE                     | -                    | /%7E%2d%5f%2D             | /~-_-             | ''         | true
      BASE                     | -                    | /%41%5a%61%7A%30%39       | /AZaz09           | ''         | true
      BASE                     | -                    | /%3f                      | /%3f              | ''         | false
      BASE                     | -                    | /%3F%23%25%20%0a          | /%3F%23%25%20%0a  | ''         | false
      BASE                     | -                    | /%c0%af%e2%98%83          | /%c0%af%e2%98%83  | ''         | false
      BASE                     | -                    | /%3f%41                   | /%3fA             | ''         | true
      BASE                     | -                    | /a\\b                     | /a/b              | ''         | true
      BASE                     | -                    | /a/..\\c                  | /c                | ''         | true
      BASE                     | -                    | /a"b<c>d^e`f{g}           | /a%22b%3Cc%3Ed%5Ee%60f%7Bg%7D | '' | true
      BASE                     | -                    | '/a|b'                    | /a%7Cb            | ''         | true
      BASE                     | -                    | /caf\u00e9                | /caf%E9           | ''         | true
      BASE                     | -                    | /a:b@c!$&()*+,;=[]        | /a:b@c!$&()*+,;=[] | ''        | false
      BASE                     | -                    | /a?x=%2F                  | /a                | ?x=%2F     | false
      BASE                     | -                    | /a?x=%zz&y=%00/../\u00e9  | /a                | ?x=%zz&y=%00/../\u00e9 | false
      BASE                     | KEEP_UNCHANGED       | /status%2F418             | /status%2F418     | ''         | false
      BASE                     | KEEP_UNCHANGED       | /a/%2F%2f/c               | /a/%2F%2f/c       | ''         | false
      BASE                     | KEEP_UNCHANGED       | /%5c%25                   | /%5c%25           | ''         | false
      BASE                     | KEEP_UNCHANGED       | /a%2F..%2Fb               | /a%2F..%2Fb       | ''         | false
      BASE                     | UNESCAPE_AND_FORWARD | /status%2F418             | /status/418       | ''         | true
      BASE                     | UNESCAPE_AND_FORWARD | /a%2F%2Fb                 | /a//b             | ''         | true
      MERGE_SLASHES            | -                    | //status/418              | /status/418       | ''         | true
      MERGE_SLASHES            | -                    | /a///b//                  | /a/b/             | ''         | true
      MERGE_SLASHES            | -                    | ///                       | /                 | ''         | true
      MERGE_SLASHES            | -                    | /a//../b                  | /a/b              | ''         | true
      MERGE_SLASHES            | -                    | /a//b?x=//y               | /a/b              | ?x=//y     | true
      MERGE_SLASHES            | -                    | /a/b                      | /a/b              | ''         | false
      MERGE_SLASHES            | KEEP_UNCHANGED       | /a/%2F%2f/c               | /a/%2F%2f/c       | ''         | false
      DECODE_AND_MERGE_SLASHES | -                    | /status%2F418             | /status/418       | ''         | true
      DECODE_AND_MERGE_SLASHES | -                    | /status%2f418             | /status/418       | ''         | true
      DECODE_AND_MERGE_SLASHES | -                    | /a%5Cb%5cc                | /a/b/c            | ''         | true
      DECODE_AND_MERGE_SLASHES | -                    | /a%2F%2f%2Fb              | /a/b              | ''         | true
      DECODE_AND_MERGE_SLASHES | -                    | /a%2F..%2Fb               | /b                | ''         | true
      DECODE_AND_MERGE_SLASHES | -                    | /a/%2E%2E%2Fb             | /b                | ''         | true
      DECODE_AND_MERGE_SLASHES | -                    | /%2F%2F                   | /                 | ''         | true
      DECODE_AND_MERGE_SLASHES | -                    | /a?x=%2F                  | /a                | ?x=%2F     | false
      DECODE_AND_MERGE_SLASHES | KEEP_UNCHANGED       | /status%2F418             | /status%2F418     | ''         | false
      NONE                     | -                    | /a/./b/../c               | /a/./b/../c       | ''         | false
      NONE                     | -                    | //x//y                    | //x//y            | ''         | false
      NONE                     | -                    | /%41%2e%2e                | /%41%2e%2e        | ''         | false
      NONE                     | -                    | /a\\b                     | /a\\b             | ''         | false
      NONE                     | -                    | /caf\u00e9{}              | /caf\u00e9{}      | ''         | false
      NONE                     | -                    | /status%2F418             | /status%2F418     | ''         | false
      NONE                     | UNESCAPE_AND_FORWARD | /a%2Fb%5c                 | /a/b\\            | ''         | true
      NONE                     | UNESCAPE_AND_FORWARD | /a%2F../b%41              | /a/../b%41        | ''         | true
      """)
  void normalisesOriginFormAsEnvoyWith(Type type, EscapedSlashesAction action, String target, String path,
      String query, boolean changed) {
    PathNormalization n = normalization(type, action);
    Result r = RequestTarget.http1("GET", target, n);
    assertThat(r).isInstanceOf(Accepted.class);
    Accepted a = (Accepted) r;
    assertThat(a.form()).isEqualTo(Form.ORIGIN);
    assertThat(a.path()).isEqualTo(path);
    assertThat(a.query()).isEqualTo(query);
    assertThat(a.authority()).isEmpty();
    assertThat(a.changed()).isEqualTo(changed);
    assertThat(a.originForm()).isEqualTo(path + query);
    assertThat(RequestTarget.http2("GET", target, n)).as("HTTP/2 :path reads the same").isEqualTo(a);
    Result again = RequestTarget.http1("GET", a.originForm(), n);
    assertThat(again).as("normalising twice changes nothing more").isInstanceOf(Accepted.class);
    assertThat(((Accepted) again).path()).isEqualTo(path);
    assertThat(((Accepted) again).changed()).isFalse();
  }

  @ParameterizedTest(name = "{0} {1}: {2} -> 400 {3}")
  @CsvSource(delimiter = '|', nullValues = "-", textBlock = """
      # type                 | escaped slashes      | target          | the reason says
      BASE                     | -                    | status/418      | neither origin-form nor absolute-form
      BASE                     | -                    | ''              | empty (expected:
      BASE                     | -                    | ./a             | neither origin-form nor absolute-form
      BASE                     | -                    | *x              | neither origin-form nor absolute-form
      BASE                     | -                    | ftp://x/a       | neither origin-form nor absolute-form
      BASE                     | -                    | /status%2F418   | escaped slash (%2F or %5C) in the path
      BASE                     | -                    | /status%2f418   | escaped slash
      BASE                     | -                    | /a%5Cb          | escaped slash
      BASE                     | -                    | /a%5cb          | escaped slash
      MERGE_SLASHES            | -                    | /status%2F418   | pathNormalization MERGE_SLASHES and escaped slashes REJECT_REQUEST
      DECODE_AND_MERGE_SLASHES | REJECT_REQUEST       | /status%2F418   | escaped slash
      NONE                     | REJECT_REQUEST       | /status%2F418   | escaped slash
      BASE                     | -                    | /%zz            | malformed percent-encoding at index 1
      BASE                     | -                    | /a%4            | malformed percent-encoding at index 2
      BASE                     | -                    | /a%4?x=1        | malformed percent-encoding at index 2
      BASE                     | -                    | /a%             | malformed percent-encoding
      BASE                     | -                    | /a%g1           | malformed percent-encoding
      NONE                     | -                    | /%zz            | malformed percent-encoding
      BASE                     | -                    | /a%00b          | %00 at index 2
      NONE                     | -                    | /a%00b          | %00 at index 2
      BASE                     | -                    | /a#b            | fragment # at index 2
      BASE                     | -                    | /a?b#c          | fragment # at index 4
      NONE                     | -                    | /a#             | fragment
      BASE                     | -                    | /a b            | space at index 2
      BASE                     | -                    | /a?b c          | space at index 4
      """)
  void rejects(Type type, EscapedSlashesAction action, String target, String reason) {
    Result r = RequestTarget.http1("GET", target, normalization(type, action));
    assertThat(r).isInstanceOf(Rejected.class);
    assertThat(((Rejected) r).status()).isEqualTo(400);
    assertThat(((Rejected) r).reason()).startsWith("request target " + RequestTarget.echo(target) + ": ")
        .contains(reason).contains("(expected: ");
  }

  @ParameterizedTest
  @ValueSource(strings = {"/a\nb", "/a\rb", "/a\tb", "/a\0b", "/a\u007fb", "/a?x\ny", "/a?x\u007f", "/\u263a",
      "/a?\u263a", "/a\r\nHost: evil"})
  void rejectsControlCharactersAndNonBytesInEveryTypeWithoutEchoingThem(String target) {
    for (Type type : Type.values()) {
      Result r = RequestTarget.http2("GET", target, PathNormalization.of(type));
      assertThat(r).as(type.name()).isInstanceOf(Rejected.class);
      String reason = ((Rejected) r).reason();
      assertThat(reason).startsWith(":path \"").containsPattern("(control character 0x|character U\\+)")
          .doesNotContain("\n", "\r", "\t", "\0", "\u007f", "\u263a");
    }
  }

  @ParameterizedTest(name = "{0} {1} -> {2} {3} {4} authority {5}")
  @CsvSource(delimiter = '|', textBlock = """
      # method | target                        | form     | path         | query     | authority
      GET      | http://x/status/418           | ABSOLUTE | /status/418  | ''        | x
      GET      | https://x:443/a?b             | ABSOLUTE | /a           | ?b        | x:443
      GET      | http://x                      | ABSOLUTE | /            | ''        | x
      GET      | http://x?a=1                  | ABSOLUTE | /            | ?a=1      | x
      GET      | HTTP://Example.COM/a/../b     | ABSOLUTE | /b           | ''        | Example.COM
      GET      | hTtPs://x/%41                 | ABSOLUTE | /A           | ''        | x
      GET      | http://[::1]:8080/            | ABSOLUTE | /            | ''        | [::1]:8080
      GET      | http://127.0.0.1:/a           | ABSOLUTE | /a           | ''        | 127.0.0.1:
      GET      | http://xn--caf-dma.example/   | ABSOLUTE | /            | ''        | xn--caf-dma.example
      OPTIONS  | http://x                      | ASTERISK | *            | ''        | x
      OPTIONS  | http://x/                     | ABSOLUTE | /            | ''        | x
      OPTIONS  | http://x?a                    | ABSOLUTE | /            | ?a        | x
      CONNECT  | example.com:443               | AUTHORITY | ''          | ''        | example.com:443
      CONNECT  | [2001:db8::1]:8443            | AUTHORITY | ''          | ''        | [2001:db8::1]:8443
      """)
  void reducesAbsoluteFormAndReturnsTheAuthority(String method, String target, Form form, String path, String query,
      String authority) {
    Result r = RequestTarget.http1(method, target, PathNormalization.DEFAULT);
    assertThat(r).isEqualTo(new Accepted(form, path, query, Optional.of(authority), form != Form.AUTHORITY));
  }

  @ParameterizedTest(name = "{0} {1} -> 400 {2}")
  @CsvSource(delimiter = '|', textBlock = """
      # method | target                 | the reason says
      GET      | http://user@x/a        | userinfo in the authority (RFC 9110 §4.2.4)
      GET      | http://user:pw@x/a     | userinfo
      GET      | http:///a              | empty authority
      GET      | http://:80/a           | empty host
      GET      | http://x:99999/        | port out of range
      GET      | http://x:123456/       | port out of range
      GET      | http://x:ab/           | port is not a number
      GET      | http://x:1:2/          | port is not a number
      GET      | http://[::1/           | IP literal without a closing ]
      GET      | http://[]/             | IP literal without a closing ]
      GET      | http://[::1]x/         | character 'x' after the IP literal
      GET      | http://x y/            | character 0x20 in the host
      GET      | http://x%zz/           | malformed percent-encoding in the host
      GET      | http://x/a#b           | fragment
      GET      | http://x#b             | fragment
      GET      | http://x/a%2Fb         | escaped slash
      CONNECT  | example.com            | no port
      CONNECT  | example.com:           | empty port
      CONNECT  | ''                     | empty authority
      CONNECT  | /a                     | character '/' in the host
      CONNECT  | http://x:443           | port is not a number
      """)
  void rejectsBadAuthorities(String method, String target, String reason) {
    Result r = RequestTarget.http1(method, target, PathNormalization.DEFAULT);
    assertThat(r).isInstanceOf(Rejected.class);
    assertThat(((Rejected) r).reason()).contains(reason);
  }

  @ParameterizedTest(name = "HTTP/{0} {1} {2} -> {3}")
  @CsvSource(delimiter = '|', textBlock = """
      # protocol | method  | target        | accepted as (or the reason)
      1          | OPTIONS | *             | ASTERISK
      1          | GET     | *             | asterisk-form with method "GET" (expected: * only with OPTIONS
      1          | options | *             | asterisk-form with method "options"
      2          | OPTIONS | *             | ASTERISK
      2          | POST    | *             | asterisk-form with method "POST"
      2          | GET     | http://x/a    | :path "http://x/a": does not start with /
      2          | GET     | a/b           | does not start with /
      2          | GET     | ''            | :path "": empty (expected: /path[?query] or * for OPTIONS, RFC 9113
      2          | CONNECT | example.com:443 | AUTHORITY
      2          | CONNECT | example.com   | :authority "example.com": no port
      """)
  void acceptsAsteriskAndAuthorityFormsOnlyForTheirMethods(int protocol, String method, String target,
      String expected) {
    Result r = protocol == 1 ? RequestTarget.http1(method, target, PathNormalization.DEFAULT)
        : RequestTarget.http2(method, target, PathNormalization.DEFAULT);
    if (r instanceof Accepted a) {
      assertThat(a.form()).hasToString(expected);
      assertThat(a.path()).isEqualTo(a.form() == Form.ASTERISK ? "*" : "");
      assertThat(a.query()).isEmpty();
      assertThat(a.changed()).isFalse();
    } else {
      assertThat(r).isInstanceOf(Rejected.class);
      assertThat(((Rejected) r).reason()).contains(expected);
    }
  }

  @ParameterizedTest(name = "{0} -> 307 {1}")
  @CsvSource(delimiter = '|', textBlock = """
      # target               | location
      /status%2F418          | /status/418
      /a%2F..%2Fb?x=%2F      | /b?x=%2F
      /a%5Cb                 | /a/b
      http://x/a%2fb         | /a/b
      """)
  void redirectsToTheDecodedPathWhenAskedTo(String target, String location) {
    PathNormalization n = new PathNormalization(Type.MERGE_SLASHES, EscapedSlashesAction.UNESCAPE_AND_REDIRECT);
    Result r = RequestTarget.http1("GET", target, n);
    assertThat(r).isInstanceOf(Redirect.class);
    Redirect rd = (Redirect) r;
    assertThat(rd.status()).isEqualTo(307);
    assertThat(rd.location()).isEqualTo(location);
    assertThat(rd.target().changed()).isTrue();
    assertThat(RequestTarget.http1("GET", location, n)).as("the location itself is forwarded")
        .isInstanceOf(Accepted.class);
  }

  @ParameterizedTest(name = "{0} -> {1} {2}")
  @CsvSource(delimiter = '|', nullValues = "-", textBlock = """
      # type                 | explicit action      | action in force
      NONE                     | -                    | KEEP_UNCHANGED
      BASE                     | -                    | REJECT_REQUEST
      MERGE_SLASHES            | -                    | REJECT_REQUEST
      DECODE_AND_MERGE_SLASHES | -                    | UNESCAPE_AND_FORWARD
      NONE                     | UNESCAPE_AND_REDIRECT | UNESCAPE_AND_REDIRECT
      BASE                     | KEEP_UNCHANGED       | KEEP_UNCHANGED
      DECODE_AND_MERGE_SLASHES | REJECT_REQUEST       | REJECT_REQUEST
      """)
  void escapedSlashActionDefaultsByTypeAndAnExplicitOneWins(Type type, EscapedSlashesAction explicit,
      EscapedSlashesAction inForce) {
    assertThat(normalization(type, explicit)).isEqualTo(new PathNormalization(type, inForce));
    assertThat(PathNormalization.DEFAULT).isEqualTo(new PathNormalization(Type.BASE,
        EscapedSlashesAction.REJECT_REQUEST));
  }

  @ParameterizedTest(name = "{0} {1}")
  @CsvSource(delimiter = '|', textBlock = """
      BASE                     | KEEP_UNCHANGED
      BASE                     | UNESCAPE_AND_FORWARD
      MERGE_SLASHES            | KEEP_UNCHANGED
      DECODE_AND_MERGE_SLASHES | UNESCAPE_AND_FORWARD
      """)
  void agreesWithRfc3986RemoveDotSegmentsOnRandomPaths(Type type, EscapedSlashesAction action) {
    PathNormalization n = new PathNormalization(type, action);
    String[] pieces = {"a", "b", "/", "/", ".", "..", "%2e", "%2E", "%2F", "%5c", "\\", "%41", "%3f", "//", "?"};
    Random random = new Random(12);
    for (int run = 0; run < 20_000; run++) {
      StringBuilder b = new StringBuilder("/");
      for (int k = random.nextInt(12); k > 0; k--) {
        b.append(pieces[random.nextInt(pieces.length)]);
      }
      String target = b.toString();
      int q = target.indexOf('?');
      String expected = reference(q < 0 ? target : target.substring(0, q),
          action == EscapedSlashesAction.UNESCAPE_AND_FORWARD, type.mergesSlashes());
      Accepted a = (Accepted) RequestTarget.http1("GET", target, n);
      assertThat(a.path()).as(target).isEqualTo(expected);
      assertThat(a.query()).as(target).isEqualTo(q < 0 ? "" : target.substring(q));
      assertThat(a.changed()).as(target).isEqualTo(!a.originForm().equals(target));
      Accepted again = (Accepted) RequestTarget.http1("GET", a.originForm(), n);
      assertThat(again.changed()).as("normalising " + target + " twice").isFalse();
    }
  }

  /** Decodes as Envoy does, then RFC 3986 §5.2.4 remove_dot_segments written out as the RFC states it. */
  private static String reference(String path, boolean unescapeSlashes, boolean merge) {
    StringBuilder decoded = new StringBuilder();
    for (int i = 0; i < path.length(); i++) {
      char c = path.charAt(i);
      if (c == '%') {
        String escape = path.substring(i, i + 3);
        int v = Integer.parseInt(escape.substring(1), 16);
        if (v == '/' || v == '\\') {
          decoded.append(unescapeSlashes ? "/" : escape);
        } else if (Character.isLetterOrDigit(v) || "-._~".indexOf(v) >= 0) {
          decoded.append((char) v);
        } else {
          decoded.append(escape);
        }
        i += 2;
      } else {
        decoded.append(c == '\\' ? '/' : c);
      }
    }
    String input = decoded.toString();
    StringBuilder out = new StringBuilder();
    while (!input.isEmpty()) {
      if (input.startsWith("/./")) {
        input = input.substring(2);
      } else if (input.equals("/.")) {
        input = "/";
      } else if (input.startsWith("/../") || input.equals("/..")) {
        input = "/" + input.substring(input.length() == 3 ? 3 : 4);
        out.setLength(Math.max(out.lastIndexOf("/"), 0));
      } else {
        int next = input.indexOf('/', 1);
        next = next < 0 ? input.length() : next;
        out.append(input, 0, next);
        input = input.substring(next);
      }
    }
    String result = out.toString();
    return merge ? result.replaceAll("/{2,}", "/") : result;
  }

  @Test
  void returnsTheTargetItselfWhenNothingChanges() {
    String target = "/status/418";
    Accepted a = (Accepted) RequestTarget.http1("GET", target, PathNormalization.DEFAULT);
    assertThat(a.path()).isSameAs(target);
    assertThat(a.originForm()).isSameAs(target);
  }

  @Test
  void quotesAtMost64CharactersOfAHugeTarget() {
    String target = "/" + "a".repeat(100_000) + "%zz";
    Rejected r = (Rejected) RequestTarget.http1("GET", target, PathNormalization.DEFAULT);
    assertThat(r.reason()).isEqualTo("request target \"/" + "a".repeat(63) + "\"... (100004 characters): malformed "
        + "percent-encoding at index 100001 (expected: % and two hex digits, RFC 3986 §2.1)");
  }

  @Test
  void escapesQuotesAndBackslashesInTheQuotedTarget() {
    Rejected r = (Rejected) RequestTarget.http1("GET", "/\"\\\u00e9#", PathNormalization.DEFAULT);
    assertThat(r.reason()).startsWith("request target \"/\\\"\\\\\\xE9#\": fragment # at index 4");
  }
}
