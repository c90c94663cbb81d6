/**
 * Configuration: manifests read from directories ({@link io.portcullis.config.DirectoryConfigSource}) into immutable
 * {@link io.portcullis.config.Snapshot}s, validated and translated by
 * {@link io.portcullis.config.ConfigTranslator} into a {@link io.portcullis.config.GatewayConfig}. Problems name the
 * resource, the field path and what was expected. Start at {@code ConfigTranslator.translate}: it runs one
 * package-private translator per concept (credentials, ServiceEntry, Gateway servers and their TLS settings,
 * VirtualService with its HTTP routes and matches, listeners), each named {@code *Translator}.
 */
package io.portcullis.config;
