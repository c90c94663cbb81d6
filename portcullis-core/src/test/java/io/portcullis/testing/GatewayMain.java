package io.portcullis.testing;

import com.sun.management.GarbageCollectionNotificationInfo;
import io.netty.util.internal.PlatformDependent;
import io.portcullis.Portcullis;
import io.portcullis.proxy.AccessLog;
import io.portcullis.proxy.Transport;
import java.lang.management.BufferPoolMXBean;
import java.lang.management.GarbageCollectorMXBean;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryType;
import java.lang.management.MemoryUsage;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Collectors;
import javax.management.NotificationEmitter;
import javax.management.openmbean.CompositeData;

/**
 * The gateway as a child JVM of a test ({@link GatewayProcess} starts it), for tests that need its memory on its own:
 * {@code GatewayMain <configDir> <stateDir> <statusDir>} starts a gateway on {@code configDir} (namespace
 * {@code istio-system}, one event loop, no access log, admin on a free port), writes {@code statusDir/ready} once it
 * is ready, and then every 50 ms {@code statusDir/memory.properties} (written atomically):
 *
 * <ul>
 *   <li>{@code heapAfterGcMax}: the most heap in use after any collection so far, in bytes (GC notifications);
 *   <li>{@code heapAfterRequestedGcMax}: the most heap in use after a full collection a test asked for, in bytes;
 *   <li>{@code gcRequestsServed}: how many such requests were served (a test asks by creating
 *       {@code statusDir/gc-request-N}, N counting from 1);
 *   <li>{@code directMax}: the most direct memory in use at a sample, in bytes: the JDK's {@code direct} buffer pool
 *       plus what Netty allocates without a cleaner;
 *   <li>{@code heapMax}: the JVM's {@code -Xmx}, in bytes.
 * </ul>
 *
 * Runs until killed.
 */
public final class GatewayMain {
  private static final AtomicLong heapAfterGcMax = new AtomicLong();
  private static final AtomicLong heapAfterRequestedGcMax = new AtomicLong();
  private static final AtomicLong directMax = new AtomicLong();

  private GatewayMain() {}

  /** Runs the gateway: {@code args} are the config, state and status directories; never returns. */
  public static void main(String[] args) throws Exception {
    Path config = Path.of(args[0]);
    Path state = Path.of(args[1]);
    Path status = Path.of(args[2]);
    watchCollections();
    Portcullis gateway = Portcullis.start(new Portcullis.Options(List.of(config), "istio-system", 0, "127.0.0.1",
        new InetSocketAddress("127.0.0.1", 0), AccessLog.disabled(), 1, Transport.AUTO, state,
        Duration.ofSeconds(1)));
    Runtime.getRuntime().addShutdownHook(new Thread(gateway::close, "gateway-shutdown"));
    while (!gateway.ready()) {
      Thread.sleep(20);
    }
    write(status.resolve("ready"), "admin=" + gateway.adminAddress().getPort() + "\n");
    List<BufferPoolMXBean> pools = ManagementFactory.getPlatformMXBeans(BufferPoolMXBean.class);
    int served = 0;
    while (true) {
      long direct = Math.max(0, PlatformDependent.usedDirectMemory());
      for (BufferPoolMXBean p : pools) {
        if (p.getName().equals("direct")) {
          direct += p.getMemoryUsed();
        }
      }
      directMax.accumulateAndGet(direct, Math::max);
      if (Files.exists(status.resolve("gc-request-" + (served + 1)))) {
        System.gc();
        heapAfterRequestedGcMax.accumulateAndGet(ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed(),
            Math::max);
        served++;
      }
      write(status.resolve("memory.properties"), "heapAfterGcMax=" + heapAfterGcMax.get()
          + "\nheapAfterRequestedGcMax=" + heapAfterRequestedGcMax.get() + "\ngcRequestsServed=" + served
          + "\ndirectMax=" + directMax.get() + "\nheapMax=" + Runtime.getRuntime().maxMemory() + "\n");
      Thread.sleep(50);
    }
  }

  /** Tracks the heap in use after each collection, summed over the heap pools. */
  private static void watchCollections() {
    Set<String> heapPools = ManagementFactory.getMemoryPoolMXBeans().stream()
        .filter(p -> p.getType() == MemoryType.HEAP).map(p -> p.getName()).collect(Collectors.toSet());
    for (GarbageCollectorMXBean gc : ManagementFactory.getGarbageCollectorMXBeans()) {
      ((NotificationEmitter) gc).addNotificationListener((n, h) -> {
        if (!n.getType().equals(GarbageCollectionNotificationInfo.GARBAGE_COLLECTION_NOTIFICATION)) {
          return;
        }
        Map<String, MemoryUsage> after = GarbageCollectionNotificationInfo.from((CompositeData) n.getUserData())
            .getGcInfo().getMemoryUsageAfterGc();
        long used = after.entrySet().stream().filter(e -> heapPools.contains(e.getKey()))
            .mapToLong(e -> e.getValue().getUsed()).sum();
        heapAfterGcMax.accumulateAndGet(used, Math::max);
      }, null, null);
    }
  }

  private static void write(Path file, String text) throws Exception {
    Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
    Files.writeString(tmp, text, StandardCharsets.UTF_8);
    Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
  }
}
