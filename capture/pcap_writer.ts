/**
 * A buffered writer of trace files: classic pcap with microsecond or
 * nanosecond timestamps, and pcapng (one section, enhanced packet blocks,
 * as many interfaces as added). Frames can be built in place in the
 * writer's buffer (`begin` … `end`), so generating millions of packets
 * copies each byte once.
 *
 * @module
 */

import { LINKTYPE_ETHERNET } from "./link_type.ts";

/** The formats the writer produces. */
export type TraceWriteFormat = "pcap" | "pcap-ns" | "pcapng";

/** How the file is laid out. */
export interface PcapWriterOptions {
  readonly format?: TraceWriteFormat;
  /** LINKTYPE_* of the (first) interface; default Ethernet. */
  readonly linkType?: number;
  readonly snaplen?: number;
  /** Write big-endian headers (default: little-endian). */
  readonly bigEndian?: boolean;
  /**
   * pcapng only: the first interface's `if_tsresol` exponent, 0–9 for
   * 10^-n seconds, -1 … -30 for 2^-n (default 9, nanoseconds).
   */
  readonly tsResolution?: number;
}

/** Buffered bytes past which `needsFlush` says to flush. */
export const WRITER_FLUSH_THRESHOLD = 4 * 1024 * 1024;
const DEFAULT_SNAPLEN = 262144;

const FORMATS: readonly TraceWriteFormat[] = ["pcap", "pcap-ns", "pcapng"];

/** Opens `path` for writing (truncating it) and writes the file header. */
export async function openPcapWriter(
  path: string,
  options: PcapWriterOptions = {},
): Promise<PcapWriter> {
  checkFormat(options.format ?? "pcap");
  const file = await Deno.open(path, { write: true, create: true, truncate: true });
  try {
    return new PcapWriter(options, file);
  } catch (err) {
    file.close();
    throw err;
  }
}

function checkFormat(format: TraceWriteFormat): void {
  if (!FORMATS.includes(format)) {
    throw new RangeError(`Cannot write trace format "${format}": use ${FORMATS.join(", ")}`);
  }
}

/** A writer that keeps the whole trace in memory; `bytes()` returns it. */
export function createPcapWriter(options: PcapWriterOptions = {}): PcapWriter {
  return new PcapWriter(options, null);
}

/** Writes records; get one from `openPcapWriter` or `createPcapWriter`. */
export class PcapWriter implements AsyncDisposable {
  /** The buffer frames are built in; `begin` says where. Reallocated as it grows. */
  buffer: Uint8Array = new Uint8Array(WRITER_FLUSH_THRESHOLD + 65536);
  readonly format: TraceWriteFormat;
  #view = new DataView(this.buffer.buffer);
  #len = 0;
  #file: Deno.FsFile | null;
  readonly #inMemory: boolean;
  readonly #le: boolean;
  readonly #snaplen: number;
  #recordStart = 0;
  #ifResolution: number[] = [];
  #packets = 0;
  #closed = false;

