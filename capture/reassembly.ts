/**
 * IPv4 and IPv6 fragment reassembly with bounded memory.
 *
 * Fragments are keyed like Zeek keys them: source, destination and
 * identification (and IP version). Time is packet time: a datagram whose
 * first fragment is older than the timeout (Zeek's `frag_timeout`, 5 min)
 * is dropped when the next fragment arrives or `expire()` runs. Memory is
 * bounded by datagrams in flight and by bytes held; past either bound the
 * oldest datagram is evicted and counted.
 *
 * Overlaps are resolved deterministically: bytes already held win, and the
 * overlap is counted as `fragment_overlap` (same bytes) or
 * `fragment_inconsistency` (different bytes), Zeek's names and policy.
 *
 * A completed datagram is rebuilt as a whole IP packet in `output` (header
 * of the offset-0 fragment with its length fields fixed, the IPv4 checksum
 * recomputed and the IPv6 fragment header removed), valid until the next
 * call, so the decoder can decode it like any packet.
 *
 * @module
 */

import { internetChecksum } from "./checksum.ts";
import { WEIRD, WeirdCounters } from "./weird.ts";

/** Zeek's `frag_timeout`. */
export const DEFAULT_FRAG_TIMEOUT = 300;
/** Bytes all datagrams in flight may hold together. */
export const DEFAULT_FRAG_MAX_BYTES = 32 * 1024 * 1024;
/** Datagrams that may be in flight at once. */
export const DEFAULT_FRAG_MAX_DATAGRAMS = 16384;

/** The fragment was stored; the datagram is not complete yet. */
export const FRAG_HELD = 0;
/** The datagram is complete and rebuilt in `output`. */
export const FRAG_COMPLETE = 1;
/** The fragment was discarded (inconsistent, or larger than the memory bound). */
export const FRAG_DROPPED = 2;

/** Bounds and timeout of a reassembler. */
export interface ReassemblerOptions {
  /** Seconds of packet time a datagram may take to complete (default 300). */
  readonly timeout?: number;
  /** Bytes held by all incomplete datagrams together (default 32 MiB). */
  readonly maxBytes?: number;
  /** Incomplete datagrams at once (default 16384). */
  readonly maxDatagrams?: number;
  /** Where weirds are counted (default: a private set). */
  readonly weirds?: WeirdCounters;
}

/** What a reassembler has done so far. */
export interface ReassemblerStats {
  readonly inFlight: number;
  readonly bytesHeld: number;
  readonly fragments: number;
  readonly reassembled: number;
  readonly timedOut: number;
  readonly evicted: number;
  readonly dropped: number;
}

const EMPTY = new Uint8Array(0);
const MIN_PAYLOAD_CAPACITY = 4096;
/** Payload buffers up to this size stay with a released datagram for the next one. */
const POOLED_PAYLOAD_MAX = 16384;
/** Zeek's bounds for the weirds about fragment sizes. */
const MIN_ACCEPTABLE_FRAG_SIZE = 64;
const MAX_ACCEPTABLE_FRAG_SIZE = 64000;

class Datagram {
  version = 4;
  id = 0;
  hash = 0;
  readonly addr = new Uint32Array(8);
  bucketNext: Datagram | null = null;
  older: Datagram | null = null;
  newer: Datagram | null = null;
  firstTime = 0;
  /** Header bytes of the offset-0 fragment (IPv6: base + unfragmentable extension headers). */
  header: Uint8Array = EMPTY;
  headerLen = -1;
  /** IPv6: offset in `header` of the byte that named the fragment header. */
  nhOffset = -1;
  /** The upper-layer protocol (IPv4 protocol; IPv6 fragment header's next header). */
  proto = -1;
  /** The first fragment's header length, for the consistency weird. */
  seenHeaderLen = -1;
  payload: Uint8Array = EMPTY;
  /** Payload bytes charged to the memory bound (the buffer may be larger when pooled). */
  reserved = 0;
  /** Length of the fragmentable part; 0 until the last fragment is seen. */
  size = 0;
  /** Held byte ranges as sorted, merged [start, end) pairs. */
  readonly ranges: number[] = [];
  heldBytes = 0;

  reset(): void {
    this.bucketNext = null;
    this.older = null;
    this.newer = null;
    this.header = EMPTY;
    this.headerLen = -1;
    this.nhOffset = -1;
    this.proto = -1;
    this.seenHeaderLen = -1;
    if (this.payload.length > POOLED_PAYLOAD_MAX) this.payload = EMPTY;
    this.reserved = 0;
    this.size = 0;
    this.ranges.length = 0;
    this.heldBytes = 0;
  }
}

