package io.portcullis.proxy;

import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http2.Http2Headers;
import io.portcullis.routing.RouteMatch;

/**
 * The parts of a request routing looks at, over the downstream's own header block (HTTP/1.1 or HTTP/2): nothing is
 * copied. For HTTP/2, {@code method} is {@code :method} ({@code GET} for an extended CONNECT's WebSocket, which
 * routes as the HTTP/1.1 upgrade it stands for).
 */
abstract class RequestView implements RouteMatch.RequestView {
  private final String path;
  private final String query;
  private final String authority;
  private final int port;

  private RequestView(String path, String query, String authority, int port) {
    this.path = path;
    this.query = query;
    this.authority = authority;
    this.port = port;
  }

  static RequestView of(String path, String query, String authority, HttpRequest request, int port) {
    return new RequestView(path, query, authority, port) {
      @Override
      public String method() {
        return request.method().name();
      }

      @Override
      public String header(String lowerCaseName) {
        return request.headers().get(lowerCaseName);
      }
    };
  }

  static RequestView of(String path, String query, String authority, Http2Headers request, int port) {
    String method = request.contains(Http2Headers.PseudoHeaderName.PROTOCOL.value()) ? "GET"
        : String.valueOf(request.method());
    return new RequestView(path, query, authority, port) {
      @Override
      public String method() {
        return method;
      }

      @Override
      public String header(String lowerCaseName) {
        CharSequence v = request.get(lowerCaseName);
        return v == null ? null : v.toString();
      }
    };
  }

  @Override
  public String path() {
    return path;
  }

  @Override
  public String query() {
    return query;
  }

  @Override
  public String authority() {
    return authority;
  }

  @Override
  public int port() {
    return port;
  }
}
