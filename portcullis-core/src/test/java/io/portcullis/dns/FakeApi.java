package io.portcullis.dns;

import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * A local HTTP server (port 0) standing in for a provider's API in contract tests: every request is recorded and
 * handed to the test's {@link Handler}, which checks it against the provider's documented API and answers as the
 * API documents; a request it does not recognise gets 404 and is listed in {@link #unexpected()}.
 */
final class FakeApi implements AutoCloseable {
  /** One request as received. */
  record Request(String method, String path, Map<String, String> query, Map<String, List<String>> headers,
      String body) {
    String header(String name) {
      for (var e : headers.entrySet()) {
        if (e.getKey().equalsIgnoreCase(name)) {
          return e.getValue().get(0);
        }
      }
      return null;
    }
  }

  /** An answer. */
  record Response(int status, String contentType, String body) {
    static Response json(int status, String body) {
      return new Response(status, "application/json", body);
    }
  }

  /** Answers a request, or returns null when the API has no such request. */
  interface Handler {
    Response handle(Request r) throws Exception;
  }

  private final HttpServer server;
  private final List<Request> requests = new CopyOnWriteArrayList<>();
  private final List<String> unexpected = new CopyOnWriteArrayList<>();

  FakeApi(Handler handler) throws IOException {
    server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
    server.createContext("/", ex -> {
      byte[] raw0 = ex.getRequestBody().readAllBytes();
      if ("gzip".equalsIgnoreCase(ex.getRequestHeaders().getFirst("Content-Encoding"))) {
        raw0 = new java.util.zip.GZIPInputStream(new java.io.ByteArrayInputStream(raw0)).readAllBytes();
      }
      String body = new String(raw0, StandardCharsets.UTF_8);
      Map<String, String> query = new LinkedHashMap<>();
      String raw = ex.getRequestURI().getRawQuery();
      if (raw != null) {
        for (String kv : raw.split("&")) {
          int eq = kv.indexOf('=');
          query.put(URLDecoder.decode(eq < 0 ? kv : kv.substring(0, eq), StandardCharsets.UTF_8), eq < 0 ? ""
              : URLDecoder.decode(kv.substring(eq + 1), StandardCharsets.UTF_8));
        }
      }
      Request r = new Request(ex.getRequestMethod(), ex.getRequestURI().getPath(), query,
          Map.copyOf(ex.getRequestHeaders()), body);
      requests.add(r);
      Response out;
      try {
        out = handler.handle(r);
      } catch (Exception | AssertionError e) {
        unexpected.add(r.method() + " " + r.path() + ": " + e.getMessage());
        System.err.println("FakeApi: " + r.method() + " " + r.path() + " " + r.query() + ": " + e.getMessage());
        out = Response.json(400, "{\"error\": \"" + String.valueOf(e.getMessage()).replace("\"", "'") + "\"}");
      }
      if (out == null) {
        unexpected.add(r.method() + " " + r.path() + "?" + raw);
        out = Response.json(404, "{\"error\": \"no such API\"}");
      }
      byte[] bytes = out.body().getBytes(StandardCharsets.UTF_8);
      ex.getResponseHeaders().add("Content-Type", out.contentType());
      ex.sendResponseHeaders(out.status(), out.status() == 204 ? -1 : bytes.length);
      if (out.status() != 204) {
        ex.getResponseBody().write(bytes);
      }
      ex.close();
    });
    server.start();
  }

  String url() {
    return "http://127.0.0.1:" + server.getAddress().getPort();
  }

  List<Request> requests() {
    return new ArrayList<>(requests);
  }

  /** Requests the API would have refused, with why. */
  List<String> unexpected() {
    return new ArrayList<>(unexpected);
  }

  @Override
  public void close() {
    server.stop(0);
  }
}
