package io.portcullis.testing;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.Test;

class PortsTest {
  @Test
  void everyPortIsHandedOutOnceAndNeverFromTheEphemeralRange() throws IOException {
    int ephemeralLow = Integer.parseInt(Files.readAllLines(Path.of("/proc/sys/net/ipv4/ip_local_port_range")).get(0)
        .trim().split("\\s+")[0]);
    Set<Integer> seen = new HashSet<>();
    // Ports the kernel gives out meanwhile (bind to port 0) must never be among them.
    try (ServerSocket kernelChosen = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      for (int i = 0; i < 2_000; i++) {
        int p = Ports.free();
        assertThat(seen.add(p)).as("port %d handed out twice", p).isTrue();
        assertThat(p).isBetween(10_000, ephemeralLow - 1).isNotEqualTo(kernelChosen.getLocalPort());
      }
    }
  }

  @Test
  void aPortHandedOutIsFreeToBind() throws IOException {
    int p = Ports.free();
    try (ServerSocket s = new ServerSocket(p, 1, InetAddress.getLoopbackAddress())) {
      assertThat(s.getLocalPort()).isEqualTo(p);
    }
  }
}
