package io.portcullis.bench.streams;

import java.lang.management.ManagementFactory;

/** CPU time of this process (all threads, user + system), to show whether a load client was itself the limit. */
final class Cpu {
  private Cpu() {}

  /** Nanoseconds of CPU this process has used, or -1 when the JVM cannot tell. */
  static long processNanos() {
    if (ManagementFactory.getOperatingSystemMXBean() instanceof com.sun.management.OperatingSystemMXBean os) {
      return os.getProcessCpuTime();
    }
    return -1;
  }

  /** CPU used since {@code startNanos} (from {@link #processNanos}) over {@code seconds} of wall time, in %. */
  static double percentSince(long startNanos, double seconds) {
    long now = processNanos();
    return startNanos < 0 || now < 0 || seconds <= 0 ? -1 : (now - startNanos) / 1e9 / seconds * 100;
  }
}
