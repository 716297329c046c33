/**
 * TCP as Zeek's connection tracker sees it (Z: src/packet_analysis/protocol/tcp/TCP.cc,
 * TCPSessionAdapter.cc, src/analyzer/protocol/tcp/TCP_Endpoint.cc,
 * TCP_Reassembler.cc, src/Reassem.cc): the endpoint state machine, the
 * history letters, sequence-number based sizes, the acknowledged-but-unseen
 * content gaps behind `missed_bytes` and `G`, and the close bookkeeping
 * that decides when a connection is removed.
 *
 * Everything lives in the `ConnTable`; the few things that are not per
 * connection arithmetic (timers, role flips, the established event,
 * weirds) go through `TcpHost`, which the tracker implements.
 *
 * The session adapter's weirds are raised where Zeek raises them, with its
 * sources: `TCP` for the adapter's own `Weird(…)` calls, `""` for those it
 * raises through `endpoint->Conn()->Weird(…)` (`SYN_seq_jump` and
 * `SYN_inside_connection` in `init_endpoint`, `window_recision`,
 * `possible_split_routing`). `pending_data_when_closed` is not raised: Zeek
 * raises it in `EndpointEOF` only when `DataPending` holds, and the only
 * caller, `TCP_Reassembler::CheckEOF`, calls it only when the same
 * `DataPending` does not. The `tcp_option_*` weirds need the `tcp_option`
 * events, which base scripts do not handle.
 *
 * @module
 */

import {
  type DecodedPacket,
  TCP_ACK,
  TCP_FIN,
  TCP_RST,
  TCP_SYN,
  TCP_URG,
} from "../../../capture/mod.ts";
import {
  CF_BLOCKS,
  CF_PARTIAL,
  CF_SEEN_ORIG,
  CF_SEEN_RESP,
  CF_WEIRD,
  type ConnTable,
  countStorm,
  EF_DID_CLOSE,
  EF_FIN,
  EF_RST,
  EF_STORM,
} from "./conn_table.ts";
import {
  TCP_CLOSED,
  TCP_ESTABLISHED,
  TCP_INACTIVE,
  TCP_PARTIAL,
  TCP_RESET,
  TCP_SYN_ACK_SENT,
  TCP_SYN_SENT,
} from "./conn_state.ts";
import {
  COUNT_GAP,
  COUNT_RXMIT,
  COUNT_ZERO_WINDOW,
  HIST_ACK,
  HIST_DATA,
  HIST_FIN,
  HIST_FIN_RST,
  HIST_MULTI_FLAG,
  HIST_RST,
  HIST_SYN,
  type HistoryStore,
} from "./history.ts";

/** Timer kinds the TCP code arms; the tracker owns their meaning. */
export const TIMER_INACTIVITY = 0;
export const TIMER_ATTEMPT = 1;
export const TIMER_EXPIRE = 2;
export const TIMER_EXPIRE_CLOSE = 3;
export const TIMER_DELETE = 4;

/** Inactivity timeout classes (`ConnTable.inactivity`). */
export const INACTIVITY_NONE = 0;
export const INACTIVITY_UDP = 1;
export const INACTIVITY_TCP = 2;
export const INACTIVITY_ICMP = 3;
export const INACTIVITY_UNKNOWN = 4;
export const INACTIVITY_LONG = 5;

/** What the TCP code needs from the tracker. */
export interface TcpHost {
  /** Swaps the roles (and appends `^`). */
  flip(slot: number): void;
  arm(slot: number, kind: number, time: number): void;
  /** Cancels the attempt, expire and delete timers (not the inactivity timer). */
  cancelTcpTimers(slot: number): void;
  setInactivity(slot: number, inactivityClass: number): void;
  /** `connection_established`: port inactivity timeouts and the event. */
  established(slot: number): void;
  /** A weird of the connection (Zeek's `Connection::Weird`); also sets `CF_WEIRD`. */
  weird(slot: number, name: string, addl: string, source: string): void;
  /**
   * Whether the connection's payload goes through a reassembler, which
   * then raises `truncated_tcp_payload` itself (Z: TCP_Endpoint.cc `DataSent`).
   */
  reassembles(slot: number): boolean;
}

/** The source of the session adapter's own weirds (its analyzer name). */
export const WEIRD_SOURCE_TCP = "TCP";
/** The source of the weirds raised through the connection (`endpoint->Conn()->Weird`). */
export const WEIRD_SOURCE_CONN = "";

/** Zeek's `tcp_storm_thresh` and `tcp_storm_interarrival_thresh` (seconds). */
export const DEFAULT_TCP_STORM_THRESH = 1000;
export const DEFAULT_TCP_STORM_INTERARRIVAL_THRESH = 1;

/** TCP timing knobs, Zeek's names. */
export interface TcpTimings {
  readonly tcpAttemptDelay: number;
  readonly tcpSynTimeout: number;
  readonly tcpCloseDelay: number;
  readonly tcpSessionTimer: number;
  readonly tcpConnectionLinger: number;
}

