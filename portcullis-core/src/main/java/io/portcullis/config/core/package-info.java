/**
 * The Kubernetes core API family ({@code v1}, {@code discovery.k8s.io/v1}): {@link
 * io.portcullis.config.core.CoreTranslator} turns Secrets and ConfigMaps into credential sources, and Services with
 * their EndpointSlices (or Endpoints) and Pods into the service registry route destinations resolve against (start
 * at {@code ServiceDiscovery}). Runs first; the other families read what it produced.
 */
package io.portcullis.config.core;
