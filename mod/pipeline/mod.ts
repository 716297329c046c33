/**
 * The packet pipeline the live worker and `weir -r` both run: source →
 * decode → sessions (`ConnTracker`) → analyzers → logs and events. The
 * caller opens the source and the log sink; the pipeline's options say what
 * differs between a live capture and a trace (idle wall-clock tick, flow
 * split, skip bytes, MAC addresses), and the batch says which checksums the
 * kernel vouches for.
 *
 * Reading a trace as worker 0 of 2, conn.log rows going to `logs`:
 *
 * ```ts
 * import { openPcapFile } from "../../capture/mod.ts";
 * import { LogRegistry } from "../log/stream.ts";
 * import { PacketPipeline } from "./mod.ts";
 *
 * const logs = new LogRegistry();
 * await using source = await openPcapFile("trace.pcap");
 * const pipeline = new PacketPipeline({ sessions: { logs }, flowSplit: { index: 0, count: 2 } });
 * await pipeline.run(source);
 * pipeline.flush();
 * console.log(pipeline.stats());
 * ```
 *
 * @module
 */

export type { AnalyzerStage, AnalyzerStageFactory } from "../analysis/framework/mod.ts";
export {
  DEFAULT_IDLE_TICK_MS,
  type FlowSplit,
  PacketPipeline,
  type PacketPipelineOptions,
  type PipelineRunOptions,
  type PipelineStats,
  type SessionOptions,
} from "./pipeline.ts";
export {
  type AnalyzerSelection,
  likelyServerPortsFor,
  type ProtocolSettings,
  selectAnalyzers,
  UnknownAnalyzerError,
  weirAnalyzers,
} from "./protocols.ts";
