/**
 * TCP stream reassembly as Zeek does it, for one connection that has an
 * analyzer attached: every packet of the connection goes in, in capture
 * order; the analyzer gets each direction's bytes in sequence order, the
 * holes the peer acknowledged past (`undelivered`), and each close.
 *
 * The rules are Zeek 9.1's (Z: src/packet_analysis/protocol/tcp/TCPSessionAdapter.cc
 * `Process` and its helpers, src/analyzer/protocol/tcp/TCP_Endpoint.cc,
 * TCP_Reassembler.cc, src/Reassem.cc; `../shared/research/analysis-framework-dns.md` §2):
 *
 * - Sequence numbers are relative to each endpoint's SYN (first data byte
 *   1); without a SYN the endpoint starts as if one had preceded its first
 *   segment, and a peer first seen through an ACK number starts from it.
 *   The 32-bit space wraps; a sequence number below the start in the first
 *   wrap is an underflow and its data is dropped.
 * - Data is trimmed below what the peer acknowledged and below what was
 *   delivered; bytes that arrived first win an overlap, silently. In-order
 *   bytes go out at once, out-of-order bytes wait for the hole to fill, or
 *   for the peer to acknowledge past it: then the hole is `undelivered` and
 *   what waited behind it follows. On a partial connection a hole ending at
 *   relative 2 or below is ignored (the faked SYN octet, a keep-alive).
 * - Acknowledgements are clamped below the FIN octet, so data beyond a FIN
 *   is never delivered. Payload of a RST segment is never delivered.
 * - `tcp_max_above_hole_without_any_acks` and
 *   `tcp_excessive_data_without_further_acks` raise their weirds (source
 *   `TCP`), drop what is buffered and stop that direction, as Zeek does.
 * - `closed(isOrig)` follows Zeek's `ConnectionClosed` for analyzers: on a
 *   FIN or RST the endpoint state machine treats as closing, and once more
 *   when a close that came with data still pending reaches its end of data.
 *
 * Where weir departs: delivered bytes are not kept until acknowledged
 * (Zeek keeps them only to compare retransmissions, `rexmit_inconsistency`,
 * an event no base script handles); their amount is tracked so the 10 MiB
 * rule counts what Zeek counts, within one segment. Out-of-order bytes are
 * bounded per connection and per pipeline (`ReassemblyMemory`); what the
 * bounds cut becomes a hole. TCP's own weirds (`SYN_seq_jump`,
 * `TCP_seq_underflow_or_misorder`, …) belong to connection tracking and are
 * not raised here; `truncated_tcp_payload` is, as Zeek raises it only with
 * a reassembler.
 *
 * @module
 */

import { type DecodedPacket, TCP_ACK, TCP_FIN, TCP_RST, TCP_SYN } from "../../../capture/mod.ts";
import { type ReassemblyMemory, SEGMENT_OVERHEAD_BYTES } from "./reassembly_memory.ts";

/** Zeek's `tcp_max_initial_window`. */
export const DEFAULT_TCP_MAX_INITIAL_WINDOW = 16384;
/** Zeek's `tcp_max_above_hole_without_any_acks`. */
export const DEFAULT_TCP_MAX_ABOVE_HOLE_WITHOUT_ANY_ACKS = 16384;
/** Zeek's `tcp_excessive_data_without_further_acks`. */
export const DEFAULT_TCP_EXCESSIVE_DATA_WITHOUT_FURTHER_ACKS = 10 * 1024 * 1024;

/** Zeek's reassembly limits; 0 turns a rule off, as in Zeek. */
export interface TcpStreamOptions {
  readonly maxInitialWindow: number;
  readonly maxAboveHoleWithoutAnyAcks: number;
  readonly excessiveDataWithoutFurtherAcks: number;
}

