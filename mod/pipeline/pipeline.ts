/**
 * The one packet pipeline both the live worker and `weir -r` run:
 * source → decode → sessions (`ConnTracker`) → analyzers → logs and events.
 * What differs between them is an option here, not a second loop:
 *
 * - time: network time follows packet time and never goes back (a
 *   connection keeps its packets' own stamps, see `ConnTracker`); a live
 *   capture adds an idle wall-clock tick (`idleTickMs`) so timers still
 *   fire when traffic stops;
 * - checksum trust: `checksums` says whether to verify at all (`zeek -C`,
 *   AF_PACKET's checksum validation off), and a batch's `checksumVouched`
 *   says which packets the kernel vouches for;
 * - the flow split (`flowSplit`): one of several workers sharing a trace;
 * - `skipBytes` (Zeek's SKIP analyzer) and `macAddresses` (mac-logging);
 * - the filter stays with the source (kernel, libpcap or the file reader).
 *
 * With weird.log on, the packets the decoder or the reassembler flagged
 * also report their weirds as Zeek's packet analysis does (`PacketWeirds`);
 * an unflagged packet costs one integer test for it.
 *
 * The source and the log sink belong to the caller: the pipeline reads
 * batches and writes through the `LogRegistry` it is given.
 *
 * @module
 */

import {
  type Borrowed,
  CHECKSUM_BAD,
  CHECKSUM_GOOD,
  DecodedPacket,
  flowHash,
  LINKTYPE_RAW,
  OUTCOME_IP,
  type PacketBatch,
  PacketDecoder,
  type PacketSource,
  packetTime,
  workerFor,
} from "../../capture/mod.ts";
import {
  ConnTracker,
  type ConnTrackerOptions,
  type ConnTrackerStats,
} from "../analysis/conn/mod.ts";
import type { AnalyzerStage, AnalyzerStageFactory } from "../analysis/framework/mod.ts";
import { ConnWeirds, type WeirdLog } from "../analysis/weird/mod.ts";
import { PacketWeirds } from "./packet_weirds.ts";

/** How often a live pipeline looks whether traffic stopped, and how long "stopped" is. */
export const DEFAULT_IDLE_TICK_MS = 1000;

/** This worker's share of flows: those the symmetric flow hash gives to `index` of `count`. */
export interface FlowSplit {
  readonly index: number;
  readonly count: number;
}

/** The sessions stage's settings that are not the pipeline's own options. */
export type SessionOptions = Omit<
  ConnTrackerOptions,
  | "checksums"
  | "macAddresses"
  | "onRemove"
  | "serviceOf"
  | "onAnalyzerTimer"
  | "onWeird"
  | "reassembles"
>;

/** Options of a pipeline; every field has the `zeek -r` default. */
export interface PacketPipelineOptions {
  /**
   * Verify IP and transport checksums in the decoder and enforce them in
   * the sessions stage (default true); false is `zeek -C`.
   */
  readonly checksums?: boolean;
  /** The sessions stage: where logs and events go, local nets, timeouts, uids, … */
  readonly sessions?: SessionOptions;
  /** Log each connection's first link-layer addresses (`orig_l2_addr`/`resp_l2_addr`). */
  readonly macAddresses?: boolean;
  /** Bytes to drop from the front of every frame before decoding it as raw IP (Zeek's SKIP analyzer). */
  readonly skipBytes?: number;
  /** Analyse only this worker's share of flows; the rest only move network time. */
  readonly flowSplit?: FlowSplit;
  /**
   * For a live capture: after this many milliseconds without a packet, move
   * network time to the wall clock (checked as often), so idle connections
   * still expire. Off by default: a trace has no wall clock.
   */
  readonly idleTickMs?: number;
  /** The protocol analyzers; without them the stage is skipped. */
  readonly analyzers?: AnalyzerStageFactory;
  /** weird.log: where connection tracking, reassembly and the analyzers report weirds. */
  readonly weirds?: WeirdLog;
}

/** What `run` does between batches. */
export interface PipelineRunOptions {
  /**
   * Awaited after every batch: a log sink's `ready()`, so a slow disk slows
   * the reading instead of buffering the trace in memory.
   */
  readonly afterBatch?: () => Promise<void>;
}

