/**
 * Benchmarks of connection tracking, for `deno task bench`:
 *
 * - P1 with tracking: packets per second of one worker reading a
 *   generated trace of at least two million packets, decoding, tracking
 *   and writing conn.log, next to `tcpdump -r F -w /dev/null` on the same
 *   file in the same run (target ≥ 1,000,000 pps).
 * - P6: bytes of memory per tracked connection with 1,000,000 concurrent
 *   flows, measured as RSS growth over the flows (target ≤ 256 B).
 *
 * @module
 */

import { CHECKSUM_UNCHECKED, DecodedPacket, OUTCOME_IP, TCP_ACK, TCP_SYN } from "../capture/mod.ts";
import { ConnTracker } from "../mod/analysis/conn/mod.ts";
import { analyzeTrace } from "../mod/trace/mod.ts";
import { generateTrace } from "../testing/mod.ts";
import { timeTcpdump } from "./decode.ts";

/** What a P1 run measured. */
export interface ConnThroughputResult {
  readonly packets: number;
  readonly connections: number;
  readonly seconds: number;
  readonly pps: number;
  /** `tcpdump -r F -w /dev/null` on the same file; undefined when tcpdump is missing. */
  readonly tcpdumpSeconds: number | undefined;
  readonly tcpdumpPps: number | undefined;
}

/** What a P6 run measured. */
export interface ConnMemoryResult {
  readonly flows: number;
  readonly rssGrowth: number;
  readonly bytesPerFlow: number;
  /** Bytes the table's arrays hold for its capacity (allocated, touched or not). */
  readonly tableBytes: number;
}

/** Options of the P1 benchmark. */
export interface ConnThroughputOptions {
  /** An existing trace; default: a generated one of `packets` packets, removed afterwards. */
  readonly path?: string;
  readonly packets?: number;
  /** Enforce checksums as `zeek -r` does (default true). */
  readonly checksums?: boolean;
}

/** Runs P1: decode + tracking + conn.log for one worker, and tcpdump on the same file. */
export async function measureConnThroughput(
  options: ConnThroughputOptions = {},
): Promise<ConnThroughputResult> {
  const dir = await Deno.makeTempDir({ prefix: "weir-bench-conn-" });
  try {
    let path = options.path;
    if (path === undefined) {
      path = `${dir}/trace.pcap`;
      const packets = options.packets ?? 2_000_000;
      await generateTrace(path, {
        flows: Math.ceil(packets / 10),
        packetsPerFlow: 10,
        payloadMax: 200,
        udpShare: 0.3,
        icmpShare: 0.05,
        concurrency: 256,
        rate: 100_000,
      });
    }
    const start = performance.now();
    const r = await analyzeTrace({
      path,
      logDir: `${dir}/logs`,
      checksums: options.checksums ?? true,
      // Connection tracking alone: the protocol analyzers have their own benchmark (app).
      analyzers: "none",
      utc: true,
    });
    const seconds = (performance.now() - start) / 1000;
    const tcpdumpSeconds = await timeTcpdump(path);
    return Object.freeze({
      packets: r.packets,
      connections: r.connections,
      seconds,
      pps: r.packets / seconds,
      tcpdumpSeconds,
      tcpdumpPps: tcpdumpSeconds === undefined ? undefined : r.packets / tcpdumpSeconds,
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/**
 * Runs P6: `flows` concurrent connections (half TCP after a full
 * handshake, half UDP with one datagram each) fed straight into a
 * tracker, RSS before and after. The table is sized for the flows up
 * front, as a worker configured for its load would be, so the figure is
 * the steady cost per flow rather than a doubling's spare room.
 */
export function measureConnMemory(flows = 1_000_000): ConnMemoryResult {
  const tracker = new ConnTracker({ checksums: false, initialSlots: flows });
  const d = new DecodedPacket();
  d.outcome = OUTCOME_IP;
  d.ipVersion = 4;
  d.l4Checksum = CHECKSUM_UNCHECKED;
  const w = d.addrWords;
  w[0] = 0;
  w[1] = 0;
  w[2] = 0xffff;
  w[4] = 0;
  w[5] = 0;
  w[6] = 0xffff;
  const client = 0x0a000000;
  const server = (192 << 24) | (168 << 16) | 1;
  const rssBefore = Deno.memoryUsage().rss;
  let ts = 1_700_000_000;
  const send = (fromClient: boolean, i: number, flags: number, seq: number, ack: number) => {
    w[3] = fromClient ? client + i : server;
    w[7] = fromClient ? server : client + i;
    d.srcPort = fromClient ? 40000 : 443;
    d.dstPort = fromClient ? 443 : 40000;
    d.tcpFlags = flags;
    d.tcpSeq = seq;
    d.tcpAck = ack;
    ts += 1e-6;
    tracker.packet(d, ts);
  };
  for (let i = 0; i < flows; i++) {
    if ((i & 1) === 0) {
      d.proto = 6;
      d.ipTotalLen = 40;
      d.payloadLen = 0;
      d.tcpWindow = 65535;
      send(true, i, TCP_SYN, 1000, 0);
      send(false, i, TCP_SYN | TCP_ACK, 5000, 1001);
      send(true, i, TCP_ACK, 1001, 5001);
    } else {
      d.proto = 17;
      d.ipTotalLen = 60;
      d.udpLen = 40;
      d.payloadLen = 32;
      w[3] = client + i;
      w[7] = server;
      d.srcPort = 50000;
      d.dstPort = 53;
      ts += 1e-6;
      tracker.packet(d, ts);
    }
  }
  const rssAfter = Deno.memoryUsage().rss;
  const live = tracker.stats().live;
  if (live !== flows) {
    throw new Error(`Cannot measure memory per flow: ${live} of ${flows} flows are live`);
  }
  const growth = rssAfter - rssBefore;
  return Object.freeze({
    flows,
    rssGrowth: growth,
    bytesPerFlow: growth / flows,
    tableBytes: tracker.table.byteLength,
  });
}

/** P1 as printable rows. */
export async function benchConnThroughput(
  options: ConnThroughputOptions = {},
): Promise<string[]> {
  const r = await measureConnThroughput(options);
  const rows = [
    `P1 decode+track+conn.log (1 worker): ${r.packets} packets, ${r.connections} connections in ${
      r.seconds.toFixed(2)
    } s = ${Math.round(r.pps).toLocaleString("en-US")} pps (target ≥ 1,000,000)`,
  ];
  rows.push(
    r.tcpdumpPps === undefined
      ? "P1 reference: tcpdump not available"
      : `P1 reference tcpdump -r F -w /dev/null: ${r.tcpdumpSeconds!.toFixed(2)} s = ${
        Math.round(r.tcpdumpPps).toLocaleString("en-US")
      } pps`,
  );
  return rows;
}

/** P6 as printable rows. */
export function benchConnMemory(flows = 1_000_000): Promise<string[]> {
  const r = measureConnMemory(flows);
  return Promise.resolve([
    `P6 memory per connection: ${r.flows.toLocaleString("en-US")} concurrent flows, RSS +${
      (r.rssGrowth / 1048576).toFixed(1)
    } MiB = ${r.bytesPerFlow.toFixed(0)} B/flow (target ≤ 256); table arrays ${
      (r.tableBytes / r.flows).toFixed(0)
    } B/slot`,
  ]);
}

if (import.meta.main) {
  const which = Deno.args[0] ?? "all";
  if (which === "all" || which === "p6") {
    for (const row of await benchConnMemory()) console.log(row);
  }
  if (which === "all" || which === "p1") {
    for (const row of await benchConnThroughput()) console.log(row);
  }
}
