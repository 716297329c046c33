import assert from "node:assert/strict";
import {
  DecodedPacket,
  TCP_ACK,
  TCP_FIN,
  TCP_PSH,
  TCP_RST,
  TCP_SYN,
} from "../../../capture/mod.ts";
import {
  DEFAULT_TCP_EXCESSIVE_DATA_WITHOUT_FURTHER_ACKS,
  DEFAULT_TCP_MAX_ABOVE_HOLE_WITHOUT_ANY_ACKS,
  DEFAULT_TCP_STREAM_OPTIONS,
  ReassemblyMemory,
  SEGMENT_OVERHEAD_BYTES,
  type TcpStreamOptions,
  TcpStreams,
  type TcpStreamSink,
} from "./mod.ts";

const latin1 = new TextDecoder("latin1");

/** Writes what the analyzer side sees, one line per call: `D>` data, `G>` gap, `C>` close (`<` responder). */
class Recorder implements TcpStreamSink {
  readonly lines: string[] = [];
  /** The buffers of the views delivered, to tell views of the packet from copies. */
  readonly buffers: ArrayBufferLike[] = [];
  stream(data: Uint8Array, isOrig: boolean): void {
    this.lines.push(`D${isOrig ? ">" : "<"} ${latin1.decode(data)}`);
    this.buffers.push(data.buffer);
  }
  undelivered(seq: number, len: number, isOrig: boolean): void {
    this.lines.push(`G${isOrig ? ">" : "<"} ${seq}+${len}`);
  }
  closed(isOrig: boolean): void {
    this.lines.push(`C${isOrig ? ">" : "<"}`);
  }
  weird(name: string, addl: string | undefined, source: string): void {
    this.lines.push(`W ${name}${addl === undefined ? "" : ` ${addl}`} ${source}`);
  }
}

const FLAG_BITS: Record<string, number> = {
  S: TCP_SYN,
  A: TCP_ACK,
  F: TCP_FIN,
  R: TCP_RST,
  P: TCP_PSH,
};

const PAYLOAD_AT = 54;

/**
 * The conversation builder of the research experiments (`dnsbuild.py`'s
 * `TCPConv`), driving `TcpStreams` directly. Every packet is written into
 * the same buffer, which is scribbled over afterwards, as a capture ring
 * reuses its slots: bytes kept without copying would show up as `~`.
 */
class Conv {
  readonly rec = new Recorder();
  readonly memory: ReassemblyMemory;
  readonly streams: TcpStreams;
  readonly packetBuffer = new Uint8Array(65536);
  readonly #d = new DecodedPacket();
  cseq: number;
  sseq: number;

  constructor(
    o: {
      cseq?: number;
      sseq?: number;
      memory?: ReassemblyMemory;
      options?: TcpStreamOptions;
    } = {},
  ) {
    this.cseq = o.cseq ?? 1000;
    this.sseq = o.sseq ?? 5000;
    this.memory = o.memory ?? new ReassemblyMemory();
    this.streams = new TcpStreams(this.rec, this.memory, o.options ?? DEFAULT_TCP_STREAM_OPTIONS);
  }

  get lines(): string[] {
    return this.rec.lines;
  }

  pkt(
    fromClient: boolean,
    flags: string,
    payload: string | Uint8Array = "",
    o: { seq?: number; ack?: number; caplen?: number; flipped?: boolean; isOrig?: boolean } = {},
  ): void {
    const d = this.#d;
    let bits = 0;
    for (const f of flags) bits |= FLAG_BITS[f]!;
    const bytes = typeof payload === "string" ? new TextEncoder().encode(payload) : payload;
    this.packetBuffer.set(bytes, PAYLOAD_AT);
    d.data = this.packetBuffer;
    d.tcpFlags = bits;
    d.tcpSeq = (o.seq ?? (fromClient ? this.cseq : this.sseq)) >>> 0;
    d.tcpAck = flags.includes("A") ? (o.ack ?? (fromClient ? this.sseq : this.cseq)) >>> 0 : 0;
    d.payloadOffset = PAYLOAD_AT;
    d.payloadLen = bytes.length;
    d.payloadCaplen = o.caplen ?? bytes.length;
    this.streams.packet(d, o.isOrig ?? fromClient, o.flipped ?? false);
    this.packetBuffer.fill(0x7e);
  }

