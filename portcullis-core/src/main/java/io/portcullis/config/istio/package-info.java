/**
 * The Istio networking API family ({@code networking.istio.io}): start at
 * {@link io.portcullis.config.istio.IstioTranslator}, which runs one translator per kind or concept (ServiceEntry,
 * Gateway servers and their TLS, VirtualService with its HTTP routes, matches and destinations, listeners). The
 * model these produce ({@link io.portcullis.config.ListenerConfig}s) is what the data plane is built from; other
 * families ({@code config.ingress}) add their servers and routes to the same model through
 * {@link io.portcullis.config.istio.IstioModel}, as Istio converts them, before the listeners are assembled.
 */
package io.portcullis.config.istio;
