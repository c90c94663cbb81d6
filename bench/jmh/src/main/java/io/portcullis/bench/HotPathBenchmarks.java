package io.portcullis.bench;

import io.portcullis.proxy.AccessLog;
import io.portcullis.proxy.PathNormalization;
import io.portcullis.proxy.RequestTarget;
import io.portcullis.routing.HeaderOps;
import io.portcullis.routing.HostTable;
import io.portcullis.routing.HttpRoute;
import io.portcullis.routing.RouteAction;
import io.portcullis.routing.RouteMatch;
import io.portcullis.routing.StringMatcher;
import io.portcullis.routing.VirtualHost;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The per-request and per-handshake lookups, at the scale of issue 3: 10,000 hosts, 10,000 routes.
 *
 * <p>Run: {@code java -jar bench/jmh/target/benchmarks.jar}. Each benchmark picks a random key per call, so the
 * figures include one {@code ThreadLocalRandom} draw (a few ns).
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
@State(Scope.Benchmark)
public class HotPathBenchmarks {
  static final int N = 10_000;

  HostTable<String> sni;
  HostTable<VirtualHost> hosts;
  VirtualHost tenThousandRoutes;
  String[] hostNames;
  String[] wildcardNames;
  Req[] paths;
  AccessLog.Entry entry;
  String plainTarget = "/service-42/items/42?page=2&sort=asc";
  String dottedTarget = "/service-42/./items/%34%32/../42?page=2&sort=asc";
  String escapedSlashTarget = "/service-42//items%2F42/%2E%2E/42?page=2&sort=asc";
  PathNormalization decodeAndMerge = PathNormalization.of(PathNormalization.Type.DECODE_AND_MERGE_SLASHES);

  /** The nested-quantifier pattern of issue 12: exponential for a backtracking engine on a near miss. */
  static final StringMatcher NESTED_URI = StringMatcher.regex("/((a+)+)+$", false);
  static final StringMatcher NESTED_HEADER = StringMatcher.regex("(a+)+$", false);
  static final java.util.regex.Pattern JDK_NESTED_URI = java.util.regex.Pattern.compile("/((a+)+)+$");
  static final StringMatcher CURL = StringMatcher.regex(".*curl.*", false);
  static final java.util.regex.Pattern JDK_CURL = java.util.regex.Pattern.compile(".*curl.*");
  static final String USER_AGENT = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
      + "Chrome/120.0.0.0 Safari/537.36";
  static final String PATH_32_MISS = "/" + "a".repeat(30) + "!";
  static final String PATH_32_HIT = "/" + "a".repeat(31);
  static final String HEADER_60K_MISS = "a".repeat(60 * 1024) + "!";

  record Req(String path, String authority, String method, Map<String, String> headers, int port)
      implements RouteMatch.RequestView {
    @Override
    public String header(String lowerCaseName) {
      return headers.get(lowerCaseName);
    }

    @Override
    public String query() {
      return "";
    }
  }

  @Setup
  public void setup() {
    HostTable.Builder<String> s = HostTable.builder();
    HostTable.Builder<VirtualHost> h = HostTable.builder();
    hostNames = new String[N];
    wildcardNames = new String[N / 10];
    RouteAction direct = new RouteAction.DirectResponse(200, new byte[0]);
    List<HttpRoute> routes = new ArrayList<>();
    paths = new Req[N];
    for (int i = 0; i < N; i++) {
      hostNames[i] = "host-" + i + ".example.com";
      s.put(hostNames[i], "credential-" + i);
      h.put(hostNames[i], new VirtualHost(hostNames[i] + ":443", List.of(new HttpRoute("r" + i,
          List.of(RouteMatch.ANY), direct, HeaderOps.NONE, HeaderOps.NONE))));
      RouteMatch m = new RouteMatch(Optional.of(new StringMatcher.Prefix("/service-" + i + "/", false)),
          Optional.empty(), Optional.empty(), Map.of(), 0);
      routes.add(new HttpRoute("route-" + i, List.of(m), direct, HeaderOps.NONE, HeaderOps.NONE));
      paths[i] = new Req("/service-" + i + "/items/42", "api.example.com", "GET", Map.of(), 443);
    }
    for (int i = 0; i < N / 10; i++) {
      s.put("*.tenant-" + i + ".example.org", "wildcard-" + i);
      wildcardNames[i] = "app.tenant-" + i + ".example.org";
    }
    sni = s.build();
    hosts = h.build();
    tenThousandRoutes = new VirtualHost("api.example.com:443", routes);
    entry = new AccessLog.Entry(Instant.now(), "GET", "/status/418", "HTTP/2", 418, "-", 0, 135, 3, 2,
        "127.0.0.1:8000", "outbound|8000||httpbin.default.svc.cluster.local", "httpbin.example.com:443",
        "203.0.113.7, 127.0.0.1", "curl/7.88.1", "3f2b8c1e-6d4a-4b8e-9c2d-1a2b3c4d5e6f", "httpbin.example.com",
        "127.0.0.1:443", "127.0.0.1:51234", "default/httpbin.0", "/status/418");
  }