  handshake(): void {
    this.pkt(true, "S");
    this.cseq++;
    this.pkt(false, "SA");
    this.sseq++;
    this.pkt(true, "A");
  }

  send(fromClient: boolean, data: string, o: { seq?: number; flags?: string } = {}): void {
    this.pkt(fromClient, o.flags ?? "PA", data, o.seq === undefined ? {} : { seq: o.seq });
    if (o.seq !== undefined) return;
    if (fromClient) this.cseq += data.length;
    else this.sseq += data.length;
  }

  ack(fromClient: boolean): void {
    this.pkt(fromClient, "A");
  }

  fin(fromClient: boolean): void {
    this.pkt(fromClient, "FA");
    if (fromClient) this.cseq++;
    else this.sseq++;
  }

  close(): void {
    this.fin(true);
    this.fin(false);
    this.ack(true);
  }
}

Deno.test("in-order data is delivered at once, as a view of the packet", () => {
  const c = new Conv();
  c.handshake();
  c.send(true, "hello");
  c.send(false, "world");
  assert.deepEqual(c.lines, ["D> hello", "D< world"]);
  assert.equal(c.rec.buffers[0], c.packetBuffer.buffer);
  assert.equal(c.streams.partial, false);
  assert.equal(c.memory.stats().peakHeldBytes, 0);
});

Deno.test("R1: segments sent 1,3,2 are delivered 1,2,3, copied out of the reused packet", () => {
  const c = new Conv();
  c.handshake();
  const s = c.cseq;
  c.send(true, "CCCC", { seq: s + 8 });
  c.send(true, "BBBB", { seq: s + 4 });
  assert.deepEqual(c.lines, []);
  assert.equal(c.streams.stats().bufferedBytes, 8);
  assert.equal(c.streams.stats().heldBytes, 8 + 2 * SEGMENT_OVERHEAD_BYTES);
  c.send(true, "AAAA", { seq: s });
  c.cseq = s + 12;
  c.ack(false);
  c.close();
  assert.deepEqual(c.lines, ["D> AAAA", "D> BBBB", "D> CCCC", "C>", "C<"]);
  assert.equal(c.rec.buffers[0], c.packetBuffer.buffer);
  assert.notEqual(c.rec.buffers[1], c.packetBuffer.buffer);
  assert.equal(c.memory.stats().heldBytes, 0);
  assert.equal(c.memory.stats().bufferedSegments, 0);
});

Deno.test("R2 (§2.2): XXXX@5, YYYYYY@3, AA@1 → AA YY XXXX: the first arrival wins, no weird", () => {
  const c = new Conv();
  c.handshake();
  const s = c.cseq;
  c.send(true, "XXXX", { seq: s + 4 });
  c.send(true, "YYYYYY", { seq: s + 2 });
  c.send(true, "AA", { seq: s });
  c.cseq = s + 8;
  c.ack(false);
  c.close();
  assert.deepEqual(c.lines, ["D> AA", "D> YY", "D> XXXX", "C>", "C<"]);
});

Deno.test("an in-order segment overlapping stored data delivers its own bytes only where none came first", () => {
  const c = new Conv();
  c.handshake();
  const s = c.cseq;
  c.send(true, "bb", { seq: s + 2 });
  c.send(true, "dd", { seq: s + 6 });
  c.send(true, "AAAAAAAAAA", { seq: s });
  assert.deepEqual(c.lines, ["D> AA", "D> bb", "D> AA", "D> dd", "D> AA"]);
  assert.equal(c.memory.heldBytes, 0);
});

