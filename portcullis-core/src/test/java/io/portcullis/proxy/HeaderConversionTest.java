package io.portcullis.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.handler.codec.http.DefaultHttpHeaders;
import io.netty.handler.codec.http.DefaultHttpResponse;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http2.DefaultHttp2Headers;
import io.netty.handler.codec.http2.Http2Headers;
import io.netty.handler.codec.http2.HttpConversionUtil;
import io.netty.util.AsciiString;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** The gateway's own header conversions against Netty's, whose output they must reproduce. */
class HeaderConversionTest {
  /** Headers as {@code name: value} pairs separated by {@code |}. */
  private static HttpHeaders http1(String headers) {
    HttpHeaders h = new DefaultHttpHeaders();
    for (String pair : headers.split("\\|")) {
      int colon = pair.indexOf(':');
      h.add(pair.substring(0, colon).trim(), pair.substring(colon + 1).trim());
    }
    return h;
  }

  private static List<String> entries(Iterable<Map.Entry<CharSequence, CharSequence>> headers) {
    List<String> out = new ArrayList<>();
    headers.forEach(e -> out.add(e.getKey() + ": " + e.getValue()));
    return out;
  }

  @ParameterizedTest
  @CsvSource(delimiter = ';', value = {
      "Server: nginx | Date: Tue, 01 Dec 2026 21:40:00 GMT | Content-Type: text/plain | Content-Length: 23",
      "content-type: application/grpc | X-Custom-Thing: a | x-custom-thing: b | Set-Cookie: a=1 | Set-Cookie: b=2",
      "Transfer-Encoding: chunked | Host: h | Upgrade: websocket | Keep-Alive: 5 | Proxy-Connection: x | Vary: *",
      "X-Http2-Stream-Id: 3 | x-http2-scheme: https | X-HTTP2-Path: / | x-http2-protocol: websocket | A: 1",
      "Connection: keep-alive, X-Hop | X-Hop: 1 | Server: s",
      "TE: trailers, deflate | Cookie: a=1; b=2 | Server: s",
  })
  void convertsAnHttp1ResponseHeadAsNettyDoes(String headers) {
    HttpResponse mine = new DefaultHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK, http1(headers));
    HttpHeaders theirsIn = http1(headers);
    Http2Headers theirs = new DefaultHttp2Headers(false);
    theirs.status(HttpResponseStatus.OK.codeAsText());
    theirsIn.remove("transfer-encoding");
    HttpConversionUtil.toHttp2Headers(theirsIn, theirs);

    Http2Headers converted = DownstreamResponse.toHttp2(mine);

    assertThat(entries(converted)).isEqualTo(entries(theirs));
  }

  @ParameterizedTest
  @CsvSource({"Content-Type, content-type", "CONTENT-LENGTH, content-length", "x-envoy-upstream-service-time, "
      + "x-envoy-upstream-service-time", "X-Custom, x-custom", "server, server"})
  void lowerCasesNamesUsingNettysConstants(String name, String lower) {
    AsciiString l = HeaderNames.lowerCase(name);

    assertThat(l.toString()).isEqualTo(lower);
    assertThat(HeaderNames.lowerCase(new AsciiString(name)).toString()).isEqualTo(lower);
    if (lower.equals("content-type")) {
      assertThat((Object) l).isSameAs(io.netty.handler.codec.http.HttpHeaderNames.CONTENT_TYPE);
    }
  }

  @ParameterizedTest
  @CsvSource(delimiter = ';', value = {
      "Connection: keep-alive | Server: s | Content-Length: 2; Server: s | Content-Length: 2",
      "Connection: close, X-Hop ,x-other | X-Hop: 1 | X-Other: 2 | Keep: 3; Keep: 3",
      "TE: trailers | Trailer: x | Upgrade: h2c | HTTP2-Settings: a | X-Http2-Stream-Id: 1 | A: b; A: b",
      "Proxy-Authorization: x | Proxy-Authenticate: y | Proxy-Connection: z | Keep-Alive: 1 | Q: r; Q: r",
  })
  void stripsHopByHopHeaders(String headers, String kept) {
    HttpHeaders h = http1(headers);

    HopByHop.strip(h);

    assertThat(entries(h::iteratorCharSequence)).isEqualTo(entries(http1(kept)::iteratorCharSequence));
  }

  @ParameterizedTest
  @CsvSource(delimiter = ';', value = {
      ":method: GET | :path: /a?b | :scheme: https | :authority: example.com:8443 | accept: */* | user-agent: h2load",
      ":method: POST | :path: / | :scheme: https | :authority: e | cookie: a=1 | x: y | cookie: b=2 | cookie: c=3",
      ":method: GET | :path: / | :scheme: http | :authority: e | te: trailers | transfer-encoding: chunked | trailer: t",
      ":method: GET | :path: / | :scheme: http | :authority: e | x-http2-stream-id: 9 | x-http2-scheme: ftp | z: 1",
      ":method: GET | :path: / | :scheme: http | accept: a | accept: b",
  })
  void convertsAnHttp2RequestBlockAsNettyDoes(String block) throws Exception {
    Http2Headers request = new DefaultHttp2Headers(false);
    for (String pair : block.split("\\|")) {
      int colon = pair.indexOf(':', pair.trim().startsWith(":") ? pair.indexOf(':') + 1 : 0);
      request.add(AsciiString.of(pair.substring(0, colon).trim()), AsciiString.of(pair.substring(colon + 1).trim()));
    }
    HttpHeaders theirs = new DefaultHttpHeaders();
    HttpConversionUtil.addHttp2ToHttpHeaders(3, request, theirs, HttpVersion.HTTP_1_1, false, true);
    HopByHop.strip(theirs);
    HttpHeaders mine = new DefaultHttpHeaders();

    UpstreamRequest.toHttp1(request, mine);
    HopByHop.strip(mine);

    assertThat(entries(mine::iteratorCharSequence)).isEqualTo(entries(theirs::iteratorCharSequence));
  }
}
