/**
 * A worker's packet loop: the node's interface (AF_PACKET with its fanout
 * group, or libpcap) → decoder → connection tracker → conn.log through the
 * node's logging (so the records go to the loggers). Timers run on packet
 * time; when traffic stops they run on the wall clock, so idle connections
 * still expire.
 *
 * @module
 */

import type { NodeSpec } from "../../config/mod.ts";
import {
  AfPacketSource,
  CHECKSUM_BAD,
  CHECKSUM_GOOD,
  DecodedPacket,
  openInterface,
  OUTCOME_IP,
  PacketDecoder,
  type PacketSource,
  packetTime,
  type SourceStats,
} from "../../capture/mod.ts";
import { ConnTracker, type ConnTrackerStats } from "../analysis/conn/mod.ts";
import type { EventRegistry } from "../bus/events.ts";
import type { LogRegistry } from "../log/stream.ts";
import type { LocalNet } from "../../config/mod.ts";

/** How often the wall clock drives the timers while no packets arrive. */
const IDLE_TICK_MS = 1000;

export interface CaptureLoopOptions {
  readonly self: NodeSpec;
  readonly logs: LogRegistry;
  readonly localNets: readonly LocalNet[];
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

/** Opens the worker's interface and starts the loop. */
export async function startCaptureLoop(options: CaptureLoopOptions): Promise<CaptureLoop> {
  const { self } = options;
  const source = await openInterface(interfaceOf(self), {
    afPacket: self.afPacket,
    ...(options.filter === undefined ? {} : { filter: options.filter }),
  });
  const checksums = self.afPacket.checksumValidation !== "off";
  const tracker = new ConnTracker({
    checksums,
    logs: options.logs,
    localNets: options.localNets,
    ...(options.events === undefined ? {} : { events: options.events }),
  });
  const decoder = new PacketDecoder({ checksums });
  const packet = new DecodedPacket();
  // AF_PACKET marks packets whose transport checksum the kernel vouches for
  // (TP_STATUS_CSUMNOTREADY: sent by this host with checksum offload, so the
  // bytes on the ring were never summed). Zeek does not hold those against
  // the connection, and neither may we.
  const vouched = source instanceof AfPacketSource ? source.checksumVouched : undefined;
  let lastPacketAt = performance.now();
  const idle = setInterval(() => {
    if (performance.now() - lastPacketAt >= IDLE_TICK_MS) tracker.advance(Date.now() / 1000);
  }, IDLE_TICK_MS);
  const loop = (async () => {
    for (let batch = await source.next(); batch !== null; batch = await source.next()) {
      const n = batch.count;
      for (let i = 0; i < n; i++) {
        const ts = packetTime(batch, i);
        if (decoder.decode(batch, i, packet) !== OUTCOME_IP) {
          tracker.advance(ts);
          continue;
        }
        if (vouched !== undefined && vouched[i] === 1 && packet.l4Checksum === CHECKSUM_BAD) {
          packet.l4Checksum = CHECKSUM_GOOD;
        }
        tracker.packet(packet, ts);
      }
      if (n > 0) lastPacketAt = performance.now();
    }
  })().catch(options.onError);
  let closed: Promise<void> | undefined;
  const close = () =>
    closed ??= (async () => {
      clearInterval(idle);
      source.close();
      await loop;
      // Zeek writes every connection still open when it terminates.
      tracker.flush();
    })();
  return {
    source,
    tracker,
    stats: () => ({ source: source.stats(), tracker: tracker.stats() }),
    close,
    [Symbol.asyncDispose]: close,
  };
}
