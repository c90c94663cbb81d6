package io.portcullis.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.portcullis.admin.ApiKind;
import io.portcullis.admin.ApiKinds;
import java.io.IOException;
import java.io.PrintWriter;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/**
 * {@code portcullis get KIND [NAME] [-n NS | -A] [-o wide|yaml|json|name]}: the objects a running gateway computes a
 * {@code status} for (Gateway API kinds, Ingresses), read from its admin server's {@code /apis/...}, printed as
 * {@code kubectl get} prints them: the same KIND forms (plural, singular, short name, {@code kind.group},
 * {@code kind.version.group}, {@code KIND/NAME}), columns, AGE, messages and exit codes.
 */
@Command(name = "get", mixinStandardHelpOptions = true,
    description = {"Show the Gateway API objects and Ingresses a running gateway serves, with the status it computed "
        + "for them, as kubectl get shows them (from its admin server's /apis/...).",
        "KIND: gatewayclasses (gc), gateways (gtw), httproutes, grpcroutes, tlsroutes, referencegrants (refgrant), "
        + "ingresses (ing), ingressclasses; singular, plural, short name, or KIND.GROUP "
        + "(gateways.gateway.networking.k8s.io); KIND/NAME also works."})
final class GetCommand implements Callable<Integer> {
  @Parameters(index = "0", paramLabel = "KIND", description = "What to show: see above.")
  String kindArg;

  @Parameters(index = "1", arity = "0..1", paramLabel = "NAME", description = "One object; all of them without it.")
  String name;

  @Option(names = {"-n", "--namespace"}, paramLabel = "NS", defaultValue = "default",
      description = "The namespace (kubectl's default: ${DEFAULT-VALUE}); ignored for cluster-scoped kinds.")
  String namespace;

  @Option(names = {"-A", "--all-namespaces"}, description = "Every namespace, with a NAMESPACE column.")
  boolean allNamespaces;

  @Option(names = {"-o", "--output"}, paramLabel = "FORMAT",
      description = "wide (the priority-1 columns too), yaml, json (the object, or a v1 List), or name.")
  String output = "";

  @Option(names = "--admin", paramLabel = "ADDR:PORT", defaultValue = "127.0.0.1:15000",
      description = "The gateway's admin server (its --admin; 0.0.0.0 and [::] mean this host's loopback). "
          + "Default: ${DEFAULT-VALUE}.")
  String admin;

  @Spec
  CommandSpec spec;

  Clock clock = Clock.systemUTC();

  private static final ObjectMapper JSON = new ObjectMapper();

  /** A KIND argument resolved: the kind and the version to ask for. */
  record Resolved(ApiKind kind, String version) {}

  @Override
  public Integer call() throws Exception {
    PrintWriter out = spec.commandLine().getOut();
    PrintWriter err = spec.commandLine().getErr();
    String type = kindArg;
    String objectName = name;
    int slash = kindArg.indexOf('/');
    if (slash >= 0) {
      if (name != null) {
        return fail(err, "there is no need to specify a resource type as a separate argument when passing "
            + "arguments in resource/name form (e.g. 'portcullis get resource/<resource_name>' instead of "
            + "'portcullis get resource resource/<resource_name>'");
      }
      type = kindArg.substring(0, slash);
      objectName = kindArg.substring(slash + 1);
    }
    if (!List.of("", "wide", "yaml", "json", "name").contains(output)) {
      return fail(err, "unable to match a printer suitable for the output format \"" + output + "\", allowed "
          + "formats are: json,name,wide,yaml");
    }
    Optional<Resolved> resolved = resolve(type);
    if (resolved.isEmpty()) {
      return fail(err, "the server doesn't have a resource type \"" + typeName(type) + "\"");
    }
    if (allNamespaces && objectName != null) {
      return fail(err, "a resource cannot be retrieved by name across all namespaces");
    }
    ApiKind kind = resolved.get().kind();
    String path = kind.path(resolved.get().version(), allNamespaces ? null : namespace)
        + (objectName == null ? "" : "/" + URLEncoder.encode(objectName, StandardCharsets.UTF_8));
    HttpResponse<String> resp = fetch(path);
    if (resp.statusCode() != 200) {
      JsonNode status = parse(resp.body());
      String message = status.path("message").asText(resp.body().strip());
      String reason = status.path("reason").asText("");
      err.println("Error from server" + (reason.isEmpty() ? "" : " (" + reason + ")") + ": " + message);
      err.flush();
      return 1;
    }
    JsonNode body = parse(resp.body());
    List<JsonNode> objects = new ArrayList<>();
    if (objectName != null) {
      objects.add(body);
    } else {
      body.path("items").forEach(objects::add);
    }
    switch (output) {
      case "json" -> out.print(KubeOutput.json(objectName != null ? body : KubeOutput.list(objects)));
      case "yaml" -> out.print(KubeOutput.yaml(objectName != null ? body : KubeOutput.list(objects)));
      case "name" -> objects.forEach(o -> out.println(kind.singularResource() + "/"
          + o.path("metadata").path("name").asText()));
      default -> {
        if (objects.isEmpty()) {
          err.println(kind.namespaced() && !allNamespaces ? "No resources found in " + namespace + " namespace."
              : "No resources found");
          err.flush();
        } else {
          PrinterColumns.print(out, PrinterColumns.of(kind, output.equals("wide"), allNamespaces, clock.instant()),
              objects);
        }
      }
    }
    out.flush();
    return 0;
  }

