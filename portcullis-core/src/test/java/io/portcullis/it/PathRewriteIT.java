package io.portcullis.it;

import static org.assertj.core.api.Assertions.assertThat;

import io.portcullis.acme.Http01Challenges;
import io.portcullis.config.ListenerConfig;
import io.portcullis.proxy.AccessLog;
import io.portcullis.proxy.DataPlane;
import io.portcullis.proxy.PathNormalization;
import io.portcullis.proxy.ProxyLimits;
import io.portcullis.proxy.Transport;
import io.portcullis.routing.Cluster;
import io.portcullis.routing.Endpoint;
import io.portcullis.routing.HeaderOps;
import io.portcullis.routing.HostTable;
import io.portcullis.routing.HttpRoute;
import io.portcullis.routing.RouteAction;
import io.portcullis.routing.RouteMatch;
import io.portcullis.routing.StringMatcher;
import io.portcullis.routing.VirtualHost;
import io.portcullis.testing.CapturingBackend;
import io.portcullis.testing.Ports;
import io.portcullis.testing.Proc;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The routing model's path rewrites and redirects through the proxy, with curl and a real backend: Gateway API
 * {@code ReplacePrefixMatch} (element-wise, on a {@code PathPrefix} match) and {@code ReplaceFullPath}, as the
 * gateway-api conformance tests httproute-rewrite-path.go and httproute-redirect-path.go send them, the redirect port
 * rules (httproute-redirect-port-and-scheme.go), and Istio's character-wise prefix rewrite, unchanged. The routes are
 * built as the model (the Gateway API translator is another branch's), served by a {@link DataPlane}.
 */
class PathRewriteIT {
  static CapturingBackend backend;
  static DataPlane dataPlane;
  static int port;

  private static RouteMatch pathPrefix(String p) {
    return new RouteMatch(Optional.of(new StringMatcher.PathPrefix(p)), Optional.empty(), Optional.empty(), Map.of(),
        0);
  }

  private static RouteMatch prefix(String p) {
    return new RouteMatch(Optional.of(new StringMatcher.Prefix(p, false)), Optional.empty(), Optional.empty(),
        Map.of(), 0);
  }

  private static HttpRoute forward(String name, RouteMatch m, String rewrite, boolean full, Cluster c) {
    return new HttpRoute(name, List.of(m), new RouteAction.Forward(List.of(new RouteAction.WeightedCluster(c, 100)),
        Optional.of(rewrite), Optional.empty(), Duration.ZERO, RouteAction.RetryPolicy.NONE, full, List.of()),
        HeaderOps.NONE, HeaderOps.NONE);
  }

  private static HttpRoute redirect(String name, RouteMatch m, String uri, String authority, String scheme, int p,
      int code, boolean replacePrefix) {
    return new HttpRoute(name, List.of(m), new RouteAction.Redirect(Optional.ofNullable(uri),
        Optional.ofNullable(authority), Optional.ofNullable(scheme), p, code, replacePrefix), HeaderOps.NONE,
        HeaderOps.NONE);
  }

  @BeforeAll
  static void start() throws Exception {
    backend = new CapturingBackend("backend");
    port = Ports.free();
    Cluster c = new Cluster("outbound|80||backend.default.svc.cluster.local", "backend.default.svc.cluster.local", 80,
        List.of(new Endpoint("127.0.0.1", backend.port())), Cluster.Protocol.HTTP1);
    List<HttpRoute> rewrites = List.of(
        // conformance/tests/httproute-rewrite-path.yaml
        forward("prefix-one", pathPrefix("/prefix/one"), "/one", false, c),
        forward("strip-prefix", pathPrefix("/strip-prefix"), "/", false, c),
        forward("full-one", pathPrefix("/full/one"), "/one", true, c),
        forward("prefix-modify", pathPrefix("/prefix/rewrite-path-and-modify-headers"), "/prefix", false, c),
        // the spec table's trailing-slash cases
        forward("foo", pathPrefix("/foo"), "/xyz/", false, c),
        // Istio rewrite.uri on a prefix match: Envoy's prefix_rewrite, as before
        forward("istio", prefix("/status"), "/s", false, c),
        // conformance/tests/httproute-redirect-path.yaml
        redirect("original-prefix", pathPrefix("/original-prefix"), "/replacement-prefix", null, null, 0, 302, true),
        redirect("full", pathPrefix("/full"), "/full-path-replacement", null, null, 0, 302, false),
        redirect("path-and-host", pathPrefix("/path-and-host"), "/replacement-prefix", "example.org", null, 0, 302,
            true),
        redirect("path-and-status", pathPrefix("/path-and-status"), "/replacement-prefix", null, null, 0, 301, true),
        // conformance/tests/httproute-redirect-port-and-scheme.yaml (the port-80 listener's routes)
        redirect("nil-nil", pathPrefix("/scheme-nil-and-port-nil"), null, "example.org", null, 0, 302, false),
        redirect("nil-80", pathPrefix("/scheme-nil-and-port-80"), null, "example.org", null, 80, 302, false),
        redirect("nil-8080", pathPrefix("/scheme-nil-and-port-8080"), null, "example.org", null, 8080, 302, false),
        redirect("https-nil", pathPrefix("/scheme-https-and-port-nil"), null, "example.org", "https", 0, 302, false),
        redirect("https-443", pathPrefix("/scheme-https-and-port-443"), null, "example.org", "https", 443, 302,
            false),
        redirect("https-8443", pathPrefix("/scheme-https-and-port-8443"), null, "example.org", "https", 8443, 302,
            false),
        // an Istio redirect: uri replaces the whole path
        redirect("istio-redirect", prefix("/old"), "/new", null, null, 0, 301, false));
    HostTable.Builder<VirtualHost> vhs = HostTable.builder();
    vhs.put("*", new VirtualHost("*:" + port, rewrites));
    ListenerConfig lc = new ListenerConfig(port, port, false, List.of(), HostTable.empty(), vhs.build());
    dataPlane = new DataPlane("127.0.0.1", AccessLog.disabled(), 1, Transport.AUTO, new Http01Challenges(),
        ProxyLimits.defaults(), PathNormalization.DEFAULT);
    assertThat(dataPlane.apply(Map.of(port, lc), Map.of(), 1)).isEmpty();
  }

  @AfterAll
  static void stop() throws Exception {
    if (dataPlane != null) {
      dataPlane.close();
    }
    backend.close();
  }

  @BeforeEach
  void clear() {
    backend.clear();
  }

  private static String curl(String flag, String path) throws Exception {
    List<String> cmd = new ArrayList<>(List.of("curl", "-sS", "-i", "--max-time", "10", flag, "--resolve",
        "gw.example.com:" + port + ":127.0.0.1", "http://gw.example.com:" + port + path));
    Proc.Result r = Proc.run(20, cmd.toArray(String[]::new));
    assertThat(r.exitCode()).as(r.stderr()).isZero();
    return r.stdout();
  }

  @ParameterizedTest(name = "{0} {1} -> {2}")
  @CsvSource({
      "--http1.1, /prefix/one/two, /one/two",
      "--http2-prior-knowledge, /prefix/one/two, /one/two",
      "--http1.1, /prefix/one/two?a=b&c=d, /one/two?a=b&c=d",
      "--http1.1, /prefix/one, /one",
      "--http1.1, /strip-prefix/three, /three",
      "--http1.1, /strip-prefix, /",
      "--http2-prior-knowledge, /strip-prefix?q=1, /?q=1",
      "--http1.1, /full/one/two, /one",
      "--http1.1, /full/one/two?x=1, /one?x=1",
      "--http1.1, /prefix/rewrite-path-and-modify-headers/one, /prefix/one",
      "--http1.1, /foo/bar, /xyz/bar",
      "--http1.1, /foo/, /xyz/",
      "--http1.1, /foo, /xyz",
      "--http1.1, /status/418, /s/418",
      "--http1.1, /statusx, /sx",
  })
  void theUpstreamGetsTheRewrittenPath(String flag, String path, String expected) throws Exception {
    assertThat(curl(flag, path)).contains(" 200").endsWith("backend\n");
    List<CapturingBackend.Received> got = backend.received();
    assertThat(got).hasSize(1);
    assertThat(got.get(0).requestLine()).isEqualTo("GET " + expected + " HTTP/1.1");
    assertThat(got.get(0).header("x-envoy-original-path")).isEqualTo(path);
  }

  @ParameterizedTest(name = "{0} {1} -> {2} {3}")
  @CsvSource({
      "--http1.1, /original-prefix/lemon, 302, http://gw.example.com:PORT/replacement-prefix/lemon",
      "--http2-prior-knowledge, /original-prefix/lemon?x=1, 302, http://gw.example.com:PORT/replacement-prefix/lemon?x=1",
      "--http1.1, /original-prefix, 302, http://gw.example.com:PORT/replacement-prefix",
      "--http1.1, /original-prefix/, 302, http://gw.example.com:PORT/replacement-prefix/",
      "--http1.1, /full/path/original, 302, http://gw.example.com:PORT/full-path-replacement",
      "--http1.1, /path-and-host, 302, http://example.org:PORT/replacement-prefix",
      "--http1.1, /path-and-status, 301, http://gw.example.com:PORT/replacement-prefix",
      "--http1.1, /scheme-nil-and-port-nil, 302, http://example.org:PORT/scheme-nil-and-port-nil",
      "--http1.1, /scheme-nil-and-port-80, 302, http://example.org/scheme-nil-and-port-80",
      "--http1.1, /scheme-nil-and-port-8080, 302, http://example.org:8080/scheme-nil-and-port-8080",
      "--http1.1, /scheme-https-and-port-nil, 302, https://example.org/scheme-https-and-port-nil",
      "--http1.1, /scheme-https-and-port-443, 302, https://example.org/scheme-https-and-port-443",
      "--http1.1, /scheme-https-and-port-8443, 302, https://example.org:8443/scheme-https-and-port-8443",
      "--http1.1, /old/page?k=v, 301, http://gw.example.com:PORT/new?k=v",
  })
  void redirectsFollowTheGatewayApiRules(String flag, String path, int code, String location) throws Exception {
    String out = curl(flag, path);
    assertThat(out).matches("(?s)HTTP/[0-9.]+ " + code + ".*");
    String loc = out.lines().filter(l -> l.toLowerCase(Locale.ROOT).startsWith("location:")).findFirst()
        .orElseThrow().substring("location:".length()).trim();
    assertThat(loc).isEqualTo(location.replace("PORT", String.valueOf(port)));
    assertThat(backend.received()).isEmpty();
  }
}
