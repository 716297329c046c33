/**
 * The reassembly fuzzer's loop, run in a worker so that the test can stop
 * it and name the input when it hangs. It receives real TCP flows (from the
 * test), mutates them with a seeded generator, feeds them to `TcpStreams`
 * and checks what must always hold: no exception, each direction's
 * deliveries and holes contiguous from relative 1, the memory bounds never
 * exceeded, and every byte given back after `close()`.
 *
 * Messages in: `FuzzRequest`. Out: `FuzzProgress` every `PROGRESS_EVERY`
 * inputs, then `FuzzDone`, or `FuzzFailure` with the input's number.
 *
 * @module
 */

import { DecodedPacket, TCP_ACK, TCP_FIN, TCP_RST, TCP_SYN } from "../../../capture/mod.ts";
import { ReassemblyMemory } from "./reassembly_memory.ts";
import {
  DEFAULT_TCP_STREAM_OPTIONS,
  type TcpStreamOptions,
  TcpStreams,
  type TcpStreamSink,
} from "./tcp_streams.ts";

/** One captured TCP segment of a flow; `orig` is relative to the flow's first packet. */
export interface FuzzSegment {
  orig: boolean;
  seq: number;
  ack: number;
  flags: number;
  payload: Uint8Array;
  /** Bytes captured; below `payload.length` it is a truncated capture. */
  caplen: number;
}

export interface FuzzRequest {
  readonly seed: number;
  readonly inputs: number;
  readonly first: number;
  readonly flows: FuzzSegment[][];
}
export interface FuzzProgress {
  readonly kind: "progress";
  readonly done: number;
}
export interface FuzzDone {
  readonly kind: "done";
  readonly inputs: number;
  readonly packets: number;
  readonly delivered: number;
  readonly gaps: number;
  readonly weirds: Record<string, number>;
  readonly cutBytes: number;
  readonly peakHeld: number;
  readonly slowestMs: number;
}
export interface FuzzFailure {
  readonly kind: "failure";
  readonly input: number;
  readonly message: string;
}

export const PROGRESS_EVERY = 1000;
const MAX_INPUT_MS = 1000;
const MAX_PACKETS = 300;

/** mulberry32: small, fast, and the same on every machine. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The seed of input `i`: each input can be replayed alone. */
export function inputSeed(seed: number, i: number): number {
  return (Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b) + Math.imul(i + 1, 0xc2b2ae35)) >>> 0;
}

class FuzzFailed extends Error {}

function check(ok: boolean, what: string): void {
  if (!ok) throw new FuzzFailed(what);
}

/** Checks the calls of one connection: per direction, data and holes continue where the last ended. */
class CheckingSink implements TcpStreamSink {
  /** Next relative position per role: [responder, originator]. */
  readonly next = [1, 1];
  delivered = 0;
  gaps = 0;
  readonly weirds: Record<string, number>;
  constructor(weirds: Record<string, number>) {
    this.weirds = weirds;
  }
  stream(data: Uint8Array, isOrig: boolean): void {
    check(data.length > 0, "empty delivery");
    this.next[isOrig ? 1 : 0]! += data.length;
    this.delivered += data.length;
  }
  undelivered(seq: number, len: number, isOrig: boolean): void {
    const at = this.next[isOrig ? 1 : 0]!;
    check(len > 0, `undelivered length ${len}`);
    check(seq === at, `undelivered at ${seq}, but the stream is at ${at} (isOrig ${isOrig})`);
    this.next[isOrig ? 1 : 0] = seq + len;
    this.gaps++;
  }
  closed(): void {}
  weird(name: string, _addl: string | undefined, source: string): void {
    check(source === "TCP", `weird source ${source}`);
    this.weirds[name] = (this.weirds[name] ?? 0) + 1;
  }
  swap(): void {
    const t = this.next[0]!;
    this.next[0] = this.next[1]!;
    this.next[1] = t;
  }
}

function copySegment(s: FuzzSegment): FuzzSegment {
  return { ...s };
}

const FLAG_BITS = [TCP_SYN, TCP_FIN, TCP_RST, TCP_ACK];

