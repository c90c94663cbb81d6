package io.portcullis.routing;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The index must pick exactly the route a scan in order picks, for any routes and any request. */
class RouteIndexTest {
  static final String[] SEGMENTS = {"", "/", "/a", "/A", "/api", "/Api", "/api/", "/api/v1", "/b", "/status", "/x/y",
      "/api/v1/items", "/ä", "/API/V1"};

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

  static StringMatcher randomUri(Random r) {
    String v = SEGMENTS[r.nextInt(SEGMENTS.length)];
    boolean ic = r.nextInt(4) == 0;
    return switch (r.nextInt(4)) {
      case 0 -> new StringMatcher.Exact(v, ic);
      case 1 -> new StringMatcher.Prefix(v, ic);
      case 2 -> StringMatcher.regex(com.google.re2j.Pattern.quote(v) + ".*", ic);
      default -> null;
    };
  }

  static RouteMatch randomBlock(Random r) {
    StringMatcher uri = randomUri(r);
    Optional<StringMatcher> method = r.nextInt(5) == 0 ? Optional.of(new StringMatcher.Exact("POST", false))
        : Optional.empty();
    return new RouteMatch(Optional.ofNullable(uri), Optional.empty(), method, Map.of(), 0);
  }

  @ParameterizedTest
  @ValueSource(ints = {1, 2, 3, 4, 5, 6, 7, 8})
  void indexAgreesWithAScanInOrder(int seed) {
    Random r = new Random(seed);
    RouteAction direct = new RouteAction.DirectResponse(200, new byte[0]);
    List<HttpRoute> routes = new ArrayList<>();
    int count = VirtualHost.INDEX_THRESHOLD + r.nextInt(200);
    for (int i = 0; i < count; i++) {
      List<RouteMatch> blocks = new ArrayList<>();
      int n = r.nextInt(4); // 0 blocks: matches everything
      for (int b = 0; b < n; b++) {
        blocks.add(randomBlock(r));
      }
      routes.add(new HttpRoute("r" + i, blocks, direct, HeaderOps.NONE, HeaderOps.NONE));
    }
    VirtualHost vh = new VirtualHost("h:80", routes);
    for (int k = 0; k < 2_000; k++) {
      String path = SEGMENTS[r.nextInt(SEGMENTS.length)] + (r.nextBoolean() ? "" : SEGMENTS[r.nextInt(SEGMENTS.length)]);
      Req req = new Req(path, "h", r.nextBoolean() ? "GET" : "POST", Map.of(), 80);
      assertThat(vh.route(req)).as(path).isEqualTo(VirtualHost.scan(routes, req));
    }
  }
}
