/**
 * Test support that never ships in the binary: the synthetic trace
 * generator, hand-built frames, the network-namespace lab with its capture
 * probe, the conformance runners over Zeek's conn.log and application-log
 * corpora, helpers for the connection-tracking and WebSocket tests, a real
 * `nats-server` with JetStream, and free loopback ports. Tests and
 * benchmarks import it; nothing under `mod/`, `capture/`, `config/` or
 * `ffi/` may.
 *
 * ```ts
 * import { generateTrace } from "./mod.ts";
 *
 * const truth = await generateTrace("/tmp/t.pcap", { flows: 100, seed: 7 });
 * console.log(truth.packets, truth.flows.length);
 *
 * // DNS, HTTP and TLS flows with real messages (DEFAULT_APPLICATION_SHARES).
 * await generateTrace("/tmp/apps.pcap", { flows: 1000, applications: true });
 *
 * // HTTP-heavy: keep-alive and one-request connections, bodies to 1 MiB, some gzip.
 * await generateTrace("/tmp/http.pcap", { flows: 100, applications: { http: 1 }, http: true });
 *
 * // TLS-heavy: full 1.2 and 1.3 handshakes, resumptions by id and ticket, long encrypted streams.
 * await generateTrace("/tmp/tls.pcap", { flows: 100, applications: { tls: 1 }, tls: true });
 * ```
 *
 * @module
 */

export {
  type ApplicationShares,
  DEFAULT_APPLICATION_SHARES,
  DEFAULT_HTTP_TRAFFIC,
  DEFAULT_TLS_TRAFFIC,
  type FlowTruth,
  type GenerateOptions,
  generateTrace,
  generateTraceBytes,
  type HttpOptions,
  type TlsOptions,
  type TraceTruth,
} from "./generate.ts";
export type { ApplicationName, TlsHandshake, TlsTraffic } from "./app_payloads.ts";
export {
  labUnavailable,
  ProbeProcess,
  type ReplayOptions,
  type ReplayResult,
  run,
  VethLab,
  waitForTotal,
} from "./live_lab.ts";
export { FleetLab, type LabHost } from "./fleet_lab.ts";
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
export {
  APPS_CASES_EXPECTED_TO_PASS,
  appsCasesReadyToGate,
  type AppsConformanceOptions,
  appsGateFailures,
  type AppsResult,
  formatAppsResult,
  formatAppsTotals,
  GATED_PROTOCOLS,
  isGatedBaseline,
  isIdentical,
  runAppsConformance,
  WEIR_ANALYZERS,
} from "./apps_conformance.ts";
export {
  appsCorpusAvailable,
  type AppsLogKind,
  DEFAULT_APPS_CORPUS_DIR,
  parseZeekLogs,
  readAppsManifest,
  type ZeekLog,
} from "./apps_corpus.ts";
export { CLIENT_SCRIPT, LineReader, PYTHON } from "./websocket.ts";
export { NATS_SERVER, NatsServer, natsServerUnavailable } from "./nats_server.ts";
export { findFreePortRange } from "./ports.ts";
export { mulberry32 } from "./prng.ts";
export {
  formatFuzzReport,
  fuzz,
  FUZZ_TARGETS,
  type FuzzOptions,
  type FuzzReport,
  type FuzzTarget,
  mutateBytes,
} from "./fuzz.ts";
