/**
 * The one big-endian byte writer and reader of the project, shared by the
 * event codec (broker-bin-v1) and the log batch format (zeek-bin-serializer).
 *
 * Both sit on hot paths (a log batch encoder writes millions of values a
 * second), so neither allocates per call, and each codec uses exactly these
 * two classes, never subclasses, to keep every call site monomorphic. What
 * differs between the formats (varint or u32 string lengths, the error a
 * short read raises) is a method or a constructor argument, not a class.
 *
 * @example
 * ```ts
 * const writer = new ByteWriter();
 * writer.writeUint8(5);
 * writer.writeVarintString("abc");
 * const reader = new ByteReader(writer.bytes());
 * reader.readUint8(); // 5
 * reader.readUtf8(reader.readVarint()); // "abc"
 * ```
 *
 * @module
 */

/** Initial capacity of a `ByteWriter`. */
export const DEFAULT_WRITER_CAPACITY = 4096;
/** Longest varint the reader accepts: 5 bytes hold 2^32-1. */
export const MAX_VARINT_BYTES = 5;

const TWO_32 = 0x1_0000_0000;
/** Texts up to this many bytes are tried as ASCII before asking the TextDecoder. */
const SHORT_TEXT = 64;

const utf8Encoder = new TextEncoder();
// ignoreBOM keeps a leading U+FEFF as a character: Zeek treats it like any other.
const utf8Decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/**
 * Builds the error a reader throws; each format names its own error class
 * and wording. Called only on failure, so the success path pays nothing.
 */
export type ReadFailure = (offset: number, expected: string, found: string) => Error;

/** What a reader throws when its format gave it no `ReadFailure`. */
export class ByteReadError extends RangeError {
  override readonly name = "ByteReadError";
  constructor(readonly offset: number, expected: string, found: string) {
    super(`Cannot read bytes at offset ${offset}: expected ${expected}, found ${found}`);
  }
}

const defaultFailure: ReadFailure = (offset, expected, found) =>
  new ByteReadError(offset, expected, found);

/**
 * A growable big-endian byte buffer, meant to be reused: `reset()` between
 * messages, `bytes()` to borrow what was written. Hot loops may write into
 * `buffer` directly after `reserve()` and then set `length`.
 */
export class ByteWriter {
  #buf: Uint8Array;
  #view: DataView;
  #pos = 0;

  constructor(capacity = DEFAULT_WRITER_CAPACITY) {
    this.#buf = new Uint8Array(Math.max(16, capacity));
    this.#view = new DataView(this.#buf.buffer);
  }

  /** Bytes written so far. */
  get length(): number {
    return this.#pos;
  }

  /** Sets the end after writing into `buffer` directly (within what `reserve` made room for). */
  set length(n: number) {
    this.#pos = n;
  }

  /** The underlying buffer, valid up to `length`; replaced when it grows. */
  get buffer(): Uint8Array {
    return this.#buf;
  }

  /** A DataView of `buffer` (replaced with it). */
  get dataView(): DataView {
    return this.#view;
  }

  /** Forgets everything written; the capacity stays. */
  reset(): void {
    this.#pos = 0;
  }

