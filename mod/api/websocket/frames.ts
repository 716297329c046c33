/**
 * RFC 6455 framing for the server side: an incremental reader of the masked
 * frames a client sends (fragments joined, control frames passed through,
 * every violation named with its close code) and the unmasked frame headers
 * a server writes.
 *
 * @module
 */

/** Frame opcodes (RFC 6455 §5.2). */
export const OPCODE = Object.freeze({
  continuation: 0x0,
  text: 0x1,
  binary: 0x2,
  close: 0x8,
  ping: 0x9,
  pong: 0xa,
});

/** Close codes (RFC 6455 §7.4.1) the server sends. */
export const CLOSE_CODE = Object.freeze({
  normal: 1000,
  goingAway: 1001,
  protocolError: 1002,
  noStatus: 1005,
  invalidPayload: 1007,
  policyViolation: 1008,
  messageTooBig: 1009,
  internalError: 1011,
  tryAgainLater: 1013,
});

/** The longest header a server frame needs: 2 bytes, then a 64-bit length. */
export const MAX_SERVER_HEADER_BYTES = 10;

/** Control frames carry at most 125 payload bytes (RFC 6455 §5.5). */
export const MAX_CONTROL_PAYLOAD_BYTES = 125;

const INITIAL_BUFFER_BYTES = 64 * 1024;
/** Buffers a large message grew beyond this are let go once it was handled. */
const KEEP_BUFFER_BYTES = 1024 * 1024;
const EMPTY = new Uint8Array(0);

/** A client broke the framing rules; the connection closes with `code`. */
export class WebSocketProtocolError extends Error {
  override readonly name = "WebSocketProtocolError";
  readonly code: number;
  constructor(code: number, reason: string) {
    super(reason);
    this.code = code;
  }
}

/** Bytes a server frame header takes for a payload of `length` bytes. */
export function frameHeaderBytes(length: number): number {
  return length < 126 ? 2 : length < 0x10000 ? 4 : 10;
}

/**
 * Writes an unmasked final-frame header at `offset` and returns its length.
 * The caller reserved `frameHeaderBytes(length)` bytes there.
 */
export function writeFrameHeader(
  target: Uint8Array,
  offset: number,
  opcode: number,
  length: number,
): number {
  target[offset] = 0x80 | opcode;
  if (length < 126) {
    target[offset + 1] = length;
    return 2;
  }
  if (length < 0x10000) {
    target[offset + 1] = 126;
    target[offset + 2] = length >>> 8;
    target[offset + 3] = length & 0xff;
    return 4;
  }
  target[offset + 1] = 127;
  const high = Math.floor(length / 0x100000000);
  const low = length >>> 0;
  target[offset + 2] = 0;
  target[offset + 3] = 0;
  target[offset + 4] = (high >>> 8) & 0xff;
  target[offset + 5] = high & 0xff;
  target[offset + 6] = low >>> 24;
  target[offset + 7] = (low >>> 16) & 0xff;
  target[offset + 8] = (low >>> 8) & 0xff;
  target[offset + 9] = low & 0xff;
  return 10;
}

/** The payload of a close frame: a 2-byte code and a UTF-8 reason cut to fit 125 bytes. */
export function closePayload(code: number, reason: string): Uint8Array {
  const reasonBytes = new TextEncoder().encode(reason);
  let end = Math.min(reasonBytes.length, MAX_CONTROL_PAYLOAD_BYTES - 2);
  // Never cut a UTF-8 sequence in half: back up to the start of a character.
  while (end < reasonBytes.length && end > 0 && (reasonBytes[end]! & 0xc0) === 0x80) end--;
  const payload = new Uint8Array(2 + end);
  payload[0] = code >>> 8;
  payload[1] = code & 0xff;
  payload.set(reasonBytes.subarray(0, end), 2);
  return payload;
}

/**
 * Reads client frames from bytes pushed as they arrive. `next()` returns
 * the opcode of the next whole message (text or binary, fragments joined)
 * or control frame, or -1 when more bytes are needed; the payload is in
 * `payload`, borrowed until the next call. Violations throw
 * `WebSocketProtocolError`.
 */
