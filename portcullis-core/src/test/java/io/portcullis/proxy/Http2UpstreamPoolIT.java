package io.portcullis.proxy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.netty.handler.codec.http2.DefaultHttp2Headers;
import io.netty.handler.ssl.ApplicationProtocolConfig;
import io.netty.handler.ssl.ApplicationProtocolNames;
import io.netty.handler.ssl.OpenSsl;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslProvider;
import io.portcullis.routing.Endpoint;
import io.portcullis.routing.TrafficPolicy;
import io.portcullis.testing.Ports;
import io.portcullis.testing.TestPki;
import java.net.ConnectException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import javax.net.ssl.SSLHandshakeException;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * {@link Http2UpstreamPool} and {@link Http2UpstreamConnection} against a real HTTP/2 server ({@link H2TestServer}):
 * requests with bodies and trailers over h2c and TLS, multiplexing, {@code SETTINGS_MAX_CONCURRENT_STREAMS}, flow
 * control tied to the caller, the idle timeout, ALPN refusals and the pool's pending requests.
 */
class Http2UpstreamPoolIT {
  private static final Duration WAIT = Duration.ofSeconds(30);
  private static TestPki.Ca ca;
  private static TestPki.Leaf leaf;

  @BeforeAll
  static void pki() throws Exception {
    ca = TestPki.ca("h2 upstream tests");
    leaf = ca.server("localhost", "EC");
  }

  static SslContext clientTls(String... alpn) throws Exception {
    return SslContextBuilder.forClient().trustManager(ca.cert())
        .sslProvider(OpenSsl.isAvailable() ? SslProvider.OPENSSL : SslProvider.JDK)
        .applicationProtocolConfig(new ApplicationProtocolConfig(ApplicationProtocolConfig.Protocol.ALPN,
            ApplicationProtocolConfig.SelectorFailureBehavior.NO_ADVERTISE,
            ApplicationProtocolConfig.SelectedListenerFailureBehavior.ACCEPT, alpn))
        .build();
  }

  @ParameterizedTest(name = "tls={0}")
  @ValueSource(booleans = {false, true})
  void requestWithBodyAndTrailers(boolean tls) throws Exception {
    try (H2TestServer server = tls ? H2TestServer.tls(leaf, ApplicationProtocolNames.HTTP_2)
        : H2TestServer.plain(null); H2Client client = new H2Client(Http2UpstreamLimits.defaults())) {
      byte[] body = new byte[200_000]; // three times the stream window: request flow control is exercised
      for (int i = 0; i < body.length; i++) {
        body[i] = (byte) (i * 31);
      }
      SslContext ssl = tls ? clientTls(ApplicationProtocolNames.HTTP_2) : null;
      H2Client.Recording r = client.send(new Endpoint("127.0.0.1", server.port()), ssl, "localhost",
          new H2Client.Request("POST", "/echo", body, new DefaultHttp2Headers().set("x-request-trailer", "t")),
          true);

      assertThat(r.ending.get(30, TimeUnit.SECONDS)).isEqualTo("end");
      assertThat(r.statuses).containsExactly("200");
      assertThat(r.head.get("x-method")).hasToString("POST");
      assertThat(r.head.get("x-request-header")).hasToString("yes");
      assertThat(r.bodyBytes()).isEqualTo(body);
      assertThat(r.trailers.get("x-echo-bytes")).hasToString("200000");
      assertThat(r.readCompletes).isPositive();
      assertThat(r.scheme(r.connection)).isEqualTo(tls ? "https" : "http");
      assertThat(client.stats.get(ProxyStats.UPSTREAM_CX_HTTP2_TOTAL)).isEqualTo(1);
      await().atMost(WAIT).until(() -> client.onLoop(() -> r.connection.activeStreams()) == 0);
    }
  }

  @Test
  void aBurstOfStreamsSharesOneConnection() throws Exception {
    try (H2TestServer server = H2TestServer.plain(null);
        H2Client client = new H2Client(Http2UpstreamLimits.defaults())) {
      Endpoint ep = new Endpoint("127.0.0.1", server.port());
      List<H2Client.Recording> all = new ArrayList<>();
      for (int i = 0; i < 20; i++) { // all asked for before the first connect completes
        all.add(client.send(ep, null, null, H2Client.Request.get("/hold"), true));
      }
      await().atMost(WAIT).until(() -> server.requests.get() == 20);
      server.releaseHolds();
      for (H2Client.Recording r : all) {
        assertThat(r.ending.get(30, TimeUnit.SECONDS)).isEqualTo("end");
        assertThat(r.bodyBytes()).asString().isEqualTo("held");
        assertThat(r.connection).isSameAs(all.get(0).connection);
      }
      assertThat(server.connections.get()).isEqualTo(1);
      assertThat(client.onLoop(() -> client.pool.connections(ep).size())).isEqualTo(1);
    }
  }

