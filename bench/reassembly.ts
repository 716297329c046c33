/**
 * Benchmarks of TCP stream reassembly (`mod/analysis/tcp`), for
 * `deno task bench reassembly`:
 *
 * - Memory: 100,000 concurrent connections that each leave an out-of-order
 *   segment pending behind a hole, under a global bound smaller than what
 *   they ask for: the peak held stays within the bound, the rest is counted
 *   as cut, `close()` gives everything back. Also what a stored segment
 *   really costs the heap, next to the `SEGMENT_OVERHEAD_BYTES` the bounds
 *   charge.
 * - Throughput: in-order segments per second through `TcpStreams` (each
 *   delivered as a view of the packet), next to copying the same payload
 *   bytes with `Uint8Array.set` measured in the same run.
 *
 * @module
 */

import { DecodedPacket, TCP_ACK, TCP_SYN } from "../capture/mod.ts";
import {
  ReassemblyMemory,
  type ReassemblyMemoryStats,
  SEGMENT_OVERHEAD_BYTES,
  TcpStreams,
  type TcpStreamSink,
} from "../mod/analysis/tcp/mod.ts";

/** What the memory run measured. */
export interface ReassemblyMemoryResult {
  readonly connections: number;
  readonly segmentBytes: number;
  readonly maxBytes: number;
  /** After every connection left its segment pending. */
  readonly stats: ReassemblyMemoryStats;
  /** Held bytes after `close()` of every connection (must be 0). */
  readonly heldAfterClose: number;
  /** Heap (JS + external) per connection before any segment was stored. */
  readonly bytesPerConnection: number;
  /** Heap (JS + external) per stored segment beyond its payload. */
  readonly overheadPerSegment: number;
}

/** What the throughput run measured. */
export interface ReassemblyThroughputResult {
  readonly segments: number;
  readonly payload: number;
  readonly segmentsPerSecond: number;
  /** Copying the same bytes with `Uint8Array.set`. */
  readonly copySegmentsPerSecond: number;
  readonly delivered: number;
}

class CountingSink implements TcpStreamSink {
  bytes = 0;
  gaps = 0;
  stream(data: Uint8Array): void {
    this.bytes += data.length;
  }
  undelivered(): void {
    this.gaps++;
  }
  closed(): void {}
  weird(): void {}
}

function heap(): number {
  const m = Deno.memoryUsage();
  return m.heapUsed + m.external;
}

/** Runs the memory benchmark. */
export function measureReassemblyMemory(
  connections = 100_000,
  segmentBytes = 1000,
  maxBytes = 64 * 1024 * 1024,
): ReassemblyMemoryResult {
  const memory = new ReassemblyMemory({ maxBytes });
  const sink = new CountingSink();
  const d = new DecodedPacket();
  d.data = new Uint8Array(segmentBytes + 200).fill(0x61);
  d.payloadOffset = 0;
  d.tcpFlags = TCP_ACK;
  d.tcpAck = 5000;
  const all: TcpStreams[] = new Array(connections);
  const before = heap();
  for (let i = 0; i < connections; i++) {
    const s = new TcpStreams(sink, memory);
    d.tcpSeq = 1000;
    d.payloadLen = d.payloadCaplen = 100;
    s.packet(d, true);
    all[i] = s;
  }
  const withConnections = heap();
  d.payloadLen = d.payloadCaplen = segmentBytes;
  for (let i = 0; i < connections; i++) {
    // Relative 201: 100 bytes after the delivered point, so it waits.
    d.tcpSeq = 1200;
    all[i]!.packet(d, true);
  }
  const withSegments = heap();
  const stats = memory.stats();
  for (const s of all) s.close();
  return Object.freeze({
    connections,
    segmentBytes,
    maxBytes,
    stats,
    heldAfterClose: memory.heldBytes,
    bytesPerConnection: (withConnections - before) / connections,
    overheadPerSegment: (withSegments - withConnections) / stats.bufferedSegments - segmentBytes,
  });
}

