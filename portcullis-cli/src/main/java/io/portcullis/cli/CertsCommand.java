package io.portcullis.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.portcullis.admin.AdminToken;
import java.io.IOException;
import java.io.PrintWriter;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.ScopeType;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/**
 * {@code portcullis certs}: the managed Certificates of a running gateway, read from its admin server's
 * {@code /certs}, as a table like {@code kubectl get certificate -o wide}; {@code portcullis certs renew NAME} forces a
 * renewal (like {@code cmctl renew}), sending the admin token from the same {@code --state} /
 * {@code --admin-token-file} as {@code portcullis run} uses, and a {@code Host} the admin server accepts.
 */
@Command(name = "certs", mixinStandardHelpOptions = true,
    description = "List the Certificates a running gateway manages (NAMESPACE, NAME, READY, SECRET, ISSUER, NOT AFTER, "
        + "RENEWAL, STATUS), from its admin server.",
    subcommands = CertsCommand.Renew.class)
final class CertsCommand implements Callable<Integer> {
  @Option(names = "--admin", paramLabel = "ADDR:PORT", defaultValue = "127.0.0.1:15000", scope = ScopeType.INHERIT,
      description = "The gateway's admin server (its --admin; 0.0.0.0 and [::] mean this host's loopback). "
          + "Default: ${DEFAULT-VALUE}.")
  String admin;

  /** The running gateway's {@code --state} and {@code --admin-token-file}, defaulted as {@code run} does. */
  @Mixin
  StateOptions stateOptions = new StateOptions();

  @Spec
  CommandSpec spec;

  @Override
  public Integer call() throws Exception {
    JsonNode root = new ObjectMapper().readTree(get(admin, "/certs"));
    List<String[]> rows = new ArrayList<>();
    rows.add(new String[] {"NAMESPACE", "NAME", "READY", "SECRET", "ISSUER", "NOT AFTER", "RENEWAL", "STATUS"});
    for (JsonNode c : root.path("certificates")) {
      JsonNode ready = c.path("status").path("conditions").path(0);
      String status = ready.path("message").asText("") + " (" + ready.path("reason").asText("") + ")";
      for (JsonNode cond : c.path("status").path("conditions")) {
        if (cond.path("type").asText().equals("Issuing")) {
          status += "; Issuing: " + cond.path("reason").asText("");
        }
      }
      rows.add(new String[] {c.path("namespace").asText(), c.path("name").asText(), ready.path("status").asText(),
          c.path("secret_name").asText(), c.path("issuer_ref").asText(), c.path("status").path("notAfter").asText("-"),
          c.path("status").path("renewalTime").asText("-"), status});
    }
    print(spec.commandLine().getOut(), rows);
    return 0;
  }

  /** Prints columns padded to their widest cell, separated by three spaces, as kubectl does. */
  static void print(PrintWriter out, List<String[]> rows) {
    int[] width = new int[rows.get(0).length];
    for (String[] r : rows) {
      for (int i = 0; i < r.length - 1; i++) {
        width[i] = Math.max(width[i], r[i].length());
      }
    }
    for (String[] r : rows) {
      StringBuilder b = new StringBuilder();
      for (int i = 0; i < r.length; i++) {
        b.append(r[i]);
        if (i < r.length - 1) {
          b.append(" ".repeat(width[i] - r[i].length() + 3));
        }
      }
      out.println(b.toString().stripTrailing());
    }
    out.flush();
  }

  static String get(String admin, String path) throws IOException, InterruptedException {
    return send(admin, HttpRequest.newBuilder(uri(admin, path)).GET());
  }

  private static String send(String admin, HttpRequest.Builder req) throws IOException, InterruptedException {
    HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    HttpResponse<String> resp;
    try {
      resp = http.send(req.timeout(Duration.ofSeconds(60)).build(), HttpResponse.BodyHandlers.ofString());
    } catch (IOException e) {
      throw new IOException("cannot reach the admin server at " + admin + " (" + e + "); is the gateway running, "
          + "and is --admin right?", e);
    }
    if (resp.statusCode() != 200) {
      throw new RefusedException(resp.statusCode(), resp.body().strip() + " (HTTP " + resp.statusCode() + ")");
    }
    return resp.body();
  }

  /** The admin server answered, with a status other than 200; the message is its body and the status. */
  static final class RefusedException extends IOException {
    final int status;

    RefusedException(int status, String message) {
      super(message);
      this.status = status;
    }
  }

  private static URI uri(String admin, String path) {
    return URI.create("http://" + authority(admin) + path);
  }

  /**
   * Returns how to reach {@code --admin ADDR:PORT} from here, which is also the {@code Host} the HTTP client sends:
   * a wildcard address ({@code 0.0.0.0}, {@code [::]}, empty) becomes the loopback address, whose {@code Host} the
   * admin server accepts; an IPv6 address gets its brackets.
   */
  static String authority(String admin) {
    int colon = admin.lastIndexOf(':');
    if (colon < 0) {
      throw new IllegalArgumentException("--admin: " + admin + " (expected: ADDR:PORT, e.g. 127.0.0.1:15000)");
    }
    String host = admin.substring(0, colon);
    String port = admin.substring(colon + 1);
    if (host.startsWith("[") && host.endsWith("]")) {
      host = host.substring(1, host.length() - 1);
    }
    if (host.isEmpty() || host.equals("0.0.0.0")) {
      host = "127.0.0.1";
    } else if (host.contains(":") && host.replace("0", "").replace(":", "").isEmpty()) { // ::, 0:0:0:0:0:0:0:0
      host = "::1";
    }
    return (host.contains(":") ? "[" + host + "]" : host) + ":" + port;
  }

  /** {@code portcullis certs renew NAME}: a new issuance now, the old certificate serving until it is stored. */
  @Command(name = "renew", mixinStandardHelpOptions = true,
      description = {"Force the renewal of a Certificate now (like cmctl renew); the current certificate keeps "
          + "serving until the new one is stored.",
          "Sends the admin token from --admin-token-file (default <--state>/admin-token, as 'run'); a second renewal "
          + "of the same Certificate within a minute needs --force."})
  static final class Renew implements Callable<Integer> {
    @Parameters(paramLabel = "NAME", description = "The Certificate's name.")
    String name;

    @Option(names = {"-n", "--namespace"}, paramLabel = "NS", defaultValue = "istio-system",
        description = "The Certificate's namespace. Default: ${DEFAULT-VALUE}.")
    String namespace;

    @Option(names = "--force",
        description = "Renew even if this Certificate was renewed through the admin server less than a minute ago "
            + "(without it, that is refused: each renewal may spend the CA's rate limits).")
    boolean force;

    @ParentCommand
    CertsCommand parent;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws Exception {
      String path = "/certs/renew?namespace=" + URLEncoder.encode(namespace, StandardCharsets.UTF_8) + "&name="
          + URLEncoder.encode(name, StandardCharsets.UTF_8) + (force ? "&force=true" : "");
      AdminToken token = AdminToken.read(parent.stateOptions.adminTokenFile());
      String msg;
      try {
        msg = send(parent.admin, HttpRequest.newBuilder(uri(parent.admin, path))
            .header("Authorization", token.authorization()).POST(HttpRequest.BodyPublishers.noBody()));
      } catch (RefusedException e) {
        if (e.status == 401) { // say which file the refused token came from
          throw new IOException(e.getMessage() + "; sent the token in " + token.file() + " (expected: the "
              + "--state or --admin-token-file the gateway runs with)", e);
        }
        throw e;
      }
      spec.commandLine().getOut().print(msg);
      spec.commandLine().getOut().flush();
      return 0;
    }
  }
}
