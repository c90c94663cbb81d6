package io.portcullis.admin;

import static java.util.Objects.requireNonNull;

import io.portcullis.config.Resource;
import java.util.List;

/**
 * One kind the admin server's {@code /apis/...} endpoints serve, named as the Kubernetes API names it: the CRD's (or
 * built-in type's) group, kind, plural, singular, short names, served versions and scope. The catalog is
 * {@link ApiKinds}.
 *
 * @param group the API group, e.g. {@code gateway.networking.k8s.io}
 * @param kind e.g. {@code Gateway}
 * @param plural the resource name in paths, e.g. {@code gateways} (CRD {@code spec.names.plural})
 * @param singular e.g. {@code gateway} (CRD {@code spec.names.singular})
 * @param shortNames e.g. {@code gtw} (CRD {@code spec.names.shortNames})
 * @param versions the served versions, the preferred one (what {@code kubectl} asks for) first; an object written
 *     at any of them has the same schema and is shown at each
 * @param namespaced whether the kind is namespaced (CRD {@code spec.scope: Namespaced}); else cluster-scoped
 * @param formerGroups groups the kind was also served from and whose objects count as this kind (Ingress's
 *     {@code extensions}); such an object keeps the {@code apiVersion} it was written with
 */
public record ApiKind(String group, String kind, String plural, String singular, List<String> shortNames,
    List<String> versions, boolean namespaced, List<String> formerGroups) {

  /** Checks the components and copies the lists. */
  public ApiKind {
    requireNonNull(group, "group");
    requireNonNull(kind, "kind");
    requireNonNull(plural, "plural");
    requireNonNull(singular, "singular");
    shortNames = List.copyOf(shortNames);
    versions = List.copyOf(versions);
    formerGroups = List.copyOf(formerGroups);
    if (versions.isEmpty()) {
      throw new IllegalArgumentException(kind + ": versions: empty (expected: at least one)");
    }
  }

  /** Returns the version {@code kubectl} asks for: the first of {@link #versions()}. */
  public String preferredVersion() {
    return versions.get(0);
  }

  /** Returns {@code plural.group}, how the API server names the resource in messages: {@code gateways.gateway...}. */
  public String resource() {
    return group.isEmpty() ? plural : plural + "." + group;
  }

  /** Returns {@code singular.group}, how {@code kubectl get -o name} names an object's type. */
  public String singularResource() {
    return group.isEmpty() ? singular : singular + "." + group;
  }

  /** Returns {@code {Kind}List}, the kind of a list of these. */
  public String listKind() {
    return kind + "List";
  }

  /** Returns whether {@code r} is an object of this kind: same kind, in {@link #group()} or a former group. */
  public boolean matches(Resource r) {
    return r.kind().equals(kind) && (r.group().equals(group) || formerGroups.contains(r.group()));
  }

  /**
   * Returns whether {@code r}, an object of this kind, has the schema of every served version: written in
   * {@link #group()} at one of {@link #versions()}. Such an object is shown with the {@code apiVersion} of the
   * request, as the API server converts it; any other keeps the one it was written with.
   */
  public boolean convertible(Resource r) {
    String version = r.apiVersion().substring(r.apiVersion().indexOf('/') + 1);
    return r.group().equals(group) && versions.contains(version);
  }

  /**
   * Returns the API path of this kind's list in {@code namespace}, or in every namespace when it is {@code null} or
   * the kind is cluster-scoped: {@code /apis/GROUP/VERSION[/namespaces/NS]/PLURAL}.
   */
  public String path(String version, String namespace) {
    String base = group.isEmpty() ? "/api/" + version : "/apis/" + group + "/" + version;
    return base + (namespaced && namespace != null ? "/namespaces/" + namespace : "") + "/" + plural;
  }
}
