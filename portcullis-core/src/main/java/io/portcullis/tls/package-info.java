/**
 * TLS credentials, Istio SDS style: Secrets resolved per Gateway server, checked, and turned into BoringSSL (or JDK)
 * contexts chosen by SNI. Start at {@link io.portcullis.tls.TlsContexts}. Upstream TLS origination (DestinationRule
 * {@code tls}): {@link io.portcullis.tls.ClientTlsContexts}, with the upstream's certificate checked by
 * {@code UpstreamCertificateVerifier}. Key material never appears in logs, messages or {@code toString()}.
 */
package io.portcullis.tls;