/** Counters of a pipeline. */
export interface PipelineStats {
  /** Packets read from the source. */
  readonly packets: number;
  /** Packets this worker analysed: all but those of other workers' flows and frames shorter than `skipBytes`. */
  readonly analyzed: number;
  readonly sessions: ConnTrackerStats;
}

/** One packet pipeline; feed it a source with `run` or batches with `runBatch`. */
export class PacketPipeline {
  readonly decoder: PacketDecoder;
  readonly sessions: ConnTracker;
  /** The connections' weirds (one sampling state per connection), when weird.log is on. */
  readonly weirds: ConnWeirds | undefined;
  readonly #packet = new DecodedPacket();
  /** The decoder's and the reassembler's weirds in weird.log, when it is on. */
  readonly #packetWeirds: PacketWeirds | undefined;
  /** Set once, right after the sessions stage it is built on. */
  #analyzers: AnalyzerStage | undefined;
  readonly #skip: number;
  readonly #macAddresses: boolean;
  /** 0 without a flow split. */
  readonly #splitCount: number;
  readonly #splitIndex: number;
  readonly #idleTickMs: number;
  #packets = 0;
  #analyzed = 0;
  #lastPacketAt = 0;

  /** @throws RangeError for a flow split, skip or idle tick that cannot be used. */
  constructor(options: PacketPipelineOptions = {}) {
    const split = options.flowSplit;
    if (
      split !== undefined &&
      (!Number.isInteger(split.count) || split.count < 1 || !Number.isInteger(split.index) ||
        split.index < 0 || split.index >= split.count)
    ) {
      throw new RangeError(
        `Cannot split flows as worker ${split.index} of ${split.count}: ` +
          `use an integer count ≥ 1 and an index from 0 to count-1`,
      );
    }
    const skip = options.skipBytes ?? 0;
    if (!Number.isInteger(skip) || skip < 0) {
      throw new RangeError(`Cannot skip ${skip} bytes per frame: use a non-negative integer`);
    }
    const idle = options.idleTickMs ?? 0;
    if (!Number.isFinite(idle) || idle < 0) {
      throw new RangeError(`Cannot tick every ${idle} ms when idle: use 0 (off) or more`);
    }
    const checksums = options.checksums ?? true;
    const macAddresses = options.macAddresses ?? false;
    const factory = options.analyzers;
    this.decoder = new PacketDecoder({ checksums });
    const weirdLog = options.weirds;
    this.sessions = new ConnTracker({
      ...options.sessions,
      checksums,
      macAddresses,
      ...(weirdLog === undefined ? {} : {
        onWeird: (slot: number, name: string, addl: string, source: string) =>
          this.weirds!.report(slot, name, addl, source),
      }),
      ...(factory === undefined && weirdLog === undefined ? {} : {
        onRemove: (slot: number) => {
          this.#analyzers?.remove(slot);
          this.weirds?.release(slot);
        },
      }),
      ...(factory === undefined ? {} : {
        serviceOf: (slot: number) => this.#analyzers!.serviceOf?.(slot),
        reassembles: (slot: number) => this.#analyzers!.reassembles?.(slot) ?? false,
        onAnalyzerTimer: (slot: number, now: number) => this.#analyzers!.timer?.(slot, now),
      }),
    });
    this.weirds = weirdLog === undefined ? undefined : new ConnWeirds(weirdLog, this.sessions);
    // A log field cut to Zeek's limits is a weird without a connection, as Zeek's reporter has it.
    if (weirdLog !== undefined) {
      options.sessions?.logs?.setTruncationReporter((weird, streamId) =>
        weirdLog.netWeird(this.sessions.now, weird, streamId)
      );
    }
    this.#packetWeirds = this.weirds === undefined
      ? undefined
      : new PacketWeirds(this.weirds, this.sessions, options.sessions?.ignoreChecksumsNets);
    this.#analyzers = factory?.(this.sessions, this.weirds);
    this.#skip = skip;
    this.#macAddresses = macAddresses;
    this.#splitCount = split?.count ?? 0;
    this.#splitIndex = split?.index ?? 0;
    this.#idleTickMs = idle;
  }

  stats(): PipelineStats {
    return Object.freeze({
      packets: this.#packets,
      analyzed: this.#analyzed,
      sessions: this.sessions.stats(),
    });
  }