Deno.test("R3: a retransmission of delivered bytes is dropped, whatever its bytes", () => {
  const c = new Conv();
  c.handshake();
  const s = c.cseq;
  c.send(true, "first-data");
  c.send(true, "FIRST-DATA", { seq: s });
  c.send(true, "FIRST-DATA-and-more", { seq: s });
  c.ack(false);
  assert.deepEqual(c.lines, ["D> first-data", "D> -and-more"]);
});

Deno.test("R4: a hole the peer acknowledges past is undelivered, then what waited is delivered", () => {
  const c = new Conv();
  c.handshake();
  c.send(true, "1111");
  c.cseq += 5;
  c.send(true, "3333");
  assert.deepEqual(c.lines, ["D> 1111"]);
  c.ack(false);
  c.close();
  assert.deepEqual(c.lines, ["D> 1111", "G> 5+5", "D> 3333", "C>", "C<"]);
  assert.equal(c.streams.hadGap(true), true);
  assert.equal(c.streams.hadGap(false), false);
});

Deno.test("R5: data beyond the FIN is never delivered (ACKs clamp below the FIN octet)", () => {
  const c = new Conv();
  c.handshake();
  c.send(true, "before-fin");
  c.fin(true);
  c.send(true, "after-fin");
  c.ack(false);
  c.fin(false);
  c.ack(true);
  assert.deepEqual(c.lines, ["D> before-fin", "C>", "C<"]);
  c.streams.close();
  assert.equal(c.memory.heldBytes, 0);
});

Deno.test("R6: after the peer's RST the other side's data is still delivered", () => {
  const c = new Conv();
  c.handshake();
  c.send(true, "before-rst");
  c.ack(false);
  c.pkt(false, "R");
  c.send(true, "after-rst");
  assert.deepEqual(c.lines, ["D> before-rst", "C<", "D> after-rst"]);
});

Deno.test("R7: a hole with > 16384 bytes above it and no ACK → above_hole_data_without_any_acks, direction stops", () => {
  const c = new Conv();
  c.handshake();
  c.cseq += 10;
  for (let i = 0; i < 14; i++) c.send(true, "Z".repeat(1400));
  assert.deepEqual(c.lines, ["W above_hole_data_without_any_acks TCP"]);
  assert.equal(c.memory.heldBytes, 0);
  c.send(true, "more");
  c.close();
  assert.deepEqual(c.lines, ["W above_hole_data_without_any_acks TCP", "C>", "C<"]);
  assert.equal(DEFAULT_TCP_MAX_ABOVE_HOLE_WITHOUT_ANY_ACKS, 16384);
});

Deno.test("the above-hole rule counts the hole too, and needs more than 16384", () => {
  const c = new Conv();
  c.handshake();
  c.send(true, "x".repeat(16384 - 100), { seq: c.cseq + 100 });
  assert.deepEqual(c.lines, []);
  c.send(true, "y", { seq: c.cseq + 16384 });
  assert.deepEqual(c.lines, ["W above_hole_data_without_any_acks TCP"]);
});

Deno.test("R8: a FIN with a hole before it closes twice: at the FIN, and when the hole is given up", () => {
  const c = new Conv();
  c.handshake();
  c.send(true, "head");
  c.cseq += 6;
  c.send(true, "tail");
  c.fin(true);
  c.fin(false);
  c.ack(true);
  assert.deepEqual(c.lines, ["D> head", "C>", "G> 5+6", "D> tail", "C>", "C<"]);
});

Deno.test("fin.pcap 47101: data re-using the FIN's sequence number is delivered", () => {
  const c = new Conv();
  c.handshake();
  c.send(true, "before-fin");
  const s = c.cseq;
  c.fin(true);
  c.send(true, "at-fin-seq", { seq: s });
  c.ack(false);
  c.fin(false);
  c.ack(true);
  assert.deepEqual(c.lines, ["D> before-fin", "C>", "D> at-fin-seq", "C<"]);
});

