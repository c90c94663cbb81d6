/**
 * The admin server: {@code /ready}, {@code /admin/ping}, {@code /config_dump}, {@code /certs},
 * {@code POST /certs/renew}, and {@code /apis/...} (objects with their computed status, {@code ObjectsEndpoint};
 * the kinds are {@link io.portcullis.admin.ApiKinds}). Start at {@link io.portcullis.admin.AdminServer} (the endpoints); who may call what is
 * {@code AdminAccess} (Host, Origin, the {@link io.portcullis.admin.AdminToken}), and {@code RenewalLimit} keeps
 * forced renewals to one per Certificate per minute.
 */
package io.portcullis.admin;
