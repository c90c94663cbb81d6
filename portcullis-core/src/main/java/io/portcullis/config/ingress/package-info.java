/**
 * The Kubernetes Ingress family ({@code networking.k8s.io/v1} Ingress and IngressClass; the removed
 * {@code extensions/v1beta1} and {@code networking.k8s.io/v1beta1} Ingress): start at
 * {@link io.portcullis.config.ingress.IngressTranslator}. As Istio's {@code pilot/pkg/config/kube/ingress} does,
 * Ingresses of class {@code istio} become Istio's model (Gateway servers and bound routes,
 * {@link io.portcullis.config.istio.IstioModel}) rather than getting a data path of their own; every problem names
 * the user's Ingress and the field written.
 */
package io.portcullis.config.ingress;
