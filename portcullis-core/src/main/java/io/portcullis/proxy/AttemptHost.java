package io.portcullis.proxy;

import io.netty.channel.Channel;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.portcullis.proxy.lb.ClusterHosts;
import io.portcullis.proxy.lb.HashKey;
import io.portcullis.proxy.lb.Host;
import io.portcullis.routing.Cluster;
import io.portcullis.routing.Endpoint;
import io.portcullis.routing.TrafficPolicy;
import java.util.List;

/**
 * The host of a {@link Forwarding}'s current attempt: picks it (by the request's consistent-hash key, if the cluster
 * hashes; another host than the last attempt's if it can), counts the attempt as a request in flight to it (for least
 * request) until the attempt ends, and reports the attempt's outcome to the cluster's outlier detector once.
 * Remembers the host of the last attempt so a retry can prefer another one. On the exchange's event loop.
 */
final class AttemptHost {
  private ClusterHosts hosts;
  private Host host;
  private Host last;
  private boolean reported;
  /** The request's consistent-hash key, or null (no hash policy, or no key in the request). */
  private HashKey.Result hashKey;

  /** Computes the request's hash key when {@code cluster}'s DestinationRule asks for a consistent hash. */
  void hashKey(Cluster cluster, UpstreamRequest.Context context, Exchange ex) {
    var consistentHash = cluster.policy().loadBalancer().consistentHash();
    if (consistentHash.isPresent()) {
      Channel connection = ex.downstream.connection();
      hashKey = HashKey.of(consistentHash.get(), context.view(), context.remoteIp(),
          Addresses.text(connection.remoteAddress()) + Addresses.text(connection.localAddress()),
          consistentHash.get().key() == TrafficPolicy.LoadBalancer.ConsistentHash.Key.COOKIE ? cookies(ex) : null);
    }
  }

  /** Returns every {@code Cookie} field of the request joined by {@code "; "} (RFC 9113 §8.2.3), or null. */
  private static String cookies(Exchange ex) {
    List<? extends CharSequence> all = ex.h1Request != null ? ex.h1Request.headers().getAll(HttpHeaderNames.COOKIE)
        : ex.h2Request.getAll(HttpHeaderNames.COOKIE);
    if (all.isEmpty()) {
      return null;
    }
    return all.size() == 1 ? all.get(0).toString() : String.join("; ", all);
  }

  /** Returns the {@code Set-Cookie} value an upstream response must carry (a generated hash cookie), or null. */
  String setCookie() {
    return hashKey == null ? null : hashKey.setCookie();
  }

  /**
   * Picks the host of a new attempt to {@code cluster} and counts it in flight (the previous attempt, if still
   * counted, ends); returns its endpoint, or null when no host can take it (all ejected: 503 {@code UH}).
   */
  Endpoint next(UpstreamCalls calls, Cluster cluster) {
    end();
    ClusterHosts hs = calls.hosts(cluster);
    Host h = calls.pick(hs, hashKey == null ? 0 : hashKey.hash(), hashKey != null, last);
    if (h == null) {
      return null;
    }
    hosts = hs;
    host = h;
    last = h;
    reported = false;
    h.requestStarted();
    return h.endpoint();
  }

  /**
   * Reports the current attempt's outcome once: an HTTP status, or the status Envoy maps a failure of the
   * gateway's own to (connect failure or reset 503, timeout 504, protocol error 502).
   */
  void report(int status) {
    if (host != null && !reported) {
      reported = true;
      hosts.report(host, status);
    }
  }

  /** The current attempt ended: its request is no longer in flight. */
  void end() {
    if (host != null) {
      host.requestEnded();
      host = null;
    }
  }
}
