/**
 * The Netty data plane: listeners per Gateway port, the per-connection pipeline (SNI, ALPN, HTTP/1.1 or
 * frame-level HTTP/2), the streaming proxy (HTTP/1.1 keep-alive and multiplexed HTTP/2 upstreams per event loop,
 * gRPC, gRPC-Web, WebSocket), the limits and timeouts, and the access log. Start at
 * {@link io.portcullis.proxy.DataPlane} and {@code GatewayChannelInitializer}; a request is an {@code Exchange} on a
 * {@code Downstream} ({@code ProxyHandler} or {@code Http2ServerStream}), forwarded by {@code Forwarding} over an
 * {@code UpstreamCall} ({@code Http1UpstreamCall} or {@code Http2UpstreamCall}).
 */
package io.portcullis.proxy;
