/**
 * The connection table: every tracked connection's state in parallel typed
 * arrays (struct of arrays), found through an open-addressing index keyed
 * by the symmetric 5-tuple, so millions of flows cost a few hundred bytes
 * each and no object. A connection is a slot number; its two endpoints are
 * `2·slot` (originator) and `2·slot + 1` (responder) in the endpoint
 * arrays, so flipping roles swaps two entries per array.
 *
 * Sequence positions that are relative to an endpoint's initial sequence
 * number (FIN position, reassembly point, trim point) are kept modulo 2^32
 * and widened against the endpoint's highest sequence number when read:
 * they never lie more than 2 GiB from it.
 *
 * Keys follow Zeek's default connection key: addresses, ports and IP
 * protocol, both directions alike (one-way ICMP only in its own
 * direction), VLAN tags ignored unless `vlanKey` asks for them. Records
 * and index grow by doubling; pages of slots never used are never touched.
 *
 * @module
 */

import { hashTuple } from "../../../capture/mod.ts";

/** Inline history bytes per connection; longer histories continue in a side map. */
export const HISTORY_INLINE = 12;
/** Timer kinds per connection (see the tracker and tcp.ts). */
export const TIMER_KINDS = 6;

/** Connection flags (`flags[slot]`). */
export const CF_ONE_WAY = 1;
export const CF_PARTIAL = 2;
export const CF_SEEN_ORIG = 4;
export const CF_SEEN_RESP = 8;
export const CF_TUNNEL = 16;
export const CF_LONG_HISTORY = 32;
export const CF_BLOCKS = 64;
export const CF_COUNTER_OVERFLOW = 128;
export const CF_HAS_VLAN = 256;
export const CF_HAS_INNER_VLAN = 512;
export const CF_HAS_MAC = 1024;
/** A weird was raised on the connection (Zeek's `Connection::DidWeird`). */
export const CF_WEIRD = 2048;

/** Endpoint flags (`eflags[endpoint]`). */
export const EF_FIN = 1;
export const EF_RST = 2;
export const EF_DID_CLOSE = 4;
export const EF_ACTIVE = 8;
/** The endpoint sent more than 15 FINs or RSTs: its storm counters live in `storms`. */
export const EF_STORM = 16;

const INITIAL_SLOTS = 1024;
const EMPTY = -1;

/** Options of a table. */
export interface ConnTableOptions {
  /** Initial number of connection slots (rounded up to a power of two). */
  readonly initialSlots?: number;
  /** Key on outer and inner VLAN ids as well (Zeek's `vlan_fivetuple`). */
  readonly vlanKey?: boolean;
  /** Keep each connection's first link-layer addresses (mac-logging). */
  readonly macAddresses?: boolean;
}

/** Struct-of-arrays storage of connections with a 5-tuple index. */
export class ConnTable {
  readonly vlanKey: boolean;
  readonly macAddresses: boolean;
  /** Slots allocated so far (capacity of the record arrays). */
  capacity = 0;
  /** Live connections. */
  count = 0;

  /** Originator address words 0–3, responder 4–7 (as `DecodedPacket.addrWords`). */
  addr!: Int32Array;
  origPort!: Uint16Array;
  respPort!: Uint16Array;
  proto!: Uint8Array;
  hash!: Uint32Array;
  flags!: Uint16Array;
  vlan!: Uint16Array;
  innerVlan!: Uint16Array;
  mac!: Uint8Array;
  startTime!: Float64Array;
  lastTime!: Float64Array;
  ordinal!: Float64Array;
  history!: Uint8Array;
  historyLen!: Uint8Array;
  historySeen!: Uint16Array;
  missedBytes!: Float64Array;
  generation!: Uint32Array;
  timerGen!: Uint8Array;
  inactivity!: Uint8Array;