function mix(h: number, w: number): number {
  h = Math.imul(h ^ w, 0x9e3779b1);
  return (h << 13) | (h >>> 19);
}

/** Reassembles IP fragments; one per decoder. */
export class FragmentReassembler {
  /**
   * The last completed datagram, a whole IP packet at `output[0 … outputLength)`.
   * Completions alternate between two buffers, so a datagram rebuilt inside
   * a tunnel does not overwrite the rebuilt outer datagram carrying it.
   */
  output: Uint8Array = EMPTY;
  outputLength = 0;
  #spare: Uint8Array = new Uint8Array(MIN_PAYLOAD_CAPACITY);
  readonly weirds: WeirdCounters;
  readonly #timeout: number;
  readonly #maxBytes: number;
  readonly #maxDatagrams: number;
  readonly #buckets = new Map<number, Datagram>();
  readonly #free: Datagram[] = [];
  #oldest: Datagram | null = null;
  #newest: Datagram | null = null;
  #inFlight = 0;
  #bytesHeld = 0;
  #fragments = 0;
  #reassembled = 0;
  #timedOut = 0;
  #evicted = 0;
  #dropped = 0;
  readonly #key = new Uint32Array(8);

  constructor(options: ReassemblerOptions = {}) {
    this.#timeout = options.timeout ?? DEFAULT_FRAG_TIMEOUT;
    this.#maxBytes = options.maxBytes ?? DEFAULT_FRAG_MAX_BYTES;
    this.#maxDatagrams = options.maxDatagrams ?? DEFAULT_FRAG_MAX_DATAGRAMS;
    if (!(this.#timeout > 0)) {
      throw new RangeError(`Cannot reassemble with timeout ${this.#timeout}: use seconds > 0`);
    }
    if (!Number.isInteger(this.#maxBytes) || this.#maxBytes < 1) {
      throw new RangeError(
        `Cannot reassemble with maxBytes ${this.#maxBytes}: use a positive integer`,
      );
    }
    if (!Number.isInteger(this.#maxDatagrams) || this.#maxDatagrams < 1) {
      throw new RangeError(
        `Cannot reassemble with maxDatagrams ${this.#maxDatagrams}: use a positive integer`,
      );
    }
    this.weirds = options.weirds ?? new WeirdCounters();
  }

  stats(): ReassemblerStats {
    return Object.freeze({
      inFlight: this.#inFlight,
      bytesHeld: this.#bytesHeld,
      fragments: this.#fragments,
      reassembled: this.#reassembled,
      timedOut: this.#timedOut,
      evicted: this.#evicted,
      dropped: this.#dropped,
    });
  }

  /**
   * Adds an IPv4 fragment: the header is at `data[ipStart]`, `totalLen`
   * bytes (the header's total length) are all captured. Returns FRAG_HELD,
   * FRAG_COMPLETE (datagram in `output`) or FRAG_DROPPED.
   */
  addV4(now: number, data: Uint8Array, ipStart: number, totalLen: number): number {
    const hl = (data[ipStart]! & 0x0f) << 2;
    const key = this.#key;
    key[0] = 0;
    key[1] = 0;
    key[2] = 0xffff;
    key[3] = readU32(data, ipStart + 12);
    key[4] = 0;
    key[5] = 0;
    key[6] = 0xffff;
    key[7] = readU32(data, ipStart + 16);
    const id = (data[ipStart + 4]! << 8) | data[ipStart + 5]!;
    const flags = (data[ipStart + 6]! << 8) | data[ipStart + 7]!;
    const offset = (flags & 0x1fff) << 3;
    const more = (flags & 0x2000) !== 0;
    if ((flags & 0x4000) !== 0) this.weirds.add(WEIRD.fragment_with_DF);
    return this.#add(
      now,
      4,
      id,
      data,
      ipStart,
      hl,
      -1,
      data[ipStart + 9]!,
      offset,
      more,
      ipStart + hl,
      totalLen - hl,
    );
  }

  /**
   * Adds an IPv6 fragment: base header at `data[ipStart]`, fragment header
   * at `data[fragStart]`, `nhOffset` the offset from `ipStart` of the byte
   * whose value (44) announced the fragment header, `totalLen` bytes (40 +
   * payload length) all captured.
   */
  addV6(
    now: number,
    data: Uint8Array,
    ipStart: number,
    fragStart: number,
    nhOffset: number,
    totalLen: number,
  ): number {
    const key = this.#key;
    for (let i = 0; i < 8; i++) key[i] = readU32(data, ipStart + 8 + 4 * i);
    const offField = (data[fragStart + 2]! << 8) | data[fragStart + 3]!;
    const id = readU32(data, fragStart + 4);
    const payloadStart = fragStart + 8;
    return this.#add(
      now,
      6,
      id,
      data,
      ipStart,
      fragStart - ipStart,
      nhOffset,
      data[fragStart]!,
      offField & 0xfff8,
      (offField & 1) !== 0,
      payloadStart,
      ipStart + totalLen - payloadStart,
    );
  }

  /** Drops every datagram whose first fragment is `timeout` seconds older than `now`. */
  expire(now: number): void {
    const limit = now - this.#timeout;
    let d = this.#oldest;
    while (d !== null && d.firstTime <= limit) {
      const next = d.newer;
      this.#release(d);
      this.#timedOut++;
      d = next;
    }
  }

  /** Drops every datagram in flight. */
  clear(): void {
    while (this.#oldest !== null) this.#release(this.#oldest);
  }

  #add(
    now: number,
    version: number,
    id: number,
    data: Uint8Array,
    ipStart: number,
    headerLen: number,
    nhOffset: number,
    proto: number,
    offset: number,
    more: boolean,
    payloadStart: number,
    payloadLen: number,
  ): number {
    this.#fragments++;
    this.expire(now);
    if (payloadLen < 0) {
      this.weirds.add(WEIRD.fragment_protocol_inconsistency);
      this.#dropped++;
      return FRAG_DROPPED;
    }
    const d = this.#lookup(version, id, now);
    if (d.seenHeaderLen < 0) {
      d.seenHeaderLen = headerLen;
      d.proto = proto;
    } else if (d.seenHeaderLen !== headerLen || (offset === 0 && d.proto !== proto)) {
      this.weirds.add(WEIRD.fragment_protocol_inconsistency);
    }
    const upper = offset + payloadLen;
    if (!more) {
      if (d.size === 0) d.size = upper;
      else if (upper !== d.size) {
        this.weirds.add(WEIRD.fragment_size_inconsistency);
        if (upper > d.size) d.size = upper;
      }
    } else if (payloadLen + headerLen < MIN_ACCEPTABLE_FRAG_SIZE) {
      this.weirds.add(WEIRD.excessively_small_fragment);
    }
    if (upper > MAX_ACCEPTABLE_FRAG_SIZE) this.weirds.add(WEIRD.excessively_large_fragment);
    if (d.size !== 0 && upper > d.size) {
      this.weirds.add(WEIRD.fragment_size_inconsistency);
      d.size = upper;
    }
    if (offset === 0 && d.headerLen < 0) {
      if (!this.#reserve(d, headerLen, 0)) return FRAG_DROPPED;
      d.header.set(data.subarray(ipStart, ipStart + headerLen));
      d.headerLen = headerLen;
      d.nhOffset = nhOffset;
      d.proto = proto;
    }
    if (!this.#reserve(d, 0, upper)) return FRAG_DROPPED;
    this.#insert(d, data, payloadStart, offset, upper);
    const ranges = d.ranges;
    if (
      d.headerLen < 0 || d.size === 0 || ranges.length !== 2 || ranges[0] !== 0 ||
      ranges[1]! < d.size
    ) {
      return FRAG_HELD;
    }
    this.#build(d);
    this.#release(d);
    this.#reassembled++;
    return FRAG_COMPLETE;
  }

  #lookup(version: number, id: number, now: number): Datagram {
    const key = this.#key;
    let h = mix(version, id);
    for (let i = 0; i < 8; i++) h = mix(h, key[i]!);
    h >>>= 0;
    const head = this.#buckets.get(h);
    for (let d = head ?? null; d !== null; d = d.bucketNext) {
      if (d.version === version && d.id === id && sameKey(d.addr, key)) return d;
    }
    if (this.#inFlight >= this.#maxDatagrams) this.#evictOldest(null);
    const d = this.#free.pop() ?? new Datagram();
    d.version = version;
    d.id = id;
    d.hash = h;
    d.addr.set(key);
    d.firstTime = now;
    d.bucketNext = head ?? null;
    this.#buckets.set(h, d);
    d.older = this.#newest;
    if (this.#newest !== null) this.#newest.newer = d;
    else this.#oldest = d;
    this.#newest = d;
    this.#inFlight++;
    return d;
  }

  /** Makes room for a header of `headerLen` bytes or payload up to `upper`; false when over the bound. */
  #reserve(d: Datagram, headerLen: number, upper: number): boolean {
    let grow = 0;
    let newReserved = d.reserved;
    if (upper > newReserved) {
      newReserved = Math.max(MIN_PAYLOAD_CAPACITY, newReserved);
      while (newReserved < upper) newReserved *= 2;
      grow += newReserved - d.reserved;
    }
    if (headerLen > d.header.length) grow += headerLen - d.header.length;
    if (grow === 0) return true;
    if (d.heldBytes + grow > this.#maxBytes) {
      this.#release(d);
      this.#dropped++;
      return false;
    }
    while (this.#bytesHeld + grow > this.#maxBytes && this.#evictOldest(d));
    if (newReserved > d.payload.length) {
      const payload = new Uint8Array(newReserved);
      payload.set(d.payload.subarray(0, d.reserved));
      d.payload = payload;
    }
    d.reserved = newReserved;
    if (headerLen > d.header.length) d.header = new Uint8Array(headerLen);
    d.heldBytes += grow;
    this.#bytesHeld += grow;
    return true;
  }

  /** Copies the fragment's bytes that are not held yet; held bytes win. */
  #insert(d: Datagram, data: Uint8Array, start: number, a: number, b: number): void {
    const ranges = d.ranges;
    const payload = d.payload;
    let cur = a;
    let overlap = false;
    let differs = false;
    for (let i = 0; i < ranges.length && cur < b; i += 2) {
      const s = ranges[i]!;
      const e = ranges[i + 1]!;
      if (e <= cur) continue;
      if (s >= b) break;
      if (s > cur) payload.set(data.subarray(start + cur - a, start + s - a), cur);
      const ovEnd = e < b ? e : b;
      const ovStart = s > cur ? s : cur;
      overlap = true;
      for (let k = ovStart; k < ovEnd && !differs; k++) {
        if (payload[k] !== data[start + k - a]) differs = true;
      }
      cur = ovEnd;
    }
    if (cur < b) payload.set(data.subarray(start + cur - a, start + b - a), cur);
    if (overlap) {
      this.weirds.add(differs ? WEIRD.fragment_inconsistency : WEIRD.fragment_overlap);
    }
    if (b > a) mergeRange(ranges, a, b);
  }

  #build(d: Datagram): void {
    const total = d.headerLen + d.size;
    let out = this.#spare;
    if (out.length < total) {
      let cap = out.length;
      while (cap < total) cap *= 2;
      out = new Uint8Array(cap);
    }
    this.#spare = this.output.length > 0 ? this.output : new Uint8Array(MIN_PAYLOAD_CAPACITY);
    this.output = out;
    out.set(d.header.subarray(0, d.headerLen), 0);
    out.set(d.payload.subarray(0, d.size), d.headerLen);
    if (d.version === 4) {
      out[2] = total >>> 8;
      out[3] = total & 0xff;
      out[6] = out[6]! & 0x40;
      out[7] = 0;
      out[10] = 0;
      out[11] = 0;
      const sum = internetChecksum(out, 0, d.headerLen);
      out[10] = sum >>> 8;
      out[11] = sum & 0xff;
    } else {
      const plen = total - 40;
      out[4] = plen >>> 8;
      out[5] = plen & 0xff;
      out[d.nhOffset] = d.proto;
    }
    this.outputLength = total;
  }

  #evictOldest(keep: Datagram | null): boolean {
    let d = this.#oldest;
    if (d === keep && d !== null) d = d.newer;
    if (d === null) return false;
    this.#release(d);
    this.#evicted++;
    return true;
  }

  #release(d: Datagram): void {
    let head = this.#buckets.get(d.hash) ?? null;
    if (head === d) {
      if (d.bucketNext === null) this.#buckets.delete(d.hash);
      else this.#buckets.set(d.hash, d.bucketNext);
    } else {
      while (head !== null && head.bucketNext !== d) head = head.bucketNext;
      if (head !== null) head.bucketNext = d.bucketNext;
    }
    if (d.older !== null) d.older.newer = d.newer;
    else this.#oldest = d.newer;
    if (d.newer !== null) d.newer.older = d.older;
    else this.#newest = d.older;
    this.#bytesHeld -= d.heldBytes;
    this.#inFlight--;
    d.reset();
    this.#free.push(d);
  }
}

function readU32(data: Uint8Array, o: number): number {
  return ((data[o]! << 24) | (data[o + 1]! << 16) | (data[o + 2]! << 8) | data[o + 3]!) >>> 0;
}

function sameKey(a: Uint32Array, b: Uint32Array): boolean {
  for (let i = 0; i < 8; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Adds [a, b) to sorted, merged ranges. */
function mergeRange(ranges: number[], a: number, b: number): void {
  let i = 0;
  while (i < ranges.length && ranges[i + 1]! < a) i += 2;
  let j = i;
  let lo = a;
  let hi = b;
  while (j < ranges.length && ranges[j]! <= b) {
    if (ranges[j]! < lo) lo = ranges[j]!;
    if (ranges[j + 1]! > hi) hi = ranges[j + 1]!;
    j += 2;
  }
  ranges.splice(i, j - i, lo, hi);
}