const TWO_32 = 4294967296;
const TOO_LARGE_SEQ_DELTA = 1048576;
/** RFC 7323's largest window scale shift (Z: TCPSessionAdapter.cc `init_window`). */
const MAX_WINDOW_SCALE = 14;
const TCPOPT_EOL = 0;
const TCPOPT_NOP = 1;
const TCPOPT_WINDOW = 3;
const INT32_MIN = -2147483648;
const CH_H = 72;
const CH_S = 83;
const CH_A = 65;
const CH_D = 68;
const CH_F = 70;
const CH_R = 82;
const CH_I = 73;
const CH_Q = 81;
const CH_G = 71;
const CH_T = 84;
const CH_W = 87;

function isActive(state: number): boolean {
  return state !== TCP_INACTIVE && state !== TCP_SYN_SENT && state !== TCP_SYN_ACK_SENT;
}

/** Zeek's `seq_between`: `b <= a <= c` in sequence space. */
function seqBetween(a: number, b: number, c: number): boolean {
  return b <= c ? a >= b && a <= c : a >= b || a <= c;
}

function isClean(state: number, prev: number): boolean {
  return state === TCP_ESTABLISHED || (state === TCP_CLOSED && prev === TCP_ESTABLISHED);
}

/** Per-packet TCP processing over a connection table. */
export class TcpAnalyzer {
  readonly #t: ConnTable;
  readonly #h: HistoryStore;
  readonly #host: TcpHost;
  readonly #timings: TcpTimings;
  readonly #reportGapsForPartial: boolean;
  /** Out-of-order data above the reassembly point, per endpoint: [seq, upper, seq, upper, …]. */
  readonly #blocks = new Map<number, number[]>();
  #underflow = false;

  constructor(
    table: ConnTable,
    history: HistoryStore,
    host: TcpHost,
    timings: TcpTimings,
    reportGapsForPartial: boolean,
  ) {
    this.#t = table;
    this.#h = history;
    this.#host = host;
    this.#timings = timings;
    this.#reportGapsForPartial = reportGapsForPartial;
  }

  /**
   * Sets up a new connection's TCP state and its first expire check, due
   * `tcp_SYN_timeout` after network time `now`, not after the packet's own
   * time (Z: TCPSessionAdapter.cc, the constructor's `ExpireTimer`).
   */
  init(slot: number, now: number): void {
    this.#t.reassemSeq[slot * 2] = 1;
    this.#t.reassemSeq[slot * 2 + 1] = 1;
    this.#t.trimSeq[slot * 2] = 1;
    this.#t.trimSeq[slot * 2 + 1] = 1;
    this.#host.arm(slot, TIMER_EXPIRE, now + this.#timings.tcpSynTimeout);
  }

  /**
   * Whether a packet stamped `ts` starts a new connection on an existing
   * key (Zeek's `IsReuse`): a SYN (or a SYN-ACK while the originator never
   * spoke) after any close, or with a sequence number other than the known
   * start. Raises Zeek's reuse weirds on the old connection.
   */
  isReuse(slot: number, d: DecodedPacket, ts: number): boolean {
    const flags = d.tcpFlags;
    if ((flags & TCP_SYN) === 0) return false;
    const t = this.#t;
    const o = slot * 2;
    let origin = o;
    if ((flags & TCP_ACK) !== 0) {
      if (t.state[o] !== TCP_INACTIVE) return false;
      origin = o + 1;
    }
    const closed = ((t.eflags[o]! | t.eflags[o + 1]!) & EF_DID_CLOSE) !== 0;
    const noReset = t.state[o] !== TCP_RESET && t.state[o + 1] !== TCP_RESET;
    if (!closed) {
      const base = d.tcpSeq;
      if (base === t.startSeq[origin]) return false;
      if (
        (flags & TCP_ACK) === 0 && t.state[origin] === TCP_SYN_ACK_SENT &&
        t.state[o + 1] === TCP_INACTIVE && base === t.startSeq[o + 1]
      ) return false;
      this.#weird(
        slot,
        t.state[origin] === TCP_SYN_SENT ? "SYN_seq_jump" : "active_connection_reuse",
        WEIRD_SOURCE_TCP,
      );
    } else if ((this.#endpointActive(o) || this.#endpointActive(o + 1)) && noReset) {
      this.#weird(slot, "active_connection_reuse", WEIRD_SOURCE_TCP);
    } else if (ts - t.lastTime[slot]! < this.#timings.tcpConnectionLinger && noReset) {
      this.#weird(slot, "premature_connection_reuse", WEIRD_SOURCE_TCP);
    }
    return true;
  }

