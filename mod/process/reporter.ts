/**
 * The process's own diagnostic output (not Zeek logs): one line per message
 * on stderr, prefixed with the node name, so a supervisor can relay it.
 *
 * @module
 */

export type Level = "debug" | "info" | "warning" | "error";

/** Where library code reports; role runners decide where it goes. */
export interface Reporter {
  info(message: string): void;
  warning(message: string): void;
  error(message: string): void;
  debug(message: string): void;
}

/** A reporter writing `weir[node] level: message` lines to stderr. */
export function createStderrReporter(node: string, options: { debug?: boolean } = {}): Reporter {
  const encoder = new TextEncoder();
  const write = (level: Level, message: string) => {
    try {
      Deno.stderr.writeSync(encoder.encode(`weir[${node}] ${level}: ${message}\n`));
    } catch {
      // stderr is gone (the supervisor died): there is nobody left to tell,
      // and a report must never turn into a failure of the code reporting.
    }
  };
  return {
    info: (m) => write("info", m),
    warning: (m) => write("warning", m),
    error: (m) => write("error", m),
    debug: options.debug ? (m) => write("debug", m) : () => {},
  };
}
