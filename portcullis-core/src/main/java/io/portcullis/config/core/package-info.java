/**
 * The Kubernetes core API family ({@code v1}): {@link io.portcullis.config.core.CoreTranslator} turns Secrets and
 * ConfigMaps into credential sources. Runs first; the other families read what it produced.
 */
package io.portcullis.config.core;