Deno.test("fin.pcap 47102: payload carried by a FIN is delivered before the close", () => {
  const c = new Conv();
  c.handshake();
  c.pkt(true, "FPA", "data-with-fin");
  c.cseq += 14;
  c.ack(false);
  c.fin(false);
  c.ack(true);
  assert.deepEqual(c.lines, ["D> data-with-fin", "C>", "C<"]);
});

Deno.test("fin.pcap 47103: the payload of a RST segment is never delivered", () => {
  const c = new Conv();
  c.handshake();
  c.send(true, "x");
  c.pkt(true, "RA", "rst-payload");
  c.ack(false);
  assert.deepEqual(c.lines, ["D> x", "C>"]);
});

Deno.test("rst2: data an endpoint sends after its own RST is still delivered", () => {
  const c = new Conv();
  c.handshake();
  c.send(true, "before");
  c.ack(false);
  c.pkt(true, "RA");
  c.send(true, "after-own-rst");
  c.ack(false);
  assert.deepEqual(c.lines, ["D> before", "C>", "D> after-own-rst"]);
});

Deno.test("pgap (§2.3): a gap in a partial connection reaches the analyzer; both sides start at 1", () => {
  const c = new Conv();
  c.send(true, "1111");
  c.cseq += 5;
  c.send(true, "3333");
  c.ack(false);
  c.send(false, "resp");
  c.ack(true);
  c.close();
  assert.equal(c.streams.partial, true);
  assert.deepEqual(c.lines, ["D> 1111", "G> 5+5", "D> 3333", "D< resp", "C>", "C<"]);
});

Deno.test("partial connection: a hole ending at relative 2 (keep-alive) is ignored; with a handshake it is not", () => {
  const partial = new Conv();
  partial.pkt(true, "A", "", { seq: 999 });
  partial.pkt(false, "A", "", { ack: 1000 });
  assert.equal(partial.streams.partial, true);
  assert.deepEqual(partial.lines, []);

  const full = new Conv();
  full.handshake();
  full.pkt(false, "A", "", { ack: 1002 });
  assert.deepEqual(full.lines, ["G> 1+1"]);
});

Deno.test("partial status: a SYN-ACK first, or a responder without SYN, is partial; a SYN then SYN-ACK is not", () => {
  const synAck = new Conv();
  synAck.pkt(true, "SA");
  assert.equal(synAck.streams.partial, true);
  const respNoSyn = new Conv();
  respNoSyn.pkt(true, "S");
  respNoSyn.pkt(false, "A", "", { ack: 1001 });
  assert.equal(respNoSyn.streams.partial, true);
  const clean = new Conv();
  clean.handshake();
  assert.equal(clean.streams.partial, false);
});

Deno.test("a SYN-ACK seen first, then the originator's ACK (flipped by tracking, ^h): not partial", () => {
  const c = new Conv({ cseq: 5000, sseq: 1000 });
  // Tracking saw the SYN-ACK sender as originator; the ACK reveals the roles.
  c.pkt(true, "SA", "", { seq: 5000, ack: 1001 });
  c.pkt(false, "A", "", { seq: 1001, ack: 5001, isOrig: true, flipped: true });
  assert.equal(c.streams.partial, false);
  c.pkt(false, "PA", "GET /", { seq: 1001, ack: 5001, isOrig: true });
  c.pkt(true, "PA", "200", { seq: 5001, ack: 1006, isOrig: false });
  assert.deepEqual(c.lines, ["D> GET /", "D< 200"]);
});

