/**
 * This process, whatever its role: its reporter on stderr, the version, the
 * one shutdown signal, and the readiness line the supervisor and tests wait
 * for. The bottom of `mod/`: it imports nothing from the cluster.
 *
 * ```ts
 * import { aborted, announceReady, createShutdownSignal, createStderrReporter } from "./mod.ts";
 *
 * const reporter = createStderrReporter("worker-1");
 * const shutdown = createShutdownSignal({ watchStdin: false });
 * announceReady("worker-1", "worker", "zeromq_worker-1_host_1_N1");
 * await aborted(shutdown.signal);
 * reporter.info(`stopping (${shutdown.signal.reason})`);
 * ```
 *
 * @module
 */

export { createStderrReporter, type Level, type Reporter } from "./reporter.ts";
export { WEIR_VERSION } from "./version.ts";
export { ListenError, listenOrExplain } from "./listen.ts";
export { aborted, createShutdownSignal } from "./shutdown.ts";
export { announceReady, parseReadyLine, type ReadyLine } from "./readiness.ts";
export {
  DEFAULT_QUOTE_MAX,
  quoteUntrusted,
  ReportLimiter,
  type ReportLimiterOptions,
} from "./untrusted.ts";
export { noteDroppedBuffers, noteFreedMemory } from "./memory.ts";