  @Test
  void aThirdStreamOverMaxConcurrentStreamsTwoOpensASecondConnection() throws Exception {
    try (H2TestServer server = H2TestServer.plain(2L);
        H2Client client = new H2Client(Http2UpstreamLimits.defaults())) {
      Endpoint ep = new Endpoint("127.0.0.1", server.port());
      H2Client.Recording first = client.send(ep, null, null, H2Client.Request.get("/"), true);
      assertThat(first.ending.get(30, TimeUnit.SECONDS)).isEqualTo("end");
      Http2UpstreamConnection a = first.connection;
      await().atMost(WAIT).until(() -> client.onLoop(() -> a.settingsReceived() && a.activeStreams() == 0));
      assertThat(client.onLoop(a::maxConcurrentStreams)).isEqualTo(2);

      H2Client.Recording h1 = client.send(ep, null, null, H2Client.Request.get("/hold"), true);
      H2Client.Recording h2 = client.send(ep, null, null, H2Client.Request.get("/hold"), true);
      H2Client.Recording h3 = client.send(ep, null, null, H2Client.Request.get("/hold"), true);
      await().atMost(WAIT).until(() -> server.requests.get() == 4);
      assertThat(h1.connection).isSameAs(a);
      assertThat(h2.connection).isSameAs(a);
      assertThat(h3.connection).isNotSameAs(a);
      assertThat(server.connections.get()).isEqualTo(2);
      assertThat(client.onLoop(a::hasCapacity)).isFalse();

      server.releaseHolds();
      for (H2Client.Recording r : List.of(h1, h2, h3)) {
        assertThat(r.ending.get(30, TimeUnit.SECONDS)).isEqualTo("end");
      }
      await().atMost(WAIT).until(() -> client.onLoop(a::hasCapacity));
    }
  }

  @Test
  void responseFlowControlWaitsForTheCallerToConsume() throws Exception {
    try (H2TestServer server = H2TestServer.plain(null);
        H2Client client = new H2Client(Http2UpstreamLimits.defaults())) {
      int size = 8 << 20;
      H2Client.Recording r = client.send(new Endpoint("127.0.0.1", server.port()), null, null,
          H2Client.Request.get("/big/" + size), false);

      // Nothing consumed: the upstream sends the stream's initial window and then has no window left.
      await().atMost(WAIT).until(() -> r.received == Http2UpstreamLimits.DEFAULT_WINDOW
          && server.sendWindow(r.stream.id()) == 0);
      assertThat(r.ending).isNotDone();
      assertThat(r.received).isEqualTo(Http2UpstreamLimits.DEFAULT_WINDOW);

      // Consumed (as a proxy does once it wrote the bytes downstream): the rest flows.
      client.onLoop(() -> {
        r.autoConsumeFromNowOn();
        r.stream.consumed((int) r.received);
        return null;
      });
      assertThat(r.ending.get(60, TimeUnit.SECONDS)).isEqualTo("end");
      assertThat(r.received).isEqualTo(size);
    }
  }

  @Test
  void requestDataWaitsForTheUpstreamsWindowAndItsFutureCompletesWhenWritten() throws Exception {
    try (H2TestServer server = H2TestServer.plain(null);
        H2Client client = new H2Client(Http2UpstreamLimits.defaults())) {
      Endpoint ep = new Endpoint("127.0.0.1", server.port());
      H2Client.Recording r = new H2Client.Recording(true);
      List<io.netty.channel.ChannelFuture> writes = new ArrayList<>();
      client.onLoop(() -> client.acquire(ep, null, null, c -> {
        Http2UpstreamStream s = c.openStream(r);
        r.stream = s;
        assertThat(s.isWritable()).isTrue();
        s.writeHeaders(new DefaultHttp2Headers().method("POST").scheme("http").authority("test")
            .path("/slow-window"), false);
        writes.add(s.writeData(io.netty.buffer.Unpooled.wrappedBuffer(new byte[50_000]), false));
        writes.add(s.writeData(io.netty.buffer.Unpooled.wrappedBuffer(new byte[50_000]), true));
        s.flush();
      }, r.ending::completeExceptionally));

      // 100,000 bytes against the upstream's 65,535-byte window: the second write waits, the stream is not writable.
      await().atMost(WAIT).until(() -> writes.size() == 2 && writes.get(0).isSuccess()
          && server.slowWindowReceived.get() == Http2UpstreamLimits.DEFAULT_WINDOW);
      assertThat(client.onLoop(() -> r.stream.isWritable())).isFalse();
      assertThat(writes.get(1)).isNotDone();
      assertThat(r.writabilityChanges).isPositive();

      server.releaseHolds(); // the upstream returns the window: the rest goes, and the stream is writable again
      assertThat(writes.get(1).await(30, TimeUnit.SECONDS)).isTrue();
      assertThat(writes.get(1).isSuccess()).isTrue();
      assertThat(r.ending.get(30, TimeUnit.SECONDS)).isEqualTo("end");
      assertThat(r.trailers.get("x-echo-bytes")).hasToString("100000");
    }
  }