/** Zeek's defaults; share one options object between all connections. */
export const DEFAULT_TCP_STREAM_OPTIONS: TcpStreamOptions = Object.freeze({
  maxInitialWindow: DEFAULT_TCP_MAX_INITIAL_WINDOW,
  maxAboveHoleWithoutAnyAcks: DEFAULT_TCP_MAX_ABOVE_HOLE_WITHOUT_ANY_ACKS,
  excessiveDataWithoutFurtherAcks: DEFAULT_TCP_EXCESSIVE_DATA_WITHOUT_FURTHER_ACKS,
});

/** Where a connection's streams go: its stream analyzer's calls, and weirds with their source. */
export interface TcpStreamSink {
  /** The next in-order bytes of one direction; borrowed until the call returns. */
  stream(data: Uint8Array, isOrig: boolean): void;
  /** `len` bytes at relative sequence `seq` will never arrive (a content gap). */
  undelivered(seq: number, len: number, isOrig: boolean): void;
  /** A FIN or RST of one side was processed (Zeek's `ConnectionClosed`). */
  closed(isOrig: boolean): void;
  /**
   * Everything one side sent up to its FIN (or RST) was delivered (Zeek's
   * `EndpointEOF`, once per side).
   */
  eof?(isOrig: boolean): void;
  weird(name: string, addl: string | undefined, source: string): void;
}

/** One connection's counters, as plain data. */
export interface TcpStreamStats {
  /** Payload bytes stored out of order now, both directions. */
  readonly bufferedBytes: number;
  readonly bufferedSegments: number;
  /** Payload plus per-segment overhead: what the bounds limit. */
  readonly heldBytes: number;
  readonly peakHeldBytes: number;
  /** Payload bytes and segments (or parts) the memory bounds did not let this connection store. */
  readonly cutBytes: number;
  readonly cutSegments: number;
}

const TWO_32 = 0x1_0000_0000;
// What a uint64 relative sequence number below 0 becomes in Zeek: larger than any real one.
const TWO_64 = 2 ** 64;
const TOO_LARGE_SEQ_DELTA = 1048576;

// TCP_Endpoint states.
const INACTIVE = 0;
const SYN_SENT = 1;
const SYN_ACK_SENT = 2;
const PARTIAL = 3;
const ESTABLISHED = 4;
const CLOSED = 5;
const RESET = 6;

const SEEN_ORIG = 1;
const SEEN_RESP = 2;

const SOURCE = "TCP";

/** One direction: Zeek's `TCP_Endpoint` (what reassembly reads of it) and its `TCP_Reassembler`. */
class Endpoint {
  isOrig: boolean;
  peer!: Endpoint;
  state = INACTIVE;
  prevState = INACTIVE;
  /** 32-bit values and wrap counts, as the endpoint keeps them. */
  startSeq = 0;
  lastSeq = 0;
  seqWraps = 0;
  /** The highest acknowledgement of this endpoint's data (sent by the peer). */
  ackSeq = 0;
  ackWraps = 0;
  finCount = 0;
  /** Relative sequence number one past the FIN octet. */
  finSeq = 0;
  didClose = false;
  didEof = false;
  /** Relative: next byte to deliver; everything below was delivered or declared a gap. */
  lastReassem = 1;
  /** Relative: acknowledged point; data below is dropped on arrival. */
  trimSeq = 1;
  skip = false;
  hadGap = false;
  /** Stored out-of-order segments, sorted, not overlapping, all above `lastReassem`. */
  seqs: number[] | null = null;
  blocks: Uint8Array[] | null = null;
  count = 0;
  bytes = 0;

  constructor(isOrig: boolean) {
    this.isOrig = isOrig;
  }
}

function setState(e: Endpoint, state: number): void {
  if (state === e.state) return;
  e.prevState = e.state;
  e.state = state;
}

function reinit(e: Endpoint, first: number, last: number): void {
  e.startSeq = first;
  e.ackSeq = first;
  e.lastSeq = last;
}