  constructor(options: PcapWriterOptions, file: Deno.FsFile | null) {
    const format = options.format ?? "pcap";
    checkFormat(format);
    this.format = format;
    this.#file = file;
    this.#inMemory = file === null;
    this.#le = !(options.bigEndian ?? false);
    this.#snaplen = options.snaplen ?? DEFAULT_SNAPLEN;
    const linkType = options.linkType ?? LINKTYPE_ETHERNET;
    if (format === "pcapng") {
      this.#sectionHeader();
      this.addInterface(linkType, this.#snaplen, options.tsResolution ?? 9);
    } else {
      const v = this.#view;
      const le = this.#le;
      v.setUint32(0, format === "pcap-ns" ? 0xa1b23c4d : 0xa1b2c3d4, le);
      v.setUint16(4, 2, le);
      v.setUint16(6, 4, le);
      v.setUint32(8, 0, le);
      v.setUint32(12, 0, le);
      v.setUint32(16, this.#snaplen, le);
      v.setUint32(20, linkType, le);
      this.#len = 24;
    }
  }

  /** Records written so far. */
  get packets(): number {
    return this.#packets;
  }

  /** Bytes waiting to be written. */
  get buffered(): number {
    return this.#len;
  }

  /** True when the caller should `await flush()` before the next record. */
  get needsFlush(): boolean {
    return !this.#inMemory && this.#len >= WRITER_FLUSH_THRESHOLD;
  }

  /**
   * Adds a pcapng interface (the first exists from the start); returns its
   * index for `end`/`write`.
   */
  addInterface(linkType: number, snaplen: number = this.#snaplen, tsResolution = 9): number {
    if (this.format !== "pcapng") {
      throw new RangeError("Cannot add an interface to a classic pcap file: use format pcapng");
    }
    const hasResolution = tsResolution !== 6;
    const len = 20 + (hasResolution ? 8 : 0);
    const at = this.#reserve(len);
    const v = this.#view;
    const le = this.#le;
    v.setUint32(at, 1, le);
    v.setUint32(at + 4, len, le);
    v.setUint16(at + 8, linkType, le);
    v.setUint16(at + 10, 0, le);
    v.setUint32(at + 12, snaplen, le);
    let o = at + 16;
    if (hasResolution) {
      v.setUint16(o, 9, le);
      v.setUint16(o + 2, 1, le);
      v.setUint32(o + 4, 0, le);
      this.buffer[o + 4] = tsResolution >= 0 ? tsResolution : 0x80 | -tsResolution;
      o += 8;
    }
    v.setUint32(o, len, le);
    this.#len = at + len;
    this.#ifResolution.push(tsResolution);
    return this.#ifResolution.length - 1;
  }

  /**
   * Starts a record of `caplen` bytes; returns the offset in `buffer` where
   * the caller writes the frame, then calls `end`.
   */
  begin(caplen: number): number {
    const header = this.format === "pcapng" ? 28 : 16;
    const at = this.#reserve(header + caplen + 8);
    this.#recordStart = at;
    return at + header;
  }

  /** Finishes the record started by `begin`. */
  end(tsSec: number, tsNsec: number, caplen: number, wireLen: number = caplen, iface = 0): void {
    const at = this.#recordStart;
    const v = this.#view;
    const le = this.#le;
    if (this.format === "pcapng") {
      const resolution = this.#ifResolution[iface];
      if (resolution === undefined) {
        throw new RangeError(`Cannot write a packet on interface ${iface}: add it first`);
      }
      const padded = (caplen + 3) & ~3;
      const len = 32 + padded;
      for (let i = at + 28 + caplen; i < at + 28 + padded; i++) this.buffer[i] = 0;
      v.setUint32(at, 6, le);
      v.setUint32(at + 4, len, le);
      v.setUint32(at + 8, iface, le);
      const [hi, lo] = ticks(tsSec, tsNsec, resolution);
      v.setUint32(at + 12, hi, le);
      v.setUint32(at + 16, lo, le);
      v.setUint32(at + 20, caplen, le);
      v.setUint32(at + 24, wireLen, le);
      v.setUint32(at + 28 + padded, len, le);
      this.#len = at + len;
    } else {
      v.setUint32(at, tsSec, le);
      v.setUint32(at + 4, this.format === "pcap-ns" ? tsNsec : Math.floor(tsNsec / 1000), le);
      v.setUint32(at + 8, caplen, le);
      v.setUint32(at + 12, wireLen, le);
      this.#len = at + 16 + caplen;
    }
    this.#packets++;
  }

  /** Writes a whole record from a frame. */
  write(
    tsSec: number,
    tsNsec: number,
    frame: Uint8Array,
    wireLen: number = frame.length,
    iface = 0,
  ): void {
    const at = this.begin(frame.length);
    this.buffer.set(frame, at);
    this.end(tsSec, tsNsec, frame.length, wireLen, iface);
  }

  /** pcapng only: writes a simple packet block (no timestamp, interface 0). */
  writeSimple(frame: Uint8Array, wireLen: number = frame.length): void {
    if (this.format !== "pcapng") {
      throw new RangeError("Cannot write a simple packet block to a classic pcap file");
    }
    const padded = (frame.length + 3) & ~3;
    const len = 16 + padded;
    const at = this.#reserve(len);
    const v = this.#view;
    const le = this.#le;
    v.setUint32(at, 3, le);
    v.setUint32(at + 4, len, le);
    v.setUint32(at + 8, wireLen, le);
    this.buffer.fill(0, at + 12, at + 12 + padded);
    this.buffer.set(frame, at + 12);
    v.setUint32(at + 12 + padded, len, le);
    this.#len = at + len;
    this.#packets++;
  }

  /** Appends bytes as they are (a custom pcapng block, or garbage for tests). */
  writeRaw(bytes: Uint8Array): void {
    const at = this.#reserve(bytes.length);
    this.buffer.set(bytes, at);
    this.#len = at + bytes.length;
  }

  /** Writes the buffered bytes to the file (no-op in memory). */
  async flush(): Promise<void> {
    const file = this.#file;
    if (file === null || this.#len === 0) return;
    let off = 0;
    while (off < this.#len) off += await file.write(this.buffer.subarray(off, this.#len));
    this.#len = 0;
  }

  /** Everything written so far (in-memory writers only). */
  bytes(): Uint8Array {
    if (!this.#inMemory) {
      throw new RangeError("Cannot take the bytes of a writer that writes to a file");
    }
    return this.buffer.slice(0, this.#len);
  }

  /** Flushes and closes the file; idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    try {
      await this.flush();
    } finally {
      this.#file?.close();
      this.#file = null;
    }
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  #sectionHeader(): void {
    const at = this.#reserve(28);
    const v = this.#view;
    const le = this.#le;
    v.setUint32(at, 0x0a0d0d0a, le);
    v.setUint32(at + 4, 28, le);
    v.setUint32(at + 8, 0x1a2b3c4d, le);
    v.setUint16(at + 12, 1, le);
    v.setUint16(at + 14, 0, le);
    v.setInt32(at + 16, -1, le);
    v.setInt32(at + 20, -1, le);
    v.setUint32(at + 24, 28, le);
    this.#len = at + 28;
  }

  /** Ensures `n` bytes of room after the buffered data; returns where they start. */
  #reserve(n: number): number {
    const need = this.#len + n;
    if (need > this.buffer.length) {
      let cap = this.buffer.length * 2;
      while (cap < need) cap *= 2;
      const grown = new Uint8Array(cap);
      grown.set(this.buffer.subarray(0, this.#len));
      this.buffer = grown;
      this.#view = new DataView(grown.buffer);
    }
    return this.#len;
  }
}

/**
 * A timestamp as pcapng's 64-bit tick count (hi, lo) at resolution 10^-r
 * (r ≥ 0) or 2^r (r < 0), exact without BigInt: the product is built from
 * 16-bit halves of the seconds so every partial result stays below 2^53.
 */
function ticks(sec: number, nsec: number, resolution: number): [number, number] {
  if (resolution >= 0) {
    const d = 10 ** resolution;
    const frac = resolution <= 9
      ? Math.floor(nsec / 10 ** (9 - resolution))
      : nsec * 10 ** (resolution - 9);
    const a = Math.floor(sec / 65536) * d;
    const low = (a % 65536) * 65536 + (sec % 65536) * d + frac;
    const hi = Math.floor(a / 65536) + Math.floor(low / 4294967296);
    return [hi >>> 0, low % 4294967296];
  }
  const bits = -resolution;
  const frac = Math.floor((nsec / 1e9) * 2 ** bits);
  if (bits <= 32) {
    const shift = 2 ** (32 - bits);
    return [Math.floor(sec / shift) >>> 0, (sec % shift) * 2 ** bits + frac];
  }
  return [(sec * 2 ** (bits - 32) + Math.floor(frac / 4294967296)) >>> 0, frac % 4294967296];
}
