package io.portcullis.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.marcnuri.helm.Helm;
import com.marcnuri.helm.LintResult;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.ContainerPort;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.ServiceAccount;
import io.fabric8.kubernetes.api.model.VolumeMount;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.policy.v1.PodDisruptionBudget;
import io.fabric8.kubernetes.api.model.rbac.ClusterRole;
import io.fabric8.kubernetes.api.model.rbac.ClusterRoleBinding;
import io.fabric8.kubernetes.api.model.rbac.PolicyRule;
import io.fabric8.kubernetes.api.model.rbac.Role;
import io.fabric8.kubernetes.api.model.rbac.RoleBinding;
import io.fabric8.kubernetes.client.utils.KubernetesSerialization;
import io.portcullis.kubernetes.WatchedKind;
import java.io.IOException;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * Validates {@code deploy/kubernetes} and the Helm chart {@code deploy/helm/portcullis}: every object parses strictly
 * into fabric8's model of its kind (an unknown kind or field, or a wrong type, fails: what {@code kubectl apply
 * --validate} would catch, which needs an API server's OpenAPI document that no test machine has), the RBAC rules
 * grant exactly the verbs the gateway uses, the Deployment's arguments parse as {@code portcullis run} flags, its
 * ports, probes and mounts agree with them, and {@code helm template} (Helm's own code, helm-java) of the chart's
 * defaults renders the same objects.
 */
class DeployManifestsTest {
  private static final Path ROOT = Path.of("..").toAbsolutePath().normalize();
  private static final Path MANIFESTS = ROOT.resolve("deploy/kubernetes");
  private static final Path CHART = ROOT.resolve("deploy/helm/portcullis");
  private static final String NS = "portcullis";
  private static final KubernetesSerialization SERIALIZATION = new KubernetesSerialization();
  /** Labels Helm adds that a kubectl-applied object does not carry. */
  private static final Set<String> HELM_LABELS = Set.of("helm.sh/chart", "app.kubernetes.io/managed-by",
      "app.kubernetes.io/version");
  /** Plain scalars YAML 1.1 (kubectl's parser) reads as booleans, unlike fabric8's YAML 1.2 parser. */
  private static final Pattern YAML11_BOOLEAN = Pattern.compile(
      "(?m)^[^#\\n]*?(?::|^\\s*-)\\s+(y|Y|yes|Yes|YES|n|N|no|No|NO|on|On|ON|off|Off|OFF)\\s*(#.*)?$");

  @Test
  void everyManifestIsAKnownKindWithOnlyKnownFields() throws IOException {
    List<HasMetadata> objects = manifests();
    assertThat(objects).extracting(o -> o.getKind() + " " + o.getMetadata().getName()).containsExactly(
        "Namespace portcullis", "ServiceAccount portcullis", "ClusterRole portcullis",
        "ClusterRoleBinding portcullis", "Role portcullis", "RoleBinding portcullis", "Deployment portcullis",
        "Service portcullis", "PodDisruptionBudget portcullis");
    for (HasMetadata o : objects) {
      boolean clusterScoped = Set.of("Namespace", "ClusterRole", "ClusterRoleBinding").contains(o.getKind());
      assertThat(o.getMetadata().getNamespace()).as(o.getKind()).isEqualTo(clusterScoped ? null : NS);
    }
  }

  @Test
  void aBrokenManifestFails() {
    assertThatThrownBy(() -> parse("t.yaml", "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: x\nspec:\n"
        + "  replica: 2\n")).hasMessageContaining("Deployment x: spec.replica: unknown field");
    assertThatThrownBy(() -> parse("t.yaml", "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: x\nspec:\n"
        + "  replicas: two\n")).hasMessageContaining("replicas");
    assertThatThrownBy(() -> parse("t.yaml", "apiVersion: v1\nkind: Servic\nmetadata:\n  name: x\n"))
        .hasMessageContaining("v1 Servic x: not a kind");
    assertThatThrownBy(() -> parse("t.yaml", "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: x\n"
        + "  namespace: no\n")).hasMessageContaining("YAML 1.1 reads as a boolean");
  }

  @Test
  void theRbacRulesGrantExactlyTheVerbsUsed() throws IOException {
    List<HasMetadata> objects = manifests();
    assertThat(grants(one(objects, ClusterRole.class).getRules())).isEqualTo(expectedClusterGrants());
    assertThat(grants(one(objects, Role.class).getRules())).isEqualTo(Map.of(
        "coordination.k8s.io/leases", Set.of("get", "create", "update", "patch"),
        // ConfigMapChallenges: one ConfigMap per token; withLabel(owner).delete() is one DELETE on the collection
        "/configmaps", Set.of("get", "list", "create", "update", "delete", "deletecollection")));

    ServiceAccount account = one(objects, ServiceAccount.class);
    ClusterRoleBinding clusterBinding = one(objects, ClusterRoleBinding.class);
    assertThat(clusterBinding.getRoleRef().getName()).isEqualTo(one(objects, ClusterRole.class).getMetadata()
        .getName());
    assertThat(clusterBinding.getSubjects()).singleElement().satisfies(s -> {
      assertThat(s.getName()).isEqualTo(account.getMetadata().getName());
      assertThat(s.getNamespace()).isEqualTo(NS);
    });
    RoleBinding binding = one(objects, RoleBinding.class);
    assertThat(binding.getRoleRef().getKind()).isEqualTo("Role");
    assertThat(binding.getRoleRef().getName()).isEqualTo(one(objects, Role.class).getMetadata().getName());
    assertThat(binding.getSubjects()).singleElement().satisfies(s -> assertThat(s.getName())
        .isEqualTo(account.getMetadata().getName()));
    assertThat(one(objects, Deployment.class).getSpec().getTemplate().getSpec().getServiceAccountName())
        .isEqualTo(account.getMetadata().getName());
  }

  @Test
  void theDeploymentRunsTheKubernetesModeNonRootOnAReadOnlyRoot() throws IOException {
    List<HasMetadata> objects = manifests();
    Deployment deployment = one(objects, Deployment.class);
    assertThat(deployment.getSpec().getReplicas()).isEqualTo(2);
    var pod = deployment.getSpec().getTemplate().getSpec();
    Container c = pod.getContainers().get(0);

    RunCommand run = run(c.getArgs());
    assertThat(run.kubernetes).isTrue();
    assertThat(run.ingressStatus().service()).contains(NS + "/" + one(objects, Service.class).getMetadata()
        .getName());
    assertThat(c.getEnv()).extracting(e -> e.getName() + "=" + e.getValueFrom().getFieldRef().getFieldPath())
        .contains("POD_NAME=metadata.name", "POD_NAMESPACE=metadata.namespace");

    Map<String, Integer> ports = new TreeMap<>();
    for (ContainerPort p : c.getPorts()) {
      ports.put(p.getName(), p.getContainerPort());
    }
    assertThat(ports).containsEntry("http", 80 + run.portOffset).containsEntry("https", 443 + run.portOffset)
        .containsEntry("admin", RunCommand.address(run.admin).getPort());
    assertThat(RunCommand.address(run.admin).getAddress().isAnyLocalAddress()).as("the kubelet reaches --admin")
        .isTrue();
    assertThat(c.getReadinessProbe().getHttpGet().getPath()).isEqualTo("/ready");
    assertThat(c.getLivenessProbe().getHttpGet().getPath()).isEqualTo("/admin/ping");
    assertThat(Stream.of(c.getReadinessProbe(), c.getLivenessProbe(), c.getStartupProbe())
        .map(p -> p.getHttpGet().getPort().getStrVal())).containsOnly("admin");

    Service service = one(objects, Service.class);
    assertThat(service.getSpec().getType()).isEqualTo("LoadBalancer");
    assertThat(service.getSpec().getPorts()).extracting(p -> p.getPort() + "->" + p.getTargetPort().getStrVal())
        .containsExactly("80->http", "443->https");
    Map<String, String> podLabels = deployment.getSpec().getTemplate().getMetadata().getLabels();
    assertThat(podLabels).containsAllEntriesOf(service.getSpec().getSelector())
        .containsAllEntriesOf(deployment.getSpec().getSelector().getMatchLabels())
        .containsAllEntriesOf(one(objects, PodDisruptionBudget.class).getSpec().getSelector().getMatchLabels());
    assertThat(one(objects, PodDisruptionBudget.class).getSpec().getMinAvailable().getIntVal()).isEqualTo(1);

    assertThat(pod.getSecurityContext().getRunAsNonRoot()).isTrue();
    assertThat(pod.getSecurityContext().getRunAsUser()).isEqualTo(65532L);
    assertThat(c.getSecurityContext().getReadOnlyRootFilesystem()).isTrue();
    assertThat(c.getSecurityContext().getAllowPrivilegeEscalation()).isFalse();
    assertThat(c.getSecurityContext().getCapabilities().getDrop()).containsExactly("ALL");
    assertThat(c.getSecurityContext().getCapabilities().getAdd()).isNullOrEmpty();
    // The read-only root: everything the process writes is under a mounted emptyDir.
    assertThat(c.getVolumeMounts()).extracting(VolumeMount::getMountPath)
        .containsExactlyInAnyOrder("/tmp", run.stateOptions.stateDir().toString());
    assertThat(run.stateOptions.adminTokenFile().startsWith(run.stateOptions.stateDir())).as("admin token in --state")
        .isTrue();
    assertThat(run.accessLog).isNull();
    assertThat(pod.getVolumes()).allSatisfy(v -> assertThat(v.getEmptyDir()).as(v.getName()).isNotNull());
  }

  @Test
  void helmLintPassesAndTheChartDefaultsRenderDeployKubernetes() throws IOException {
    LintResult lint = new Helm(CHART).lint().strict().call();
    assertThat(lint.getMessages()).as("helm lint --strict").noneMatch(m -> m.contains("[ERROR]")
        || m.contains("[WARNING]"));
    assertThat(lint.isFailed()).isFalse();

    List<HasMetadata> rendered = render();
    List<HasMetadata> expected = new ArrayList<>(manifests());
    expected.removeIf(o -> o.getKind().equals("Namespace")); // helm install --create-namespace
    assertThat(byName(rendered)).isEqualTo(byName(expected));
  }

  @Test
  void helmWatchNamespacesGivesRolesThereAndTheFlag(@TempDir Path dir) throws IOException {
    Path values = Files.writeString(dir.resolve("values.yaml"), "watchNamespaces: [shop, blog]\n"
        + "extraArgs: [--access-log=-]\n");
    List<HasMetadata> rendered = parse("helm template", template().withValuesFile(values).call());
    Deployment deployment = one(rendered, Deployment.class);
    RunCommand run = run(deployment.getSpec().getTemplate().getSpec().getContainers().get(0).getArgs());
    assertThat(run.watchNamespaces).containsExactly("shop", "blog");
    assertThat(run.accessLog).isEqualTo("-");

    Map<String, Set<String>> cluster = grants(one(rendered, ClusterRole.class).getRules());
    Map<String, Set<String>> watched = new TreeMap<>(expectedClusterGrants());
    watched.keySet().removeAll(cluster.keySet());
    assertThat(cluster.keySet()).containsExactlyInAnyOrder("/namespaces", "networking.k8s.io/ingressclasses",
        "gateway.networking.k8s.io/gatewayclasses", "gateway.networking.k8s.io/gatewayclasses/status",
        "cert-manager.io/clusterissuers");
    List<Role> roles = rendered.stream().filter(Role.class::isInstance).map(Role.class::cast).toList();
    assertThat(roles).extracting(r -> r.getMetadata().getNamespace() + "/" + r.getMetadata().getName())
        .containsExactlyInAnyOrder("shop/portcullis-watch", "blog/portcullis-watch", "portcullis/portcullis");
    for (Role r : roles) {
      if (r.getMetadata().getName().endsWith("-watch")) {
        assertThat(grants(r.getRules())).isEqualTo(watched);
      }
    }
    assertThat(rendered.stream().filter(RoleBinding.class::isInstance).count()).isEqualTo(3);
  }

  /** (group/resource) to verbs: what the gateway does, from {@link WatchedKind#ALL} and its writers. */
  private static Map<String, Set<String>> expectedClusterGrants() {
    Map<String, Set<String>> out = new TreeMap<>();
    for (WatchedKind k : WatchedKind.ALL) {
      out.put(k.group() + "/" + k.plural(), new TreeSet<>(Set.of("get", "list", "watch")));
    }
    out.get("/secrets").addAll(Set.of("create", "update"));                         // SecretStorage
    out.put("/events", Set.of("create"));                                          // StatusWriter
    for (String s : List.of("gateway.networking.k8s.io/gatewayclasses", "gateway.networking.k8s.io/gateways",
        "gateway.networking.k8s.io/httproutes", "gateway.networking.k8s.io/grpcroutes",
        "gateway.networking.k8s.io/tlsroutes", "networking.k8s.io/ingresses", "cert-manager.io/certificates")) {
      out.put(s + "/status", Set.of("update"));                                    // StatusWriter
    }
    return out;
  }

  private static Map<String, Set<String>> grants(List<PolicyRule> rules) {
    Map<String, Set<String>> out = new TreeMap<>();
    for (PolicyRule r : rules) {
      assertThat(r.getResourceNames()).as("resourceNames").isNullOrEmpty();
      assertThat(r.getNonResourceURLs()).as("nonResourceURLs").isNullOrEmpty();
      for (String group : r.getApiGroups()) {
        for (String resource : r.getResources()) {
          assertThat(r.getVerbs()).as(group + "/" + resource).doesNotContain("*");
          out.computeIfAbsent(group + "/" + resource, k -> new TreeSet<>()).addAll(r.getVerbs());
        }
      }
    }
    return out;
  }

  private static RunCommand run(List<String> args) {
    assertThat(args.get(0)).isEqualTo("run");
    RunCommand run = new RunCommand();
    new CommandLine(run).parseArgs(args.subList(1, args.size()).stream()
        .map(a -> a.replace("$(POD_NAMESPACE)", NS)).toArray(String[]::new));
    return run;
  }

  private static List<HasMetadata> manifests() throws IOException {
    List<HasMetadata> out = new ArrayList<>();
    try (Stream<Path> files = Files.list(MANIFESTS)) {
      for (Path f : files.filter(f -> f.toString().endsWith(".yaml")).sorted().toList()) {
        out.addAll(parse(f.getFileName().toString(), Files.readString(f)));
      }
    }
    return out;
  }

  private static List<HasMetadata> render() {
    return parse("helm template", template().call());
  }

  /** {@code helm template portcullis deploy/helm/portcullis --namespace portcullis --kube-version 1.30.0}. */
  private static com.marcnuri.helm.TemplateCommand template() {
    return new Helm(CHART).template().withName(NS).withNamespace(NS).withKubeVersion("1.30.0");
  }

  /** Parses every document of {@code yaml} strictly: a known kind, known fields only, the right types. */
  static List<HasMetadata> parse(String source, String yaml) {
    Matcher yaml11 = YAML11_BOOLEAN.matcher(yaml);
    if (yaml11.find()) {
      throw new AssertionError(source + ": '" + yaml11.group().trim() + "': YAML 1.1 reads as a boolean what "
          + "may be meant as a string (quote it)");
    }
    List<HasMetadata> out = new ArrayList<>();
    for (String doc : yaml.split("(?m)^---\\s*$")) {
      if (doc.lines().allMatch(l -> l.isBlank() || l.trim().startsWith("#"))) {
        continue;
      }
      Object o;
      try {
        o = SERIALIZATION.unmarshal(doc);
      } catch (RuntimeException e) {
        throw new AssertionError(source + ": " + e.getMessage(), e);
      }
      if (!(o instanceof HasMetadata m) || o instanceof GenericKubernetesResource) {
        HasMetadata g = (HasMetadata) o;
        throw new AssertionError(source + ": " + g.getApiVersion() + " " + g.getKind() + " "
            + g.getMetadata().getName() + ": not a kind of the Kubernetes API");
      }
      List<String> unknown = new ArrayList<>();
      unknownFields(m, "", unknown, 0);
      if (!unknown.isEmpty()) {
        throw new AssertionError(source + ": " + m.getKind() + " " + m.getMetadata().getName() + ": "
            + String.join(", ", unknown));
      }
      out.add(m);
    }
    return out;
  }

  /** Collects the fields fabric8 kept as additional properties: the ones its model (the API's schema) lacks. */
  private static void unknownFields(Object o, String path, List<String> out, int depth) {
    if (o == null || depth > 30) {
      return;
    }
    if (o instanceof Collection<?> c) {
      int i = 0;
      for (Object e : c) {
        unknownFields(e, path + "[" + i++ + "]", out, depth + 1);
      }
      return;
    }
    if (o instanceof Map<?, ?> m) {
      m.forEach((k, v) -> unknownFields(v, path + "." + k, out, depth + 1));
      return;
    }
    if (!o.getClass().getName().startsWith("io.fabric8.kubernetes.api.model")) {
      return;
    }
    for (Method getter : o.getClass().getMethods()) {
      if (getter.getParameterCount() != 0 || Modifier.isStatic(getter.getModifiers())
          || !getter.getName().startsWith("get") || getter.getDeclaringClass() == Object.class) {
        continue;
      }
      Object value;
      try {
        value = getter.invoke(o);
      } catch (ReflectiveOperationException e) {
        throw new IllegalStateException(e);
      }
      String name = Character.toLowerCase(getter.getName().charAt(3)) + getter.getName().substring(4);
      if (name.equals("additionalProperties")) {
        ((Map<?, ?>) value).keySet().forEach(k -> out.add((path.isEmpty() ? "" : path.substring(1) + ".") + k
            + ": unknown field"));
      } else {
        unknownFields(value, path + "." + name, out, depth + 1);
      }
    }
  }

  /** Each object as YAML (a readable diff when one differs), by kind, namespace and name. */
  private static Map<String, String> byName(List<HasMetadata> objects) {
    Map<String, String> out = new TreeMap<>();
    for (HasMetadata o : objects) {
      stripHelmLabels(o.getMetadata().getLabels());
      if (o instanceof Deployment d) {
        stripHelmLabels(d.getSpec().getTemplate().getMetadata().getLabels());
      }
      out.put(o.getKind() + " " + o.getMetadata().getNamespace() + "/" + o.getMetadata().getName(),
          SERIALIZATION.asYaml(o));
    }
    return out;
  }

  private static void stripHelmLabels(Map<String, String> labels) {
    if (labels != null) {
      labels.keySet().removeAll(HELM_LABELS);
    }
  }

  private static <T extends HasMetadata> T one(List<HasMetadata> objects, Class<T> kind) {
    List<T> found = objects.stream().filter(kind::isInstance).map(kind::cast).toList();
    assertThat(found).as(kind.getSimpleName()).hasSize(1);
    return found.get(0);
  }
}