/** A mutated copy of `flow`. */
function mutate(flow: FuzzSegment[], r: () => number): FuzzSegment[] {
  const int = (n: number) => Math.floor(r() * n);
  let segs = flow;
  if (segs.length > MAX_PACKETS || r() < 0.2) {
    // A window of the flow: the capture started (or ended) mid-connection.
    const len = 1 + int(Math.min(segs.length, MAX_PACKETS));
    const start = int(segs.length - len + 1);
    segs = segs.slice(start, start + len);
  }
  segs = segs.map(copySegment);
  const n = 1 + int(5);
  for (let k = 0; k < n && segs.length > 0; k++) {
    const i = int(segs.length);
    const s = segs[i]!;
    switch (int(12)) {
      case 0: {
        const j = int(segs.length);
        segs[i] = segs[j]!;
        segs[j] = s;
        break;
      }
      case 1: {
        segs.splice(i, 1);
        segs.splice(Math.min(segs.length, i + 1 + int(10)), 0, s);
        break;
      }
      case 2:
        segs.splice(Math.min(segs.length, i + int(5)), 0, copySegment(s));
        break;
      case 3:
        segs.splice(i, 1);
        break;
      case 4: {
        // A retransmission overlapping the original with other bytes.
        const len = int(2 * s.payload.length + 8);
        const payload = new Uint8Array(len);
        for (let b = 0; b < len; b++) payload[b] = 0x41 + int(26);
        const shift = int(2 * s.payload.length + 1) - s.payload.length;
        segs.splice(i + int(4), 0, { ...s, seq: (s.seq + shift) >>> 0, payload, caplen: len });
        break;
      }
      case 5:
        s.flags ^= FLAG_BITS[int(4)]!;
        break;
      case 6:
        s.seq = r() < 0.5 ? (s.seq + int(4000) - 2000) >>> 0 : int(0x1_0000_0000);
        break;
      case 7:
        s.ack = r() < 0.5 ? (s.ack + int(4000) - 2000) >>> 0 : int(0x1_0000_0000);
        break;
      case 8:
        s.caplen = int(s.payload.length);
        break;
      case 9: {
        // Move one direction's sequence space next to the 32-bit wrap.
        const orig = s.orig;
        const delta = (0x1_0000_0000 - int(3000) - s.seq) >>> 0;
        for (const t of segs) {
          if (t.orig === orig) t.seq = (t.seq + delta) >>> 0;
          else t.ack = (t.ack + delta) >>> 0;
        }
        break;
      }
      case 10: {
        // Split a segment in two, sent in reverse order.
        if (s.payload.length < 2) break;
        const cut = 1 + int(s.payload.length - 1);
        const head = { ...s, payload: s.payload.subarray(0, cut), caplen: cut };
        const tail = {
          ...s,
          seq: (s.seq + cut) >>> 0,
          payload: s.payload.subarray(cut),
          caplen: s.payload.length - cut,
        };
        segs.splice(i, 1, tail, head);
        break;
      }
      case 11: {
        // A burst of out-of-order junk far above the stream.
        const base = (s.seq + 1000 + int(100000)) >>> 0;
        const count = 1 + int(20);
        for (let c = 0; c < count; c++) {
          const len = 1 + int(1400);
          segs.splice(i + int(segs.length - i + 1), 0, {
            ...s,
            seq: (base + int(40000)) >>> 0,
            payload: new Uint8Array(len),
            caplen: len,
          });
        }
        break;
      }
    }
  }
  return segs;
}

interface Conn {
  readonly segs: FuzzSegment[];
  readonly sink: CheckingSink;
  readonly streams: TcpStreams;
  at: number;
  /** Whether the flow's first sender is the originator now. */
  origIsOrig: boolean;
}

const SMALL_LIMITS: TcpStreamOptions = Object.freeze({
  maxInitialWindow: 300,
  maxAboveHoleWithoutAnyAcks: 500,
  excessiveDataWithoutFurtherAcks: 2000,
});

