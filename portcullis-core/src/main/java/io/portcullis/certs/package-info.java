/**
 * The certificate manager: cert-manager's {@code Issuer}, {@code ClusterIssuer} and {@code Certificate}
 * ({@code cert-manager.io/v1}) read from the manifests, Certificates issued and renewed by themselves, the results
 * stored as {@code kubernetes.io/tls} Secrets and served on the next handshake.
 */
package io.portcullis.certs;
