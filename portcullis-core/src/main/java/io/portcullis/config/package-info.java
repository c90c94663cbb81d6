/**
 * Configuration: manifests read from directories ({@link io.portcullis.config.DirectoryConfigSource}) into immutable
 * {@link io.portcullis.config.Snapshot}s, validated and translated by
 * {@link io.portcullis.config.ConfigTranslator} into a {@link io.portcullis.config.GatewayConfig}. Problems name the
 * resource, the field path and what was expected. Start at {@code ConfigTranslator.translate}: it sorts the
 * resources by API family and runs one translator per family, in sub-packages ({@code core}: v1 Secret, ConfigMap;
 * {@code istio}: Gateway, VirtualService, ServiceEntry), over one shared
 * {@link io.portcullis.config.TranslationContext} that holds the problems, the credential sources and the
 * {@link io.portcullis.config.ServiceRegistry} route destinations resolve against.
 */
package io.portcullis.config;
