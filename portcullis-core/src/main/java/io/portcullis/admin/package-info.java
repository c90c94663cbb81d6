/** The admin server: {@code /ready}, {@code /admin/ping} and {@code /config_dump}. */
package io.portcullis.admin;