  state!: Uint8Array;
  prevState!: Uint8Array;
  eflags!: Uint8Array;
  startSeq!: Uint32Array;
  lastSeq!: Float64Array;
  ackSeq!: Float64Array;
  histSyn!: Uint32Array;
  histFin!: Uint32Array;
  histRst!: Uint32Array;
  finSeq!: Uint32Array;
  reassemSeq!: Uint32Array;
  trimSeq!: Uint32Array;
  /** Per endpoint four counters (C, G, T, W) for the logarithmic history letters. */
  counters!: Uint16Array;
  /**
   * FINs (low nibble) and RSTs (high nibble) an endpoint sent, up to 15 each;
   * past that the endpoint gets `EF_STORM` and an entry in `storms`. The
   * storm weirds need a thousand: one byte per endpoint covers everyone else.
   */
  stormCounts!: Uint8Array;
  /** Storm counters of the few endpoints past 15 FINs or RSTs, by endpoint. */
  readonly storms = new Map<number, StormCounters>();
  /** The advertised window (scaled), its scale, and the sequence and ack numbers it came with. */
  window!: Uint32Array;
  windowScale!: Uint8Array;
  windowSeq!: Uint32Array;
  windowAck!: Uint32Array;
  pkts!: Uint32Array;
  ipBytes!: Float64Array;

  #index: Int32Array;
  #mask: number;
  #free: Uint32Array;
  #freeTop = 0;
  #next = 0;

  constructor(options: ConnTableOptions = {}) {
    this.vlanKey = options.vlanKey ?? false;
    this.macAddresses = options.macAddresses ?? false;
    let n = INITIAL_SLOTS;
    while (n < (options.initialSlots ?? 0)) n *= 2;
    this.#allocate(n);
    this.#index = new Int32Array(n * 2).fill(EMPTY);
    this.#mask = n * 2 - 1;
    this.#free = new Uint32Array(n);
  }

  /** Bytes held by the arrays (allocated, whether touched or not). */
  get byteLength(): number {
    let sum = this.#index.byteLength + this.#free.byteLength;
    for (const key of Object.keys(this) as (keyof this)[]) {
      const v = this[key];
      if (ArrayBuffer.isView(v)) sum += v.byteLength;
    }
    return sum;
  }

  /**
   * The slot of the connection with this key, or -1. `words` are the
   * packet's addresses (source 0–3, destination 4–7, signed view). Sets
   * `lastSrcIsOrig` when found.
   */
  find(
    words: Int32Array,
    proto: number,
    srcPort: number,
    dstPort: number,
    oneWay: boolean,
    vlan: number,
    innerVlan: number,
    hash: number,
  ): number {
    const index = this.#index;
    const mask = this.#mask;
    const addr = this.addr;
    for (let i = hash & mask;; i = (i + 1) & mask) {
      const slot = index[i]!;
      if (slot === EMPTY) return -1;
      if (this.hash[slot] !== hash || this.proto[slot] !== proto) continue;
      if (this.vlanKey && (this.vlan[slot] !== vlan || this.innerVlan[slot] !== innerVlan)) {
        continue;
      }
      const base = slot * 8;
      const op = this.origPort[slot]!;
      const rp = this.respPort[slot]!;
      if (
        op === srcPort && rp === dstPort &&
        addr[base] === words[0] && addr[base + 1] === words[1] &&
        addr[base + 2] === words[2] && addr[base + 3] === words[3] &&
        addr[base + 4] === words[4] && addr[base + 5] === words[5] &&
        addr[base + 6] === words[6] && addr[base + 7] === words[7]
      ) {
        if (((this.flags[slot]! & CF_ONE_WAY) !== 0) === oneWay) {
          this.lastSrcIsOrig = true;
          return slot;
        }
        continue;
      }
      if (
        !oneWay && (this.flags[slot]! & CF_ONE_WAY) === 0 && op === dstPort && rp === srcPort &&
        addr[base] === words[4] && addr[base + 1] === words[5] &&
        addr[base + 2] === words[6] && addr[base + 3] === words[7] &&
        addr[base + 4] === words[0] && addr[base + 5] === words[1] &&
        addr[base + 6] === words[2] && addr[base + 7] === words[3]
      ) {
        this.lastSrcIsOrig = false;
        return slot;
      }
    }
  }

  /** Set by `find`: whether the packet's source is the found connection's originator. */
  lastSrcIsOrig = true;