  @Test
  void aCallersResetCancelsTheStreamAndEndsItQuietly() throws Exception {
    try (H2TestServer server = H2TestServer.plain(null);
        H2Client client = new H2Client(Http2UpstreamLimits.defaults())) {
      H2Client.Recording r = client.send(new Endpoint("127.0.0.1", server.port()), null, null,
          H2Client.Request.get("/hold"), true);
      await().atMost(WAIT).until(() -> server.requests.get() == 1);

      client.onLoop(() -> {
        r.stream.reset();
        r.stream.reset(); // idempotent
        assertThat(r.stream.isWritable()).isFalse();
        return null;
      });
      await().atMost(WAIT).until(() -> server.resetsReceived.equals(List.of(8L))); // CANCEL
      await().atMost(WAIT).until(() -> client.onLoop(() -> r.connection.activeStreams()) == 0);
      assertThat(r.ending).as("the caller ended it: no callback").isNotDone();
      assertThat(client.onLoop(() -> r.connection.hasCapacity())).isTrue();
    }
  }

  @Test
  void anIdleConnectionIsClosedWithGoAwayNoError() throws Exception {
    try (H2TestServer server = H2TestServer.plain(null);
        H2Client client = new H2Client(Http2UpstreamLimits.defaults().withIdleTimeout(Duration.ofMillis(300)))) {
      H2Client.Recording r = client.send(new Endpoint("127.0.0.1", server.port()), null, null,
          H2Client.Request.get("/"), true);
      assertThat(r.ending.get(30, TimeUnit.SECONDS)).isEqualTo("end");

      assertThat(r.connection.closeFuture().await(30, TimeUnit.SECONDS)).isTrue();
      await().atMost(WAIT).until(() -> server.goAwaysReceived.contains(0L));
      assertThat(client.stats.get(ProxyStats.UPSTREAM_CX_IDLE_TIMEOUT)).isEqualTo(1);
      assertThat(client.onLoop(() -> client.pool.connections(r.connection.endpoint()))).isEmpty();
    }
  }

  @Test
  void tlsWhereAlpnChoseHttp11FailsTheConnectClearly() throws Exception {
    try (H2TestServer server = H2TestServer.tls(leaf, ApplicationProtocolNames.HTTP_1_1);
        H2Client client = new H2Client(Http2UpstreamLimits.defaults())) {
      H2Client.Recording r = client.send(new Endpoint("127.0.0.1", server.port()),
          clientTls(ApplicationProtocolNames.HTTP_2, ApplicationProtocolNames.HTTP_1_1), "localhost",
          H2Client.Request.get("/"), true);

      assertThatThrownBy(() -> r.ending.get(30, TimeUnit.SECONDS)).cause()
          .isInstanceOf(SSLHandshakeException.class)
          .hasMessage("upstream 127.0.0.1:" + server.port() + ": ALPN chose http/1.1 (expected: h2)");
      assertThat(client.stats.get(ProxyStats.UPSTREAM_CX_CONNECT_FAIL)).isEqualTo(1);

      SslContext noH2 = clientTls(ApplicationProtocolNames.HTTP_1_1);
      assertThatThrownBy(() -> client.onLoop(() -> client.acquire(new Endpoint("127.0.0.1", server.port()),
          noH2, null, c -> { }, e -> { }))).cause().isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("ALPN [http/1.1] (expected: h2 among them)");
    }
  }

  @Test
  void aRefusedConnectFailsEveryWaiter() throws Exception {
    try (H2Client client = new H2Client(Http2UpstreamLimits.defaults())) {
      Endpoint nobody = new Endpoint("127.0.0.1", Ports.free());
      CompletableFuture<Throwable> a = new CompletableFuture<>();
      CompletableFuture<Throwable> b = new CompletableFuture<>();
      client.onLoop(() -> { // in one go: a refused connect on loopback can fail before the loop's next task
        client.acquire(nobody, null, null, c -> { }, a::complete);
        client.acquire(nobody, null, null, c -> { }, b::complete);
        return null;
      });
      assertThat(a.get(30, TimeUnit.SECONDS)).isInstanceOf(ConnectException.class);
      assertThat(b.get(30, TimeUnit.SECONDS)).isInstanceOf(ConnectException.class);
      assertThat(client.stats.get(ProxyStats.UPSTREAM_CX_CONNECT_FAIL)).isEqualTo(1); // one connect for both
      assertThat(client.breakers.connections()).as("the failed connect no longer counts").isZero();
      assertThat(client.breakers.pending()).isZero();
    }
  }

