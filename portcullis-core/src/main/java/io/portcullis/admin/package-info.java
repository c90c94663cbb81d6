/**
 * The admin server: {@code /ready}, {@code /admin/ping}, {@code /config_dump}, {@code /certs} and
 * {@code POST /certs/renew}. Start at {@link io.portcullis.admin.AdminServer} (the endpoints); who may call what is
 * {@code AdminAccess} (Host, Origin, the {@link io.portcullis.admin.AdminToken}), and {@code RenewalLimit} keeps
 * forced renewals to one per Certificate per minute.
 */
package io.portcullis.admin;
