/**
 * DNS over TCP framing as Zeek's `Contents_DNS` does it (Z:
 * src/analyzer/protocol/dns/DNS.cc), one instance per direction: a 2-byte
 * big-endian length, then that many bytes make one message. Messages may
 * share a segment or span several, and so may the length prefix. Gaps are
 * not seen (the bytes after one are counted as if contiguous, like Zeek).
 *
 * `flush()` hands the partial message to the parser without resetting the
 * buffer, as Zeek does at every FIN or RST: a partial message pending at
 * close is parsed once per close, and the next byte that arrives after a
 * flush completes a 0-byte message first.
 *
 * @module
 */

const LEN_HI = 0;
const LEN_LO = 1;
const MESSAGE = 2;

/** The framing state of one direction. */
export class DnsTcpFraming {
  #state = LEN_HI;
  #size = 0;
  #filled = 0;
  /** Grows to the largest message seen (at most 65,535 bytes). */
  #buf = new Uint8Array(0);
  readonly #deliver: (message: Uint8Array) => void;
  readonly #deliverPartial: (message: Uint8Array) => void;

  /**
   * `deliver` gets each complete message, `deliverPartial` what `flush()`
   * finds; both borrow the bytes until they return.
   */
  constructor(
    deliver: (message: Uint8Array) => void,
    deliverPartial: (message: Uint8Array) => void,
  ) {
    this.#deliver = deliver;
    this.#deliverPartial = deliverPartial;
  }

  /** The next in-order bytes of this direction. */
  push(data: Uint8Array): void {
    let p = 0;
    const n = data.length;
    while (p < n) {
      if (this.#state === LEN_HI && p + 2 <= n) {
        // The usual case, a whole message inside the segment: parse it in place.
        const size = (data[p]! << 8) | data[p + 1]!;
        if (p + 2 + size <= n) {
          this.#deliver(data.subarray(p + 2, p + 2 + size));
          p += 2 + size;
          continue;
        }
      }
      if (this.#state === LEN_HI) {
        this.#size = data[p++]! << 8;
        this.#state = LEN_LO;
        if (p === n) return;
      }
      if (this.#state === LEN_LO) {
        this.#size += data[p++]!;
        this.#state = MESSAGE;
        this.#filled = 0;
        if (this.#buf.length < this.#size) this.#buf = new Uint8Array(this.#size);
        if (p === n) return;
      }
      const take = Math.min(this.#size - this.#filled, n - p);
      if (take > 0) {
        this.#buf.set(data.subarray(p, p + take), this.#filled);
        this.#filled += take;
        p += take;
      }
      if (this.#filled < this.#size) return;
      this.#deliver(this.#buf.subarray(0, this.#size));
      this.#filled = 0;
      this.#state = LEN_HI;
    }
  }

  /** `Contents_DNS::Flush`: parse the partial message, keep it buffered. */
  flush(): void {
    if (this.#filled > 0) {
      this.#deliverPartial(this.#buf.subarray(0, this.#filled));
      this.#size = 0;
    }
  }
}
