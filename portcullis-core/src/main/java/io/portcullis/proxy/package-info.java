/**
 * The Netty data plane: listeners per Gateway port, the per-connection pipeline (SNI, ALPN, HTTP/1.1 or HTTP/2),
 * the streaming proxy with upstream keep-alive pools per event loop, and the access log. Start at
 * {@link io.portcullis.proxy.DataPlane}; the request path is {@code ProxyHandler}.
 */
package io.portcullis.proxy;