  /** SNI: an exact host among 10,000. */
  @Benchmark
  public Optional<String> sniExactOf10k() {
    return sni.find(hostNames[ThreadLocalRandom.current().nextInt(N)]);
  }

  /** SNI: a name covered by one of 1,000 wildcards (exact miss, then suffix probes). */
  @Benchmark
  public Optional<String> sniWildcardOf1k() {
    return sni.find(wildcardNames[ThreadLocalRandom.current().nextInt(N / 10)]);
  }

  /** SNI: a name no server covers. */
  @Benchmark
  public Optional<String> sniMiss() {
    return sni.find("unknown-" + ThreadLocalRandom.current().nextInt(N) + ".example.net");
  }

  /** Routing: the virtual host of one of 10,000 hosts, then its only route. */
  @Benchmark
  public Optional<HttpRoute> routeByHostOf10k() {
    Req r = paths[0];
    return hosts.find(hostNames[ThreadLocalRandom.current().nextInt(N)]).flatMap(v -> v.route(r));
  }

  /** Routing: 10,000 prefix routes in one virtual host, first match wins (a linear scan: 5,000 checks on average). */
  @Benchmark
  public Optional<HttpRoute> routeByPathOf10k() {
    return tenThousandRoutes.route(paths[ThreadLocalRandom.current().nextInt(N)]);
  }

  /** Regex: {@code uri: {regex: "/((a+)+)+$"}} against the 32-byte path {@code /aaa…a!} (no match; RE2/J). */
  @Benchmark
  public boolean regexNestedPath32Miss() {
    return NESTED_URI.matches(PATH_32_MISS);
  }

  /** Regex: the same pattern against a 32-byte path it matches. */
  @Benchmark
  public boolean regexNestedPath32Hit() {
    return NESTED_URI.matches(PATH_32_HIT);
  }

  /** Baseline, not used by the gateway: java.util.regex on the same matching path (it backtracks on a miss). */
  @Benchmark
  public boolean regexNestedPath32HitJdk() {
    return JDK_NESTED_URI.matcher(PATH_32_HIT).matches();
  }

  /** Regex: a typical header match, {@code user-agent: {regex: ".*curl.*"}} against a 101-byte browser agent. */
  @Benchmark
  public boolean regexUserAgent() {
    return CURL.matches(USER_AGENT);
  }

  /** Baseline, not used by the gateway: java.util.regex on the same agent. */
  @Benchmark
  public boolean regexUserAgentJdk() {
    return JDK_CURL.matcher(USER_AGENT).matches();
  }

  /** Regex: a header {@code regex: "(a+)+$"} against a 60 KiB value {@code aaa…a!} (no match). */
  @Benchmark
  public boolean regexNestedHeader60kMiss() {
    return NESTED_HEADER.matches(HEADER_60K_MISS);
  }

  /** Access log: one JSON line with every Envoy field. */
  @Benchmark
  public String accessLogFormat() {
    return AccessLog.format(entry);
  }

  /** Request target, BASE: a path with nothing to normalise (the fast path: scan, then split off the query). */
  @Benchmark
  public RequestTarget.Result requestTargetPlain() {
    return RequestTarget.http1("GET", plainTarget, PathNormalization.DEFAULT);
  }

  /** Request target, BASE: dot segments and encoded unreserved characters (the normalising pass). */
  @Benchmark
  public RequestTarget.Result requestTargetDottedEncoded() {
    return RequestTarget.http1("GET", dottedTarget, PathNormalization.DEFAULT);
  }

  /** Request target, DECODE_AND_MERGE_SLASHES: escaped slashes decoded, dot segments, slashes merged. */
  @Benchmark
  public RequestTarget.Result requestTargetDecodeAndMerge() {
    return RequestTarget.http1("GET", escapedSlashTarget, decodeAndMerge);
  }
}
