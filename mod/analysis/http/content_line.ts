/**
 * Zeek's `ContentLine_Analyzer` as HTTP uses it: one direction's byte
 * stream cut into lines, or handed on as it is ("plain delivery") while
 * the HTTP code reads a body of known length (Z: src/analyzer/protocol/tcp/
 * ContentLine.cc).
 *
 * - A line ends at CRLF, a bare CR or a bare LF (`CR_LF_as_EOL`); a CR at
 *   the end of one delivery and an LF at the start of the next are one end.
 *   Inside a multipart body only CRLF ends a line (`setCrlfAsEol(false)`).
 * - The first line ended by a bare CR raises `line_terminated_with_single_CR`
 *   (once per connection: the flags are shared by both directions).
 * - A line longer than `maxLineLength` is cut (`contentline_size_exceeded`).
 * - `setDeliverySize(n)`: once n more bytes have arrived (counted per
 *   delivery, from the next delivery on, as Zeek does), a line left without
 *   terminator gets a synthesised CRLF and `line_terminated_without_CRLF`.
 *
 * Lines are delivered as views of an internal buffer, bodies as views of
 * the delivered bytes: both borrowed until the sink returns.
 *
 * @module
 */

/** `DEFAULT_MAX_LINE_LENGTH`: 16 MiB - 100. */
export const MAX_LINE_LENGTH = 16 * 1024 * 1024 - 100;

/** Where a `ContentLine` delivers. */
export interface ContentLineSink {
  /** One line, without its terminator (borrowed). */
  line(line: Uint8Array): void;
  /** Bytes in plain delivery (borrowed). */
  plain(data: Uint8Array): void;
  /** A weird of the line splitter (source `CONTENTLINE`). */
  weird(name: string): void;
}

/** The once-per-connection flags of Zeek's `Connection::FlagEvent`. */
export interface LineFlags {
  singleCr: boolean;
  singleLf: boolean;
}

const CR = 13;
const LF = 10;

/** One direction's line splitter. */
export class ContentLine {
  readonly #sink: ContentLineSink;
  readonly #flags: LineFlags;
  readonly #maxLine: number;
  #buf = new Uint8Array(256);
  #offset = 0;
  #lastChar = 0;
  #crlfAsEol = true;
  #suppressWeirds = false;
  #plainLength = 0;
  #deliveryLength = -1;
  #skip = false;
  /** Bytes of the current delivery after the line or plain chunk being delivered. */
  #remaining = 0;
  #current: Uint8Array = new Uint8Array(0);

  constructor(sink: ContentLineSink, flags: LineFlags, maxLineLength = MAX_LINE_LENGTH) {
    this.#sink = sink;
    this.#flags = flags;
    this.#maxLine = maxLineLength;
  }

  /** Plain delivery of the next `length` bytes (0 ends it). */
  setPlainDelivery(length: number): void {
    this.#plainLength = length;
  }

  /** Whether bytes are being handed on plainly right now (`IsPlainDelivery`). */
  get plainPending(): number {
    return this.#plainLength;
  }

  /** `SetDeliverySize`: -1 unsets it. */
  setDeliverySize(length: number): void {
    this.#deliveryLength = length;
  }

  /** CRLF only (false, inside multipart bodies) or also bare CR and LF (true). */
  setCrlfAsEol(any: boolean): void {
    this.#crlfAsEol = any;
  }

  suppressWeirds(on: boolean): void {
    this.#suppressWeirds = on;
  }

  /** Stops all further delivery (after a content gap Zeek cannot parse past). */
  skipDeliveries(): void {
    this.#skip = true;
  }

  get skipping(): boolean {
    return this.#skip;
  }

  /** `GetDeliverStreamRemainingLength`: bytes of this delivery after what is being delivered. */
  get remaining(): number {
    return this.#remaining;
  }

