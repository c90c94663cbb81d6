package io.portcullis.proxy;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.Unpooled;
import io.netty.handler.codec.base64.Base64;
import io.netty.handler.codec.http2.Http2Headers;
import java.nio.charset.StandardCharsets;
import java.util.Locale;
import java.util.Map;

/**
 * gRPC-Web for browser clients, translated to gRPC as Envoy's {@code envoy.filters.http.grpc_web} does
 * (grpc/doc/PROTOCOL-WEB.md): a request of {@code application/grpc-web[+proto]} goes upstream as
 * {@code application/grpc} with the same message frames, {@code application/grpc-web-text} is base64-decoded on the
 * way in and encoded on the way out, and the response trailers become a final frame with flag {@code 0x80} holding
 * {@code name:value\r\n} lines, so an HTTP/1.1 client without trailers gets them. One instance per exchange; not
 * thread-safe.
 */
final class GrpcWeb {
  private final boolean text;
  private final String responseType;
  /** Base64 text characters held back until a group of four is complete (text mode). */
  private ByteBuf pendingIn;
  /** Response bytes held back until a group of three is complete (text mode). */
  private ByteBuf pendingOut;

  private GrpcWeb(boolean text, String responseType) {
    this.text = text;
    this.responseType = responseType;
  }

  /** Returns the translator for a request of {@code contentType}, or null when it is not gRPC-Web. */
  static GrpcWeb of(CharSequence contentType) {
    if (contentType == null) {
      return null;
    }
    String t = contentType.toString().toLowerCase(Locale.ROOT);
    if (t.startsWith("application/grpc-web-text")) {
      return new GrpcWeb(true, "application/grpc-web-text+proto");
    }
    if (t.startsWith("application/grpc-web")) {
      return new GrpcWeb(false, "application/grpc-web+proto");
    }
    return null;
  }

  /** The content type the upstream gets. */
  static final String UPSTREAM_TYPE = "application/grpc";

  /** The content type the browser gets. */
  String responseType() {
    return responseType;
  }

  /** Returns request body bytes as gRPC frames (owns and releases {@code data}). */
  ByteBuf request(ByteBuf data, ByteBufAllocator alloc) {
    if (!text) {
      return data;
    }
    ByteBuf in = pendingIn == null ? data : Unpooled.wrappedBuffer(pendingIn, data);
    pendingIn = null;
    int whole = in.readableBytes() / 4 * 4;
    ByteBuf out = whole == 0 ? alloc.buffer(0) : Base64.decode(in, in.readerIndex(), whole);
    in.skipBytes(whole);
    if (in.isReadable()) {
      pendingIn = alloc.buffer(in.readableBytes()).writeBytes(in);
    }
    in.release();
    return out;
  }

  /** Returns response message bytes for the browser (owns and releases {@code data}). */
  ByteBuf response(ByteBuf data, ByteBufAllocator alloc, boolean last) {
    if (!text) {
      return data;
    }
    ByteBuf in = pendingOut == null ? data : Unpooled.wrappedBuffer(pendingOut, data);
    pendingOut = null;
    int whole = last ? in.readableBytes() : in.readableBytes() / 3 * 3;
    ByteBuf out = whole == 0 ? alloc.buffer(0) : Base64.encode(in, in.readerIndex(), whole, false);
    in.skipBytes(whole);
    if (in.isReadable()) {
      pendingOut = alloc.buffer(in.readableBytes()).writeBytes(in);
    }
    in.release();
    return out;
  }

  /** Returns the trailers frame ({@code 0x80}, length, {@code name:value\r\n}...), in the response's encoding. */
  ByteBuf trailers(Http2Headers trailers, ByteBufAllocator alloc) {
    StringBuilder b = new StringBuilder();
    for (Map.Entry<CharSequence, CharSequence> e : trailers) {
      b.append(e.getKey().toString().toLowerCase(Locale.ROOT)).append(':').append(e.getValue()).append("\r\n");
    }
    byte[] block = b.toString().getBytes(StandardCharsets.UTF_8);
    ByteBuf frame = alloc.buffer(5 + block.length);
    frame.writeByte(0x80).writeInt(block.length).writeBytes(block);
    return response(frame, alloc, true);
  }

  /** Releases what is held back. */
  void release() {
    if (pendingIn != null) {
      pendingIn.release();
      pendingIn = null;
    }
    if (pendingOut != null) {
      pendingOut.release();
      pendingOut = null;
    }
  }
}