/** Zeek's `init_endpoint`: numbering starts at a SYN, or as if one preceded the first segment. */
function initEndpoint(e: Endpoint, syn: boolean, first: number, last: number): void {
  switch (e.state) {
    case INACTIVE:
      if (syn) {
        e.startSeq = first;
        e.ackSeq = first;
      } else {
        const start = (first - 1) >>> 0;
        e.startSeq = start;
        e.ackSeq = start;
        last = first;
      }
      e.lastSeq = last;
      break;
    case SYN_SENT:
    case SYN_ACK_SENT:
      if (syn && first !== e.startSeq) reinit(e, first, last);
      break;
    case ESTABLISHED:
    case PARTIAL:
      if (syn) reinit(e, first, last);
      break;
    case RESET:
      if (syn && e.prevState === INACTIVE) reinit(e, first, last);
      break;
  }
}

/** Zeek's `update_ack_seq`: only forward, and not to a 0 that looks broken. */
function updateAckSeq(e: Endpoint, ack: number): void {
  const delta = (ack - e.ackSeq) | 0;
  if (ack === 0 && delta > TOO_LARGE_SEQ_DELTA) return;
  if (delta > 0) {
    if (ack < e.ackSeq) e.ackWraps++;
    e.ackSeq = ack;
  }
}

function advanceLastSeq(e: Endpoint, seq: number): void {
  if (seq < e.lastSeq) e.seqWraps++;
  e.lastSeq = seq;
}

/** Zeek's `update_last_seq` (before the state machine runs). */
function updateLastSeq(e: Endpoint, last: number, syn: boolean, fin: boolean, rst: boolean): void {
  const delta = (last - e.lastSeq) | 0;
  if ((syn || rst) && (delta > TOO_LARGE_SEQ_DELTA || delta < -TOO_LARGE_SEQ_DELTA)) return;
  // A FIN right after the SYN moves the end even backwards: a > 2 GB transfer seen only at its ends.
  if (fin && e.lastSeq === ((e.startSeq + 1) >>> 0)) advanceLastSeq(e, last);
  else if (e.state === RESET) return;
  else if (delta > 0) advanceLastSeq(e, last);
}

/** `TCP_Endpoint::NoDataAcked`: the peer acknowledged at most the SYN. */
function noDataAcked(e: Endpoint): boolean {
  const ack = e.ackWraps * TWO_32 + e.ackSeq;
  return ack === e.startSeq || ack === e.startSeq + 1;
}

/** The acknowledged point of `e`'s data, relative (uint64 in Zeek: never below 0). */
function ackRelative(e: Endpoint): number {
  const rel = e.ackWraps * TWO_32 + e.ackSeq - e.startSeq;
  return rel < 0 ? rel + TWO_64 : rel;
}

/** `TCP_Endpoint::Size`: payload bytes from sequence numbers. */
function endpointSize(e: Endpoint): number {
  if (
    e.prevState === SYN_SENT && e.state === RESET && e.peer.state === INACTIVE && !noDataAcked(e)
  ) return 0;
  const last = e.seqWraps * TWO_32 + e.lastSeq;
  const ack = e.ackWraps * TWO_32 + e.ackSeq;
  let size = (last > ack ? last : ack) - e.startSeq;
  if (size < 0) size += TWO_64;
  if (size !== 0) size--;
  if (e.finCount > 0 && size !== 0) size--;
  return size;
}

/** `Reassembler::HasBlocks`: stored data, or delivered data Zeek would still keep unacknowledged. */
function hasBlocks(e: Endpoint): boolean {
  return e.count > 0 || (!e.skip && e.lastReassem > e.trimSeq);
}

/** `DataBlockList::DataSize`: stored plus delivered-but-unacknowledged bytes. */
function dataSize(e: Endpoint): number {
  const kept = e.skip || e.lastReassem <= e.trimSeq ? 0 : e.lastReassem - e.trimSeq;
  return e.bytes + kept;
}

/** `NumUndeliveredBytes`: from the delivered point to the end of the highest stored segment. */
function undeliveredSpan(e: Endpoint): number {
  if (e.count === 0) return 0;
  return e.seqs![e.count - 1]! + e.blocks![e.count - 1]!.length - e.lastReassem;
}

