package io.portcullis.proxy;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.CombinedChannelDuplexHandler;
import io.netty.handler.codec.PrematureChannelClosureException;
import io.netty.handler.codec.http.DefaultHttpHeadersFactory;
import io.netty.handler.codec.http.HttpDecoderConfig;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpHeadersFactory;
import io.netty.handler.codec.http.HttpMessage;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpRequestEncoder;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseDecoder;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.util.AsciiString;
import java.util.ArrayDeque;
import java.util.List;

/**
 * The HTTP/1.1 codec of an upstream connection: what Netty's {@code HttpClientCodec} does as the gateway uses it
 * (a response to {@code HEAD} has no body, RFC 9110 §9.3.2; a connection that closes while a response is missing
 * fires a {@link PrematureChannelClosureException}), with a response decoder that returns shared constants for the
 * status line and the header names upstreams send most, in the exact case they are sent ({@code Content-Type} or
 * {@code content-type}), so that a response head costs no copy of them. Other names are read as Netty reads them.
 * Runs on the connection's event loop.
 */
final class UpstreamCodec extends CombinedChannelDuplexHandler<HttpResponseDecoder, HttpRequestEncoder> {
  /** Names as sent by common servers, canonical case and lower case; looked up by length, bytes compared. */
  private static final AsciiString[][] NAMES_BY_LENGTH = byLength("Server", "Date", "Content-Type",
      "Content-Length", "Connection", "Transfer-Encoding", "Keep-Alive", "Cache-Control", "Last-Modified", "ETag",
      "Accept-Ranges", "Vary", "Location", "Set-Cookie", "Expires", "Content-Encoding", "Access-Control-Allow-Origin",
      "X-Content-Type-Options", "X-Frame-Options", "Strict-Transport-Security", "Grpc-Status", "Grpc-Message");
  /** Netty's constants for the status codes it knows, by code. */
  private static final HttpResponseStatus[] STANDARD = new HttpResponseStatus[600];
  private static final String HTTP_1_1 = "HTTP/1.1"; // a literal: the same String as Netty's, compared by identity

  /**
   * Netty's trailer sets, made with its small initial table: every response ends with one, most carry no trailer
   * (the table only sets how many hash buckets the few trailers share).
   */
  private static final HttpHeadersFactory TRAILERS = new HttpHeadersFactory() {
    @Override
    public HttpHeaders newHeaders() {
      return DefaultHttpHeadersFactory.trailersFactory().newEmptyHeaders();
    }

    @Override
    public HttpHeaders newEmptyHeaders() {
      return DefaultHttpHeadersFactory.trailersFactory().newEmptyHeaders();
    }
  };

  private final ArrayDeque<HttpMethod> methods = new ArrayDeque<>();
  /** Requests sent in full whose response has not ended. */
  private long missing;

  static {
    for (int code = 100; code < STANDARD.length; code++) {
      HttpResponseStatus status = HttpResponseStatus.valueOf(code);
      if (status == HttpResponseStatus.valueOf(code)) { // a constant; an unknown code gets a new object each time
        STANDARD[code] = status;
      }
    }
  }

  /** Netty's decoder limits: initial line, header block, chunk size (bytes). */
  UpstreamCodec(int maxInitialLineLength, int maxHeaderSize, int maxChunkSize) {
    init(new Decoder(new HttpDecoderConfig().setMaxInitialLineLength(maxInitialLineLength)
        .setMaxHeaderSize(maxHeaderSize).setMaxChunkSize(maxChunkSize).setTrailersFactory(TRAILERS)), new Encoder());
  }

  private static AsciiString[][] byLength(String... names) {
    int max = 0;
    for (String n : names) {
      max = Math.max(max, n.length());
    }
    AsciiString[][] table = new AsciiString[max + 1][];
    for (int len = 0; len <= max; len++) {
      int l = len;
      table[len] = java.util.Arrays.stream(names).filter(n -> n.length() == l)
          .flatMap(n -> java.util.stream.Stream.of(n, n.toLowerCase(java.util.Locale.ROOT)))
          .map(AsciiString::cached).toArray(AsciiString[]::new);
    }
    return table;
  }

