package io.portcullis.config;

import static java.util.Objects.requireNonNull;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;

/**
 * The services route destinations resolve against, whatever declared them (Istio's service registry): ServiceEntry
 * hosts today, Kubernetes Services with their endpoints as the core family adds them. Filled by the families'
 * translators during one {@link ConfigTranslator#translate}, then read when routes are translated. Not thread-safe.
 *
 * <p>Hosts are kept in lower case; the first service to declare a host keeps it. A short host ({@code httpbin},
 * as a ServiceEntry may name it) is also registered under its cluster-local name
 * ({@code httpbin.<namespace>.svc.cluster.local}), and a short destination host is looked up under
 * {@code <host>.<namespace of the route>.svc.cluster.local} first, as Istio resolves them; a host of two labels
 * ({@code httpbin.default}) that no service declares as written is looked up as
 * {@code httpbin.default.svc.cluster.local}, as the Kubernetes DNS search path resolves it.
 */
public final class ServiceRegistry {
  /** The Kubernetes cluster domain that short names expand into. */
  public static final String CLUSTER_DOMAIN = "svc.cluster.local";

  private final Map<String, Service> byHost = new LinkedHashMap<>();

  /** How a service's addresses are found (Istio {@code ServiceEntry.resolution}). */
  public enum Resolution {
    /** The instances' addresses are IP literals. */
    STATIC,
    /** The instances' addresses (or the host itself, without instances) are names looked up in DNS. */
    DNS
  }

  /**
   * One service port.
   *
   * @param number the service port number routes name (1..65535)
   * @param name the port's name, or {@code ""}; instances may map it to their own port number
   * @param protocol the port's protocol as Istio names it ({@code HTTP}, {@code HTTP2}, {@code GRPC}, ...; {@code ""}
   *     when unsaid)
   * @param targetPort where instances listen when they do not say (1..65535; {@code number} when unsaid)
   * @param targetPortName a Kubernetes Service's named {@code targetPort} (a container port name an instance maps to
   *     its number), or {@code ""}
   */
  public record Port(int number, String name, String protocol, int targetPort, String targetPortName) {
    /** Checks the names are not null. */
    public Port {
      requireNonNull(name, "name");
      requireNonNull(protocol, "protocol");
      requireNonNull(targetPortName, "targetPortName");
    }

    /** A port whose instances listen on {@code targetPort} unless they map {@code name} to a port of their own. */
    public Port(int number, String name, String protocol, int targetPort) {
      this(number, name, protocol, targetPort, "");
    }
  }

  /**
   * One instance (endpoint) of a service. Only instances that may take traffic are registered (a Kubernetes
   * endpoint with {@code conditions.ready: false} is not).
   *
   * @param address an IP literal, or a DNS name with resolution {@code DNS}
   * @param ports instance port numbers by service port name (Istio {@code WorkloadEntry.ports}, Kubernetes
   *     {@code EndpointSlice.ports[]}); may be empty
   * @param labels the instance's labels (DestinationRule subsets select by them; a Kubernetes endpoint has its
   *     Pod's); may be empty
   * @param zone the instance's zone (EndpointSlice {@code endpoints[].zone}), or {@code ""}
   * @param nodeName the node it runs on (EndpointSlice {@code endpoints[].nodeName}, Pod {@code spec.nodeName}), or
   *     {@code ""}
   */
  public record Instance(String address, Map<String, Integer> ports, Map<String, String> labels, String zone,
      String nodeName) {
    /** Copies the maps. */
    public Instance {
      requireNonNull(address, "address");
      ports = Map.copyOf(ports);
      labels = Map.copyOf(labels);
      requireNonNull(zone, "zone");
      requireNonNull(nodeName, "nodeName");
    }

    /** An instance without zone or node. */
    public Instance(String address, Map<String, Integer> ports, Map<String, String> labels) {
      this(address, ports, labels, "", "");
    }
  }

  /**
   * One service.
   *
   * @param host the host as declared (a short one is also registered under its cluster-local name)
   * @param namespace the namespace of the resource that declared it
   * @param kind what declared it, for messages ({@code ServiceEntry}, {@code Service})
   * @param ports its ports, in declaration order
   * @param resolution how its addresses are found
   * @param instances its instances; empty with {@code DNS}: the host itself is looked up; empty with {@code STATIC}
   *     (a Kubernetes Service without a ready endpoint): requests answer 503 {@code UH}
   */
  public record Service(String host, String namespace, String kind, List<Port> ports, Resolution resolution,
      List<Instance> instances) {
    /** Copies the lists. */
    public Service {
      requireNonNull(host, "host");
      requireNonNull(namespace, "namespace");
      requireNonNull(kind, "kind");
      ports = List.copyOf(ports);
      requireNonNull(resolution, "resolution");
      instances = List.copyOf(instances);
    }

    /** Returns the fully qualified host: the host itself, or a short one under its namespace's cluster domain. */
    public String fqdn() {
      return host.contains(".") ? host : host + "." + namespace + "." + CLUSTER_DOMAIN;
    }

    /**
     * Returns the port {@code instance} listens on for service port {@code port}: the number the instance maps the
     * port's name to, else the number it maps a named {@code targetPort} to, else the port's numeric
     * {@code targetPort}; empty when the target port is a name the instance does not map (Kubernetes then sends it
     * no traffic for that port).
     */
    public OptionalInt instancePort(Instance instance, Port port) {
      Integer byName = instance.ports().get(port.name());
      if (byName == null && !port.targetPortName().isEmpty()) {
        byName = instance.ports().get(port.targetPortName());
        if (byName == null) {
          return OptionalInt.empty();
        }
      }
      return OptionalInt.of(byName != null ? byName : port.targetPort());
    }
  }

  /** Registers {@code service} under its host (and a short host under its cluster-local name) unless taken. */
  public void add(Service service) {
    byHost.putIfAbsent(lower(service.host()), service);
    if (!service.host().contains(".")) {
      byHost.putIfAbsent(lower(service.fqdn()), service);
    }
  }

  /**
   * Returns the service a destination {@code host} names from a resource in {@code namespace}: a short host as
   * {@code host.namespace.svc.cluster.local} first, then the host as written.
   */
  public Optional<Service> lookup(String host, String namespace) {
    String h = lower(host);
    if (!h.contains(".")) {
      Service s = byHost.get(h + "." + namespace + "." + CLUSTER_DOMAIN);
      if (s != null) {
        return Optional.of(s);
      }
    }
    Service s = byHost.get(h);
    if (s == null && h.indexOf('.') > 0 && h.indexOf('.') == h.lastIndexOf('.')) {
      s = byHost.get(h + "." + CLUSTER_DOMAIN); // name.namespace, as the Kubernetes DNS search path completes it
    }
    return Optional.ofNullable(s);
  }

  /** Returns the fully qualified name of a destination {@code host} written in {@code namespace}. */
  public static String fqdn(String host, String namespace) {
    return host.contains(".") ? host : host + "." + namespace + "." + CLUSTER_DOMAIN;
  }

  private static String lower(String s) {
    return s.toLowerCase(Locale.ROOT);
  }
}
