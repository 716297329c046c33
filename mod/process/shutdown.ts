/**
 * One shutdown signal per process: SIGTERM, SIGINT, or (for supervised
 * children) the supervisor's pipe on stdin closing, so no child outlives
 * its manager.
 *
 * @module
 */

/** An AbortController aborted on SIGTERM/SIGINT and, when `watchStdin`, on stdin EOF. */
export function createShutdownSignal(options: { watchStdin: boolean }): AbortController {
  const controller = new AbortController();
  const stop = (reason: string) => {
    if (!controller.signal.aborted) controller.abort(reason);
  };
  for (const signal of ["SIGTERM", "SIGINT"] as const) {
    Deno.addSignalListener(signal, () => stop(signal));
  }
  if (options.watchStdin) {
    (async () => {
      const buf = new Uint8Array(256);
      try {
        while ((await Deno.stdin.read(buf)) !== null) { /* the supervisor sends nothing */ }
      } catch { /* a broken pipe is the same as EOF */ }
      stop("supervisor pipe closed");
    })();
  }
  return controller;
}

/** Resolves when `signal` aborts. */
export function aborted(signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) =>
    signal.addEventListener("abort", () => resolve(), { once: true })
  );
}
