/**
 * A worker's capture: the node's interface (AF_PACKET with its fanout
 * group, or libpcap) through the packet pipeline with every protocol
 * analyzer (a Zeek worker runs the default scripts), its logs going
 * through the node's logging (so the records go to the loggers). Timers
 * run on packet time; when traffic stops they run on the wall clock, so
 * idle connections still expire.
 *
 * @module
 */

import type { LocalNet, NodeSpec } from "../../config/mod.ts";
import { openInterface, type PacketSource, type SourceStats } from "../../capture/mod.ts";
import type { ConnTracker, ConnTrackerStats } from "../analysis/conn/mod.ts";
import type { EventRegistry } from "../bus/mod.ts";
import type { LogRegistry } from "../log/mod.ts";
import { createAnalyzerStage } from "../analysis/framework/mod.ts";
import { WeirdLog } from "../analysis/weird/mod.ts";
import { ReassemblyMemory } from "../analysis/tcp/mod.ts";
import {
  DEFAULT_IDLE_TICK_MS,
  likelyServerPortsFor,
  PacketPipeline,
  type ProtocolSettings,
  weirAnalyzers,
} from "../pipeline/mod.ts";

export interface CaptureLoopOptions {
  readonly self: NodeSpec;
  readonly logs: LogRegistry;
  readonly localNets: readonly LocalNet[];
  /** Settings of the analyzers (weir.cfg's `FileHashes`, `HTTPCapturePassword`). */
  readonly protocols?: ProtocolSettings;
  readonly events?: EventRegistry;
  /** A BPF filter (tcpdump syntax). */
  readonly filter?: string;
  /** Hears about a capture that failed after it started. */
  readonly onError: (error: unknown) => void;
}

/** A running capture: counters for metrics, and `close()` to stop and flush. */
export interface CaptureLoop extends AsyncDisposable {
  readonly source: PacketSource;
  readonly tracker: ConnTracker;
  /** The pipeline's TCP reassembly memory (its bound and counters). */
  readonly reassembly: ReassemblyMemory;
  stats(): { readonly source: SourceStats; readonly tracker: ConnTrackerStats };
  /** Stops capturing, flushes every open connection to conn.log. Idempotent. */
  close(): Promise<void>;
}

/** The interface string of a worker, as Zeek writes it (`af_packet::eth1`). */
export function interfaceOf(self: NodeSpec): string {
  if (self.capture === undefined) {
    throw new RangeError(
      `Cannot capture on worker ${self.name}: node.cfg gives it no interface; add interface=<device>`,
    );
  }
  return `${self.capture.method}::${self.capture.device}`;
}

/** Opens the worker's interface and starts the pipeline on it. */
export async function openCaptureLoop(options: CaptureLoopOptions): Promise<CaptureLoop> {
  const { self } = options;
  const source = await openInterface(interfaceOf(self), {
    afPacket: self.afPacket,
    ...(options.filter === undefined ? {} : { filter: options.filter }),
  });
  const analyzers = weirAnalyzers(options.protocols);
  const reassembly = new ReassemblyMemory();
  const pipeline = new PacketPipeline({
    // In a cluster, weird.log's `peer` is the node (Zeek redefines it to Cluster::node).
    weirds: new WeirdLog({ logs: options.logs, peer: self.name }),
    checksums: self.afPacket.checksumValidation !== "off",
    idleTickMs: DEFAULT_IDLE_TICK_MS,
    ...(analyzers.length === 0 ? {} : {
      analyzers: createAnalyzerStage({
        analyzers,
        reassembly,
        logs: options.logs,
        // In a cluster, weird.log's `peer` is the node (Zeek redefines it to Cluster::node).
        ...(options.events === undefined ? {} : { events: options.events }),
      }),
    }),
    sessions: {
      likelyServerPorts: likelyServerPortsFor("default", analyzers),
      logs: options.logs,
      localNets: options.localNets,
      ...(options.events === undefined ? {} : { events: options.events }),
    },
  });
  const tracker = pipeline.sessions;
  const loop = pipeline.run(source).catch(options.onError);
  let closed: Promise<void> | undefined;
  const close = () =>
    closed ??= (async () => {
      source.close();
      await loop;
      // Zeek writes every connection still open when it terminates.
      pipeline.flush();
    })();
  return {
    source,
    tracker,
    reassembly,
    stats: () => ({ source: source.stats(), tracker: tracker.stats() }),
    close,
    [Symbol.asyncDispose]: close,
  };
}
