/**
 * Routing as Istio defines it: host tables (exact, {@code *.} wildcard, {@code *}), VirtualService HTTP routes
 * (match blocks ORed, conditions ANDed, first match wins) and their actions. Everything here is immutable and read
 * on event loops without locks. Start at {@link io.portcullis.routing.VirtualHost}.
 */
package io.portcullis.routing;
