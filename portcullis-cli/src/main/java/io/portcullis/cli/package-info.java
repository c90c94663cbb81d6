/** The {@code portcullis} command line (picocli): {@code portcullis run}. */
package io.portcullis.cli;