  private static int fail(PrintWriter err, String message) {
    err.println("error: " + message);
    err.flush();
    return 1;
  }

  private HttpResponse<String> fetch(String path) throws IOException, InterruptedException {
    HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    HttpRequest req = HttpRequest.newBuilder(URI.create("http://" + CertsCommand.authority(admin) + path))
        .header("Accept", "application/json").timeout(Duration.ofSeconds(60)).GET().build();
    try {
      return http.send(req, HttpResponse.BodyHandlers.ofString());
    } catch (IOException e) {
      throw new IOException("cannot reach the admin server at " + admin + " (" + e + "); is the gateway running, "
          + "and is --admin right?", e);
    }
  }

  private static JsonNode parse(String body) {
    try {
      return JSON.readTree(body);
    } catch (IOException e) {
      return JSON.createObjectNode();
    }
  }

  /** The name kubectl's "doesn't have a resource type" message gives: what comes before the first dot. */
  static String typeName(String arg) {
    int dot = arg.indexOf('.');
    return dot < 0 ? arg : arg.substring(0, dot);
  }

  /**
   * Resolves a KIND argument as kubectl's REST mapper does (case-insensitive): {@code resource.version.group} when
   * that version is served, else {@code resource.group}, else {@code resource}; {@code resource} is a plural, a
   * singular or a short name (a short name only when no kind has that plural or singular). Bare {@code gateway} is
   * the Gateway API's (kubectl picks it over Istio's {@code networking.istio.io} Gateway, whose short name is
   * {@code gw}; that one is not served here).
   */
  static Optional<Resolved> resolve(String arg) {
    String a = arg.toLowerCase(Locale.ROOT);
    String[] parts = a.split("\\.", 3);
    if (parts.length == 3) {
      Optional<ApiKind> k = find(parts[0], parts[2]);
      if (k.isPresent() && k.get().versions().contains(parts[1])) {
        return Optional.of(new Resolved(k.get(), parts[1]));
      }
    }
    int dot = a.indexOf('.');
    Optional<ApiKind> k = dot < 0 ? find(a, null) : find(a.substring(0, dot), a.substring(dot + 1));
    return k.map(kind -> new Resolved(kind, kind.preferredVersion()));
  }

  private static Optional<ApiKind> find(String resource, String group) {
    List<ApiKind> candidates = ApiKinds.all().stream().filter(k -> group == null || k.group().equals(group))
        .toList();
    for (ApiKind k : candidates) {
      if (k.plural().equals(resource) || k.singular().equals(resource)) {
        return Optional.of(k);
      }
    }
    return candidates.stream().filter(k -> k.shortNames().contains(resource)).findFirst();
  }
}
