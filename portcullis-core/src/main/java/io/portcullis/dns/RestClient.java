package io.portcullis.dns;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.MissingNode;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Map;

/**
 * JSON over HTTP for the REST providers (PowerDNS, Cloudflare, acme-dns): one request at a time per call, with a
 * timeout; a non-2xx answer becomes a {@link DnsException} carrying the status and the body the API sent.
 */
final class RestClient {
  static final ObjectMapper JSON = new ObjectMapper();
  private final String provider;
  private final HttpClient http;
  private final Duration timeout;
  private final Map<String, String> headers;

  /**
   * @param provider what messages call the provider, e.g. {@code powerdns http://127.0.0.1:8081}
   * @param headers sent with every request (authentication)
   */
  RestClient(String provider, Duration timeout, Map<String, String> headers) {
    this.provider = provider;
    this.timeout = timeout;
    this.headers = Map.copyOf(headers);
    this.http = HttpClient.newBuilder().connectTimeout(timeout).build();
  }

  /**
   * Sends {@code method uri} with {@code body} as JSON (none when null) and returns the parsed answer (a missing node
   * for an empty body).
   *
   * @throws DnsException for a non-2xx status (with the API's body), a timeout or an I/O error
   */
  JsonNode send(String method, String uri, Object body) throws DnsException {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(uri)).timeout(timeout)
        .header("Accept", "application/json");
    headers.forEach(b::header);
    try {
      if (body == null) {
        b.method(method, HttpRequest.BodyPublishers.noBody());
      } else {
        b.header("Content-Type", "application/json");
        b.method(method, HttpRequest.BodyPublishers.ofByteArray(JSON.writeValueAsBytes(body)));
      }
      HttpResponse<String> r = http.send(b.build(), HttpResponse.BodyHandlers.ofString());
      if (r.statusCode() / 100 != 2) {
        String text = r.body().length() > 500 ? r.body().substring(0, 500) + "..." : r.body();
        throw new DnsException(provider + ": " + method + " " + URI.create(uri).getPath() + ": HTTP " + r.statusCode()
            + ": " + text.strip());
      }
      return r.body().isBlank() ? MissingNode.getInstance() : JSON.readTree(r.body());
    } catch (IOException e) {
      throw new DnsException(provider + ": " + method + " " + URI.create(uri).getPath() + ": " + e, e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new DnsException(provider + ": interrupted", e);
    }
  }
}