  /** Zeek's `TCP_Endpoint::IsActive`. */
  #endpointActive(e: number): boolean {
    return this.#t.state[e] !== TCP_INACTIVE && (this.#t.eflags[e]! & EF_DID_CLOSE) === 0;
  }

  #weird(slot: number, name: string, source: string): void {
    this.#host.weird(slot, name, "", source);
  }

  /**
   * Processes one TCP packet (checksum already accepted) from `side` (0
   * originator, 1 responder). Returns the sender's side afterwards, which
   * differs when the packet flipped the connection.
   */
  packet(slot: number, side: number, d: DecodedPacket, ts: number): number {
    const t = this.#t;
    const flags = d.tcpFlags;
    const syn = (flags & TCP_SYN) !== 0;
    const fin = (flags & TCP_FIN) !== 0;
    const rst = (flags & TCP_RST) !== 0;
    const ack = (flags & TCP_ACK) !== 0;
    const len = d.payloadLen;

    let cf = t.flags[slot]!;
    if (side === 0) {
      if ((cf & CF_SEEN_ORIG) === 0) cf = !syn || ack ? cf | CF_PARTIAL : cf & ~CF_PARTIAL;
      cf |= CF_SEEN_ORIG;
    } else {
      if ((cf & CF_SEEN_RESP) === 0 && (cf & CF_PARTIAL) === 0 && !syn) cf |= CF_PARTIAL;
      cf |= CF_SEEN_RESP;
    }
    t.flags[slot] = cf;

    const baseSeq = d.tcpSeq;
    const ackSeq = d.tcpAck;
    const seqLen = (rst ? 0 : len) + (syn ? 1 : 0) + (fin ? 1 : 0);
    const onePast = (baseSeq + seqLen) >>> 0;

    let e = slot * 2 + side;
    this.#initEndpoint(slot, e, syn, baseSeq, onePast);
    this.#underflow = false;
    const relSeq = this.#relative(e, baseSeq, t.lastSeq[e]!);
    const seqUnderflow = this.#underflow;
    if (seqUnderflow && !rst) this.#weird(slot, "TCP_seq_underflow_or_misorder", WEIRD_SOURCE_TCP);

    side = this.#updateHistory(slot, side, syn, fin, rst, ack, relSeq, len);
    e = slot * 2 + side;
    let p = e ^ 1;

    if (d.tcpWindow === 0 && !rst && t.state[p] !== TCP_CLOSED && t.state[e] !== TCP_RESET) {
      this.#h.scaled(slot, side, COUNT_ZERO_WINDOW, CH_W);
    }
    if (!syn && !fin && !rst && t.state[e] !== TCP_CLOSED && t.state[e] !== TCP_RESET) {
      this.#updateWindow(slot, e, d.tcpWindow, baseSeq, ackSeq);
    }

    const o = slot * 2;
    if (((t.eflags[o]! & t.eflags[o + 1]!) & EF_DID_CLOSE) === 0) t.lastTime[slot] = ts;

    if (syn) {
      // Z: TCPSessionAdapter.cc `SynWeirds`, then `init_window` with the SYN's options.
      if (rst) this.#weird(slot, "TCP_christmas", WEIRD_SOURCE_TCP);
      if ((flags & TCP_URG) !== 0) this.#weird(slot, "baroque_SYN", WEIRD_SOURCE_TCP);
      if (len > 0) this.#weird(slot, "SYN_with_data", WEIRD_SOURCE_TCP);
      this.#initWindow(slot, e, ack, synWindowScale(d), baseSeq, ackSeq);
    }
    if (fin) {
      t.eflags[e]! |= EF_FIN;
      t.finSeq[e] = (relSeq + seqLen) >>> 0;
      const n = countStorm(t, e, false, ts);
      if (this.#storm(e, n, ts)) this.#weird(slot, "FIN_storm", WEIRD_SOURCE_TCP);
    }
    if (rst) {
      t.eflags[e]! |= EF_RST;
      const n = countStorm(t, e, true, ts);
      if (this.#storm(e, n, ts)) this.#weird(slot, "RST_storm", WEIRD_SOURCE_TCP);
    }

    let relAck = 0;
    if (ack) {
      if (t.state[p] === TCP_INACTIVE) {
        // Z: TCPSessionAdapter.cc `init_peer`: acking a peer never heard from after our own SYN.
        const s = t.state[e];
        if (
          !syn && !fin && !rst && (t.flags[slot]! & CF_WEIRD) === 0 &&
          (s === TCP_SYN_SENT || s === TCP_SYN_ACK_SENT || s === TCP_ESTABLISHED)
        ) {
          this.#weird(slot, "possible_split_routing", WEIRD_SOURCE_CONN);
        }
        relAck = 1;
        const start = (ackSeq - 1) >>> 0;
        t.startSeq[p] = start;
        t.ackSeq[p] = withLow(t.ackSeq[p]!, start);
        t.lastSeq[p] = withLow(t.lastSeq[p]!, start);
      } else {
        this.#underflow = false;
        relAck = this.#relative(p, ackSeq, t.ackSeq[p]!);
        if (this.#underflow) {
          relAck = 0;
          this.#weird(slot, "TCP_ack_underflow_or_misorder", WEIRD_SOURCE_TCP);
        } else if (!rst) {
          const cur = t.ackSeq[p]!;
          const delta = (ackSeq - lowOf(cur)) | 0;
          if (!(ackSeq === 0 && delta > TOO_LARGE_SEQ_DELTA) && delta > 0) {
            t.ackSeq[p] = advance(cur, ackSeq);
          }
        }
      }
    }

    const deltaLast = this.#updateLastSeq(slot, side, e, onePast, syn, fin, rst, len);
    // Only endpoints already past 15 FINs or RSTs can storm: only they keep the time.
    if ((t.eflags[e]! & EF_STORM) !== 0) t.storms.get(e)!.time = ts;
    const before = side;
    const close = this.#stateMachine(
      slot,
      side,
      e,
      syn,
      fin,
      rst,
      ack,
      len,
      baseSeq,
      ackSeq,
      deltaLast,
      ts,
    );
    if (this.#flippedInMachine) {
      side = before ^ 1;
      e = slot * 2 + side;
      p = e ^ 1;
    }

    if (ack) this.#ackReceived(slot, p, relAck);
    if (len > 0 && !rst && !seqUnderflow) {
      if (d.payloadCaplen >= len) this.#deliver(slot, e, syn ? relSeq + 1 : relSeq, len);
      else if (this.#host.reassembles(slot)) t.flags[slot]! |= CF_WEIRD;
      else this.#weird(slot, "truncated_tcp_payload", WEIRD_SOURCE_TCP);
    }
    if (close) this.#closed(slot, e, p);
    return side;
  }

  /** Zeek's `TCP_Endpoint::Size()`: payload bytes from sequence numbers. */
  size(e: number): number {
    const t = this.#t;
    const p = e ^ 1;
    if (
      t.prevState[e] === TCP_SYN_SENT && t.state[e] === TCP_RESET &&
      t.state[p] === TCP_INACTIVE && !this.#noDataAcked(e)
    ) return 0;
    const last = t.lastSeq[e]!;
    const ackFull = t.ackSeq[e]!;
    let size = (last > ackFull ? last : ackFull) - t.startSeq[e]!;
    if (size < 0) size = 0;
    if (size !== 0) size--;
    if ((t.eflags[e]! & EF_FIN) !== 0 && size !== 0) size--;
    return size;
  }

  /** Forgets the out-of-order data kept for a slot about to be freed. */
  release(slot: number): void {
    if ((this.#t.flags[slot]! & CF_BLOCKS) === 0) return;
    this.#blocks.delete(slot * 2);
    this.#blocks.delete(slot * 2 + 1);
  }

  /** Swaps the out-of-order data of a flipped connection's endpoints. */
  flip(slot: number): void {
    if ((this.#t.flags[slot]! & CF_BLOCKS) === 0) return;
    const a = this.#blocks.get(slot * 2);
    const b = this.#blocks.get(slot * 2 + 1);
    this.#blocks.delete(slot * 2);
    this.#blocks.delete(slot * 2 + 1);
    if (a !== undefined) this.#blocks.set(slot * 2 + 1, a);
    if (b !== undefined) this.#blocks.set(slot * 2, b);
  }

  #noDataAcked(e: number): boolean {
    const t = this.#t;
    const a = t.ackSeq[e]!;
    const s = t.startSeq[e]!;
    return a === s || a === s + 1;
  }

  /** Zeek's `init_endpoint`, with its weirds. */
  #initEndpoint(slot: number, e: number, syn: boolean, first: number, last: number): void {
    const t = this.#t;
    const state = t.state[e]!;
    let init = false;
    if (state === TCP_INACTIVE) {
      const start = syn ? first : (first - 1) >>> 0;
      t.startSeq[e] = start;
      t.ackSeq[e] = withLow(t.ackSeq[e]!, start);
      // The packet that starts the numbering then advances it, so it never counts as a retransmission.
      t.lastSeq[e] = withLow(t.lastSeq[e]!, start);
      return;
    }
    if (state === TCP_SYN_SENT || state === TCP_SYN_ACK_SENT) {
      init = syn && first !== t.startSeq[e];
      if (init) this.#weird(slot, "SYN_seq_jump", WEIRD_SOURCE_CONN);
    } else if (state === TCP_ESTABLISHED || state === TCP_PARTIAL) {
      init = syn;
      if (syn) {
        if (this.size(e) > 0) this.#weird(slot, "SYN_inside_connection", WEIRD_SOURCE_CONN);
        if (first !== t.startSeq[e]) this.#weird(slot, "SYN_seq_jump", WEIRD_SOURCE_CONN);
      }
    } else if (state === TCP_RESET) {
      init = syn && t.prevState[e] === TCP_INACTIVE;
    }
    if (init) {
      t.startSeq[e] = first;
      t.ackSeq[e] = withLow(t.ackSeq[e]!, first);
      t.lastSeq[e] = withLow(t.lastSeq[e]!, last);
    }
  }

  /** Zeek's FIN/RST storm test: the `n`th in a row, under a second after the endpoint's last packet. */
  #storm(e: number, n: number, ts: number): boolean {
    return n >= DEFAULT_TCP_STORM_THRESH &&
      ts < this.#t.storms.get(e)!.time + DEFAULT_TCP_STORM_INTERARRIVAL_THRESH;
  }

  /** Zeek's `init_window` for a SYN whose window scale option is `scale` (-1: none). */
  #initWindow(
    slot: number,
    e: number,
    ack: boolean,
    scale: number,
    baseSeq: number,
    ackSeq: number,
  ): void {
    const t = this.#t;
    if (scale < 0) {
      t.windowScale[e] = 0;
      // A SYN-ACK without the option: scaling was not negotiated for either side.
      if (ack) t.windowScale[e ^ 1] = 0;
      return;
    }
    if (scale > MAX_WINDOW_SCALE) {
      if ((t.flags[slot]! & CF_WEIRD) === 0) {
        this.#host.weird(slot, "TCP_scale_range", String(scale), WEIRD_SOURCE_TCP);
      }
      scale = MAX_WINDOW_SCALE;
    }
    t.windowScale[e] = scale;
    t.windowSeq[e] = baseSeq;
    t.windowAck[e] = ackSeq;
    t.windowSeq[e ^ 1] = ackSeq;
    t.windowAck[e ^ 1] = baseSeq;
  }

  /** Zeek's `update_window` past its zero-window check: a right edge that moved back is a recision. */
  #updateWindow(slot: number, e: number, raw: number, baseSeq: number, ackSeq: number): void {
    const t = this.#t;
    if (((baseSeq - t.windowSeq[e]!) | 0) < 0 || ((ackSeq - t.windowAck[e]!) | 0) < 0) return;
    const scale = t.windowScale[e]!;
    const window = (raw << scale) >>> 0;
    const advance = ((ackSeq + window) - (t.windowAck[e]! + t.window[e]!)) | 0;
    // Scaling's granularity allows a little slop; Zeek's int32 negation leaves INT32_MIN negative.
    if (advance < 0 && advance !== INT32_MIN && -advance >= (1 << scale)) {
      this.#weird(slot, "window_recision", WEIRD_SOURCE_CONN);
    }
    t.window[e] = window;
    t.windowAck[e] = ackSeq;
    t.windowSeq[e] = baseSeq;
  }

  /** Zeek's `get_relative_seq`; sets `#underflow` when a first-wrap value lies below the start. */
  #relative(e: number, cur: number, full: number): number {
    const last = lowOf(full);
    let wraps = Math.floor(full / TWO_32);
    const delta = (cur - last) | 0;
    if (delta < 0) {
      if (wraps !== 0 && cur > last) wraps--;
    } else if (delta > 0) {
      if (cur < last) wraps++;
    }
    const start = this.#t.startSeq[e]!;
    if (wraps === 0) {
      const d = (cur - start) | 0;
      if (d < 0) this.#underflow = true;
      return d;
    }
    return wraps * TWO_32 + cur - start;
  }

  #updateHistory(
    slot: number,
    side: number,
    syn: boolean,
    fin: boolean,
    rst: boolean,
    ack: boolean,
    relSeq: number,
    len: number,
  ): number {
    const t = this.#t;
    const h = this.#h;
    const bits = (syn ? 1 : 0) + (fin ? 1 : 0) + (rst ? 1 : 0);
    if (bits > 1) {
      if (fin && rst) h.check(slot, side, HIST_FIN_RST, CH_I);
      else h.check(slot, side, HIST_MULTI_FLAG, CH_Q);
      return side;
    }
    const e = slot * 2 + side;
    const rel32 = relSeq >>> 0;
    if (bits === 1) {
      if (syn) {
        const code = ack ? CH_H : CH_S;
        if (h.check(slot, side, HIST_SYN, code) && rel32 !== t.histSyn[e]) h.add(slot, side, code);
        t.histSyn[e] = rel32;
      }
      if (fin) {
        const at = (relSeq + len) >>> 0;
        if (h.check(slot, side, HIST_FIN, CH_F) && at !== t.histFin[e]) h.add(slot, side, CH_F);
        t.histFin[e] = at;
      }
      if (rst) {
        if (h.check(slot, side, HIST_RST, CH_R) && rel32 !== t.histRst[e]) h.add(slot, side, CH_R);
        t.histRst[e] = rel32;
      }
      return side;
    }
    if (len === 0 && !ack) return side;
    if (h.isExactly(slot, CH_H)) {
      // A SYN-ACK sender that goes on like a responder was the responder all along.
      this.#host.flip(slot);
      h.replace(slot, "^h");
      side ^= 1;
    }
    if (len > 0) h.check(slot, side, HIST_DATA, CH_D);
    else h.check(slot, side, HIST_ACK, CH_A);
    return side;
  }

  #updateLastSeq(
    slot: number,
    side: number,
    e: number,
    last: number,
    syn: boolean,
    fin: boolean,
    rst: boolean,
    len: number,
  ): number {
    const t = this.#t;
    const full = t.lastSeq[e]!;
    const delta = (last - lowOf(full)) | 0;
    if ((syn || rst) && (delta > TOO_LARGE_SEQ_DELTA || delta < -TOO_LARGE_SEQ_DELTA)) {
      // Sequence numbers of SYNs and RSTs far off are not trusted.
    } else if (fin && lowOf(full) === ((t.startSeq[e]! + 1) >>> 0)) {
      t.lastSeq[e] = advance(full, last);
    } else if (t.state[e] === TCP_RESET) {
      // After a reset no sequence number is trusted.
    } else if (delta > 0) {
      t.lastSeq[e] = advance(full, last);
    } else if (len > 0) {
      this.#h.scaled(slot, side, COUNT_RXMIT, CH_T);
    }
    return delta;
  }

  #flippedInMachine = false;

  #setState(slot: number, e: number, state: number): void {
    const t = this.#t;
    const old = t.state[e]!;
    if (state === old) return;
    if (!isActive(old) && isActive(state) && !isActive(t.state[e ^ 1]!)) {
      this.#host.setInactivity(slot, INACTIVITY_TCP);
    }
    t.prevState[e] = old;
    t.state[e] = state;
  }

  /** Zeek's `UpdateStateMachine`; returns whether the packet closes its endpoint. */
  #stateMachine(
    slot: number,
    side: number,
    e: number,
    syn: boolean,
    fin: boolean,
    rst: boolean,
    ack: boolean,
    len: number,
    baseSeq: number,
    ackSeq: number,
    deltaLast: number,
    ts: number,
  ): boolean {
    const t = this.#t;
    this.#flippedInMachine = false;
    let p = e ^ 1;
    let close = false;
    // As in Zeek, the side the packet arrived on, even after the reversal flip below.
    const isOrig = side === 0;
    switch (t.state[e]) {
      case TCP_INACTIVE: {
        // Z: TCPSessionAdapter.cc `UpdateInactiveState`.
        if (syn) {
          if (isOrig) {
            if (ack) this.#weird(slot, "connection_originator_SYN_ack", WEIRD_SOURCE_TCP);
            this.#setState(slot, e, ack ? TCP_SYN_ACK_SENT : TCP_SYN_SENT);
            this.#host.arm(slot, TIMER_ATTEMPT, ts + this.#timings.tcpAttemptDelay);
          } else {
            if (ack) {
              const ps = t.state[p];
              if (
                ps !== TCP_INACTIVE && ps !== TCP_PARTIAL &&
                !seqBetween(ackSeq, t.startSeq[p]!, lowOf(t.lastSeq[p]!))
              ) this.#weird(slot, "bad_SYN_ack", WEIRD_SOURCE_TCP);
            } else if (t.state[p] === TCP_SYN_ACK_SENT && baseSeq === t.startSeq[e]) {
              // A SYN answering a SYN-ACK seen first: the two were reordered.
              t.flags[slot]! &= ~CF_PARTIAL;
              this.#host.flip(slot);
              this.#flippedInMachine = true;
              e ^= 1;
              p ^= 1;
              this.#setState(slot, p, TCP_ESTABLISHED);
            } else this.#weird(slot, "simultaneous_open", WEIRD_SOURCE_TCP);
            if (t.state[p] === TCP_SYN_SENT) this.#setState(slot, p, TCP_ESTABLISHED);
            else if (t.state[p] === TCP_INACTIVE) {
              this.#weird(slot, "unsolicited_SYN_response", WEIRD_SOURCE_TCP);
            }
            this.#setState(slot, e, TCP_ESTABLISHED);
            if (t.state[p] !== TCP_PARTIAL) this.#host.established(slot);
          }
        }
        if (fin) {
          this.#setState(slot, e, TCP_CLOSED);
          close = true;
          if (t.state[p] !== TCP_PARTIAL && !syn) {
            this.#weird(slot, "spontaneous_FIN", WEIRD_SOURCE_TCP);
          }
        }
        if (rst) {
          this.#setState(slot, e, TCP_RESET);
          close = true;
          const ps = t.state[p];
          const reject = isOrig
            ? ps === TCP_ESTABLISHED
            : ps === TCP_SYN_SENT || ps === TCP_SYN_ACK_SENT;
          if (!reject && ps === TCP_INACTIVE) {
            this.#weird(slot, "spontaneous_RST", WEIRD_SOURCE_TCP);
          }
        }
        if (t.state[e] === TCP_INACTIVE) {
          const orig = slot * 2;
          if (!(e !== orig && len === 0 && t.state[orig] === TCP_SYN_SENT)) {
            this.#setState(slot, e, TCP_PARTIAL);
          }
        }
        break;
      }
      case TCP_SYN_SENT:
      case TCP_SYN_ACK_SENT:
        // Z: TCPSessionAdapter.cc `UpdateSYN_SentState`.
        if (syn) {
          if (isOrig) {
            if (ack && !fin && !rst && t.state[e] !== TCP_SYN_ACK_SENT) {
              this.#weird(slot, "repeated_SYN_with_ack", WEIRD_SOURCE_TCP);
            }
          } else if (!ack && t.state[e] !== TCP_SYN_SENT) {
            this.#weird(slot, "repeated_SYN_reply_wo_ack", WEIRD_SOURCE_TCP);
          }
        }
        if (fin) {
          if (t.state[p] === TCP_INACTIVE || t.state[p] === TCP_SYN_SENT) {
            this.#weird(slot, "inappropriate_FIN", WEIRD_SOURCE_TCP);
          }
          this.#setState(slot, e, TCP_CLOSED);
          close = true;
        }
        if (rst) {
          this.#setState(slot, e, TCP_RESET);
          close = true;
        } else if (len > 0) this.#weird(slot, "data_before_established", WEIRD_SOURCE_TCP);
        break;
      case TCP_ESTABLISHED:
      case TCP_PARTIAL:
        if (syn && t.state[e] === TCP_PARTIAL && t.state[p] === TCP_INACTIVE && !ack) {
          this.#weird(slot, "SYN_after_partial", WEIRD_SOURCE_TCP);
          this.#setState(slot, e, TCP_SYN_SENT);
        }
        if (fin && !rst) {
          if (t.state[p] === TCP_RESET && t.prevState[p] === TCP_CLOSED) {
            this.#setState(slot, p, TCP_CLOSED);
          }
          this.#setState(slot, e, TCP_CLOSED);
          close = true;
        }
        if (rst) {
          this.#setState(slot, e, TCP_RESET);
          close = true;
        }
        break;
      case TCP_CLOSED:
        if (syn) this.#weird(slot, "SYN_after_close", WEIRD_SOURCE_TCP);
        // A FIN that moves the end of the stream after a close; Zeek leaves FIN recision unflagged.
        if (fin && deltaLast > 0) this.#weird(slot, "FIN_advanced_last_seq", WEIRD_SOURCE_TCP);
        if (rst && t.state[p] !== TCP_CLOSED) {
          this.#setState(slot, e, TCP_RESET);
          if ((t.eflags[e]! & EF_DID_CLOSE) === 0) close = true;
        }
        break;
      case TCP_RESET:
        if (syn) this.#weird(slot, "SYN_after_reset", WEIRD_SOURCE_TCP);
        if (fin) this.#weird(slot, "FIN_after_reset", WEIRD_SOURCE_TCP);
        if (len > 0 && !rst) this.#weird(slot, "data_after_reset", WEIRD_SOURCE_TCP);
        if (syn && t.prevState[e] === TCP_INACTIVE) {
          t.startSeq[e] = baseSeq;
          t.ackSeq[e] = withLow(t.ackSeq[e]!, baseSeq);
          t.lastSeq[e] = withLow(t.lastSeq[e]!, baseSeq);
        }
        break;
    }
    return close;
  }

  /** Zeek's `ConnectionClosed` without the deferral for pending data. */
  #closed(slot: number, e: number, p: number): void {
    const t = this.#t;
    if ((t.eflags[e]! & EF_DID_CLOSE) !== 0) return;
    t.eflags[e]! |= EF_DID_CLOSE;
    const complete = t.state[e] === TCP_RESET || (t.eflags[p]! & EF_DID_CLOSE) !== 0 ||
      t.state[p] === TCP_INACTIVE;
    if (complete) {
      this.#host.cancelTcpTimers(slot);
      this.#host.arm(slot, TIMER_DELETE, t.lastTime[slot]! + this.#timings.tcpCloseDelay);
    } else if (t.prevState[e] !== TCP_INACTIVE) {
      this.#host.arm(
        slot,
        TIMER_EXPIRE_CLOSE,
        t.lastTime[slot]! + this.#timings.tcpSessionTimer,
      );
    }
  }

  /** The relative position `low32` of endpoint `e`, widened next to its highest sequence number. */
  #widen(e: number, low32: number): number {
    const t = this.#t;
    const ref = t.lastSeq[e]! - t.startSeq[e]!;
    return ref + ((low32 - (ref >>> 0)) | 0);
  }

  /** The peer acknowledged `seq` of endpoint `e`'s data: trim, and report what was never seen. */
  #ackReceived(slot: number, e: number, seq: number): void {
    const t = this.#t;
    if ((t.eflags[e]! & EF_FIN) !== 0) {
      const finSeq = this.#widen(e, t.finSeq[e]!);
      if (seq >= finSeq) seq = finSeq - 1;
    }
    const trim = this.#widen(e, t.trimSeq[e]!);
    if (seq <= trim) return;
    this.#trimTo(slot, e, seq, trim);
  }

  #trimTo(slot: number, e: number, seq: number, trim: number): void {
    const t = this.#t;
    let reassem = this.#widen(e, t.reassemSeq[e]!);
    const blocks = (t.flags[slot]! & CF_BLOCKS) === 0 ? undefined : this.#blocks.get(e);
    if (seq > reassem) {
      reassem = this.#undelivered(slot, e, seq, reassem, blocks);
    }
    if (blocks !== undefined) {
      let i = 0;
      while (i < blocks.length && blocks[i + 1]! <= seq) i += 2;
      if (i > 0) blocks.splice(0, i);
      reassem = this.#drain(blocks, reassem);
      if (blocks.length === 0) this.#blocks.delete(e);
    }
    t.reassemSeq[e] = reassem >>> 0;
    if (seq > trim) t.trimSeq[e] = seq >>> 0;
  }

  /** Zeek's `Undelivered`: a gap up to `upTo` is reported and skipped. */
  #undelivered(
    slot: number,
    e: number,
    upTo: number,
    reassem: number,
    blocks: number[] | undefined,
  ): number {
    const t = this.#t;
    if (upTo <= 2 && (t.flags[slot]! & CF_PARTIAL) !== 0) return reassem;
    if ((t.eflags[e]! & EF_FIN) !== 0) {
      const finSeq = this.#widen(e, t.finSeq[e]!);
      if (upTo >= finSeq) upTo = finSeq - 1;
    }
    if (upTo <= reassem) return reassem;
    const p = e ^ 1;
    const report = this.#reportGapsForPartial ||
      (isClean(t.state[e]!, t.prevState[e]!) && isClean(t.state[p]!, t.prevState[p]!));
    let missing = 0;
    let at = reassem;
    if (blocks !== undefined) {
      for (let i = 0; i < blocks.length && blocks[i]! < upTo; i += 2) {
        if (blocks[i]! > at) missing += blocks[i]! - at;
        if (blocks[i + 1]! > at) at = blocks[i + 1]!;
      }
    }
    if (upTo > at) missing += upTo - at;
    if (report && missing > 0) {
      t.missedBytes[slot] = t.missedBytes[slot]! + missing;
      this.#h.scaled(slot, e & 1, COUNT_GAP, CH_G);
    }
    return upTo > at ? upTo : at;
  }

  /** Delivers every block that now starts at or below the reassembly point. */
  #drain(blocks: number[], reassem: number): number {
    while (blocks.length > 0 && blocks[0]! <= reassem) {
      if (blocks[1]! > reassem) reassem = blocks[1]!;
      blocks.splice(0, 2);
    }
    return reassem;
  }

  /** Zeek's `DataSent` and `NewBlock`: data at relative `seq`. */
  #deliver(slot: number, e: number, seq: number, len: number): void {
    const t = this.#t;
    const ackRel = t.ackSeq[e]! - t.startSeq[e]!;
    let upper = seq + len;
    if (seq < ackRel) {
      if (upper <= ackRel) return;
      seq = ackRel;
    }
    const trim = this.#widen(e, t.trimSeq[e]!);
    if (upper <= trim) return;
    if (seq < trim) seq = trim;
    let reassem = this.#widen(e, t.reassemSeq[e]!);
    if (upper <= reassem) return;
    let blocks = (t.flags[slot]! & CF_BLOCKS) === 0 ? undefined : this.#blocks.get(e);
    if (seq <= reassem) {
      reassem = upper;
      if (blocks !== undefined) {
        reassem = this.#drain(blocks, reassem);
        if (blocks.length === 0) this.#blocks.delete(e);
      }
      t.reassemSeq[e] = reassem >>> 0;
      return;
    }
    if (blocks === undefined) {
      blocks = [];
      this.#blocks.set(e, blocks);
      t.flags[slot]! |= CF_BLOCKS;
    }
    let i = 0;
    while (i < blocks.length && blocks[i + 1]! < seq) i += 2;
    let j = i;
    while (j < blocks.length && blocks[j]! <= upper) {
      if (blocks[j]! < seq) seq = blocks[j]!;
      if (blocks[j + 1]! > upper) upper = blocks[j + 1]!;
      j += 2;
    }
    blocks.splice(i, j - i, seq, upper);
  }
}