  private static AsciiString knownName(byte[] sb, int start, int length) {
    if (length >= NAMES_BY_LENGTH.length) {
      return null;
    }
    for (AsciiString n : NAMES_BY_LENGTH[length]) {
      byte[] a = n.array();
      int off = n.arrayOffset();
      int i = 0;
      while (i < length && a[off + i] == sb[start + i]) {
        i++;
      }
      if (i == length) {
        return n;
      }
    }
    return null;
  }

  private final class Encoder extends HttpRequestEncoder {
    @Override
    protected void encode(ChannelHandlerContext ctx, Object msg, List<Object> out) throws Exception {
      if (msg instanceof HttpRequest r) {
        methods.offer(r.method());
      }
      super.encode(ctx, msg, out);
      if (msg instanceof LastHttpContent) {
        missing++;
      }
    }
  }

  private final class Decoder extends HttpResponseDecoder {
    /** The status code of the line being read, for its reason phrase. */
    private int status;

    Decoder(HttpDecoderConfig config) {
      super(config);
    }

    @Override
    protected void decode(ChannelHandlerContext ctx, ByteBuf buffer, List<Object> out) throws Exception {
      int before = out.size();
      super.decode(ctx, buffer, out);
      for (int i = before; i < out.size(); i++) {
        if (out.get(i) instanceof LastHttpContent) {
          missing--;
        }
      }
    }

    @Override
    protected boolean isContentAlwaysEmpty(HttpMessage msg) {
      if (((HttpResponse) msg).status().code() / 100 == 1) {
        return super.isContentAlwaysEmpty(msg); // interim: not paired with a request
      }
      HttpMethod method = methods.poll(); // null when a peer sends more responses than requests
      if (HttpMethod.HEAD.equals(method)) {
        return true;
      }
      return super.isContentAlwaysEmpty(msg);
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) throws Exception {
      super.channelInactive(ctx);
      if (missing > 0) {
        ctx.fireExceptionCaught(new PrematureChannelClosureException(
            "channel gone inactive with " + missing + " missing response(s)"));
      }
    }

    @Override
    protected AsciiString splitHeaderName(byte[] sb, int start, int length) {
      AsciiString known = knownName(sb, start, length);
      return known != null ? known : super.splitHeaderName(sb, start, length);
    }

    @Override
    protected String splitFirstWordInitialLine(byte[] sb, int start, int length) {
      if (length == HTTP_1_1.length() && matches(sb, start, HTTP_1_1)) {
        return HTTP_1_1;
      }
      return super.splitFirstWordInitialLine(sb, start, length);
    }

    @Override
    protected String splitSecondWordInitialLine(byte[] sb, int start, int length) {
      status = 0;
      if (length == 3 && digit(sb[start]) && digit(sb[start + 1]) && digit(sb[start + 2])) {
        int code = (sb[start] - '0') * 100 + (sb[start + 1] - '0') * 10 + (sb[start + 2] - '0');
        if (code < STANDARD.length && STANDARD[code] != null) {
          status = code;
          return STANDARD[code].codeAsText().toString(); // the constant caches its String
        }
      }
      return super.splitSecondWordInitialLine(sb, start, length);
    }

    @Override
    protected String splitThirdWordInitialLine(byte[] sb, int start, int length) {
      if (status != 0) {
        String reason = STANDARD[status].reasonPhrase();
        if (reason.length() == length && matches(sb, start, reason)) {
          return reason;
        }
      }
      return super.splitThirdWordInitialLine(sb, start, length);
    }
  }

  private static boolean digit(byte b) {
    return b >= '0' && b <= '9';
  }

  private static boolean matches(byte[] sb, int start, String s) {
    for (int i = 0; i < s.length(); i++) {
      if (sb[start + i] != s.charAt(i)) {
        return false;
      }
    }
    return true;
  }
}