  /**
   * The bytes of the current delivery after the line being delivered, and
   * the end of this splitter: everything after goes elsewhere (Zeek removes
   * the ContentLine analyzers after a CONNECT or an upgrade).
   */
  takeRest(): Uint8Array {
    const data = this.#current;
    const rest = data.subarray(Math.max(0, data.length - this.#remaining));
    this.#remaining = 0;
    this.#skip = true;
    return rest;
  }

  /** The next bytes of the direction (borrowed). */
  deliver(data: Uint8Array): void {
    const len = data.length;
    if (len <= 0 || this.#skip) return;
    if (this.#deliveryLength > 0) this.#deliveryLength -= len;
    this.#current = data;
    this.#doDeliver(data);
    this.#current = EMPTY;
    if (this.#deliveryLength === 0) {
      if (this.#offset > 0) {
        this.#sink.weird("line_terminated_without_CRLF");
        this.#doDeliver(CRLF);
      }
      this.#deliveryLength = -1;
    }
  }

  /** The direction ended (`EndpointEOF`): a partial line is delivered as a line. */
  endOfStream(): void {
    if (this.#offset > 0) this.deliver(LF_ONLY);
  }

  #doDeliver(data: Uint8Array): void {
    let at = 0;
    let len = data.length;
    while (len > 0 && !this.#skip) {
      if (this.#crlfAsEol && this.#lastChar === CR && data[at] === LF) {
        // The LF of a CRLF whose CR ended a line already.
        this.#lastChar = LF;
        at++;
        len--;
      }
      if (this.#plainLength > 0) {
        const n = Math.min(this.#plainLength, len);
        this.#lastChar = 0;
        this.#plainLength -= n;
        this.#remaining = len - n;
        this.#sink.plain(data.subarray(at, at + n));
        at += n;
        len -= n;
        if (len === 0) return;
      }
      if (len <= 0 || this.#skip) break;
      const n = this.#deliverOnce(data, at, len);
      at += n;
      len -= n;
    }
  }

  /** `DoDeliverOnce`: bytes up to and including one line end; returns how many were used. */
  #deliverOnce(data: Uint8Array, start: number, len: number): number {
    let p = start;
    const end = start + len;
    for (; p < end; p++) {
      let c = data[p]!;
      if (this.#offset >= this.#buf.length) {
        if (this.#buf.length >= this.#maxLine) {
          this.#sink.weird("contentline_size_exceeded");
          this.#offset = this.#buf.length - 1;
          return this.#emit(c, p, start, end);
        }
        const bigger = new Uint8Array(Math.min(this.#buf.length * 2, this.#maxLine));
        bigger.set(this.#buf);
        this.#buf = bigger;
      }
      if (c === CR) {
        if (p + 1 < end && data[p + 1] === LF) {
          p++;
          this.#lastChar = CR;
          c = LF;
          return this.#emit(c, p, start, end);
        }
        if (this.#crlfAsEol) return this.#emit(c, p, start, end);
        this.#buf[this.#offset++] = c;
      } else if (c === LF) {
        if (this.#lastChar === CR) {
          if (this.#offset === 0) {
            this.#lastChar = c;
            continue;
          }
          this.#offset--;
          return this.#emit(c, p, start, end);
        }
        if (this.#crlfAsEol) return this.#emit(c, p, start, end);
        if (!this.#suppressWeirds && !this.#flags.singleLf) {
          this.#flags.singleLf = true;
          this.#sink.weird("line_terminated_with_single_LF");
        }
        this.#buf[this.#offset++] = c;
      } else {
        this.#buf[this.#offset++] = c;
      }
      if (this.#lastChar === CR && !this.#suppressWeirds && !this.#flags.singleCr) {
        this.#flags.singleCr = true;
        this.#sink.weird("line_terminated_with_single_CR");
      }
      this.#lastChar = c;
    }
    return p - start;
  }

  #emit(c: number, p: number, start: number, end: number): number {
    this.#lastChar = c;
    this.#remaining = end - p - 1;
    const n = this.#offset;
    this.#offset = 0;
    this.#sink.line(this.#buf.subarray(0, n));
    return p + 1 - start;
  }
}

const CRLF = new Uint8Array([CR, LF]);
const LF_ONLY = new Uint8Array([LF]);
const EMPTY = new Uint8Array(0);
