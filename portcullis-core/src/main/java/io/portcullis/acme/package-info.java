/**
 * ACME (RFC 8555) through acme4j: accounts, orders, HTTP-01 challenges answered by the gateway's own plain-HTTP
 * listeners ({@link Http01Challenges}).
 */
package io.portcullis.acme;
