/**
 * The analyzer framework: the contract between protocol analyzers and the
 * packet pipeline (`AnalyzerStage`), and between an analyzer and its
 * connection (`AnalyzerHost`, `PacketAnalyzer`, `StreamAnalyzer`,
 * `AnalyzerSpec`).
 *
 * ```ts
 * import type { AnalyzerSpec } from "./mod.ts";
 *
 * const spec: AnalyzerSpec = {
 *   name: "DNS",
 *   ports: ["53/udp", "53/tcp"],
 *   serverPorts: ["53/udp", "53/tcp"],
 *   signatures: [],
 *   createPacketAnalyzer: (host) => ({ packet: () => host.confirm(), done: () => {} }),
 * };
 * ```
 *
 * @module
 */

export type { AnalyzerStage, AnalyzerStageFactory } from "./analyzer_stage.ts";
export type {
  AnalyzerHost,
  AnalyzerSpec,
  ChildAnalyzer,
  ConnEndpoints,
  DpdReverseSignature,
  DpdSignature,
  PacketAnalyzer,
  StreamAnalyzer,
} from "./analyzer.ts";
export {
  type AnalyzerStageOptions,
  createAnalyzerStage,
  DEFAULT_IGNORE_VIOLATIONS_AFTER,
  DEFAULT_MAX_ANALYZER_VIOLATIONS,
} from "./stage.ts";
export { AnalyzerPortError, AnalyzerRegistry } from "./registry.ts";
export { ANALYZER_LOG, FAILURE_DATA_MAX_SIZE } from "./analyzer_log.ts";
export {
  DEFAULT_DPD_BUFFER_SIZE,
  DEFAULT_DPD_MAX_PACKETS,
  type DpdRule,
  Pia,
  type PiaReplayTarget,
} from "./pia.ts";
