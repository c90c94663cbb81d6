package io.portcullis.config.istio;

import io.portcullis.config.Resource;
import io.portcullis.routing.TrafficPolicy;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The valid DestinationRules of one translation, by host, and the traffic policy each gives a cluster: Istio's
 * {@code trafficPolicy}, its {@code portLevelSettings} for the cluster's port, then the subset's
 * {@code trafficPolicy} and its {@code portLevelSettings}, each later level replacing whole settings ({@code tls},
 * {@code connectionPool}, {@code loadBalancer}, {@code outlierDetection}) of the earlier one, as Istio merges them.
 * Not thread-safe: filled, then read, by one translation.
 */
final class DestinationRules {
  private final Map<String, Rule> exact = new HashMap<>();
  /** {@code *.example.com} rules by their suffix ({@code .example.com}); {@code *} under {@code ""}. */
  private final Map<String, Rule> wildcard = new HashMap<>();

  /**
   * Settings given at one level; an empty one leaves the level below in force.
   *
   * @param tls {@code tls}
   * @param connectionPool {@code connectionPool}
   * @param loadBalancer {@code loadBalancer}
   * @param outlierDetection {@code outlierDetection}
   */
  record Settings(Optional<TrafficPolicy.UpstreamTls> tls, Optional<TrafficPolicy.ConnectionPool> connectionPool,
      Optional<TrafficPolicy.LoadBalancer> loadBalancer, Optional<TrafficPolicy.OutlierDetection> outlierDetection) {
    static final Settings NONE = new Settings(Optional.empty(), Optional.empty(), Optional.empty(), Optional.empty());

    TrafficPolicy over(TrafficPolicy base) {
      return new TrafficPolicy(tls.orElse(base.tls()), connectionPool.orElse(base.connectionPool()),
          loadBalancer.orElse(base.loadBalancer()), outlierDetection.isPresent() ? outlierDetection
          : base.outlierDetection());
    }
  }

  /**
   * One level of a DestinationRule: its settings and those of its {@code portLevelSettings}, by port number.
   *
   * @param settings the level's own settings
   * @param ports {@code portLevelSettings[]} by {@code port.number}
   */
  record Level(Settings settings, Map<Integer, Settings> ports) {
    Level {
      ports = Map.copyOf(ports);
    }

    TrafficPolicy over(TrafficPolicy base, int port) {
      return ports.getOrDefault(port, Settings.NONE).over(settings.over(base));
    }
  }

  /**
   * A subset: the labels that select its endpoints and its own traffic policy.
   *
   * @param labels an endpoint belongs to the subset when its labels include all of these
   * @param level {@code subsets[].trafficPolicy}
   */
  record Subset(Map<String, String> labels, Level level) {
    Subset {
      labels = Map.copyOf(labels);
    }

    boolean selects(Map<String, String> endpointLabels) {
      return endpointLabels.entrySet().containsAll(labels.entrySet());
    }
  }

  /**
   * One valid DestinationRule.
   *
   * @param resource the DestinationRule, for messages
   * @param host its {@code host}, fully qualified and in lower case ({@code *.example.com} kept as written)
   * @param level {@code trafficPolicy}
   * @param subsets {@code subsets[]} by name
   */
  record Rule(Resource resource, String host, Level level, Map<String, Subset> subsets) {
    Rule {
      subsets = Map.copyOf(subsets);
    }

    /** Returns the traffic policy of a cluster for {@code port} and {@code subset} ({@code ""}: none). */
    TrafficPolicy policy(int port, String subset) {
      TrafficPolicy p = level.over(TrafficPolicy.DEFAULT, port);
      Subset s = subset.isEmpty() ? null : subsets.get(subset);
      return s == null ? p : s.level().over(p, port);
    }
  }

  /** Adds {@code rule}; returns the rule that already had its host (then {@code rule} is not added), or empty. */
  Optional<Rule> add(Rule rule) {
    Map<String, Rule> table = rule.host().startsWith("*") ? wildcard : exact;
    String key = rule.host().startsWith("*") ? rule.host().substring(1) : rule.host();
    Rule old = table.putIfAbsent(key, rule);
    return Optional.ofNullable(old);
  }

  /**
   * Returns the rule for a cluster's fully qualified {@code host} (lower case): the rule naming it exactly, else the
   * one whose wildcard is the longest suffix of it ({@code *.svc.cluster.local}, then {@code *}), as Istio picks.
   */
  Optional<Rule> lookup(String host) {
    Rule r = exact.get(host);
    if (r != null) {
      return Optional.of(r);
    }
    for (int dot = host.indexOf('.'); dot >= 0; dot = host.indexOf('.', dot + 1)) {
      r = wildcard.get(host.substring(dot));
      if (r != null) {
        return Optional.of(r);
      }
    }
    return Optional.ofNullable(wildcard.get(""));
  }

  /** Returns every valid rule (for the configuration dump), exact hosts first. */
  List<Rule> all() {
    return java.util.stream.Stream.concat(exact.values().stream(), wildcard.values().stream()).toList();
  }
}
