package io.portcullis.admin;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.handler.codec.http.DefaultHttpRequest;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpVersion;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class AdminAccessTest {
  @TempDir Path tmp;

  @ParameterizedTest(name = "Host {0} at {1}:{2}: {3}")
  @CsvSource({
      "localhost,              127.0.0.1, 15000, true",
      "localhost:15000,        127.0.0.1, 15000, true",
      "LocalHost:8080,         127.0.0.1, 15000, true", // kubectl port-forward 8080:15000
      "127.0.0.1:15000,        127.0.0.1, 15000, true",
      "127.0.0.1,              127.0.0.1, 15000, true",
      "127.0.0.2:15000,        127.0.0.1, 15000, true", // loopback literal: nothing to rebind
      "[::1]:15000,            ::1,       15000, true",
      "[::1],                  127.0.0.1, 15000, true",
      "10.0.0.5:15000,         10.0.0.5,  15000, true", // the address the connection arrived on
      "10.0.0.5:15001,         10.0.0.5,  15000, false",
      "10.0.0.5,               10.0.0.5,  15000, false", // port 80 implied
      "10.0.0.6:15000,         10.0.0.5,  15000, false",
      "[fd00::5]:15000,        fd00::5,   15000, true",
      "[fd00::5]:15001,        fd00::5,   15000, false",
      "evil.example,           127.0.0.1, 15000, false",
      "evil.example:15000,     127.0.0.1, 15000, false",
      "localhost.evil.example, 127.0.0.1, 15000, false",
      "127.0.0.1.nip.io:15000, 127.0.0.1, 15000, false",
      "localhost:x,            127.0.0.1, 15000, false",
      "localhost:,             127.0.0.1, 15000, false",
      "localhost:150000,       127.0.0.1, 15000, false",
      "[::1,                   127.0.0.1, 15000, false",
      "[::1]x,                 127.0.0.1, 15000, false",
      "[localhost]:15000,      127.0.0.1, 15000, false",
      "::1,                    127.0.0.1, 15000, false",
      "'',                     127.0.0.1, 15000, false",
  })
  void hostMustNameThisServer(String host, String local, int port, boolean accepted) throws Exception {
    InetSocketAddress at = new InetSocketAddress(InetAddress.getByName(local), port);
    assertThat(AdminAccess.namesServer(host, at)).isEqualTo(accepted);
    HttpRequest req = request(HttpVersion.HTTP_1_1);
    req.headers().set("Host", host);
    Optional<AdminAccess.Refusal> refusal = AdminAccess.checkHost(req, at);
    assertThat(refusal.map(r -> r.status().code())).isEqualTo(accepted ? Optional.empty() : Optional.of(403));
    refusal.ifPresent(r -> assertThat(r.reason()).contains("is not this admin server").contains(local.contains(":")
        ? "[" + local + "]:" + port : local + ":" + port));
  }

  @Test
  void http11WithoutHostOrWithTwoIs400AndHttp10WithoutHostIsServed() {
    InetSocketAddress at = new InetSocketAddress(InetAddress.getLoopbackAddress(), 15000);
    assertThat(AdminAccess.checkHost(request(HttpVersion.HTTP_1_1), at)).hasValueSatisfying(r -> {
      assertThat(r.status().code()).isEqualTo(400);
      assertThat(r.reason()).contains("no Host header").contains("127.0.0.1:15000");
    });
    assertThat(AdminAccess.checkHost(request(HttpVersion.HTTP_1_0), at)).isEmpty();
    HttpRequest two = request(HttpVersion.HTTP_1_0);
    two.headers().add("Host", "localhost").add("Host", "evil.example");
    assertThat(AdminAccess.checkHost(two, at)).hasValueSatisfying(r -> assertThat(r.status().code()).isEqualTo(400));
  }

  @Test
  void aForeignHostIsEchoedPrintableAndShort() {
    HttpRequest req = request(HttpVersion.HTTP_1_1);
    req.headers().set("Host", "evil\u00e9" + "x".repeat(300));
    assertThat(AdminAccess.checkHost(req, new InetSocketAddress(InetAddress.getLoopbackAddress(), 1)))
        .hasValueSatisfying(r -> assertThat(r.reason()).contains("evil?xxx").contains("...").hasSizeLessThan(260));
  }

  @ParameterizedTest(name = "Origin {0}, Authorization {1}: {2}")
  @CsvSource({
      ",                          'Bearer TOKEN',  ",
      ",                          'bearer TOKEN',  ",
      ",                          'Bearer  TOKEN ', ",
      ",                          ,                401",
      ",                          'Bearer WRONG',  401",
      ",                          'Bearer TOKENX', 401",
      ",                          'Bearer ',       401",
      ",                          'Basic TOKEN',   401",
      ",                          TOKEN,           401",
      "http://evil.example,       'Bearer TOKEN',  403",
      "null,                      'Bearer TOKEN',  403",
      "http://127.0.0.1:15000,    'Bearer TOKEN',  403",
  })
  void stateChangesNeedNoOriginAndTheToken(String origin, String authorization, Integer status) throws Exception {
    Path file = tmp.resolve("admin-token");
    Files.writeString(file, "s3cr3t-token\n");
    HttpRequest req = request(HttpVersion.HTTP_1_1);
    if (origin != null) {
      req.headers().set("Origin", origin);
    }
    if (authorization != null) {
      req.headers().set("Authorization", authorization.replace("TOKEN", "s3cr3t-token"));
    }
    Optional<AdminAccess.Refusal> refusal = AdminAccess.checkStateChange(req, AdminToken.read(file));
    assertThat(refusal.map(r -> r.status().code())).isEqualTo(Optional.ofNullable(status));
    refusal.ifPresent(r -> {
      assertThat(r.reason()).doesNotContain("s3cr3t");
      assertThat(r.wwwAuthenticate().isPresent()).isEqualTo(status == 401);
      if (status == 401) {
        assertThat(r.reason()).contains(file.toString());
      }
    });
  }

  private static HttpRequest request(HttpVersion version) {
    return new DefaultHttpRequest(version, HttpMethod.POST, "/certs/renew?namespace=a&name=b");
  }
}