/** Runs inputs `[first, first + count)`; throws `FuzzFailed` (or whatever escaped) with the input number. */
export function runFuzz(
  req: FuzzRequest,
  progress: (done: number) => void,
): FuzzDone {
  const d = new DecodedPacket();
  const scratch = new Uint8Array(70000);
  const weirds: Record<string, number> = {};
  let packets = 0;
  let delivered = 0;
  let gaps = 0;
  let cutBytes = 0;
  let peakHeld = 0;
  let slowest = 0;
  for (let n = 0; n < req.inputs; n++) {
    const input = req.first + n;
    const started = performance.now();
    try {
      const r = prng(inputSeed(req.seed, input));
      const int = (k: number) => Math.floor(r() * k);
      const bounds = int(4);
      const memory = new ReassemblyMemory(
        bounds === 0
          ? {}
          : bounds === 1
          ? { maxConnectionBytes: 200 + int(4000) }
          : bounds === 2
          ? { maxBytes: 300 + int(6000) }
          : { maxBytes: 2000, maxConnectionBytes: 1500 },
      );
      const options = r() < 0.25 ? SMALL_LIMITS : DEFAULT_TCP_STREAM_OPTIONS;
      const conns: Conn[] = [];
      const count = 1 + int(3);
      for (let c = 0; c < count; c++) {
        const sink = new CheckingSink(weirds);
        conns.push({
          segs: mutate(req.flows[int(req.flows.length)]!, r),
          sink,
          streams: new TcpStreams(sink, memory, options),
          at: 0,
          origIsOrig: true,
        });
      }
      for (;;) {
        const live = conns.filter((c) => c.at < c.segs.length);
        if (live.length === 0) break;
        const c = live[int(live.length)]!;
        const s = c.segs[c.at++]!;
        let flipped = false;
        const roll = r();
        if (roll < 0.002) {
          c.streams.flip();
          c.sink.swap();
          c.origIsOrig = !c.origIsOrig;
        } else if (roll < 0.004) {
          flipped = true;
          c.sink.swap();
          c.origIsOrig = !c.origIsOrig;
        }
        const len = s.payload.length;
        scratch.set(s.payload, 20);
        d.data = scratch;
        d.tcpSeq = s.seq;
        d.tcpAck = s.ack;
        d.tcpFlags = s.flags;
        d.payloadOffset = 20;
        d.payloadLen = len;
        d.payloadCaplen = s.caplen;
        c.streams.packet(d, s.orig === c.origIsOrig, flipped);
        // The capture buffer is reused: anything kept without a copy is now garbage.
        scratch.fill(0xee, 20, 20 + len);
        packets++;
        check(memory.heldBytes <= memory.maxBytes, `held ${memory.heldBytes} > ${memory.maxBytes}`);
        let sum = 0;
        for (const k of conns) {
          const held = k.streams.heldBytes;
          check(held >= 0, `connection holds ${held}`);
          check(
            held <= memory.maxConnectionBytes,
            `connection holds ${held} > ${memory.maxConnectionBytes}`,
          );
          sum += held;
        }
        check(sum === memory.heldBytes, `connections hold ${sum}, memory says ${memory.heldBytes}`);
      }
      for (const c of conns) {
        c.streams.close();
        delivered += c.sink.delivered;
        gaps += c.sink.gaps;
      }
      const st = memory.stats();
      check(
        st.heldBytes === 0 && st.bufferedBytes === 0 && st.bufferedSegments === 0,
        `after close: ${JSON.stringify(st)}`,
      );
      cutBytes += st.cutBytesGlobal + st.cutBytesPerConnection;
      if (st.peakHeldBytes > peakHeld) peakHeld = st.peakHeldBytes;
    } catch (e) {
      const message = e instanceof Error ? (e.stack ?? e.message) : String(e);
      throw new Error(`input ${input}: ${message}`);
    }
    const ms = performance.now() - started;
    if (ms > slowest) slowest = ms;
    if (ms > MAX_INPUT_MS) throw new Error(`input ${input}: took ${ms.toFixed(0)} ms`);
    if ((n + 1) % PROGRESS_EVERY === 0) progress(n + 1);
  }
  return {
    kind: "done",
    inputs: req.inputs,
    packets,
    delivered,
    gaps,
    weirds,
    cutBytes,
    peakHeld,
    slowestMs: slowest,
  };
}

// deno-lint-ignore no-explicit-any
const scope = globalThis as any;
if (typeof scope.WorkerGlobalScope !== "undefined" && scope instanceof scope.WorkerGlobalScope) {
  scope.onmessage = (ev: MessageEvent<FuzzRequest>) => {
    try {
      const done = runFuzz(ev.data, (n) => scope.postMessage({ kind: "progress", done: n }));
      scope.postMessage(done);
    } catch (e) {
      const message = e instanceof Error ? e.message : String(e);
      const input = Number(/^input (\d+)/.exec(message)?.[1] ?? -1);
      scope.postMessage({ kind: "failure", input, message } satisfies FuzzFailure);
    }
  };
}
