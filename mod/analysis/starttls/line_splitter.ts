/**
 * One direction's byte stream cut into lines the way Zeek's support
 * analyzers cut them for the text protocols here: `ContentLine_Analyzer`
 * (SMTP, POP3, IRC) or its telnet subclass `NVT_Analyzer` (FTP)
 * (Z: src/analyzer/protocol/tcp/ContentLine.cc, login/NVT.cc).
 *
 * - ContentLine: CRLF, a bare CR or a bare LF end a line; a CR at the end
 *   of one delivery and an LF at the start of the next are one end; the
 *   first line ended by a bare CR raises `line_terminated_with_single_CR`.
 * - NVT: only LF ends a line (a CR before it is dropped, other CRs stay
 *   and raise `line_terminated_with_single_CR`), a NUL after a CR is
 *   dropped, telnet commands (`IAC …`, `IAC SB … IAC SE`) are removed and
 *   `IAC IAC` is one 0xff.
 * - NUL-sensitive splitters (SMTP, FTP) drop the first NUL and raise
 *   `NUL_in_line`; later NULs stay. Weirds of the flags are once per
 *   connection: both directions share one `LineFlags`.
 * - A line reaching `maxLineLength` bytes is cut there as Zeek cuts it
 *   (`contentline_size_exceeded`, `nvt_line_size_exceeded`).
 *
 * Where weir departs: only the first `keep` bytes of a line are kept, so
 * memory stays bounded whatever Zeek's limit; the sink is told the
 * line's full length. The analyzers here read commands, reply codes and
 * short arguments, all inside that head.
 *
 * @module
 */

/** Zeek's `DEFAULT_MAX_LINE_LENGTH` (16 MiB - 100). */
export const DEFAULT_MAX_LINE_LENGTH = 16 * 1024 * 1024 - 100;
/** Bytes of each line kept for the analyzers by default. */
export const DEFAULT_LINE_HEAD = 1024;

/** Where lines go. */
export interface LineSink {
  /** One line without its terminator: its first bytes (borrowed) and its full length. */
  line(head: Uint8Array, length: number): void;
  /** Bytes handed on as they are while a plain delivery is pending (borrowed). */
  plain?(data: Uint8Array): void;
}

/** Zeek's once-per-connection flags (`Connection::FlagEvent`). */
export interface LineFlags {
  singleCr: boolean;
  nul: boolean;
}

/** How a splitter cuts. */
export interface LineSplitterOptions {
  /** Zeek's `max_line_length` of the analyzer's line splitter. */
  readonly maxLineLength?: number;
  /** Bytes kept of each line (at most `maxLineLength`). */
  readonly keep?: number;
  /** `SetIsNULSensitive(true)`. */
  readonly nulSensitive?: boolean;
  /** Telnet NVT rules (FTP) instead of ContentLine's. */
  readonly nvt?: boolean;
  /** A weird of the splitter: `CONTENTLINE` or `NVT` is its source. */
  readonly weird: (name: string, addl?: string) => void;
}

const CR = 13;
const LF = 10;
const IAC = 255;
const SB = 250;
const SE = 240;
const WILL = 251;
const DONT = 254;

/** One direction's line splitter. */
export class LineSplitter {
  readonly #sink: LineSink;
  readonly #flags: LineFlags;
  readonly #weird: (name: string, addl?: string) => void;
  readonly #max: number;
  readonly #nvt: boolean;
  readonly #keep: number;
  /** The line's first bytes, grown by doubling up to `keep` as Zeek grows its buffer. */
  #head = new Uint8Array(128);
  #nulSensitive: boolean;
  /** Zeek's `offset`: the length of the line so far. */
  #count = 0;
  #lastChar = 0;
  #plainLength = 0;
  #skip = false;
  /** Bytes of the current delivery after the line being delivered. */
  #remaining = 0;
  #current: Uint8Array = EMPTY;
  #pendingIac = false;
  #iacPos = 0;
  #suboption = false;
  #lastWasIac = false;

