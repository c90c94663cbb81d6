package io.portcullis.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.grpc.Channel;
import io.grpc.ClientCall;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Status;
import io.portcullis.testing.GatewayProcess;
import io.portcullis.testing.GrpcBackend;
import io.portcullis.testing.GrpcClients;
import io.portcullis.testing.GrpcEcho;
import io.portcullis.testing.Ports;
import io.portcullis.testing.Proc;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Properties;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 13, point 7 ("a slow consumer that must not grow the gateway's heap (streams 1 GiB through it under
 * {@code -Xmx256m})"), which tests point 1's flow control tied to the upstream and point 3's streaming backpressure:
 * the gateway runs in a child JVM ({@link GatewayProcess}, {@code -Xmx256m}, so direct memory is capped at 256 MiB
 * too, and {@code -XX:+ExitOnOutOfMemoryError}); a grpc-java client with a fixed 1 MiB window reads a 1 GiB
 * server stream (1024 messages of 1 MiB from {@link GrpcBackend}) one message at a time, stalls after 16 messages
 * until the backend has been stopped by flow control, then reads on with a pause per message. Every byte must
 * arrive, the backend must stay stopped while the reader stalls (what is in flight stays bounded), and the child must
 * live with its heap after a full collection, and its direct memory, well below 256 MiB.
 */
class GrpcSlowConsumerIT {
  static final int MIB = 1024 * 1024;
  /**
   * What may be in flight beyond what the reader took while it stalls, in 1 MiB messages: the client's 1 MiB window,
   * the gateway's windows and buffers, the backend's send buffer; not the stream. (One, through the gateway of
   * issue 13; nginx {@code grpc_pass} stays within it too.)
   */
  static final int MAX_IN_FLIGHT_MESSAGES = 32;
  /** "Well below" the child's 256 MiB: a quarter of it (the gateway of issue 13: 17 MiB heap, 4 MiB direct). */
  static final long MEMORY_BOUND = 64L * MIB;

  @TempDir static Path tmp;
  static GrpcBackend backend;
  static GatewayProcess child;
  static int http;
  static ManagedChannel viaGateway;
  static ManagedChannel direct;
  static ScheduledExecutorService reader;

  @BeforeAll
  static void start() throws Exception {
    backend = GrpcBackend.start();
    http = Ports.free();
    Path config = Files.createDirectories(tmp.resolve("config"));
    Files.writeString(config.resolve("config.yaml"), """
        apiVersion: networking.istio.io/v1
        kind: Gateway
        metadata: {name: gw}
        spec:
          servers:
          - port: {number: %1$d, name: http, protocol: HTTP}
            hosts: ["*"]
        ---
        apiVersion: networking.istio.io/v1
        kind: ServiceEntry
        metadata: {name: echo}
        spec:
          hosts: [echo.grpc.internal]
          ports: [{number: 50051, name: grpc, protocol: GRPC, targetPort: %2$d}]
          resolution: STATIC
          endpoints: [{address: 127.0.0.1}]
        ---
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata: {name: echo}
        spec:
          hosts: ["*"]
          gateways: [gw]
          http:
          - route: [{destination: {host: echo.grpc.internal, port: {number: 50051}}}]
        """.formatted(http, backend.port()));
    child = GatewayProcess.start(config, tmp.resolve("state"), tmp.resolve("child"), "256m");
    await().atMost(Duration.ofSeconds(10)).until(() -> Ports.listening(http));
    viaGateway = GrpcClients.slowReader(http, "grpc.example");
    direct = GrpcClients.slowReader(backend.port(), "echo.grpc.internal");
    reader = Executors.newSingleThreadScheduledExecutor();
  }

  @AfterAll
  static void stop() {
    GrpcClients.closeAll(viaGateway, direct);
    if (reader != null) {
      reader.shutdownNow();
    }
    if (child != null) {
      System.out.println("gateway child output:\n" + child.output()); // kept in the Failsafe report
      child.close();
    }
    if (backend != null) {
      backend.close();
    }
  }

  @Test
  void aSlowReaderOfOneGibibyteThroughTheGatewayDoesNotGrowItsMemory() throws Exception {
    String id = UUID.randomUUID().toString();
    SlowRead read = new SlowRead(viaGateway, id, 1024, MIB, 16, Duration.ofMillis(3));
    read.stalled.get(60, TimeUnit.SECONDS);
    assertThat(read.closed.getNow(null)).as("the call ended before the reader stalled").isNull();
    GrpcBackend.Call seen = stoppedByFlowControl(id, 16);
    child.collectGarbage(); // the most the gateway holds: the backend is stopped, the reader takes nothing
    read.resume();
    Status status = read.closed.get(5, TimeUnit.MINUTES);
    child.collectGarbage();
    Properties memory = child.memory();
    System.out.println("child memory (bytes): " + memory + "\njcmd GC.heap_info:\n" + heapInfo(child.pid()));
    assertThat(status.isOk()).as("%s", status).isTrue();
    assertThat(read.messages.get()).isEqualTo(1024);
    assertThat(read.bytes.get()).isEqualTo(1024L * MIB);
    assertThat(read.mismatches.get()).as("messages with wrong bytes").isZero();
    assertThat(seen.messagesSent()).isEqualTo(1024);
    assertThat(child.alive()).as("the gateway child is alive").isTrue();
    assertThat(child.output()).doesNotContain("OutOfMemoryError").doesNotContain("OutOfDirectMemoryError");
    assertThat(child.memory("heapAfterRequestedGcMax")).as("heap after a full GC").isPositive()
        .isLessThan(MEMORY_BOUND);
    assertThat(child.memory("directMax")).as("direct memory").isLessThan(MEMORY_BOUND);
  }