/** Runs the throughput benchmark: one connection, `segments` in-order data segments. */
export function measureReassemblyThroughput(
  segments = 2_000_000,
  payload = 1000,
): ReassemblyThroughputResult {
  const d = new DecodedPacket();
  const packet = new Uint8Array(payload + 54).fill(0x62);
  d.data = packet;
  d.payloadOffset = 54;
  const run = (n: number): { seconds: number; delivered: number } => {
    const sink = new CountingSink();
    const s = new TcpStreams(sink, new ReassemblyMemory());
    d.payloadLen = d.payloadCaplen = 0;
    d.tcpFlags = TCP_SYN;
    d.tcpSeq = 1000;
    s.packet(d, true);
    d.tcpFlags = TCP_SYN | TCP_ACK;
    d.tcpSeq = 5000;
    d.tcpAck = 1001;
    s.packet(d, false);
    d.tcpFlags = TCP_ACK;
    d.tcpAck = 5001;
    d.payloadLen = d.payloadCaplen = payload;
    let seq = 1001;
    const start = performance.now();
    for (let i = 0; i < n; i++) {
      d.tcpSeq = seq;
      s.packet(d, true);
      seq = (seq + payload) >>> 0;
    }
    const seconds = (performance.now() - start) / 1000;
    s.close();
    return { seconds, delivered: sink.bytes };
  };
  const copy = (n: number): number => {
    const ring = new Uint8Array(64 * 1024);
    let at = 0;
    const start = performance.now();
    for (let i = 0; i < n; i++) {
      if (at + payload > ring.length) at = 0;
      ring.set(packet.subarray(54, 54 + payload), at);
      at += payload;
    }
    return (performance.now() - start) / 1000;
  };
  run(Math.min(segments, 100_000));
  copy(Math.min(segments, 100_000));
  const r = run(segments);
  const copySeconds = copy(segments);
  if (r.delivered !== segments * payload) {
    throw new Error(`Reassembly delivered ${r.delivered} B of ${segments * payload} B in order`);
  }
  return Object.freeze({
    segments,
    payload,
    segmentsPerSecond: segments / r.seconds,
    copySegmentsPerSecond: segments / copySeconds,
    delivered: r.delivered,
  });
}

const mib = (n: number) => `${(n / 1048576).toFixed(1)} MiB`;
const count = (n: number) => Math.round(n).toLocaleString("en-US");

/** Both benchmarks as printable rows. */
export function benchReassembly(): Promise<string[]> {
  const m = measureReassemblyMemory();
  const s = m.stats;
  const t = measureReassemblyThroughput();
  return Promise.resolve([
    `reassembly memory: ${count(m.connections)} connections, each a ${m.segmentBytes}-B segment ` +
    `pending behind a hole, global bound ${mib(m.maxBytes)}: peak held ${mib(s.peakHeldBytes)} ` +
    `(${s.peakHeldBytes <= m.maxBytes ? "within" : "OVER"} the bound), ${
      count(s.bufferedSegments)
    } ` +
    `segments stored, ${count(s.cutSegments)} cut = ${count(s.cutBytesGlobal)} B (global) + ` +
    `${
      count(s.cutBytesPerConnection)
    } B (per connection); held after close() ${m.heldAfterClose} B`,
    `reassembly memory: heap per connection ${count(m.bytesPerConnection)} B; per stored segment ` +
    `payload + ${
      count(m.overheadPerSegment)
    } B measured (bounds charge ${SEGMENT_OVERHEAD_BYTES} B)`,
    `reassembly in order: ${count(t.segments)} segments of ${t.payload} B = ` +
    `${count(t.segmentsPerSecond)} segments/s (delivered as views)`,
    `reassembly reference Uint8Array.set of the same payloads: ${count(t.copySegmentsPerSecond)} ` +
    `segments/s (reassembly at ${
      (t.segmentsPerSecond / t.copySegmentsPerSecond).toFixed(2)
    }× copy speed)`,
  ]);
}

if (import.meta.main) {
  for (const row of await benchReassembly()) console.log(row);
}