  /** Drops everything after the first `length` bytes (to undo a failed write). */
  truncate(length: number): void {
    if (length < this.#pos) this.#pos = Math.max(0, length);
  }

  /** What was written, as a view borrowed until the next write or `reset()`. */
  bytes(): Uint8Array {
    return this.#buf.subarray(0, this.#pos);
  }

  /** Makes room for `n` more bytes and returns the (possibly new) buffer. */
  reserve(n: number): Uint8Array {
    if (this.#pos + n > this.#buf.length) this.#grow(n);
    return this.#buf;
  }

  /** Reserves `n` bytes for the caller to fill in `buffer` and returns their offset. */
  claim(n: number): number {
    this.reserve(n);
    const at = this.#pos;
    this.#pos += n;
    return at;
  }

  writeUint8(value: number): void {
    if (this.#pos >= this.#buf.length) this.#grow(1);
    this.#buf[this.#pos++] = value;
  }

  /** One byte, 1 or 0. */
  writeBool(value: boolean): void {
    this.writeUint8(value ? 1 : 0);
  }

  writeUint16(value: number): void {
    this.reserve(2);
    this.#view.setUint16(this.#pos, value);
    this.#pos += 2;
  }

  writeUint32(value: number): void {
    this.reserve(4);
    this.#view.setUint32(this.#pos, value);
    this.#pos += 4;
  }

  writeInt32(value: number): void {
    this.reserve(4);
    this.#view.setInt32(this.#pos, value);
    this.#pos += 4;
  }

  /** Writes a u64 from a safe non-negative integer or a bigint (not checked here). */
  writeUint64(value: number | bigint): void {
    this.reserve(8);
    if (typeof value === "bigint") {
      this.#view.setBigUint64(this.#pos, value);
    } else {
      const hi = Math.floor(value / TWO_32);
      this.#view.setUint32(this.#pos, hi);
      this.#view.setUint32(this.#pos + 4, value - hi * TWO_32);
    }
    this.#pos += 8;
  }

  /** Writes an i64 from a safe integer or a bigint (not checked here). */
  writeInt64(value: number | bigint): void {
    this.reserve(8);
    if (typeof value === "bigint") {
      this.#view.setBigInt64(this.#pos, value);
    } else {
      const hi = Math.floor(value / TWO_32);
      this.#view.setInt32(this.#pos, hi);
      this.#view.setUint32(this.#pos + 4, value - hi * TWO_32);
    }
    this.#pos += 8;
  }

  /** Writes an i64 given as its signed high and unsigned low 32 bits. */
  writeInt64Parts(hi: number, lo: number): void {
    this.reserve(8);
    this.#view.setInt32(this.#pos, hi);
    this.#view.setUint32(this.#pos + 4, lo);
    this.#pos += 8;
  }

  writeFloat64(value: number): void {
    this.reserve(8);
    this.#view.setFloat64(this.#pos, value);
    this.#pos += 8;
  }

  /** Writes a varint (7 bits a byte, low group first) of a value in 0..2^32-1. */
  writeVarint(value: number): void {
    this.reserve(MAX_VARINT_BYTES);
    const buf = this.#buf;
    let pos = this.#pos;
    let rest = value >>> 0;
    while (rest >= 0x80) {
      buf[pos++] = (rest & 0x7f) | 0x80;
      rest >>>= 7;
    }
    buf[pos++] = rest;
    this.#pos = pos;
  }

  /** Raw bytes without a length. */
  writeBytes(bytes: Uint8Array): void {
    this.reserve(bytes.length);
    this.#buf.set(bytes, this.#pos);
    this.#pos += bytes.length;
  }

  /** Writes `text` as a varint byte length and its UTF-8 bytes (Broker's string body). */
  writeVarintString(text: string): void {
    const length = text.length;
    this.reserve(MAX_VARINT_BYTES + length * 3);
    const buf = this.#buf;
    const start = this.#pos;
    this.writeVarint(length);
    let pos = this.#pos;
    for (let i = 0; i < length; i++) {
      const c = text.charCodeAt(i);
      if (c >= 0x80) {
        this.#pos = start;
        this.#writeVarintUtf8(text);
        return;
      }
      buf[pos++] = c;
    }
    this.#pos = pos;
  }

  /** A u32 byte length and the UTF-8 bytes of `text`, or the bytes themselves (Zeek's log string). */
  writeUint32String(text: string | Uint8Array): void {
    if (typeof text !== "string") {
      this.writeUint32(text.length);
      this.writeBytes(text);
      return;
    }
    const n = text.length;
    this.reserve(4 + n * 3);
    const at = this.#pos;
    let p = at + 4;
    const b = this.#buf;
    let i = 0;
    for (; i < n; i++) {
      const c = text.charCodeAt(i);
      if (c >= 0x80) break;
      b[p++] = c;
    }
    if (i < n) p += utf8Encoder.encodeInto(text.slice(i), b.subarray(p)).written;
    this.#view.setUint32(at, p - at - 4);
    this.#pos = p;
  }

  #writeVarintUtf8(text: string): void {
    const start = this.#pos;
    const room = varintSize(text.length * 3);
    const { written } = utf8Encoder.encodeInto(text, this.#buf.subarray(start + room));
    const needed = varintSize(written);
    if (needed !== room) {
      this.#buf.copyWithin(start + needed, start + room, start + room + written);
    }
    this.writeVarint(written);
    this.#pos = start + needed + written;
  }

  #grow(n: number): void {
    const capacity = Math.max(this.#buf.length * 2, this.#pos + n);
    const next = new Uint8Array(capacity);
    next.set(this.#buf.subarray(0, this.#pos));
    this.#buf = next;
    this.#view = new DataView(next.buffer);
  }
}

function varintSize(value: number): number {
  let size = 1;
  for (let rest = value >>> 7; rest !== 0; rest >>>= 7) size++;
  return size;
}

/**
 * A bounds-checked big-endian cursor over a byte array. A read past the end
 * (or a varint too long) throws what the `ReadFailure` given at
 * construction builds, naming the offset.
 */
export class ByteReader {
  #buf: Uint8Array;
  #view: DataView;
  #pos: number;
  #end: number;
  #failure: ReadFailure;

  constructor(bytes: Uint8Array, offset = 0, failure: ReadFailure = defaultFailure) {
    this.#buf = bytes;
    this.#view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.#pos = offset;
    this.#end = bytes.length;
    this.#failure = failure;
  }

  /** Offset of the next byte. */
  get offset(): number {
    return this.#pos;
  }

  /** Bytes left. */
  get remaining(): number {
    return this.#end - this.#pos;
  }

  /** The bytes being read (for in-place decoding after `advance`). */
  get buffer(): Uint8Array {
    return this.#buf;
  }

  /** A view of the same bytes (offsets as in `buffer`). */
  get view(): DataView {
    return this.#view;
  }

  /** Throws the format's error for a value at `offset`. */
  fail(offset: number, expected: string, found: string): never {
    throw this.#failure(offset, expected, found);
  }

  /** Consumes `n` bytes and returns the offset of the first. */
  advance(n: number): number {
    const at = this.#pos;
    if (n > this.#end - at) this.#truncated(n);
    this.#pos = at + n;
    return at;
  }

  /** The next byte without consuming it, or -1 at the end. */
  peekUint8(): number {
    return this.#pos < this.#end ? this.#buf[this.#pos] ?? -1 : -1;
  }

  readUint8(): number {
    if (this.#pos >= this.#end) this.#truncated(1);
    return this.#buf[this.#pos++] ?? 0;
  }

  readUint16(): number {
    return this.#view.getUint16(this.advance(2));
  }

  readUint32(): number {
    return this.#view.getUint32(this.advance(4));
  }

  readInt32(): number {
    return this.#view.getInt32(this.advance(4));
  }

  /** A u64: a number when it is at most 2^53-1, else a bigint. */
  readUint64(): number | bigint {
    const at = this.advance(8);
    const hi = this.#view.getUint32(at);
    if (hi < 0x200000) return hi * TWO_32 + this.#view.getUint32(at + 4);
    return this.#view.getBigUint64(at);
  }

  /** An i64: a number when it is a safe integer, else a bigint. */
  readInt64(): number | bigint {
    const at = this.advance(8);
    const value = this.#view.getInt32(at) * TWO_32 + this.#view.getUint32(at + 4);
    return Number.isSafeInteger(value) ? value : this.#view.getBigInt64(at);
  }

  readFloat64(): number {
    return this.#view.getFloat64(this.advance(8));
  }

  /** A varint of at most 5 bytes and 2^32-1. */
  readVarint(): number {
    const start = this.#pos;
    let value = 0;
    let shift = 1;
    for (let i = 0; i < MAX_VARINT_BYTES; i++) {
      const byte = this.readUint8();
      value += (byte & 0x7f) * shift;
      if (byte < 0x80) {
        if (value >= TWO_32) break;
        return value;
      }
      shift *= 128;
    }
    return this.fail(start, "a varint below 2^32 (at most 5 bytes)", "a longer one");
  }

  /** `n` bytes as text: a string when they are UTF-8, else a copy of the bytes. */
  readUtf8(n: number): string | Uint8Array {
    const start = this.advance(n);
    const bytes = this.#buf.subarray(start, start + n);
    if (n <= SHORT_TEXT) {
      let ascii = true;
      for (let i = 0; i < n; i++) {
        if (bytes[i]! >= 0x80) {
          ascii = false;
          break;
        }
      }
      // Faster than TextDecoder for short strings (see latin1String).
      if (ascii) return latin1String(bytes, 0, n);
    }
    try {
      return utf8Decoder.decode(bytes);
    } catch {
      return bytes.slice();
    }
  }

  #truncated(n: number): never {
    return this.fail(
      this.#pos,
      `${n} more byte${n === 1 ? "" : "s"}`,
      this.#pos >= this.#end ? "the end of the data" : `only ${this.#end - this.#pos}`,
    );
  }
}

/** Reused for short strings: `fromCharCode.apply` on a plain array is the fastest way V8 has. */
const CODES: number[] = [];
const SHORT = 512;

/**
 * `bytes[from..to)` as a string of one char per byte (0–255): what Zeek's
 * strings hold, and ASCII text as it is.
 */
export function latin1String(bytes: Uint8Array, from: number, to: number): string {
  const n = to - from;
  if (n <= 0) return "";
  if (n <= SHORT) {
    const codes = CODES;
    codes.length = n;
    for (let i = 0; i < n; i++) codes[i] = bytes[from + i]!;
    return String.fromCharCode.apply(null, codes);
  }
  // Longer ones in chunks, which keep the argument count small.
  let out = "";
  for (let p = from; p < to; p += 4096) {
    const end = Math.min(to, p + 4096);
    out += String.fromCharCode.apply(null, bytes.subarray(p, end) as unknown as number[]);
  }
  return out;
}

/**
 * A byte string (one char per byte, as `latin1String` makes) as a log
 * value: itself when ASCII, else its raw bytes, so the writer prints a lone
 * 0xff as `\xff` and passes valid UTF-8 through, as Zeek's does.
 */
export function latin1LogValue(s: string): string | Uint8Array {
  for (let i = 0; i < s.length; i++) {
    if (s.charCodeAt(i) >= 0x80) {
      const out = new Uint8Array(s.length);
      for (let j = 0; j < s.length; j++) out[j] = s.charCodeAt(j);
      return out;
    }
  }
  return s;
}

/** Whether `a` and `b` hold the same bytes. */
export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
