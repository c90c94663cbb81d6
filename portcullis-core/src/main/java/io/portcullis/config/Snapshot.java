package io.portcullis.config;

import java.util.List;

/**
 * Every resource a {@link ConfigSource} holds at one moment, immutable.
 *
 * @param resources the objects, in a stable order (by file, then by position in the file)
 * @param problems what went wrong reading them (a file that did not parse), each naming the file
 * @param generation increases by one with every snapshot a source emits; 1 for the first
 */
public record Snapshot(List<Resource> resources, List<Problem> problems, long generation) {

  /** Copies both lists. */
  public Snapshot {
    resources = List.copyOf(resources);
    problems = List.copyOf(problems);
  }
}