/**
 * The reassembled byte streams of one TCP connection. Create it when the
 * connection's first packet arrives (an analyzer attached by port, or a
 * signature matcher waiting for bytes) and feed it every packet of the
 * connection in capture order; `close()` it when the connection is removed.
 */
export class TcpStreams {
  readonly #sink: TcpStreamSink;
  readonly #memory: ReassemblyMemory;
  readonly #options: TcpStreamOptions;
  #orig: Endpoint;
  #resp: Endpoint;
  #partial = false;
  #seen = 0;
  #closeDeferred = false;
  #released = false;
  #underflow = false;
  #held = 0;
  #peak = 0;
  #cutBytes = 0;
  #cutSegments = 0;

  constructor(
    sink: TcpStreamSink,
    memory: ReassemblyMemory,
    options: TcpStreamOptions = DEFAULT_TCP_STREAM_OPTIONS,
  ) {
    this.#sink = sink;
    this.#memory = memory;
    this.#options = options;
    this.#orig = new Endpoint(true);
    this.#resp = new Endpoint(false);
    this.#orig.peer = this.#resp;
    this.#resp.peer = this.#orig;
  }

  /** Zeek's `IsPartial`: the originator's first packet was not a pure SYN (HTTP and SSL ignore such connections). */
  get partial(): boolean {
    return this.#partial;
  }