  @Test
  void aCancelledAcquireIsNotCalledBackAndTheConnectServesLaterRequests() throws Exception {
    try (H2TestServer server = H2TestServer.tls(leaf, ApplicationProtocolNames.HTTP_2);
        H2Client client = new H2Client(Http2UpstreamLimits.defaults())) {
      Endpoint ep = new Endpoint("127.0.0.1", server.port());
      SslContext ssl = clientTls(ApplicationProtocolNames.HTTP_2);
      AtomicBoolean called = new AtomicBoolean();
      client.onLoop(() -> {
        Http2UpstreamPool.Pending p = client.acquire(ep, ssl, "localhost", c -> called.set(true),
            e -> called.set(true));
        assertThat(p).isNotSameAs(Http2UpstreamPool.Pending.NONE); // the TLS handshake is still ahead
        p.cancel();
        return null;
      });
      await().atMost(WAIT).until(() -> client.onLoop(() -> client.pool.connections(ep).size()) == 1);
      assertThat(called).isFalse();

      H2Client.Recording r = client.send(ep, ssl, "localhost", H2Client.Request.get("/"), true);
      assertThat(r.ending.get(30, TimeUnit.SECONDS)).isEqualTo("end");
      assertThat(server.connections.get()).isEqualTo(1);
    }
  }

  /**
   * DestinationRule {@code tcp.maxConnections: 1} and {@code http1MaxPendingRequests: 1} against an upstream that
   * takes 2 streams: a third request waits for the one connection (none is opened), a fourth is refused at once, a
   * cancelled waiter gives its place back, and the waiter is served on that connection once a stream ended.
   */
  @Test
  void overMaxConnectionsARequestWaitsForAStreamAndPendingOnesOverTheLimitAreRefused() throws Exception {
    TrafficPolicy.ConnectionPool pool = pool(1, 1, 0, Duration.ofHours(1));
    try (H2TestServer server = H2TestServer.plain(2L);
        H2Client client = new H2Client(Http2UpstreamLimits.defaults())) {
      Endpoint ep = new Endpoint("127.0.0.1", server.port());
      H2Client.Recording first = client.send(ep, pool, H2Client.Request.get("/"));
      assertThat(first.ending.get(30, TimeUnit.SECONDS)).isEqualTo("end");
      Http2UpstreamConnection a = first.connection;
      await().atMost(WAIT).until(() -> client.onLoop(() -> a.settingsReceived() && a.activeStreams() == 0));
      H2Client.Recording h1 = client.send(ep, pool, H2Client.Request.get("/hold"));
      H2Client.Recording h2 = client.send(ep, pool, H2Client.Request.get("/hold"));
      await().atMost(WAIT).until(() -> server.requests.get() == 3);

      H2Client.Recording cancelled = client.send(ep, pool, H2Client.Request.get("/hold"));
      assertThat(cancelled.pending).isNotSameAs(Http2UpstreamPool.Pending.NONE);
      assertThat(client.breakers.pending()).isEqualTo(1);
      H2Client.Recording refused = client.send(ep, pool, H2Client.Request.get("/hold"));
      assertThatThrownBy(() -> refused.ending.get(30, TimeUnit.SECONDS)).cause()
          .isInstanceOf(PendingOverflowException.class).hasMessageContaining("http1MaxPendingRequests");
      client.onLoop(() -> {
        cancelled.pending.cancel();
        return null;
      });
      assertThat(client.breakers.pending()).as("given back by cancel").isZero();
      H2Client.Recording waiter = client.send(ep, pool, H2Client.Request.get("/hold"));
      assertThat(waiter.pending).isNotSameAs(Http2UpstreamPool.Pending.NONE);

      server.releaseHolds();
      assertThat(h1.ending.get(30, TimeUnit.SECONDS)).isEqualTo("end");
      assertThat(h2.ending.get(30, TimeUnit.SECONDS)).isEqualTo("end");
      await().atMost(WAIT).until(() -> server.requests.get() == 4);
      server.releaseHolds();
      assertThat(waiter.ending.get(30, TimeUnit.SECONDS)).isEqualTo("end");
      assertThat(waiter.connection).isSameAs(a);
      assertThat(cancelled.ending).isNotDone();
      assertThat(server.connections.get()).isEqualTo(1);
      assertThat(client.breakers.connections()).isEqualTo(1);
      assertThat(client.breakers.pending()).isZero();
      assertThat(client.stats.get(ProxyStats.UPSTREAM_CX_OVERFLOW)).isEqualTo(2);
      assertThat(client.stats.get(ProxyStats.UPSTREAM_RQ_PENDING_OVERFLOW)).isEqualTo(1);
    }
  }

