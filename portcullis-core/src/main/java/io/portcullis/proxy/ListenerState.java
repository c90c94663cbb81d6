package io.portcullis.proxy;

import io.portcullis.config.ListenerConfig;
import io.portcullis.routing.HostTable;
import io.portcullis.tls.TlsContexts.ServerTls;

/**
 * What one bound port serves right now: read by handlers through one volatile reference, swapped whole on reload.
 *
 * @param config the listener's servers and routes
 * @param tls host to server TLS (empty for a plain HTTP port)
 * @param generation the configuration generation it came from
 */
record ListenerState(ListenerConfig config, HostTable<ServerTls> tls, long generation) {}