  /**
   * Reads `source` to its end (or until it is closed), every batch through
   * `runBatch`. Connections still open stay open: `flush()` ends them.
   */
  async run(source: PacketSource, options: PipelineRunOptions = {}): Promise<void> {
    const afterBatch = options.afterBatch;
    this.#lastPacketAt = performance.now();
    const idle = this.#idleTickMs > 0
      ? setInterval(() => this.#idleTick(), this.#idleTickMs)
      : undefined;
    try {
      for (let batch = await source.next(); batch !== null; batch = await source.next()) {
        this.runBatch(batch);
        if (afterBatch !== undefined) await afterBatch();
      }
    } finally {
      clearInterval(idle);
    }
  }

  /** Runs every packet of one borrowed batch through decode → sessions → analyzers. */
  runBatch(batch: Borrowed<PacketBatch>): void {
    const n = batch.count;
    const data = batch.data;
    const decoder = this.decoder;
    const sessions = this.sessions;
    const analyzers = this.#analyzers;
    const d = this.#packet;
    // The reassembler's weirds are noted here (it knows no packet), the decoder's in `d.weird`.
    const counters = decoder.weirds;
    const skip = this.#skip;
    const splitCount = this.#splitCount;
    const splitIndex = this.#splitIndex;
    // AF_PACKET marks packets whose transport checksum the kernel vouches for
    // (TP_STATUS_CSUMNOTREADY: sent by this host with checksum offload, so the
    // bytes on the ring were never summed). Zeek does not hold those against
    // the connection, and neither may we.
    const vouched = batch.checksumVouched;
    if (this.#macAddresses) sessions.setFrame(data);
    let analyzed = 0;
    for (let i = 0; i < n; i++) {
      const ts = packetTime(batch, i);
      let outcome: number;
      if (skip === 0) outcome = decoder.decode(batch, i, d);
      else {
        const caplen = batch.caplen[i]!;
        if (caplen <= skip) {
          sessions.advance(ts);
          continue;
        }
        outcome = decoder.decodeFrame(
          data,
          batch.offset[i]! + skip,
          caplen - skip,
          batch.wireLen[i]! - skip,
          LINKTYPE_RAW,
          0,
          ts,
          d,
        );
      }
      if (
        splitCount !== 0 && outcome === OUTCOME_IP &&
        workerFor(flowHash(d), splitCount) !== splitIndex
      ) {
        if ((d.weird | counters.raisedCount) !== 0) this.#skipFlagged();
        sessions.advance(ts);
        continue;
      }
      analyzed++;
      if (vouched !== undefined && vouched[i] === 1 && d.l4Checksum === CHECKSUM_BAD) {
        d.l4Checksum = CHECKSUM_GOOD;
      }
      if ((d.weird | counters.raisedCount) === 0) sessions.packet(d, ts);
      else this.#flagged(d, ts, outcome);
      if (analyzers !== undefined) {
        const slot = sessions.lastSlot;
        if (slot >= 0) analyzers.packet(d, slot, sessions.lastIsOrig, ts);
      }
    }
    this.#packets += n;
    this.#analyzed += analyzed;
    if (n > 0) this.#lastPacketAt = performance.now();
  }

  /**
   * A packet with weirds: reported when weird.log is on and, under a flow
   * split, by the worker that owns the packet (worker 0 for those no flow
   * owns, which every worker decodes), so a shared trace logs each once.
   */
  #flagged(d: DecodedPacket, ts: number, outcome: number): void {
    const reporter = this.#packetWeirds;
    const counters = this.decoder.weirds;
    if (
      reporter !== undefined &&
      (this.#splitCount === 0 || outcome === OUTCOME_IP || this.#splitIndex === 0)
    ) {
      reporter.packet(d, ts, counters);
    } else {
      reporter?.skip(counters);
      this.sessions.packet(d, ts);
    }
    counters.clearRaised();
  }

  /** A flagged packet of another worker's flow: its weirds are that worker's to report. */
  #skipFlagged(): void {
    const counters = this.decoder.weirds;
    this.#packetWeirds?.skip(counters);
    counters.clearRaised();
  }

  /** Ends every connection still open, as Zeek does when its input ends. */
  flush(): void {
    this.sessions.flush();
    this.#analyzers?.finish?.();
  }

  #idleTick(): void {
    if (performance.now() - this.#lastPacketAt >= this.#idleTickMs) {
      this.sessions.advance(Date.now() / 1000);
    }
  }
}