  /**
   * Adds a connection with the packet's source as originator and returns
   * its slot; every field starts at zero apart from the key.
   */
  insert(
    words: Int32Array,
    proto: number,
    srcPort: number,
    dstPort: number,
    oneWay: boolean,
    vlan: number,
    innerVlan: number,
    hash: number,
  ): number {
    if ((this.count + 1) * 2 > this.#mask + 1) this.#growIndex();
    let slot: number;
    if (this.#freeTop > 0) slot = this.#free[--this.#freeTop]!;
    else {
      if (this.#next === this.capacity) this.#growRecords();
      slot = this.#next++;
    }
    const base = slot * 8;
    for (let i = 0; i < 8; i++) this.addr[base + i] = words[i]!;
    this.origPort[slot] = srcPort;
    this.respPort[slot] = dstPort;
    this.proto[slot] = proto;
    this.hash[slot] = hash;
    this.flags[slot] = oneWay ? CF_ONE_WAY : 0;
    if (this.vlanKey) {
      this.vlan[slot] = vlan;
      this.innerVlan[slot] = innerVlan;
    }
    this.#place(slot, hash);
    this.count++;
    return slot;
  }

  /** Removes a connection from the index and clears its slot for reuse. */
  remove(slot: number): void {
    const index = this.#index;
    const mask = this.#mask;
    let i = this.hash[slot]! & mask;
    while (index[i] !== slot) i = (i + 1) & mask;
    // Backward-shift deletion keeps every probe chain unbroken without tombstones.
    for (let j = (i + 1) & mask;; j = (j + 1) & mask) {
      const s = index[j]!;
      if (s === EMPTY) break;
      const home = this.hash[s]! & mask;
      if (((j - home) & mask) >= ((j - i) & mask)) {
        index[i] = s;
        i = j;
      }
    }
    index[i] = EMPTY;
    this.#clear(slot);
    this.generation[slot] = (this.generation[slot]! + 1) >>> 0;
    this.#free[this.#freeTop++] = slot;
    this.count--;
  }

  /** Swaps originator and responder: addresses, ports and every endpoint field. */
  flip(slot: number): void {
    const a = this.addr;
    const base = slot * 8;
    for (let i = 0; i < 4; i++) {
      const t = a[base + i]!;
      a[base + i] = a[base + 4 + i]!;
      a[base + 4 + i] = t;
    }
    const p = this.origPort[slot]!;
    this.origPort[slot] = this.respPort[slot]!;
    this.respPort[slot] = p;
    const o = slot * 2;
    swap(this.state, o);
    swap(this.prevState, o);
    swap(this.eflags, o);
    swap(this.startSeq, o);
    swap(this.lastSeq, o);
    swap(this.ackSeq, o);
    swap(this.histSyn, o);
    swap(this.histFin, o);
    swap(this.histRst, o);
    swap(this.finSeq, o);
    swap(this.reassemSeq, o);
    swap(this.trimSeq, o);
    swap(this.pkts, o);
    swap(this.ipBytes, o);
    swap(this.stormCounts, o);
    const so = this.storms.get(o), sr = this.storms.get(o + 1);
    this.storms.delete(o);
    this.storms.delete(o + 1);
    if (sr !== undefined) this.storms.set(o, sr);
    if (so !== undefined) this.storms.set(o + 1, so);
    swap(this.window, o);
    swap(this.windowScale, o);
    swap(this.windowSeq, o);
    swap(this.windowAck, o);
    for (let k = 0; k < 4; k++) {
      const c = this.counters;
      const t = c[o * 4 + k]!;
      c[o * 4 + k] = c[o * 4 + 4 + k]!;
      c[o * 4 + 4 + k] = t;
    }
    const seen = this.historySeen[slot]!;
    this.historySeen[slot] = ((seen & 0xff) << 8) | (seen >> 8);
    if (this.macAddresses) {
      const m = this.mac;
      for (let i = 0; i < 6; i++) {
        const t = m[slot * 12 + i]!;
        m[slot * 12 + i] = m[slot * 12 + 6 + i]!;
        m[slot * 12 + 6 + i] = t;
      }
    }
  }

  /** Every live slot (allocates; for flushing at the end, not per packet). */
  liveSlots(): number[] {
    const out: number[] = [];
    const index = this.#index;
    for (let i = 0; i < index.length; i++) if (index[i] !== EMPTY) out.push(index[i]!);
    return out;
  }

  /** The hash of a connection's key as `find`/`insert` expect it. */
  static hashKey(
    words: Int32Array,
    proto: number,
    srcPort: number,
    dstPort: number,
    vlan: number,
    innerVlan: number,
  ): number {
    const h = hashTuple(words, proto, srcPort, dstPort);
    if (vlan === 0 && innerVlan === 0) return h;
    return (Math.imul(h ^ (vlan * 4099 + innerVlan), 0x9e3779b1) ^ h) >>> 0;
  }

  #place(slot: number, hash: number): void {
    const index = this.#index;
    const mask = this.#mask;
    let i = hash & mask;
    while (index[i] !== EMPTY) i = (i + 1) & mask;
    index[i] = slot;
  }

  #growIndex(): void {
    const old = this.#index;
    this.#index = new Int32Array(old.length * 2).fill(EMPTY);
    this.#mask = this.#index.length - 1;
    for (let i = 0; i < old.length; i++) {
      const s = old[i]!;
      if (s !== EMPTY) this.#place(s, this.hash[s]!);
    }
  }

  #growRecords(): void {
    this.#allocate(this.capacity * 2);
    const free = new Uint32Array(this.capacity);
    free.set(this.#free.subarray(0, this.#freeTop));
    this.#free = free;
  }

  #allocate(n: number): void {
    const e = n * 2;
    const grow = <T extends Uint8Array | Uint16Array | Uint32Array | Int32Array | Float64Array>(
      old: T | undefined,
      make: (len: number) => T,
      len: number,
    ): T => {
      const next = make(len);
      if (old !== undefined) next.set(old as never);
      return next;
    };
    const u8 = (len: number) => new Uint8Array(len);
    const u16 = (len: number) => new Uint16Array(len);
    const u32 = (len: number) => new Uint32Array(len);
    const i32 = (len: number) => new Int32Array(len);
    const f64 = (len: number) => new Float64Array(len);
    this.addr = grow(this.addr, i32, n * 8);
    this.origPort = grow(this.origPort, u16, n);
    this.respPort = grow(this.respPort, u16, n);
    this.proto = grow(this.proto, u8, n);
    this.hash = grow(this.hash, u32, n);
    this.flags = grow(this.flags, u16, n);
    this.vlan = grow(this.vlan, u16, this.vlanKey ? n : 0);
    this.innerVlan = grow(this.innerVlan, u16, this.vlanKey ? n : 0);
    this.mac = grow(this.mac, u8, this.macAddresses ? n * 12 : 0);
    this.startTime = grow(this.startTime, f64, n);
    this.lastTime = grow(this.lastTime, f64, n);
    this.ordinal = grow(this.ordinal, f64, n);
    this.history = grow(this.history, u8, n * HISTORY_INLINE);
    this.historyLen = grow(this.historyLen, u8, n);
    this.historySeen = grow(this.historySeen, u16, n);
    this.missedBytes = grow(this.missedBytes, f64, n);
    this.generation = grow(this.generation, u32, n);
    this.timerGen = grow(this.timerGen, u8, n * TIMER_KINDS);
    this.inactivity = grow(this.inactivity, u8, n);
    this.state = grow(this.state, u8, e);
    this.prevState = grow(this.prevState, u8, e);
    this.eflags = grow(this.eflags, u8, e);
    this.startSeq = grow(this.startSeq, u32, e);
    this.lastSeq = grow(this.lastSeq, f64, e);
    this.ackSeq = grow(this.ackSeq, f64, e);
    this.histSyn = grow(this.histSyn, u32, e);
    this.histFin = grow(this.histFin, u32, e);
    this.histRst = grow(this.histRst, u32, e);
    this.finSeq = grow(this.finSeq, u32, e);
    this.reassemSeq = grow(this.reassemSeq, u32, e);
    this.trimSeq = grow(this.trimSeq, u32, e);
    this.counters = grow(this.counters, u16, e * 4);
    this.pkts = grow(this.pkts, u32, e);
    this.ipBytes = grow(this.ipBytes, f64, e);
    this.stormCounts = grow(this.stormCounts, u8, e);
    this.window = grow(this.window, u32, e);
    this.windowScale = grow(this.windowScale, u8, e);
    this.windowSeq = grow(this.windowSeq, u32, e);
    this.windowAck = grow(this.windowAck, u32, e);
    this.capacity = n;
  }