  /** The fixture of the test above, straight at the backend: the reader stalls it, then takes every byte. */
  @Test
  void directToBackendASlowReaderStopsTheBackendAndGetsEveryByte() throws Exception {
    String id = UUID.randomUUID().toString();
    SlowRead read = new SlowRead(direct, id, 64, MIB, 16, Duration.ofMillis(3));
    read.stalled.get(60, TimeUnit.SECONDS);
    assertThat(read.closed.getNow(null)).as("the call ended before the reader stalled").isNull();
    GrpcBackend.Call seen = stoppedByFlowControl(id, 16);
    read.resume();
    Status status = read.closed.get(2, TimeUnit.MINUTES);
    assertThat(status.isOk()).as("%s", status).isTrue();
    assertThat(read.bytes.get()).isEqualTo(64L * MIB);
    assertThat(read.mismatches.get()).isZero();
    assertThat(seen.messagesSent()).isEqualTo(64);
  }

  /** The fixture's other half: the child runs with the heap limit asked for and reports its memory on request. */
  @Test
  void theGatewayChildReportsItsMemory() throws Exception {
    child.collectGarbage();
    System.out.println("idle gateway child memory (bytes): " + child.memory());
    assertThat(child.alive()).isTrue();
    assertThat(child.memory("heapMax")).isBetween(200L * MIB, 257L * MIB);
    assertThat(child.memory("heapAfterRequestedGcMax")).isPositive().isLessThan(MEMORY_BOUND);
    assertThat(child.memory("heapAfterGcMax")).isPositive();
    assertThat(child.memory("directMax")).isNotNegative();
    assertThat(child.gcLog()).contains("Pause Full (System.gc())");
  }

  /** Returns {@code jcmd PID GC.heap_info}, for the report only: the assertions read {@link GatewayProcess#memory}. */
  static String heapInfo(long pid) {
    try {
      return Proc.run(30, "jcmd", Long.toString(pid), "GC.heap_info").stdout();
    } catch (Exception e) {
      return "(jcmd: " + e + ")";
    }
  }

  /**
   * Waits until the backend's stream {@code id} was stopped by flow control, then checks that, for 2 s, it sends no
   * more than {@value #MAX_IN_FLIGHT_MESSAGES} messages beyond the {@code taken} the reader took.
   */
  static GrpcBackend.Call stoppedByFlowControl(String id, int taken) {
    GrpcBackend.Call seen = await().atMost(Duration.ofSeconds(10)).until(() -> backend.calls(id).stream()
        .findFirst().orElse(null), c -> c != null);
    await().atMost(Duration.ofSeconds(30)).until(() -> seen.flowControlPauses() > 0);
    await().during(Duration.ofSeconds(2)).atMost(Duration.ofSeconds(5))
        .until(() -> seen.messagesSent() <= taken + MAX_IN_FLIGHT_MESSAGES);
    System.out.println("stalled after " + taken + " messages: the backend had sent " + seen.messagesSent());
    return seen;
  }

  /**
   * A {@link GrpcEcho#SERVER_STREAM} call read with manual flow control: one message asked for at a time, the next
   * {@code pause} after the previous arrived; after {@code stallAt} messages nothing more is asked for until
   * {@link #resume()}. Checks the first and last byte of each message against the pattern.
   */
  static final class SlowRead {
    final CompletableFuture<Void> stalled = new CompletableFuture<>();
    final CompletableFuture<Status> closed = new CompletableFuture<>();
    final AtomicInteger messages = new AtomicInteger();
    final AtomicLong bytes = new AtomicLong();
    final AtomicInteger mismatches = new AtomicInteger();
    private final ClientCall<byte[], byte[]> call;

    SlowRead(Channel channel, String testId, int count, int size, int stallAt, Duration pause) {
      Channel ch = GrpcClients.capturing(channel, GrpcClients.metadata("x-test-id", testId)).channel();
      call = ch.newCall(GrpcEcho.SERVER_STREAM, GrpcClients.deadline(Duration.ofMinutes(5)));
      call.start(new ClientCall.Listener<>() {
        @Override
        public void onMessage(byte[] m) {
          int i = messages.getAndIncrement();
          bytes.addAndGet(m.length);
          if (m.length != size || m[0] != GrpcEcho.patternByte(i, 0)
              || m[size - 1] != GrpcEcho.patternByte(i, size - 1)) {
            mismatches.incrementAndGet();
          }
          if (i + 1 == stallAt) {
            stalled.complete(null);
          } else {
            reader.schedule(() -> call.request(1), pause.toNanos(), TimeUnit.NANOSECONDS);
          }
        }

        @Override
        public void onClose(Status status, Metadata trailers) {
          stalled.complete(null);
          closed.complete(status);
        }
      }, new Metadata());
      call.sendMessage(GrpcEcho.streamRequest(count, size));
      call.halfClose();
      call.request(1);
    }

    void resume() {
      call.request(1);
    }
  }
}
