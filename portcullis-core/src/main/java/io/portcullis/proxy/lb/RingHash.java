package io.portcullis.proxy.lb;

import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Istio {@code consistentHash.ringHash} (Envoy's {@code RING_HASH}, Ketama-style): each host is put on a ring of
 * 64-bit hashes ({@code xxHash64("<address>_<i>")}, as Envoy names the points) and a request goes to the first
 * point at or after its key's hash. Each host gets {@code ceil(minimumRingSize / hosts)} points rounded up to a
 * power of two (unlike Envoy, which does not round): so the ring has at least {@code minimumRingSize} points, and
 * adding or removing a host rarely changes the others' points; then it moves only the keys that fall just before
 * its own points, about 1/N of them; an ejected host's keys go to the next hosts on the ring and come
 * back when it returns. A request without the key goes to a random host, as in Envoy. The ring is built once per
 * {@link HealthyHosts} snapshot and shared.
 */
final class RingHash implements LoadBalancer {
  /** Envoy's {@code maximum_ring_size} default. */
  static final long MAX_RING_SIZE = 8_388_608;
  private final long minimumRingSize;

  RingHash(long minimumRingSize) {
    this.minimumRingSize = Math.max(1, Math.min(minimumRingSize, MAX_RING_SIZE));
  }

  @Override
  public Host pick(HealthyHosts hosts, long hash, boolean hashed, long nowNanos) {
    Ring ring = hosts.table(Ring.class, hs -> new Ring(hs, minimumRingSize));
    return ring.lookup(hashed ? hash : ThreadLocalRandom.current().nextLong());
  }

  /** The points (sign bit flipped, so that a signed order is the unsigned one), sorted, and the host of each. */
  static final class Ring {
    private final long[] points;
    private final Host[] owners;

    Ring(List<Host> hosts, long minimumRingSize) {
      int n = hosts.size();
      long wanted = Math.max(1, (minimumRingSize + n - 1) / n);
      long pow = wanted == Long.highestOneBit(wanted) ? wanted : Long.highestOneBit(wanted) << 1;
      int per = (int) Math.min(Math.max(1, MAX_RING_SIZE / n), pow);
      // Primitive arrays only (a ring may have millions of points): the points in host order, then sorted as
      // unsigned numbers (the sign bit flipped, so a signed sort orders them), then each point's host found back.
      long[] raw = new long[n * per];
      for (int h = 0; h < n; h++) {
        String name = hosts.get(h).endpoint().toString() + "_";
        for (int i = 0; i < per; i++) {
          raw[h * per + i] = XxHash64.hash(name + i) ^ Long.MIN_VALUE;
        }
      }
      long[] sorted = raw.clone();
      Arrays.sort(sorted);
      owners = new Host[sorted.length];
      for (int k = 0; k < raw.length; k++) {
        owners[Arrays.binarySearch(sorted, raw[k])] = hosts.get(k / per);
      }
      for (int i = 1; i < owners.length; i++) {
        if (owners[i] == null) {
          owners[i] = owners[i - 1]; // a point whose hash another has too: equal hashes sit together
        }
      }
      for (int i = owners.length - 2; i >= 0; i--) {
        if (owners[i] == null) {
          owners[i] = owners[i + 1];
        }
      }
      points = sorted;
    }

    /** Returns the host of the first point at or after {@code hash} (unsigned), wrapping around. */
    Host lookup(long hash) {
      long key = hash ^ Long.MIN_VALUE;
      int lo = 0;
      int hi = points.length;
      while (lo < hi) {
        int mid = (lo + hi) >>> 1;
        if (points[mid] < key) {
          lo = mid + 1;
        } else {
          hi = mid;
        }
      }
      return owners[lo == points.length ? 0 : lo];
    }

    /** Returns how many points the ring has. */
    int size() {
      return points.length;
    }
  }
}
