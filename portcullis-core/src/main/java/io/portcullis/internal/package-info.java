/**
 * Small helpers more than one package (or module) needs and that are not Portcullis's API: {@link
 * io.portcullis.internal.JsonStrings} writes JSON string literals for the access log and {@code portcullis get}.
 */
package io.portcullis.internal;
