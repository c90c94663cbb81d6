/**
 * Configuration: manifests read from directories ({@link io.portcullis.config.DirectoryConfigSource}) into immutable
 * {@link io.portcullis.config.Snapshot}s, validated and translated by
 * {@link io.portcullis.config.ConfigTranslator} into a {@link io.portcullis.config.GatewayConfig}. Problems name the
 * resource, the field path and what was expected.
 */
package io.portcullis.config;
