/**
 * Test support that never ships in the binary: the synthetic trace
 * generator, hand-built frames, the network-namespace lab with its capture
 * probe, the conformance runner over Zeek's corpus, and helpers for the
 * connection-tracking and WebSocket tests. Tests and benchmarks import it;
 * nothing under `mod/`, `capture/`, `config/` or `ffi/` may.
 *
 * ```ts
 * import { generateTrace } from "./mod.ts";
 *
 * const truth = await generateTrace("/tmp/t.pcap", { flows: 100, seed: 7 });
 * console.log(truth.packets, truth.flows.length);
 *
 * // DNS, HTTP and TLS flows with real messages (DEFAULT_APPLICATION_SHARES).
 * await generateTrace("/tmp/apps.pcap", { flows: 1000, applications: true });
 * ```
 *
 * @module
 */

export {
  type ApplicationShares,
  DEFAULT_APPLICATION_SHARES,
  type FlowTruth,
  type GenerateOptions,
  generateTrace,
  generateTraceBytes,
  type TraceTruth,
} from "./generate.ts";
export type { ApplicationName } from "./app_payloads.ts";
export {
  labUnavailable,
  ProbeProcess,
  type ReplayOptions,
  type ReplayResult,
  run,
  VethLab,
  waitForTotal,
} from "./live_lab.ts";
export { cpuTicksFromStat, type ProbeOptions, type ProbeResult } from "./capture_probe.ts";
export {
  type BaselineResult,
  type CaseResult,
  compareTables,
  corpusAvailable,
  DEFAULT_CORPUS_DIR,
  formatCase,
  formatSummary,
  type LogTable,
  parseLogText,
  readSeededUids,
  runConformance,
} from "./conformance.ts";
export { CLIENT_SCRIPT, LineReader, PYTHON } from "./websocket.ts";
