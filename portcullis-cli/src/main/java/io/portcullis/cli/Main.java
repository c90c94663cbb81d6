package io.portcullis.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The {@code portcullis} command. */
@Command(name = "portcullis", mixinStandardHelpOptions = true, version = "portcullis 0.1.0",
    description = "Ingress gateway and mesh TLS whose certificates manage themselves. Reads Istio and Kubernetes "
        + "manifests verbatim.",
    subcommands = {RunCommand.class, CertsCommand.class, GetCommand.class, CommandLine.HelpCommand.class})
public final class Main {

  /** Runs the command line and exits with its status. */
  public static void main(String[] args) {
    CommandLine cli = new CommandLine(new Main());
    cli.setExecutionExceptionHandler((e, cmd, parsed) -> {
      // Bad input gets one clear line, not a stack trace.
      cmd.getErr().println("portcullis: " + (e.getMessage() == null ? e.toString() : e.getMessage()));
      return 1;
    });
    int code = cli.execute(args);
    if (code != 0 || args.length == 0 || !args[0].equals("run")) {
      System.exit(code);
    }
  }
}
