/**
 * DNS for ACME DNS-01 (RFC 8555 §8.4) and for address records of secured hosts: the {@link io.portcullis.dns.DnsProvider}
 * seam and its implementations (RFC 2136 with TSIG, PowerDNS, Cloudflare, Route 53, Cloud DNS, acme-dns), zone
 * discovery and propagation checks ({@link io.portcullis.dns.DnsLookup}), and the DNS-01 steps an order takes
 * ({@link io.portcullis.dns.Dns01}). Start reading at {@code Dns01}. Everything here blocks: call it from the
 * certificate manager's order threads, never from an event loop.
 */
package io.portcullis.dns;