  /**
   * {@code maxRequestsPerConnection: 2} and {@code idleTimeout}: the third request goes on a new connection, the
   * first closes once its two streams ended, the second when idle, and each leaves the cluster's connection count;
   * a request of a cluster without the setting never shares their connections.
   */
  @Test
  void maxRequestsPerConnectionAndIdleTimeoutOfTheDestinationRule() throws Exception {
    TrafficPolicy.ConnectionPool pool = pool(Integer.MAX_VALUE, Integer.MAX_VALUE, 2, Duration.ofMillis(500));
    try (H2TestServer server = H2TestServer.plain(null);
        H2Client client = new H2Client(Http2UpstreamLimits.defaults())) {
      Endpoint ep = new Endpoint("127.0.0.1", server.port());
      List<H2Client.Recording> rs = new ArrayList<>();
      for (int i = 0; i < 3; i++) {
        H2Client.Recording r = client.send(ep, pool, H2Client.Request.get("/"));
        assertThat(r.ending.get(30, TimeUnit.SECONDS)).isEqualTo("end");
        rs.add(r);
      }
      H2Client.Recording other = client.send(ep, null, null, H2Client.Request.get("/"), true);
      assertThat(other.ending.get(30, TimeUnit.SECONDS)).isEqualTo("end");

      assertThat(rs.get(1).connection).isSameAs(rs.get(0).connection);
      assertThat(rs.get(2).connection).isNotSameAs(rs.get(0).connection);
      assertThat(other.connection).isNotIn(rs.get(0).connection, rs.get(2).connection);
      assertThat(rs.get(0).connection.closeFuture().await(30, TimeUnit.SECONDS)).isTrue();
      assertThat(rs.get(2).connection.closeFuture().await(30, TimeUnit.SECONDS)).isTrue();
      await().atMost(WAIT).until(() -> client.breakers.connections() == 1); // the one without the setting
      await().atMost(WAIT).until(() -> server.goAwaysReceived.equals(List.of(0L, 0L))); // both closed gracefully
      assertThat(client.stats.get(ProxyStats.UPSTREAM_CX_MAX_REQUESTS)).isEqualTo(1);
      assertThat(client.stats.get(ProxyStats.UPSTREAM_CX_IDLE_TIMEOUT)).isEqualTo(1);
      assertThat(other.connection.channel().isActive()).isTrue();
    }
  }

  private static TrafficPolicy.ConnectionPool pool(int maxConnections, int maxPending, int perConnection,
      Duration idle) {
    TrafficPolicy.ConnectionPool d = TrafficPolicy.ConnectionPool.DEFAULT;
    return new TrafficPolicy.ConnectionPool(maxConnections, d.connectTimeout(), d.tcpKeepalive(), maxPending,
        d.http2MaxRequests(), perConnection, d.maxRetries(), idle, d.h2UpgradePolicy(), d.useClientProtocol());
  }

  @Test
  void requestsBeyondMaxPendingAreRefusedAsOverflow() throws Exception {
    try (H2TestServer server = H2TestServer.plain(null);
        H2Client client = new H2Client(Http2UpstreamLimits.defaults())) {
      Endpoint ep = new Endpoint("127.0.0.1", server.port());
      AtomicInteger ready = new AtomicInteger();
      CompletableFuture<Throwable> overflow = new CompletableFuture<>();
      client.onLoop(() -> {
        for (int i = 0; i <= Http2UpstreamPool.MAX_PENDING; i++) {
          client.acquire(ep, null, null, c -> ready.incrementAndGet(), overflow::complete);
        }
        return null;
      });
      assertThat(overflow.get(30, TimeUnit.SECONDS)).isInstanceOf(PendingOverflowException.class)
          .hasMessageContaining("1024 requests already wait for a connection");
      await().atMost(WAIT).until(() -> ready.get() == Http2UpstreamPool.MAX_PENDING);
      assertThat(client.stats.get(ProxyStats.UPSTREAM_RQ_PENDING_OVERFLOW)).isEqualTo(1);
    }
  }
}