  /** Zeroes a slot's state (the key is overwritten by the next insert). */
  #clear(slot: number): void {
    this.flags[slot] = 0;
    this.startTime[slot] = 0;
    this.lastTime[slot] = 0;
    this.ordinal[slot] = 0;
    this.history.fill(0, slot * HISTORY_INLINE, slot * HISTORY_INLINE + HISTORY_INLINE);
    this.historyLen[slot] = 0;
    this.historySeen[slot] = 0;
    this.missedBytes[slot] = 0;
    this.timerGen.fill(0, slot * TIMER_KINDS, slot * TIMER_KINDS + TIMER_KINDS);
    this.inactivity[slot] = 0;
    if (this.macAddresses) this.mac.fill(0, slot * 12, slot * 12 + 12);
    for (let e = slot * 2; e < slot * 2 + 2; e++) {
      this.state[e] = 0;
      this.prevState[e] = 0;
      this.eflags[e] = 0;
      this.startSeq[e] = 0;
      this.lastSeq[e] = 0;
      this.ackSeq[e] = 0;
      this.histSyn[e] = 0;
      this.histFin[e] = 0;
      this.histRst[e] = 0;
      this.finSeq[e] = 0;
      this.reassemSeq[e] = 0;
      this.trimSeq[e] = 0;
      this.pkts[e] = 0;
      this.ipBytes[e] = 0;
      this.stormCounts[e] = 0;
      this.storms.delete(e);
      this.window[e] = 0;
      this.windowScale[e] = 0;
      this.windowSeq[e] = 0;
      this.windowAck[e] = 0;
    }
    this.counters.fill(0, slot * 8, slot * 8 + 8);
  }
}