Deno.test("flip(): callbacks after an analyzer's flip name the new roles", () => {
  const c = new Conv();
  c.handshake();
  c.send(true, "a");
  c.streams.flip();
  // The client is the responder now, the server the originator.
  c.pkt(true, "PA", "b", { isOrig: false });
  c.pkt(false, "PA", "c", { isOrig: true });
  assert.deepEqual(c.lines, ["D> a", "D< b", "D> c"]);
});

Deno.test("truncated capture: weird truncated_tcp_payload, nothing delivered, later data waits for the hole", () => {
  const c = new Conv();
  c.handshake();
  c.pkt(true, "PA", "abcdef", { caplen: 3 });
  c.cseq += 6;
  c.send(true, "ghi");
  c.ack(false);
  assert.deepEqual(c.lines, ["W truncated_tcp_payload TCP", "G> 1+6", "D> ghi"]);
});

Deno.test("data below what the peer acknowledged is trimmed before reassembly", () => {
  const c = new Conv();
  c.handshake();
  // The responder acknowledges bytes never seen (a missed segment): 1..4 are a gap.
  c.pkt(false, "A", "", { ack: c.cseq + 4 });
  assert.deepEqual(c.lines, ["G> 1+4"]);
  c.send(true, "abcdefgh");
  assert.deepEqual(c.lines, ["G> 1+4", "D> efgh"]);
});

Deno.test("a SYN carrying data delivers it from relative 1", () => {
  const c = new Conv();
  c.pkt(true, "S", "tfo");
  c.cseq += 4;
  c.pkt(false, "SA");
  c.sseq++;
  c.send(true, "next");
  assert.deepEqual(c.lines, ["D> tfo", "D> next"]);
});

Deno.test("a sequence number below the start in the first wrap (underflow) is dropped", () => {
  const c = new Conv();
  c.handshake();
  c.send(true, "old", { seq: 900 });
  c.send(true, "ok");
  assert.deepEqual(c.lines, ["D> ok"]);
});

Deno.test("sequence numbers wrap at 2^32: in order, out of order and gaps across the wrap", () => {
  const c = new Conv({ cseq: 0xffff_fff0, sseq: 0xffff_fffe });
  c.handshake();
  const s = c.cseq;
  c.send(true, "A".repeat(10));
  c.send(true, "C".repeat(10), { seq: (s + 20) >>> 0 });
  c.send(true, "B".repeat(10), { seq: (s + 10) >>> 0 });
  c.cseq = (s + 30) >>> 0;
  c.send(false, "r1");
  c.send(false, "r2");
  c.cseq = (c.cseq + 7) >>> 0;
  c.send(true, "after-gap");
  c.ack(false);
  assert.deepEqual(c.lines, [
    "D> AAAAAAAAAA",
    "D> BBBBBBBBBB",
    "D> CCCCCCCCCC",
    "D< r1",
    "D< r2",
    "G> 31+7",
    "D> after-gap",
  ]);
});

Deno.test("excessive_data_without_further_acks: buffered plus unacknowledged bytes over the limit", () => {
  assert.equal(DEFAULT_TCP_EXCESSIVE_DATA_WITHOUT_FURTHER_ACKS, 10 * 1024 * 1024);
  const options = { ...DEFAULT_TCP_STREAM_OPTIONS, excessiveDataWithoutFurtherAcks: 1000 };
  const c = new Conv({ options });
  c.handshake();
  c.send(true, "a".repeat(100));
  c.ack(false);
  c.send(true, "b".repeat(600));
  c.cseq += 50;
  c.send(true, "c".repeat(300));
  assert.deepEqual(c.lines, ["D> " + "a".repeat(100), "D> " + "b".repeat(600)]);
  c.send(true, "d".repeat(200));
  assert.deepEqual(c.lines.slice(2), ["W excessive_data_without_further_acks TCP"]);
  assert.equal(c.memory.heldBytes, 0);
  c.ack(false);
  c.send(true, "e");
  assert.deepEqual(c.lines.slice(3), []);
});