  /** Whether a direction had a content gap (analyzers' violations are suppressed after one). */
  hadGap(isOrig: boolean): boolean {
    return (isOrig ? this.#orig : this.#resp).hadGap;
  }

  /** Held bytes of this connection now, without building a stats object. */
  get heldBytes(): number {
    return this.#held;
  }

  /** This connection's counters. */
  stats(): TcpStreamStats {
    const o = this.#orig;
    const r = this.#resp;
    return {
      bufferedBytes: o.bytes + r.bytes,
      bufferedSegments: o.count + r.count,
      heldBytes: this.#held,
      peakHeldBytes: this.#peak,
      cutBytes: this.#cutBytes,
      cutSegments: this.#cutSegments,
    };
  }

  /**
   * The connection's roles were swapped between packets (an analyzer's
   * `flip()`: Zeek's `FlipRoles`). Callbacks that follow, even within the
   * delivery that asked for the flip, name the new roles.
   */
  flip(): void {
    this.#flipRoles();
  }

  /**
   * One TCP packet of the connection, with `isOrig` its direction under the
   * roles after connection tracking processed it. `flipped` says that
   * processing swapped the roles (Zeek's flip on a SYN-ACK seen first,
   * history `^h`, or on a SYN/SYN-ACK reversal). The packet is borrowed:
   * in-order bytes are delivered as views of it, the rest is copied.
   */
  packet(d: DecodedPacket, isOrig: boolean, flipped = false): void {
    if (this.#released) return;
    const flags = d.tcpFlags;
    const syn = (flags & TCP_SYN) !== 0;
    const fin = (flags & TCP_FIN) !== 0;
    const rst = (flags & TCP_RST) !== 0;
    const ack = (flags & TCP_ACK) !== 0;
    const len = d.payloadLen;
    // Zeek decides what it decides from the roles the packet arrived under.
    const arrivedOrig = flipped ? !isOrig : isOrig;

    if (arrivedOrig) {
      if ((this.#seen & SEEN_ORIG) === 0) this.#partial = !syn || ack;
    } else if ((this.#seen & SEEN_RESP) === 0 && !this.#partial) {
      this.#partial = !syn;
    }
    if (flipped) {
      this.#flipRoles();
      this.#seen |= SEEN_ORIG;
    }
    const e = isOrig ? this.#orig : this.#resp;
    const p = e.peer;

    const base = d.tcpSeq >>> 0;
    const ackSeq = d.tcpAck >>> 0;
    const segLen = (rst ? 0 : len) + (syn ? 1 : 0) + (fin ? 1 : 0);
    const onePast = (base + segLen) >>> 0;
    initEndpoint(e, syn, base, onePast);
    this.#underflow = false;
    const relSeq = this.#relative(e, base, e.lastSeq, e.seqWraps);
    const seqUnderflow = this.#underflow;
    if (fin) {
      e.finCount++;
      e.finSeq = relSeq + segLen;
    }

    let relAck = 0;
    if (ack) {
      if (p.state === INACTIVE) {
        relAck = 1;
        const start = (ackSeq - 1) >>> 0;
        p.startSeq = start;
        p.ackSeq = start;
        p.lastSeq = start;
      } else {
        this.#underflow = false;
        relAck = this.#relative(p, ackSeq, p.ackSeq, p.ackWraps);
        if (this.#underflow) relAck = 0;
        // An ACK number in a RST is not trusted, though it still trims below.
        else if (!rst) updateAckSeq(p, ackSeq);
      }
    }
    updateLastSeq(e, onePast, syn, fin, rst);
    const close = this.#stateMachine(e, arrivedOrig, flipped, syn, fin, rst, ack, len);

    if (ack) {
      this.#ackReceived(p, relAck);
      if (this.#released) return;
    }
    this.#seen |= arrivedOrig ? SEEN_ORIG : SEEN_RESP;

    if (len > 0 && !rst && !seqUnderflow) {
      if (d.payloadCaplen >= len) {
        this.#dataSent(e, syn ? relSeq + 1 : relSeq, d.data, d.payloadOffset, len);
        if (this.#released) return;
      } else {
        this.#sink.weird("truncated_tcp_payload", undefined, SOURCE);
      }
    }
    this.#checkEof(e);
    // After the data, so payload carried by a FIN reaches the analyzer before the close.
    if (close && !this.#released) this.#connectionClosed(e);
  }

  /** The connection was removed: frees what is stored and delivers nothing more. Idempotent. */
  close(): void {
    if (this.#released) return;
    this.#released = true;
    this.#clear(this.#orig);
    this.#clear(this.#resp);
  }

  [Symbol.dispose](): void {
    this.close();
  }

  #flipRoles(): void {
    const o = this.#orig;
    this.#orig = this.#resp;
    this.#resp = o;
    this.#orig.isOrig = true;
    this.#resp.isOrig = false;
    const s = this.#seen;
    this.#seen = ((s & SEEN_ORIG) !== 0 ? SEEN_RESP : 0) | ((s & SEEN_RESP) !== 0 ? SEEN_ORIG : 0);
    this.#partial = false;
  }

  /** Zeek's `get_relative_seq`; sets `#underflow` for a value below the start in the first wrap. */
  #relative(e: Endpoint, cur: number, last: number, wraps: number): number {
    const delta = (cur - last) | 0;
    if (delta < 0) {
      if (wraps !== 0 && cur > last) wraps--;
    } else if (delta > 0) {
      if (cur < last) wraps++;
    }
    if (wraps === 0) {
      const d = (cur - e.startSeq) | 0;
      if (d < 0) {
        this.#underflow = true;
        return d + TWO_64;
      }
      return d;
    }
    return wraps * TWO_32 + cur - e.startSeq;
  }

  /** Zeek's `UpdateStateMachine`, reduced to states; returns whether the endpoint closes (`do_close`). */
  #stateMachine(
    e: Endpoint,
    arrivedOrig: boolean,
    flipped: boolean,
    syn: boolean,
    fin: boolean,
    rst: boolean,
    ack: boolean,
    len: number,
  ): boolean {
    const p = e.peer;
    let close = false;
    switch (e.state) {
      case INACTIVE:
        if (syn) {
          if (arrivedOrig) {
            setState(e, ack ? SYN_ACK_SENT : SYN_SENT);
          } else {
            if (!ack && flipped) {
              // The SYN of a SYN/SYN-ACK pair seen reversed: established at once.
              this.#partial = false;
              setState(p, ESTABLISHED);
            }
            if (p.state === SYN_SENT) setState(p, ESTABLISHED);
            setState(e, ESTABLISHED);
          }
        }
        if (fin) {
          setState(e, CLOSED);
          close = true;
        }
        if (rst) {
          setState(e, RESET);
          close = true;
        }
        if (e.state === INACTIVE) {
          if (!arrivedOrig && len === 0 && this.#orig.state === SYN_SENT) {
            // An ACK of the SYN before the SYN-ACK does not make the connection partial.
          } else if (ack && p.state === ESTABLISHED) {
            setState(e, ESTABLISHED);
            this.#partial = false;
            this.#seen |= arrivedOrig ? SEEN_ORIG : SEEN_RESP;
          } else {
            setState(e, PARTIAL);
          }
        }
        break;
      case SYN_SENT:
      case SYN_ACK_SENT:
        if (fin) {
          setState(e, CLOSED);
          close = true;
        }
        if (rst) {
          setState(e, RESET);
          close = true;
        }
        break;
      case ESTABLISHED:
      case PARTIAL:
        if (syn && e.state === PARTIAL && p.state === INACTIVE && !ack) setState(e, SYN_SENT);
        if (fin && !rst) {
          if (p.state === RESET && p.prevState === CLOSED) setState(p, CLOSED);
          setState(e, CLOSED);
          close = true;
        }
        if (rst) {
          setState(e, RESET);
          close = true;
        }
        break;
      case CLOSED:
        if (rst && p.state !== CLOSED) {
          setState(e, RESET);
          if (!e.didClose) close = true;
        }
        break;
    }
    return close;
  }

  /** `TCP_Reassembler::AckReceived`: the peer acknowledged `seq` of `e`'s data. */
  #ackReceived(e: Endpoint, seq: number): void {
    if (e.finCount > 0 && seq >= e.finSeq) seq = e.finSeq - 1;
    if (seq <= e.trimSeq) return;
    this.#trimToSeq(e, seq);
    if (this.#released) return;
    this.#checkEof(e);
  }

  /** `Reassembler::TrimToSeq`: a hole below `seq` is given up; what follows it is delivered. */
  #trimToSeq(e: Endpoint, seq: number): void {
    if (seq > e.lastReassem) {
      this.#undelivered(e, seq);
      if (this.#released) return;
    }
    // Stored segments wholly below `seq` remain only when the hole was ignored.
    while (e.count > 0 && e.seqs![0]! + e.blocks![0]!.length <= seq) this.#dropFirst(e);
    if (e.count > 0 && e.seqs![0] === e.lastReassem) {
      this.#drain(e);
      if (this.#released) return;
      this.#delivered(e);
    }
    if (seq > e.trimSeq) e.trimSeq = seq;
  }

  /** `TCP_Reassembler::Undelivered`: report the holes below `upTo`, deliver what sits between them. */
  #undelivered(e: Endpoint, upTo: number): void {
    // The faked SYN octet of a partial connection, or one keep-alive byte beyond it.
    if (upTo <= 2 && this.#partial) return;
    if (!e.skip) {
      let delivered = false;
      while (e.count > 0 && e.seqs![0]! < upTo) {
        const s = e.seqs![0]!;
        if (s > e.lastReassem) {
          this.#gap(e, e.lastReassem, s - e.lastReassem);
          if (this.#released) return;
          e.lastReassem = s;
        }
        this.#drain(e);
        if (this.#released) return;
        delivered = true;
      }
      if (delivered) this.#delivered(e);
      if (upTo > e.lastReassem) {
        this.#gap(e, e.lastReassem, upTo - e.lastReassem);
        if (this.#released) return;
      }
    }
    if (upTo > e.lastReassem) e.lastReassem = upTo;
  }

  #gap(e: Endpoint, seq: number, len: number): void {
    e.hadGap = true;
    this.#sink.undelivered(seq, len, e.isOrig);
  }

  /** `TCP_Reassembler::DataSent`: payload at relative `seq`. */
  #dataSent(e: Endpoint, seq: number, data: Uint8Array, off: number, len: number): void {
    if (e.skip) return;
    const acked = ackRelative(e);
    if (seq < acked) {
      if (seq + len <= acked) return;
      const n = acked - seq;
      off += n;
      len -= n;
      seq = acked;
    }
    this.#newBlock(e, seq, data, off, len);
    if (this.#released) return;
    const o = this.#options;
    if (
      o.maxAboveHoleWithoutAnyAcks > 0 && noDataAcked(e) &&
      undeliveredSpan(e) > o.maxAboveHoleWithoutAnyAcks
    ) {
      this.#sink.weird("above_hole_data_without_any_acks", undefined, SOURCE);
      this.#clear(e);
      e.skip = true;
    }
    if (o.excessiveDataWithoutFurtherAcks > 0 && dataSize(e) > o.excessiveDataWithoutFurtherAcks) {
      this.#sink.weird("excessive_data_without_further_acks", undefined, SOURCE);
      this.#clear(e);
      e.skip = true;
    }
  }

  /** `Reassembler::NewBlock` and `BlockInserted`. */
  #newBlock(e: Endpoint, seq: number, data: Uint8Array, off: number, len: number): void {
    if (len === 0) return;
    const upper = seq + len;
    if (upper <= e.trimSeq) return;
    if (seq < e.trimSeq) {
      off += e.trimSeq - seq;
      seq = e.trimSeq;
    }
    // Zeek still holds the delivered bytes up to here, and they win the overlap.
    if (upper <= e.lastReassem) return;
    if (seq < e.lastReassem) {
      off += e.lastReassem - seq;
      seq = e.lastReassem;
    }
    if (seq === e.lastReassem) this.#deliverFrom(e, seq, upper, data, off);
    else this.#store(e, seq, upper, data, off);
  }

  /**
   * Delivers [`from`, `upper`) starting at the delivered point: views of
   * the packet where no stored segment came first, the stored segments
   * where they did, then whatever stored data now follows.
   */
  #deliverFrom(e: Endpoint, from: number, upper: number, data: Uint8Array, off: number): void {
    let pos = from;
    while (pos < upper) {
      if (e.count > 0 && e.seqs![0]! <= pos) {
        this.#deliverFirst(e);
        if (this.#released) return;
        pos = e.lastReassem;
        continue;
      }
      const next = e.count > 0 ? e.seqs![0]! : upper;
      const end = next < upper ? next : upper;
      e.lastReassem = end;
      const at = off + (pos - from);
      this.#sink.stream(data.subarray(at, at + (end - pos)), e.isOrig);
      if (this.#released) return;
      pos = end;
    }
    this.#drain(e);
    if (this.#released) return;
    this.#delivered(e);
  }

  /** After a delivery: Zeek stops keeping data of an endpoint whose first window went unacknowledged. */
  #delivered(e: Endpoint): void {
    const w = this.#options.maxInitialWindow;
    if (w > 0 && e.lastReassem > e.trimSeq && noDataAcked(e) && endpointSize(e) > w) {
      e.trimSeq = e.lastReassem;
    }
  }

  /** Delivers stored segments while they continue the stream. */
  #drain(e: Endpoint): void {
    while (e.count > 0 && e.seqs![0]! <= e.lastReassem) {
      this.#deliverFirst(e);
      if (this.#released) return;
    }
  }

  #deliverFirst(e: Endpoint): void {
    const s = e.seqs!.shift()!;
    const b = e.blocks!.shift()!;
    this.#forget(e, b.length);
    const upper = s + b.length;
    if (upper <= e.lastReassem) return;
    const view = s < e.lastReassem ? b.subarray(e.lastReassem - s) : b;
    e.lastReassem = upper;
    this.#sink.stream(view, e.isOrig);
  }

  #dropFirst(e: Endpoint): void {
    e.seqs!.shift();
    this.#forget(e, e.blocks!.shift()!.length);
  }

  #forget(e: Endpoint, n: number): void {
    e.bytes -= n;
    this.#held -= n + SEGMENT_OVERHEAD_BYTES;
    this.#memory.release(n, 1);
    if (--e.count === 0) {
      e.seqs = null;
      e.blocks = null;
    }
  }

  /**
   * Stores the parts of [`lo`, `upper`) (above the delivered point) that no
   * stored segment covers yet: the bytes that arrived first win.
   */
  #store(e: Endpoint, lo: number, upper: number, data: Uint8Array, off: number): void {
    if (e.seqs === null) {
      if (!this.#memory.reserve(upper - lo, this.#held)) {
        this.#cutBytes += upper - lo;
        this.#cutSegments++;
        return;
      }
      // Lists of exactly one: most connections never hold more than one segment at a time.
      e.seqs = [lo];
      e.blocks = [data.slice(off, off + (upper - lo))];
      this.#stored(e, upper - lo);
      return;
    }
    const seqs = e.seqs;
    const blocks = e.blocks!;
    let i = e.count;
    // Most out-of-order data extends the highest stored segment; search only otherwise.
    if (i > 0 && seqs[i - 1]! + blocks[i - 1]!.length > lo) {
      let a = 0;
      let b = i - 1;
      while (a < b) {
        const m = (a + b) >>> 1;
        if (seqs[m]! + blocks[m]!.length > lo) b = m;
        else a = m + 1;
      }
      i = a;
    }
    let pos = lo;
    while (pos < upper) {
      if (i < e.count && seqs[i]! <= pos) {
        const end = seqs[i]! + blocks[i]!.length;
        if (end > pos) pos = end;
        i++;
        continue;
      }
      const next = i < e.count ? seqs[i]! : upper;
      const end = next < upper ? next : upper;
      const n = end - pos;
      if (this.#memory.reserve(n, this.#held)) {
        const at = off + (pos - lo);
        seqs.splice(i, 0, pos);
        blocks.splice(i, 0, data.slice(at, at + n));
        this.#stored(e, n);
        i++;
      } else {
        this.#cutBytes += n;
        this.#cutSegments++;
      }
      pos = end;
    }
  }

  #stored(e: Endpoint, n: number): void {
    e.count++;
    e.bytes += n;
    this.#held += n + SEGMENT_OVERHEAD_BYTES;
    if (this.#held > this.#peak) this.#peak = this.#held;
  }

  /** `ClearBlocks`, and the release at close. */
  #clear(e: Endpoint): void {
    if (e.count === 0) return;
    this.#memory.release(e.bytes, e.count);
    this.#held -= e.bytes + e.count * SEGMENT_OVERHEAD_BYTES;
    e.seqs = null;
    e.blocks = null;
    e.count = 0;
    e.bytes = 0;
  }

  /** `TCP_Reassembler::DataPending`: bytes before the end this endpoint announced are still missing. */
  #dataPending(e: Endpoint): boolean {
    if (e.skip) return false;
    const delivered = e.startSeq + e.lastReassem;
    const last = e.seqWraps * TWO_32 + e.lastSeq;
    if (last < delivered) return false;
    // Up to the FIN octet, or right at the end after a RST (which takes none).
    if (delivered !== last - 1 && delivered !== last) return true;
    return e.state !== RESET && hasBlocks(e.peer);
  }

  /** `CheckEOF`: an endpoint that closed has delivered everything; a deferred close happens now. */
  #checkEof(e: Endpoint): void {
    if (e.didEof || (e.finCount === 0 && e.state !== CLOSED && e.state !== RESET)) return;
    if (this.#dataPending(e)) return;
    e.didEof = true;
    this.#sink.eof?.(e.isOrig);
    if (this.#closeDeferred) {
      this.#connectionClosed(e);
      this.#closeDeferred = false;
    }
  }

  /** `ConnectionClosed` as analyzers see it: told every time, the close itself deferred while data is pending. */
  #connectionClosed(e: Endpoint): void {
    this.#sink.closed(e.isOrig);
    if (this.#released) return;
    if (this.#dataPending(e)) {
      this.#closeDeferred = true;
      return;
    }
    this.#closeDeferred = false;
    e.didClose = true;
  }
}
