/**
 * Where issued certificates, their keys and ACME account keys are kept between runs: one Kubernetes-style Secret per
 * entry ({@link Storage}; {@link DirectoryStorage} for {@code --state DIR}).
 */
package io.portcullis.storage;
