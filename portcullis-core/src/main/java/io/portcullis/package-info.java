/**
 * Portcullis: an ingress gateway that reads Istio and Kubernetes manifests verbatim. Start reading at
 * {@link io.portcullis.Portcullis}, which wires a {@link io.portcullis.config.ConfigSource} to the translator, the
 * TLS contexts and the {@link io.portcullis.proxy.DataPlane}.
 */
package io.portcullis;