/** FINs and RSTs of an endpoint past 15 of either, and the time of its last packet. */
export interface StormCounters {
  fin: number;
  rst: number;
  time: number;
}

/**
 * Counts one FIN (`rst` false) or RST of endpoint `e` at time `ts`;
 * returns the new count.
 */
export function countStorm(t: ConnTable, e: number, rst: boolean, ts: number): number {
  const f = t.eflags[e]!;
  if ((f & EF_STORM) === 0) {
    const packed = t.stormCounts[e]!;
    const fin = packed & 15, rsts = packed >> 4;
    const n = (rst ? rsts : fin) + 1;
    if (n <= 15) {
      t.stormCounts[e] = rst ? (packed & 15) | (n << 4) : (packed & 0xf0) | n;
      return n;
    }
    t.eflags[e] = f | EF_STORM;
    t.storms.set(e, { fin: rst ? fin : n, rst: rst ? n : rsts, time: ts });
    return n;
  }
  const s = t.storms.get(e)!;
  return rst ? ++s.rst : ++s.fin;
}

function swap(a: Uint8Array | Uint32Array | Int32Array | Float64Array, i: number): void {
  const t = a[i]!;
  a[i] = a[i + 1]!;
  a[i + 1] = t;
}

/**
 * Writes the address at `words[base … base+4)` (four 32-bit words, most
 * significant first: the table's and the decoder's layout) into `out` as the
 * 16 bytes `isLocalAddress` reads, and returns `out`.
 */
export function wordBytes(
  words: Uint32Array | Int32Array,
  base: number,
  out: Uint8Array,
): Uint8Array {
  for (let i = 0; i < 4; i++) {
    const w = words[base + i]!;
    out[i * 4] = w >>> 24;
    out[i * 4 + 1] = (w >>> 16) & 0xff;
    out[i * 4 + 2] = (w >>> 8) & 0xff;
    out[i * 4 + 3] = w & 0xff;
  }
  return out;
}
