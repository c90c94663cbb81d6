package io.portcullis.proxy;

import io.portcullis.acme.Http01Challenges;

/**
 * What every exchange of one listener shares: its configuration, the upstream pools, the access log, the HTTP-01
 * answers, the limits, the counters and the path normalisation. Immutable; built once per listener.
 */
record ProxyContext(Listener listener, Upstreams upstreams, AccessLog accessLog, Http01Challenges challenges,
    ProxyLimits limits, ProxyStats stats, PathNormalization normalization) {}
