/**
 * Endpoint selection and health for the data plane, as Envoy does it under Istio's DestinationRule
 * {@code trafficPolicy.loadBalancer} and {@code outlierDetection}. Start at {@link io.portcullis.proxy.lb.Balancers}
 * (one per event loop: picks a {@link io.portcullis.proxy.lb.Host} for a request) and
 * {@link io.portcullis.proxy.lb.ClusterHosts} (one per cluster, shared by every loop: the hosts, their load and the
 * {@link io.portcullis.proxy.lb.OutlierDetector}). The policies are {@link io.portcullis.proxy.lb.LoadBalancer}s:
 * round robin, least request (power of two choices), random, ring hash and Maglev.
 */
package io.portcullis.proxy.lb;