function lowOf(full: number): number {
  return full % TWO_32;
}

/** `full` with its low 32 bits replaced (Zeek's `Init*Seq`, which keep the wrap count). */
function withLow(full: number, low: number): number {
  return Math.floor(full / TWO_32) * TWO_32 + low;
}

/** `full` moved to the 32-bit value `low`, counting a wrap when it went down (`Update*Seq`). */
function advance(full: number, low: number): number {
  let wraps = Math.floor(full / TWO_32);
  if (low < full % TWO_32) wraps++;
  return wraps * TWO_32 + low;
}

/**
 * The window scale option of a SYN, or -1 (Z: TCPSessionAdapter.cc
 * `build_syn_packet_val`, whose option walk this follows: it stops at EOL,
 * at a length that does not fit or is zero, and the last option wins).
 */
function synWindowScale(d: DecodedPacket): number {
  const data = d.data;
  const end = d.l4Offset + d.tcpHeaderLen;
  let scale = -1;
  for (let i = d.l4Offset + 20; i < end;) {
    const opt = data[i]!;
    if (opt === TCPOPT_EOL) break;
    if (opt === TCPOPT_NOP) {
      i++;
      continue;
    }
    if (i + 1 >= end) break;
    const optLen = data[i + 1]!;
    if (i + optLen > end || optLen === 0) break;
    if (opt === TCPOPT_WINDOW && optLen >= 3) scale = data[i + 2]!;
    i += optLen;
  }
  return scale;
}
