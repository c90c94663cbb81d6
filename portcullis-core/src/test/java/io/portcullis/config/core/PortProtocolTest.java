package io.portcullis.config.core;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** Istio's protocol selection for a Service port: appProtocol first, then the name or its prefix. */
class PortProtocolTest {
  @ParameterizedTest
  @CsvSource(nullValues = "null", value = {
      "TCP, null, http, HTTP",
      "TCP, null, http-web, HTTP",
      "TCP, null, HTTP2-api, HTTP2",
      "null, null, grpc, GRPC",
      "TCP, null, grpc-echo, GRPC",
      "TCP, null, grpc-web, GRPC-WEB",
      "TCP, null, grpc-web-ui, GRPC-WEB",
      "TCP, null, tls-passthrough, TLS",
      "TCP, null, tcp-db, TCP",
      "TCP, null, https, HTTPS",
      "TCP, null, web, ''",
      "TCP, null, null, ''",
      "TCP, null, httpx, ''",
      "TCP, grpc, web, GRPC",
      "TCP, kubernetes.io/h2c, http, HTTP2",
      "TCP, kubernetes.io/ws, grpc, HTTP",
      "TCP, kubernetes.io/wss, http, HTTPS",
      "TCP, http2, tcp-x, HTTP2",
      "TCP, example.com/custom, grpc, ''",
      "UDP, null, http, UDP",
  })
  void appProtocolThenThePortName(String transport, String appProtocol, String name, String expected) {
    assertThat(PortProtocol.of(transport, appProtocol, name)).isEqualTo(expected);
  }
}
