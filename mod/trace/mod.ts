/**
 * `weir -r FILE`, weir's `zeek -r`: the trace job (one file through the
 * packet pipeline, logs into a directory) and the runner that splits a trace
 * across worker processes by flow and merges their logs.
 *
 * ```ts
 * import { analyzeTrace } from "./mod.ts";
 *
 * const r = await analyzeTrace({ path: "trace.pcap", logDir: ".", checksums: false });
 * console.log(`${r.packets} packets, ${r.connections} connections, ${r.weirds} weirds`);
 * ```
 *
 * @module
 */

export {
  analyzeTrace,
  TraceJobOptionError,
  type TraceJobOptions,
  type TraceJobResult,
} from "./trace_job.ts";
export { mergeLogs, runTrace, runTraceWorker, type TraceRunOptions } from "./run_trace.ts";
