package io.portcullis.testing;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/** A real child process, stopped with its descendants (by PID) on {@link #close()}. */
public final class Proc implements AutoCloseable {
  private final Process process;
  private final Path log;

  private Proc(Process process, Path log) {
    this.process = process;
    this.log = log;
  }

  /** Starts {@code command} with output to a temporary log file. */
  public static Proc start(List<String> command, Path workDir, Map<String, String> env) throws IOException {
    Path log = Files.createTempFile("proc", ".log");
    ProcessBuilder pb = new ProcessBuilder(command).directory(workDir.toFile()).redirectErrorStream(true)
        .redirectOutput(log.toFile()).redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
    pb.environment().putAll(env);
    return new Proc(pb.start(), log);
  }

  /** Returns the PID. */
  public long pid() {
    return process.pid();
  }

  /** Returns whether it is still running. */
  public boolean alive() {
    return process.isAlive();
  }

  /** Returns what it printed so far. */
  public String output() {
    try {
      return Files.readString(log, StandardCharsets.UTF_8);
    } catch (IOException e) {
      return "(no output: " + e + ")";
    }
  }

  /** Stops the process and every descendant: SIGTERM, then SIGKILL after 5 s. */
  @Override
  public void close() {
    List<ProcessHandle> all = new java.util.ArrayList<>(process.descendants().toList());
    all.add(process.toHandle());
    all.forEach(ProcessHandle::destroy);
    for (ProcessHandle h : all) {
      try {
        h.onExit().get(5, TimeUnit.SECONDS);
      } catch (Exception e) {
        h.destroyForcibly();
      }
    }
  }

  /**
   * Returns {@code /usr/sbin/<name>} when it exists (where Debian puts daemons such as {@code named}, and not on
   * every PATH), else {@code name}.
   */
  public static String sbin(String name) {
    java.nio.file.Path p = java.nio.file.Path.of("/usr/sbin", name);
    return Files.isExecutable(p) ? p.toString() : name;
  }

  /**
   * Runs {@code command} to completion (at most {@code timeoutSeconds}) and returns its exit code and output.
   *
   * @throws IllegalStateException when it does not finish in time (it is killed)
   */
  public static Result run(int timeoutSeconds, String... command) throws IOException, InterruptedException {
    Path out = Files.createTempFile("run", ".out");
    Path err = Files.createTempFile("run", ".err");
    Process p = new ProcessBuilder(command).redirectOutput(out.toFile()).redirectError(err.toFile())
        .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null"))).start();
    if (!p.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
      p.destroyForcibly();
      throw new IllegalStateException(String.join(" ", command) + ": no exit after " + timeoutSeconds + " s");
    }
    Result r = new Result(p.exitValue(), Files.readString(out), Files.readString(err));
    Files.deleteIfExists(out);
    Files.deleteIfExists(err);
    return r;
  }

  /** A finished command. */
  public record Result(int exitCode, String stdout, String stderr) {}
}
