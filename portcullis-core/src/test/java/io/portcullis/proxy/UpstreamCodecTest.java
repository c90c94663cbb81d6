package io.portcullis.proxy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.PrematureChannelClosureException;
import io.netty.handler.codec.http.DefaultFullHttpRequest;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.util.ReferenceCountUtil;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class UpstreamCodecTest {
  private static EmbeddedChannel channel() {
    return new EmbeddedChannel(new UpstreamCodec(4096, 65_536, 8192));
  }

  private static void request(EmbeddedChannel ch, HttpMethod method) {
    ch.writeOutbound(new DefaultFullHttpRequest(HttpVersion.HTTP_1_1, method, "/"));
    ByteBuf sent;
    while ((sent = ch.readOutbound()) != null) {
      sent.release();
    }
  }

  private static List<Object> respond(EmbeddedChannel ch, String response) {
    ch.writeInbound(Unpooled.copiedBuffer(response, StandardCharsets.US_ASCII));
    List<Object> out = new ArrayList<>();
    Object m;
    while ((m = ch.readInbound()) != null) {
      out.add(m);
    }
    return out;
  }

  @ParameterizedTest
  @CsvSource({
      "GET, 200 OK, 5, hello",
      "HEAD, 200 OK, 5, ''",
      "GET, 404 Not Found, 3, abc",
      "GET, 299 Whatever, 2, ok",
      "GET, 200 Fine, 2, ok",
  })
  void decodesResponsesAsNettysClientCodec(String method, String line, int length, String body) {
    EmbeddedChannel ch = channel();
    request(ch, HttpMethod.valueOf(method));

    List<Object> out = respond(ch, "HTTP/1.1 " + line + "\r\nServer: nginx\r\ncontent-type: text/plain\r\n"
        + "X-Odd-Name: 1\r\nContent-Length: " + length + "\r\n\r\n" + body);

    HttpResponse head = (HttpResponse) out.get(0);
    assertThat(head.protocolVersion()).isEqualTo(HttpVersion.HTTP_1_1);
    assertThat(head.status().code()).isEqualTo(Integer.parseInt(line.substring(0, 3)));
    assertThat(head.status().reasonPhrase()).isEqualTo(line.substring(4));
    List<String> names = new ArrayList<>();
    for (Map.Entry<CharSequence, CharSequence> e : (Iterable<Map.Entry<CharSequence, CharSequence>>)
        head.headers()::iteratorCharSequence) {
      names.add(e.getKey().toString());
    }
    assertThat(names).as("names in the case sent").containsExactly("Server", "content-type", "X-Odd-Name",
        "Content-Length");
    StringBuilder content = new StringBuilder();
    for (Object m : out) {
      if (m instanceof HttpContent c) {
        content.append(c.content().toString(StandardCharsets.US_ASCII));
      }
    }
    assertThat(content.toString()).isEqualTo(body);
    assertThat(out.get(out.size() - 1)).isInstanceOf(LastHttpContent.class);
    out.forEach(ReferenceCountUtil::release);
    ch.finishAndReleaseAll();
  }

  @Test
  void anInterimResponseIsNotPairedWithTheRequest() {
    EmbeddedChannel ch = channel();
    request(ch, HttpMethod.HEAD);

    List<Object> out = respond(ch, "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n");

    assertThat(out).filteredOn(m -> m instanceof HttpResponse).extracting(m -> ((HttpResponse) m).status())
        .containsExactly(HttpResponseStatus.CONTINUE, HttpResponseStatus.OK);
    assertThat(out.get(out.size() - 1)).as("HEAD: no body read").isInstanceOf(LastHttpContent.class);
    out.forEach(ReferenceCountUtil::release);
    ch.finishAndReleaseAll();
  }

  @Test
  void aConnectionClosedWithAResponseMissingIsAnError() {
    EmbeddedChannel ch = channel();
    request(ch, HttpMethod.GET);

    assertThatThrownBy(ch::finishAndReleaseAll).isInstanceOf(PrematureChannelClosureException.class);
  }

  @Test
  void aConnectionClosedAfterItsResponsesIsNot() {
    EmbeddedChannel ch = channel();
    request(ch, HttpMethod.GET);
    respond(ch, "HTTP/1.1 204 No Content\r\n\r\n").forEach(ReferenceCountUtil::release);

    assertThat(ch.finishAndReleaseAll()).isFalse();
  }
}