  constructor(sink: LineSink, flags: LineFlags, options: LineSplitterOptions) {
    this.#sink = sink;
    this.#flags = flags;
    this.#weird = options.weird;
    this.#max = options.maxLineLength ?? DEFAULT_MAX_LINE_LENGTH;
    this.#nvt = options.nvt ?? false;
    this.#nulSensitive = options.nulSensitive ?? false;
    this.#keep = Math.min(options.keep ?? DEFAULT_LINE_HEAD, this.#max);
  }

  /** Hands the next `length` bytes on as they are (SMTP's BDAT chunks); 0 ends it. */
  setPlainDelivery(length: number): void {
    this.#plainLength = length;
  }

  /** Bytes still to go in plain delivery. */
  get plainPending(): number {
    return this.#plainLength;
  }

  /**
   * The bytes of the current delivery after the line just delivered, and
   * the end of this splitter (Zeek removes it when the connection turns to
   * TLS); what it held of an unfinished line is dropped, as in Zeek.
   */
  takeRest(): Uint8Array {
    const data = this.#current;
    const rest = data.subarray(Math.max(0, data.length - this.#remaining));
    this.#remaining = 0;
    this.#skip = true;
    return rest;
  }

  /** Stops all further delivery. */
  stop(): void {
    this.#skip = true;
  }

  /** The next bytes of the direction (borrowed). */
  deliver(data: Uint8Array): void {
    if (data.length === 0 || this.#skip) return;
    this.#current = data;
    if (this.#nvt) this.#deliverNvt(data);
    else this.#deliverLines(data);
    this.#current = EMPTY;
  }

  /** The direction ended (`EndpointEOF`): an unfinished line is delivered as a line. */
  endOfStream(): void {
    if (this.#count > 0) this.deliver(LF_ONLY);
  }

  #deliverLines(data: Uint8Array): void {
    let at = 0;
    let len = data.length;
    while (len > 0 && !this.#skip) {
      if (this.#lastChar === CR && data[at] === LF) {
        this.#lastChar = LF;
        at++;
        len--;
      }
      if (this.#plainLength > 0) {
        const n = Math.min(this.#plainLength, len);
        this.#lastChar = 0;
        this.#plainLength -= n;
        this.#remaining = len - n;
        this.#sink.plain?.(data.subarray(at, at + n));
        at += n;
        len -= n;
        if (len === 0) return;
      }
      if (len <= 0 || this.#skip) break;
      const n = this.#deliverOnce(data, at, at + len);
      at += n;
      len -= n;
    }
  }

  /** `DoDeliverOnce`: up to and including one line end; returns the bytes used. */
  #deliverOnce(data: Uint8Array, start: number, end: number): number {
    for (let p = start; p < end; p++) {
      let c = data[p]!;
      if (this.#count >= this.#max) {
        this.#weird("contentline_size_exceeded");
        this.#count = this.#max - 1;
        return this.#emit(c, p, start, end);
      }
      if (c === CR) {
        if (p + 1 < end && data[p + 1] === LF) {
          p++;
          c = LF;
        }
        return this.#emit(c, p, start, end);
      }
      if (c === LF) {
        if (this.#lastChar === CR) {
          if (this.#count === 0) {
            this.#lastChar = c;
            continue;
          }
          this.#count--;
        }
        return this.#emit(c, p, start, end);
      }
      if (c === 0 && this.#nulSensitive) this.#checkNul();
      else this.#add(c);
      if (this.#lastChar === CR && !this.#flags.singleCr) {
        this.#flags.singleCr = true;
        this.#weird("line_terminated_with_single_CR");
      }
      this.#lastChar = c;
    }
    return end - start;
  }

  #emit(c: number, p: number, start: number, end: number): number {
    this.#lastChar = c;
    this.#remaining = end - p - 1;
    this.#line();
    return p + 1 - start;
  }

  #line(): void {
    const n = this.#count;
    this.#count = 0;
    this.#sink.line(this.#head.subarray(0, Math.min(n, this.#keep)), n);
  }

  #add(c: number): void {
    const at = this.#count++;
    if (at >= this.#keep) return;
    if (at >= this.#head.length) {
      const bigger = new Uint8Array(Math.min(this.#head.length * 2, this.#keep));
      bigger.set(this.#head);
      this.#head = bigger;
    }
    this.#head[at] = c;
  }

  /** `CheckNUL`: the first NUL of the connection is reported and dropped, later ones kept. */
  #checkNul(): void {
    if (!this.#flags.nul) {
      this.#flags.nul = true;
      this.#weird("NUL_in_line");
    }
    this.#nulSensitive = false;
  }

  /** `NVT_Analyzer::DoDeliver`. */
  #deliverNvt(data: Uint8Array): void {
    let at = 0;
    const end = data.length;
    while (at < end && !this.#skip) {
      at = this.#pendingIac ? this.#scanOption(data, at) : this.#deliverChunk(data, at, end);
    }
  }

  /** `DeliverChunk`: bytes up to a telnet command or the end; returns where it stopped. */
  #deliverChunk(data: Uint8Array, start: number, end: number): number {
    for (let p = start; p < end && !this.#skip; p++) {
      if (this.#count >= this.#max) {
        this.#weird("nvt_line_size_exceeded", String(this.#max));
        this.#count = this.#max - 1;
        this.#remaining = end - p - 1;
        this.#line();
        this.#lastChar = 0;
        continue;
      }
      const c = data[p]!;
      if (c === CR) this.#add(c);
      else if (c === LF) {
        this.#remaining = end - p - 1;
        if (this.#lastChar !== CR) this.#line();
        else if (this.#count > 0) {
          this.#count--;
          this.#line();
        }
      } else if (c === 0) {
        if (this.#lastChar !== CR) {
          if (this.#nulSensitive) this.#checkNul();
          else this.#add(c);
        }
      } else if (c === IAC) {
        this.#pendingIac = true;
        this.#iacPos = this.#count;
        this.#suboption = false;
        this.#add(c);
        return this.#scanOption(data, p + 1);
      } else this.#add(c);
      if (this.#lastChar === CR && c !== LF && c !== 0 && !this.#flags.singleCr) {
        this.#flags.singleCr = true;
        this.#weird("line_terminated_with_single_CR");
      }
      this.#lastChar = c;
    }
    return end;
  }

  /** `ScanOption`: the bytes of a telnet command; returns where it stopped. */
  #scanOption(data: Uint8Array, at: number): number {
    if (at >= data.length) return at;
    if (this.#iacPos === this.#count - 1) {
      const code = data[at]!;
      if (code === IAC) {
        this.#pendingIac = false;
        this.#lastChar = code;
      } else if (code === SB) {
        this.#suboption = true;
        this.#lastWasIac = false;
        this.#add(code);
      } else if (code >= WILL && code <= DONT) {
        this.#suboption = false;
        this.#add(code);
      } else {
        this.#count--;
        this.#pendingIac = false;
      }
      return at + 1;
    }
    if (!this.#suboption) {
      this.#count -= 2;
      this.#pendingIac = false;
      return at + 1;
    }
    for (let p = at; p < data.length; p++) {
      if (this.#count >= this.#max) {
        this.#weird("nvt_option_size_exceeded", String(this.#max));
        this.#pendingIac = false;
        this.#suboption = false;
        this.#count = 0;
        this.#lastChar = 0;
        return p;
      }
      const code = data[p]!;
      if (this.#lastWasIac) {
        this.#lastWasIac = false;
        if (code === IAC) continue;
        this.#count = this.#iacPos;
        this.#pendingIac = false;
        this.#suboption = false;
        if (code === SE) return p + 1;
        // A broken suboption end: the byte starts a new telnet command.
        this.#pendingIac = true;
        this.#iacPos = this.#count;
        this.#add(IAC);
        return p;
      }
      this.#add(code);
      this.#lastWasIac = code === IAC;
    }
    return data.length;
  }
}

const EMPTY = new Uint8Array(0);
const LF_ONLY = new Uint8Array([LF]);