export class FrameReader {
  /** Payload of what `next()` returned last; borrowed. */
  payload: Uint8Array = EMPTY;
  #maxMessageBytes: number;
  #buf = new Uint8Array(INITIAL_BUFFER_BYTES);
  #start = 0;
  #end = 0;
  #fragments = EMPTY;
  #fragmentBytes = 0;
  #fragmentOpcode = -1;

  constructor(maxMessageBytes: number) {
    this.#maxMessageBytes = maxMessageBytes;
  }

  /** Appends received bytes (copied). */
  push(chunk: Uint8Array): void {
    if (this.#start === this.#end) {
      this.#start = 0;
      this.#end = 0;
    }
    const needed = this.#end + chunk.length;
    if (needed > this.#buf.length) {
      const live = this.#end - this.#start;
      if (live + chunk.length <= this.#buf.length) {
        this.#buf.copyWithin(0, this.#start, this.#end);
      } else {
        const grown = new Uint8Array(Math.max(this.#buf.length * 2, live + chunk.length));
        grown.set(this.#buf.subarray(this.#start, this.#end));
        this.#buf = grown;
      }
      this.#start = 0;
      this.#end = live;
    }
    this.#buf.set(chunk, this.#end);
    this.#end += chunk.length;
  }

  /** Bytes of buffer held: received bytes and a fragmented message's. */
  get capacity(): number {
    return this.#buf.length + this.#fragments.length;
  }

  /**
   * Lets go of buffers a large message grew beyond 1 MiB, once nothing is
   * pending in them (the last payload is no longer borrowed: `next()`
   * returned -1). Returns the bytes let go.
   */
  shrink(): number {
    let released = 0;
    if (this.#start === this.#end && this.#buf.length > KEEP_BUFFER_BYTES) {
      released += this.#buf.length;
      this.#buf = new Uint8Array(INITIAL_BUFFER_BYTES);
      this.#start = 0;
      this.#end = 0;
    }
    if (this.#fragmentOpcode < 0 && this.#fragments.length > KEEP_BUFFER_BYTES) {
      released += this.#fragments.length;
      this.#fragments = EMPTY;
    }
    return released;
  }

  /** Bytes received and not yet returned as frames. */
  get buffered(): number {
    return this.#end - this.#start;
  }

  next(): number {
    for (;;) {
      const buf = this.#buf;
      const at = this.#start;
      const available = this.#end - at;
      if (available < 2) return -1;
      const b0 = buf[at]!;
      const b1 = buf[at + 1]!;
      if ((b0 & 0x70) !== 0) {
        throw new WebSocketProtocolError(
          CLOSE_CODE.protocolError,
          "reserved bits set (no extension was negotiated)",
        );
      }
      if ((b1 & 0x80) === 0) {
        throw new WebSocketProtocolError(CLOSE_CODE.protocolError, "client frame not masked");
      }
      const fin = (b0 & 0x80) !== 0;
      const opcode = b0 & 0x0f;
      let length = b1 & 0x7f;
      let headerBytes = 2;
      if (length === 126) {
        if (available < 4) return -1;
        length = (buf[at + 2]! << 8) | buf[at + 3]!;
        headerBytes = 4;
      } else if (length === 127) {
        if (available < 10) return -1;
        const high = ((buf[at + 2]! << 24) | (buf[at + 3]! << 16) | (buf[at + 4]! << 8) |
          buf[at + 5]!) >>> 0;
        const low = ((buf[at + 6]! << 24) | (buf[at + 7]! << 16) | (buf[at + 8]! << 8) |
          buf[at + 9]!) >>> 0;
        if (high >= 0x200000) {
          throw new WebSocketProtocolError(CLOSE_CODE.messageTooBig, "frame length beyond 2^53");
        }
        length = high * 0x100000000 + low;
        headerBytes = 10;
      }
      const isControl = opcode >= 0x8;
      if (isControl) {
        if (opcode > OPCODE.pong) {
          throw new WebSocketProtocolError(CLOSE_CODE.protocolError, `unknown opcode ${opcode}`);
        }
        if (!fin || length > MAX_CONTROL_PAYLOAD_BYTES) {
          throw new WebSocketProtocolError(
            CLOSE_CODE.protocolError,
            "control frame fragmented or longer than 125 bytes",
          );
        }
      } else if (opcode > OPCODE.binary) {
        throw new WebSocketProtocolError(CLOSE_CODE.protocolError, `unknown opcode ${opcode}`);
      } else if (this.#fragmentBytes + length > this.#maxMessageBytes) {
        throw new WebSocketProtocolError(
          CLOSE_CODE.messageTooBig,
          `message longer than ${this.#maxMessageBytes} bytes`,
        );
      }
      const total = headerBytes + 4 + length;
      if (available < total) return -1;
      const maskAt = at + headerBytes;
      const payload = buf.subarray(maskAt + 4, at + total);
      unmask(payload, buf[maskAt]!, buf[maskAt + 1]!, buf[maskAt + 2]!, buf[maskAt + 3]!);
      this.#start = at + total;
      if (isControl) {
        this.payload = payload;
        return opcode;
      }
      if (opcode !== OPCODE.continuation) {
        if (this.#fragmentOpcode >= 0) {
          throw new WebSocketProtocolError(
            CLOSE_CODE.protocolError,
            "new message started before the fragmented one ended",
          );
        }
        if (fin) {
          this.payload = payload;
          return opcode;
        }
        this.#fragmentOpcode = opcode;
        this.#fragmentBytes = 0;
      } else if (this.#fragmentOpcode < 0) {
        throw new WebSocketProtocolError(
          CLOSE_CODE.protocolError,
          "continuation frame without a message to continue",
        );
      }
      this.#appendFragment(payload);
      if (fin) {
        const whole = this.#fragments.subarray(0, this.#fragmentBytes);
        const messageOpcode = this.#fragmentOpcode;
        this.#fragmentOpcode = -1;
        this.#fragmentBytes = 0;
        this.payload = whole;
        return messageOpcode;
      }
    }
  }

  #appendFragment(payload: Uint8Array): void {
    const needed = this.#fragmentBytes + payload.length;
    if (needed > this.#fragments.length) {
      const grown = new Uint8Array(Math.max(needed, this.#fragments.length * 2, 1024));
      grown.set(this.#fragments.subarray(0, this.#fragmentBytes));
      this.#fragments = grown;
    }
    this.#fragments.set(payload, this.#fragmentBytes);
    this.#fragmentBytes = needed;
  }
}

const maskBytes = new Uint8Array(8);
const maskWordBytes = new Uint8Array(4);
const maskWord = new Uint32Array(maskWordBytes.buffer);

function unmask(payload: Uint8Array, m0: number, m1: number, m2: number, m3: number): void {
  const n = payload.length;
  maskBytes[0] = maskBytes[4] = m0;
  maskBytes[1] = maskBytes[5] = m1;
  maskBytes[2] = maskBytes[6] = m2;
  maskBytes[3] = maskBytes[7] = m3;
  let i = 0;
  while (i < n && ((payload.byteOffset + i) & 3) !== 0) {
    payload[i]! ^= maskBytes[i & 3]!;
    i++;
  }
  if (n - i >= 16) {
    // A word at a time from the aligned position; the mask, rotated to
    // start where that position falls in it, keeps native byte order.
    maskWordBytes.set(maskBytes.subarray(i & 3, (i & 3) + 4));
    const mask = maskWord[0]!;
    const words = new Uint32Array(payload.buffer, payload.byteOffset + i, (n - i) >>> 2);
    for (let w = 0; w < words.length; w++) words[w]! ^= mask;
    i += words.length << 2;
  }
  for (; i < n; i++) payload[i]! ^= maskBytes[i & 3]!;
}
