package io.portcullis.proxy.lb;

import java.util.List;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Istio {@code consistentHash.maglev} (Envoy's {@code MAGLEV}, Google's Maglev paper §3.4): a lookup table of
 * {@code tableSize} entries (a prime) filled in turns, each host taking the next free entry of its own permutation
 * ({@code offset = xxHash64(address, 0) mod M}, {@code skip = xxHash64(address, 1) mod (M - 1) + 1}, as Envoy
 * computes them); a request goes to {@code table[hash mod M]}. Each host owns about M/N entries, and adding a host
 * moves about 1/N of the keys. A request without the key goes to a random host, as in Envoy. The table is built once
 * per {@link HealthyHosts} snapshot and shared.
 */
final class Maglev implements LoadBalancer {
  private final int tableSize;

  Maglev(int tableSize) {
    this.tableSize = tableSize;
  }

  @Override
  public Host pick(HealthyHosts hosts, long hash, boolean hashed, long nowNanos) {
    Table t = hosts.table(Table.class, hs -> new Table(hs, tableSize));
    return t.lookup(hashed ? hash : ThreadLocalRandom.current().nextLong());
  }

  /** The filled table. */
  static final class Table {
    private final Host[] entries;

    Table(List<Host> hosts, int size) {
      int n = hosts.size();
      long[] offset = new long[n];
      long[] skip = new long[n];
      long[] next = new long[n];
      for (int i = 0; i < n; i++) {
        String address = hosts.get(i).endpoint().toString();
        offset[i] = Long.remainderUnsigned(XxHash64.hash(address, 0), size);
        skip[i] = Long.remainderUnsigned(XxHash64.hash(address, 1), size - 1) + 1;
      }
      entries = new Host[size];
      int filled = 0;
      while (filled < size) {
        for (int i = 0; i < n && filled < size; i++) {
          int c = (int) ((offset[i] + skip[i] * next[i]) % size);
          while (entries[c] != null) {
            next[i]++;
            c = (int) ((offset[i] + skip[i] * next[i]) % size);
          }
          entries[c] = hosts.get(i);
          next[i]++;
          filled++;
        }
      }
    }

    /** Returns the host of entry {@code hash mod M} (unsigned). */
    Host lookup(long hash) {
      return entries[(int) Long.remainderUnsigned(hash, entries.length)];
    }
  }
}
