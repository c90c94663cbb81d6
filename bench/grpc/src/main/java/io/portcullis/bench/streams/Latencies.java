package io.portcullis.bench.streams;

import java.util.concurrent.atomic.AtomicLongArray;

/**
 * A log-linear latency histogram in microseconds, safe for concurrent recording from event loops: exact below
 * 1,024 µs, then 512 buckets per power of two (0.2 % resolution) up to about 12 days. Quantiles report a bucket's
 * lower bound.
 */
final class Latencies {
  private static final int LINEAR = 1024;
  private static final int SUB = 512;
  private static final int SUB_BITS = 9;
  private static final int OCTAVES = 30;
  private final AtomicLongArray counts = new AtomicLongArray(LINEAR + OCTAVES * SUB);

  /** Records one latency of {@code nanos} nanoseconds (negative counts as 0). */
  void record(long nanos) {
    counts.incrementAndGet(index(Math.max(0, nanos / 1000)));
  }

  private static int index(long micros) {
    if (micros < LINEAR) {
      return (int) micros;
    }
    int exp = 63 - Long.numberOfLeadingZeros(micros); // >= 10
    int octave = Math.min(exp - 10, OCTAVES - 1);
    int sub = (int) ((micros >>> (exp - SUB_BITS)) & (SUB - 1));
    return LINEAR + octave * SUB + sub;
  }

  private static long lowerBound(int index) {
    if (index < LINEAR) {
      return index;
    }
    int octave = (index - LINEAR) / SUB;
    int sub = (index - LINEAR) % SUB;
    int exp = octave + 10;
    return (1L << exp) + ((long) sub << (exp - SUB_BITS));
  }

  long count() {
    long n = 0;
    for (int i = 0; i < counts.length(); i++) {
      n += counts.get(i);
    }
    return n;
  }

  /** Returns quantile {@code q} (0..1] in milliseconds, 0 when nothing was recorded. */
  double quantileMillis(double q) {
    long n = count();
    if (n == 0) {
      return 0;
    }
    long rank = Math.max(1, (long) Math.ceil(q * n));
    long seen = 0;
    for (int i = 0; i < counts.length(); i++) {
      seen += counts.get(i);
      if (seen >= rank) {
        return lowerBound(i) / 1000.0;
      }
    }
    return lowerBound(counts.length() - 1) / 1000.0;
  }

  double maxMillis() {
    for (int i = counts.length() - 1; i >= 0; i--) {
      if (counts.get(i) > 0) {
        return lowerBound(i) / 1000.0;
      }
    }
    return 0;
  }
}