Deno.test("memory bounds: a connection over its bound stores nothing more, the hole is reported instead", () => {
  const memory = new ReassemblyMemory({ maxConnectionBytes: 100 + 2 * SEGMENT_OVERHEAD_BYTES });
  const c = new Conv({ memory });
  c.handshake();
  const s = c.cseq;
  c.send(true, "x".repeat(60), { seq: s + 10 });
  c.send(true, "y".repeat(40), { seq: s + 70 });
  c.send(true, "z".repeat(5), { seq: s + 110 });
  assert.deepEqual(c.streams.stats(), {
    bufferedBytes: 100,
    bufferedSegments: 2,
    heldBytes: 100 + 2 * SEGMENT_OVERHEAD_BYTES,
    peakHeldBytes: 100 + 2 * SEGMENT_OVERHEAD_BYTES,
    cutBytes: 5,
    cutSegments: 1,
  });
  assert.equal(memory.stats().cutBytesPerConnection, 5);
  assert.equal(memory.stats().cutBytesGlobal, 0);
  c.send(true, "w".repeat(10), { seq: s });
  c.cseq = s + 115;
  c.ack(false);
  assert.deepEqual(c.lines, [
    "D> " + "w".repeat(10),
    "D> " + "x".repeat(60),
    "D> " + "y".repeat(40),
    "G> 111+5",
  ]);
  assert.equal(memory.heldBytes, 0);
});

Deno.test("memory bounds: the global bound cuts across connections; close() gives everything back", () => {
  const memory = new ReassemblyMemory({ maxBytes: 3 * (50 + SEGMENT_OVERHEAD_BYTES) });
  const conns = Array.from({ length: 5 }, () => new Conv({ memory }));
  for (const c of conns) {
    c.handshake();
    c.send(true, "q".repeat(50), { seq: c.cseq + 1 });
  }
  const st = memory.stats();
  assert.equal(st.bufferedSegments, 3);
  assert.equal(st.heldBytes, 3 * (50 + SEGMENT_OVERHEAD_BYTES));
  assert.equal(st.peakHeldBytes, st.heldBytes);
  assert.equal(st.cutBytesGlobal, 100);
  assert.equal(st.cutSegments, 2);
  for (const c of conns) c.streams.close();
  assert.equal(memory.heldBytes, 0);
  assert.equal(memory.stats().bufferedBytes, 0);
  conns[0]!.send(true, "ignored");
  assert.deepEqual(conns[0]!.lines, []);
});

Deno.test("ReassemblyMemory rejects a bound that is not a whole number of bytes", () => {
  assert.throws(() => new ReassemblyMemory({ maxBytes: -1 }), /maxBytes -1: use a whole number/);
  assert.throws(() => new ReassemblyMemory({ maxConnectionBytes: 1.5 }), RangeError);
});

Deno.test("a sink that closes the streams during a delivery gets nothing more", () => {
  const memory = new ReassemblyMemory();
  const seen: string[] = [];
  const d = new DecodedPacket();
  let streams: TcpStreams | undefined = undefined;
  streams = new TcpStreams({
    stream: (data) => {
      seen.push(latin1.decode(data));
      streams!.close();
    },
    undelivered: () => seen.push("gap"),
    closed: () => seen.push("closed"),
    weird: () => seen.push("weird"),
  }, memory);
  const buf = new TextEncoder().encode("xxBByyAA");
  d.data = buf;
  d.tcpFlags = TCP_ACK;
  d.tcpAck = 1;
  const send = (seq: number, off: number) => {
    d.tcpSeq = seq;
    d.payloadOffset = off;
    d.payloadLen = 2;
    d.payloadCaplen = 2;
    streams!.packet(d, true);
  };
  d.payloadLen = 0;
  d.tcpSeq = 101;
  streams.packet(d, true);
  send(103, 2);
  send(101, 6);
  assert.deepEqual(seen, ["AA"]);
  assert.equal(memory.heldBytes, 0);
});
