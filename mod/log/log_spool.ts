/**
 * A node's log spool: a bounded queue of encoded log batches on disk, for
 * while no logger (or NATS) takes them. Batches keep the id they were given
 * (the shipper's incarnation and sequence number), so one that was in
 * flight before it was spooled is still recognised as a duplicate where it
 * arrives twice. A shipper that stops with batches still unacknowledged
 * spools them, and the next one of the same node drains them first.
 *
 * On disk: `<dir>/<n>.spool` segment files, appended in order and deleted
 * once every batch in them has been taken back out. Each batch is one
 * record:
 *
 * ```
 * u32 length of what follows | f64 incarnation | f64 sequence | u32 records
 * | u16 path length | path (UTF-8) | payload (the encoded batch)
 * ```
 *
 * little endian. A record cut short (the node was killed while writing it)
 * ends its segment; it is reported and skipped.
 *
 * @module
 */

import type { Reporter } from "../process/mod.ts";

/** One batch as it is shipped and spooled. */
export interface ShippedBatch {
  /** The shipping node's incarnation (its shipper's start), part of the batch id. */
  readonly incarnation: number;
  /** Per incarnation, from 1. */
  readonly seq: number;
  readonly records: number;
  /** The log path (`conn`): one batch holds the records of one path. */
  readonly path: string;
  /** The encoded batch (Zeek's `log-write` payload). */
  readonly payload: Uint8Array;
}

/** A segment is closed for appending past this size. */
const SEGMENT_BYTES = 8 * 1024 * 1024;
const HEADER_BYTES = 4 + 8 + 8 + 4 + 2;
const SUFFIX = ".spool";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** The spool of one node (`<SpoolDir>/<node>/log-spool`). */
export class LogSpool {
  readonly dir: string;
  readonly maxBytes: number;
  /** The most bytes the spool held at once. */
  peakBytes = 0;
  #bytes = 0;
  #batches = 0;
  /** Segment numbers on disk, oldest first; the last one is appended to. */
  readonly #segments: number[] = [];
  #appendFile: Deno.FsFile | undefined;
  #appendSize = 0;
  /** The oldest segment, read back whole, and how far it has been taken. */
  #reading: { n: number; batches: ShippedBatch[]; next: number; bytes: number[] } | undefined;
  readonly #reporter: Reporter | undefined;

  private constructor(dir: string, maxBytes: number, reporter: Reporter | undefined) {
    this.dir = dir;
    this.maxBytes = maxBytes;
    this.#reporter = reporter;
  }

  /** Opens (creating) the spool in `dir`, counting what a previous run left there. */
  static open(dir: string, maxBytes: number, reporter?: Reporter): LogSpool {
    Deno.mkdirSync(dir, { recursive: true });
    const spool = new LogSpool(dir, maxBytes, reporter);
    for (const entry of Deno.readDirSync(dir)) {
      const m = /^(\d+)\.spool$/.exec(entry.name);
      if (m === null || !entry.isFile) continue;
      spool.#segments.push(Number(m[1]));
    }
    spool.#segments.sort((a, b) => a - b);
    for (const n of spool.#segments) {
      const batches = spool.#readSegment(n);
      spool.#batches += batches.length;
      spool.#bytes += batches.reduce((sum, b) => sum + recordBytes(b), 0);
    }
    spool.peakBytes = spool.#bytes;
    return spool;
  }

  /** Bytes of batches in the spool. */
  get bytes(): number {
    return this.#bytes;
  }

  /** Batches in the spool. */
  get batches(): number {
    return this.#batches;
  }

  /**
   * Appends `batch` (written to the file system before this returns).
   * Returns false, and spools nothing, when it would pass `maxBytes` or the
   * write fails (the disk is full): the caller counts the records as lost.
   */
  append(batch: ShippedBatch): boolean {
    const record = encodeRecord(batch);
    if (this.#bytes + record.length > this.maxBytes) return false;
    try {
      if (this.#appendFile === undefined || this.#appendSize >= SEGMENT_BYTES) this.#nextSegment();
      const file = this.#appendFile!;
      let off = 0;
      while (off < record.length) off += file.writeSync(record.subarray(off));
    } catch (error) {
      this.#reporter?.error(
        `Cannot spool a log batch to ${this.dir}: ${
          error instanceof Error ? error.message : error
        }`,
      );
      // A record cut short would end the segment: start a new one next time.
      this.#closeAppend();
      return false;
    }
    this.#appendSize += record.length;
    this.#bytes += record.length;
    this.#batches++;
    if (this.#bytes > this.peakBytes) this.peakBytes = this.#bytes;
    return true;
  }

  /** The oldest batch, left in the spool; undefined when it is empty. */
  peek(): ShippedBatch | undefined {
    while (true) {
      if (this.#reading === undefined) {
        const n = this.#segments[0];
        if (n === undefined) return undefined;
        // The segment being appended to is read only once it is closed.
        if (this.#appendFile !== undefined && this.#segments.length === 1) this.#closeAppend();
        const batches = this.#readSegment(n);
        this.#reading = { n, batches, next: 0, bytes: batches.map(recordBytes) };
      }
      const r = this.#reading;
      if (r.next < r.batches.length) return r.batches[r.next];
      this.#dropSegment();
    }
  }

  /** The oldest batch, taken out of the spool; undefined when it is empty. */
  shift(): ShippedBatch | undefined {
    const batch = this.peek();
    if (batch === undefined) return undefined;
    const r = this.#reading!;
    this.#bytes -= r.bytes[r.next]!;
    this.#batches--;
    r.next++;
    if (r.next === r.batches.length) this.#dropSegment();
    return batch;
  }

  /** Closes the segment being appended to; what is spooled stays for the next run. */
  close(): void {
    this.#closeAppend();
    // A segment partly taken out is written again without what was taken.
    const r = this.#reading;
    if (r !== undefined && r.next > 0) {
      const rest = r.batches.slice(r.next);
      const path = this.#segmentPath(r.n);
      Deno.writeFileSync(`${path}.tmp`, concat(rest.map(encodeRecord)));
      Deno.renameSync(`${path}.tmp`, path);
    }
    this.#reading = undefined;
  }

  #segmentPath(n: number): string {
    return `${this.dir}/${String(n).padStart(12, "0")}${SUFFIX}`;
  }

  #nextSegment(): void {
    this.#closeAppend();
    const n = (this.#segments.at(-1) ?? 0) + 1;
    this.#appendFile = Deno.openSync(this.#segmentPath(n), {
      write: true,
      create: true,
      append: true,
    });
    this.#segments.push(n);
    this.#appendSize = 0;
  }

  #closeAppend(): void {
    this.#appendFile?.close();
    this.#appendFile = undefined;
    this.#appendSize = 0;
  }

  #dropSegment(): void {
    const r = this.#reading!;
    this.#reading = undefined;
    this.#segments.shift();
    try {
      Deno.removeSync(this.#segmentPath(r.n));
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    }
  }

  #readSegment(n: number): ShippedBatch[] {
    let bytes: Uint8Array;
    try {
      bytes = Deno.readFileSync(this.#segmentPath(n));
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) return [];
      throw error;
    }
    const { batches, cut } = decodeRecords(bytes);
    if (cut > 0) {
      this.#reporter?.warning(
        `The log spool segment ${this.#segmentPath(n)} ends in a batch cut short ` +
          `(${cut} bytes, written when the node was killed); skipped it`,
      );
    }
    return batches;
  }
}

function recordBytes(batch: ShippedBatch): number {
  return HEADER_BYTES + encoder.encode(batch.path).length + batch.payload.length;
}

function encodeRecord(batch: ShippedBatch): Uint8Array {
  const path = encoder.encode(batch.path);
  const out = new Uint8Array(HEADER_BYTES + path.length + batch.payload.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, out.length - 4, true);
  view.setFloat64(4, batch.incarnation, true);
  view.setFloat64(12, batch.seq, true);
  view.setUint32(20, batch.records, true);
  view.setUint16(24, path.length, true);
  out.set(path, HEADER_BYTES);
  out.set(batch.payload, HEADER_BYTES + path.length);
  return out;
}

/** The batches of a segment, and how many bytes at its end are a record cut short. */
export function decodeRecords(bytes: Uint8Array): { batches: ShippedBatch[]; cut: number } {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const batches: ShippedBatch[] = [];
  let off = 0;
  while (off < bytes.length) {
    if (bytes.length - off < HEADER_BYTES) break;
    const length = view.getUint32(off, true);
    const pathLength = view.getUint16(off + 24, true);
    const end = off + 4 + length;
    if (end > bytes.length || length < HEADER_BYTES - 4 + pathLength) break;
    batches.push({
      incarnation: view.getFloat64(off + 4, true),
      seq: view.getFloat64(off + 12, true),
      records: view.getUint32(off + 20, true),
      path: decoder.decode(bytes.subarray(off + HEADER_BYTES, off + HEADER_BYTES + pathLength)),
      payload: bytes.slice(off + HEADER_BYTES + pathLength, end),
    });
    off = end;
  }
  return { batches, cut: bytes.length - off };
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}
